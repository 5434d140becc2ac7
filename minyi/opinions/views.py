"""Staff pages for opinions (警务e广场) and tip rewards (线索奖励): the queue, one opinion with
the actions its reader may take now, photos, the author's contact (audited), and the rewards
waiting for approval or payment. Capability 4 of DOMAIN.md.

Every read goes through a scoped selector; every action is one service call that redirects
back to the opinion, or re-renders it with the refusal in Chinese and what was typed kept."""

import csv
import io
from datetime import datetime, time, timedelta

from django.contrib import messages
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from minyi.core.audit import audit_record
from minyi.core.errors import ApplicationError, NotFound, PermissionDenied
from minyi.core.models import AuditAction
from minyi.core.ui import ALL, ActionPage, Tabs, console_list, page_of
from minyi.opinions.forms import (
    OFFLINE_CHANNELS,
    AnswerForm,
    ChannelRatesForm,
    KeyInForm,
    RewardDecideForm,
    RewardPayForm,
    RewardProposeForm,
    TransferForm,
    VerdictForm,
    WallForm,
)
from minyi.opinions.letter_pdf import letter_pdf
from minyi.opinions.models import (
    Opinion,
    OpinionChannel,
    OpinionKind,
    OpinionStatus,
    ReplyBy,
    RewardStatus,
)
from minyi.opinions.selectors import (
    LETTER_DUE,
    OPEN,
    OVERDUE,
    channel_rates_visible_to,
    letter_due,
    opinion_action_require,
    opinion_actions_for,
    opinion_counts_visible_to,
    opinion_get_visible_to,
    opinion_history,
    opinion_list_visible_to,
    opinion_photo_get_visible_to,
    opinion_photos,
    reward_for,
    reward_history,
    reward_list_for,
    transfer_targets_for,
)
from minyi.opinions.services.handling import (
    opinion_accept,
    opinion_answer,
    opinion_contact_reveal,
    opinion_tip_verdict,
    opinion_transfer,
    opinion_wall_hide,
)
from minyi.opinions.services.intake import opinion_key_in
from minyi.opinions.services.letters import (
    LETTER_STATUSES,
    letter_may_print,
    opinion_letter_print,
)
from minyi.opinions.services.rewards import reward_decide, reward_pay, reward_propose
from minyi.orgs.access import staff_view
from minyi.orgs.roles import Perm, has_perm
from minyi.orgs.selectors import orgunit_root_for, scope_q
from minyi.perception.models import Rating

S = OpinionStatus

# The queue opens on what is still to answer (待办), most urgent first.
OPINION_TABS = Tabs(
    choices=(
        (OPEN, gettext_lazy("待办")),
        (ALL, gettext_lazy("全部")),
        (S.RECEIVED, gettext_lazy("待签收")),
        (S.ACCEPTED, gettext_lazy("办理中")),
        (S.ANSWERED, gettext_lazy("已答复")),
        (S.CLOSED, gettext_lazy("已办结")),
        (OVERDUE, gettext_lazy("超期")),
        (LETTER_DUE, gettext_lazy("待打印回函")),
    ),
    default=OPEN,
)


@staff_view(Perm.OPINION_VIEW)
def opinion_list(request):
    """Opinions of the user's subtree by status, kind and channel, overdue first (群众诉求)."""
    status = OPINION_TABS.current(request)
    kind = request.GET.get("kind", "")
    if kind not in OpinionKind.values:
        kind = ""
    channel = request.GET.get("channel", "")
    if channel not in OpinionChannel.values:
        channel = ""
    opinions = opinion_list_visible_to(
        request.user, status=OPINION_TABS.filter_value(status), kind=kind, channel=channel
    )
    counts = opinion_counts_visible_to(request.user, kind=kind, channel=channel)
    return render(
        request,
        "opinions/opinion_list.html",
        {
            **console_list(request, opinions, tabs=OPINION_TABS, current=status, counts=counts),
            "kind": kind,
            "kinds": OpinionKind.choices,
            "channel": channel,
            "channels": OpinionChannel.choices,
            "can_see_rewards": has_perm(request.user, Perm.REWARD_APPROVE),
            "can_key_in": has_perm(request.user, Perm.OPINION_KEY_IN),
        },
    )


# --- One opinion and its actions -----------------------------------------------------------

# The field a person types into first in each action's form.
_MAIN_FIELD = {
    "answer": "answer",
    "transfer": "unit",
    "verdict": "note",
    "propose": "amount",
    "decide": "note",
    "pay": "reference",
    "wall": "reason",
}


def _forms(targets) -> dict:
    return {
        "answer": AnswerForm(),
        "transfer": TransferForm(units=targets),
        "verdict": VerdictForm(),
        "propose": RewardProposeForm(),
        "decide": RewardDecideForm(),
        "pay": RewardPayForm(),
        "wall": WallForm(),
    }


def _author(user, opinion) -> dict:
    """What the page may say about who wrote it. A tipster's identity is never on the page:
    only a button for the roles that may ask for it (and each asking is audited)."""
    if opinion.anonymous:
        return {"mode": "anonymous"}
    if opinion.kind == OpinionKind.TIP:
        return {"mode": "protected", "can_reveal": has_perm(user, Perm.TIP_IDENTITY_VIEW)}
    return {
        "mode": "named",
        "name": opinion.contact_name,
        "mobile": opinion.mobile_masked,
        "has_address": bool(opinion.postal_address),
        "can_reveal": has_perm(user, Perm.OPINION_REVEAL_CONTACT),
    }


def _opinion_page(request, opinion, *, failed=None, alert="", status=200):
    """The opinion's page; `failed` = (action, bound form) re-shows what the user typed."""
    reward = reward_for(opinion) if opinion.kind == OpinionKind.TIP else None
    targets = transfer_targets_for(request.user, opinion)
    actions = opinion_actions_for(request.user, opinion, reward=reward, targets=targets)
    forms = _forms(targets)
    alert = OPINION_PAGE.forms_shown(forms, actions, failed=failed, alert=alert)
    reward_events = reward_history(reward) if reward is not None else ()
    return render(
        request,
        "opinions/opinion_detail.html",
        {
            "opinion": opinion,
            "author": _author(request.user, opinion),
            "photos": opinion_photos(opinion),
            "history": opinion_history(opinion),
            "reward": reward,
            "reward_history": reward_events,
            "actions": actions,
            "forms": forms,
            "alert": alert,
            "rating_label": Rating(opinion.rating).label if opinion.rating else "",
            "is_tip": opinion.kind == OpinionKind.TIP,
            # The handler confirms the reasons in the citizen's words (原因标签核对, insight).
            "can_confirm_reasons": opinion.kind != OpinionKind.TIP
            and has_perm(request.user, Perm.TEXT_CONFIRM),
            "letter_due": letter_due(opinion),
            "can_print_letter": opinion.reply_by == ReplyBy.LETTER
            and opinion.status in LETTER_STATUSES
            and letter_may_print(request.user, opinion),
        },
        status=status,
    )


@staff_view(Perm.OPINION_VIEW)
def opinion_detail(request, pk):
    return _opinion_page(request, opinion_get_visible_to(request.user, pk))


OPINION_PAGE = ActionPage(
    get=opinion_get_visible_to,
    render=_opinion_page,
    url_name="opinions:opinion_detail",
    main_field=_MAIN_FIELD,
    first="answer",
)


def _transfer_form(request, pk):
    opinion = opinion_get_visible_to(request.user, pk)
    return TransferForm(request.POST, units=transfer_targets_for(request.user, opinion))


@staff_view(Perm.OPINION_HANDLE)
@require_POST
def accept(request, pk):
    return OPINION_PAGE.act(
        request,
        pk,
        name="accept",
        form=None,
        call=lambda opinion, data: opinion_accept(actor=request.user, opinion=opinion),
        done=_("已签收，请按期答复。"),
    )


# What the person who answered is told: how the answer reaches the citizen.
ANSWER_DONE = {
    ReplyBy.SMS: gettext_lazy("已答复，群众将收到短信并可评价。"),
    ReplyBy.LETTER: gettext_lazy("已答复。该诉求以书面回函答复，请打印回函寄给群众。"),
    ReplyBy.NONE: gettext_lazy("已答复。该诉求没有联系方式，答复仅存档，不发送短信。"),
}


@staff_view(Perm.OPINION_HANDLE)
@require_POST
def answer(request, pk):
    reply_by = opinion_get_visible_to(request.user, pk).reply_by
    return OPINION_PAGE.act(
        request,
        pk,
        name="answer",
        form=AnswerForm(request.POST),
        call=lambda opinion, data: opinion_answer(
            actor=request.user, opinion=opinion, text=data["answer"]
        ),
        done=ANSWER_DONE[reply_by],
    )


@staff_view(Perm.OPINION_ROUTE)
@require_POST
def transfer(request, pk):
    return OPINION_PAGE.act(
        request,
        pk,
        name="transfer",
        form=_transfer_form(request, pk),
        call=lambda opinion, data: opinion_transfer(
            actor=request.user, opinion=opinion, unit=data["unit"], note=data["note"]
        ),
        done=_("已转办。"),
    )


@staff_view(Perm.OPINION_HANDLE)
@require_POST
def verdict(request, pk):
    return OPINION_PAGE.act(
        request,
        pk,
        name="verdict",
        form=VerdictForm(request.POST),
        call=lambda opinion, data: opinion_tip_verdict(
            actor=request.user, opinion=opinion, verdict=data["verdict"], note=data["note"]
        ),
        done=_("核实结果已保存。"),
    )


@staff_view(Perm.REWARD_MANAGE)
@require_POST
def propose(request, pk):
    return OPINION_PAGE.act(
        request,
        pk,
        name="propose",
        form=RewardProposeForm(request.POST),
        call=lambda opinion, data: reward_propose(
            actor=request.user, opinion=opinion, amount=data["amount"], reason=data["reason"]
        ),
        done=_("奖励申请已提交，等待上级审批。"),
    )


def _reward_of(user, opinion, action: str):
    reward = reward_for(opinion)
    if reward is None:
        opinion_action_require(user, opinion, action, reward=None)  # raises "no_reward"
    return reward


@staff_view(Perm.REWARD_APPROVE)
@require_POST
def decide(request, pk):
    return OPINION_PAGE.act(
        request,
        pk,
        name="decide",
        form=RewardDecideForm(request.POST),
        call=lambda opinion, data: reward_decide(
            actor=request.user,
            reward=_reward_of(request.user, opinion, "decide"),
            approve=data["decision"] == "approve",
            note=data["note"],
        ),
        done=_("审批意见已保存。"),
    )


@staff_view(Perm.REWARD_MANAGE)
@require_POST
def pay(request, pk):
    return OPINION_PAGE.act(
        request,
        pk,
        name="pay",
        form=RewardPayForm(request.POST),
        call=lambda opinion, data: reward_pay(
            actor=request.user,
            reward=_reward_of(request.user, opinion, "pay"),
            reference=data["reference"],
        ),
        done=_("奖励发放已记录。"),
    )


@staff_view(Perm.OPINION_ROUTE)
@require_POST
def wall_toggle(request, pk):
    form = WallForm(request.POST)
    hide = form.is_valid() and form.cleaned_data["hide"]
    return OPINION_PAGE.act(
        request,
        pk,
        name="wall",
        form=form,
        call=lambda opinion, data: opinion_wall_hide(
            actor=request.user, opinion=opinion, reason=data["reason"], hidden=data["hide"]
        ),
        done=_("已从民意墙撤下。") if hide else _("已恢复在民意墙展示。"),
    )


@staff_view(Perm.OPINION_REVEAL_CONTACT)
@require_POST
def contact(request, pk):
    """The author's name and full mobile, for calling back; a tipster's only for the roles
    that may see tipsters. The service audits every asking, refusals included; the answer is
    never cached."""
    opinion = opinion_get_visible_to(request.user, pk)
    try:
        revealed = opinion_contact_reveal(actor=request.user, opinion=opinion, request=request)
    except NotFound:
        raise
    except ApplicationError as exc:
        response = render(
            request,
            "opinions/contact.html",
            {"opinion": opinion, "error": exc.message},
            status=exc.status,
        )
    else:
        response = render(
            request,
            "opinions/contact.html",
            {"opinion": opinion, "contact": revealed, "is_tip": opinion.kind == OpinionKind.TIP},
        )
    response["Cache-Control"] = "private, no-store"
    return response


@staff_view(Perm.OPINION_VIEW)
def photo(request, pk, photo_pk):
    """A citizen's photo, only through a scoped read, with the type judged at upload. Every
    view is audited: photos may show people and places."""
    item = opinion_photo_get_visible_to(request.user, pk, photo_pk)
    try:
        handle = item.file.open("rb")
    except FileNotFoundError as exc:
        raise NotFound(_("照片文件已不存在，请联系管理员。")) from exc
    audit_record(
        action=AuditAction.EXPORT,
        request=request,
        obj=item,
        detail={"opinion": item.opinion_id, "photo": item.pk, "size": item.size},
    )
    response = FileResponse(handle, content_type=item.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@staff_view(Perm.REWARD_APPROVE)
def reward_list(request):
    """Rewards waiting for this approver's tier, and approved ones not yet paid (线索奖励)."""
    return render(
        request,
        "opinions/reward_list.html",
        {
            "page": page_of(request, reward_list_for(request.user)),
            "proposed": RewardStatus.PROPOSED,
        },
    )


# --- Offline intake (线下录入), the written answer (书面回函), reply rates per channel ------

KEYED_IN_DONE = {
    ReplyBy.SMS: gettext_lazy("已录入，受理编号 %(no)s，已短信告知群众。"),
    ReplyBy.LETTER: gettext_lazy("已录入，受理编号 %(no)s。答复后请打印书面回函寄给群众。"),
    ReplyBy.NONE: gettext_lazy(
        "已录入，受理编号 %(no)s。没有联系方式，不会发送短信答复，答复仅存档。"
    ),
}


@staff_view(Perm.OPINION_KEY_IN)
def key_in(request):
    """Key in an opinion that came by letter, at a 广场活动日 or 恳谈会, by phone, as a
    petition, on the 110直播室 or in a WeChat group, with a photo of the paper (线下录入)."""
    status = 200
    if request.method == "POST":
        form = KeyInForm(request.POST, request.FILES, user=request.user)
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                opinion = opinion_key_in(
                    actor=request.user,
                    channel=data["channel"],
                    kind=data["kind"],
                    content=data["content"],
                    contact_name=data["contact_name"],
                    mobile=data["mobile"],
                    postal_address=data["postal_address"],
                    consent=data["consent"],
                    area=data["area"],
                    unit_id=data["unit"].pk if data["unit"] else None,
                    paper=data["paper"],
                    received_at=data["received_at"],
                )
            except (NotFound, PermissionDenied):
                raise
            except ApplicationError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
                status = exc.status
            else:
                messages.success(request, KEYED_IN_DONE[opinion.reply_by] % {"no": opinion.number})
                # Routed outside the clerk's subtree (the centre will transfer it): the list.
                if Opinion.objects.filter(scope_q(request.user, "unit__"), pk=opinion.pk).exists():
                    return redirect("opinions:opinion_detail", pk=opinion.pk)
                return redirect("opinions:opinion_list")
    else:
        form = KeyInForm(user=request.user)
    # A browser never sends a file back: photos chosen with a refused form must be chosen again.
    paper_again = request.method == "POST" and bool(request.FILES.getlist("paper"))
    return render(
        request, "opinions/key_in.html", {"form": form, "paper_again": paper_again}, status=status
    )


@staff_view(Perm.OPINION_HANDLE)
@require_POST
def letter(request, pk):
    """The written answer as a PDF to print and post (书面回函). It shows the citizen's name
    and address: the service audits every printing, refusals included; never cached."""
    opinion = opinion_get_visible_to(request.user, pk)
    try:
        printed = opinion_letter_print(actor=request.user, opinion=opinion, request=request)
    except NotFound:
        raise
    except ApplicationError as exc:
        response = render(request, "error.html", {"error": exc}, status=exc.status)
    else:
        response = HttpResponse(letter_pdf(printed), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="letter-{printed.number}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


def _rates(request):
    form = ChannelRatesForm(request.GET or None)
    first, last = form.period()
    tz = timezone.get_current_timezone()
    start = datetime.combine(first, time.min, tzinfo=tz)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=tz)
    rates = channel_rates_visible_to(request.user, start=start, end=end)
    root = orgunit_root_for(request.user)
    scope = root.name if root is not None else _("全部单位")
    return form, first, last, rates, scope


@staff_view(Perm.OPINION_VIEW)
def channel_rates(request):
    """Reply rates per channel (各渠道答复率): every channel's words must be answered, so the
    aim is 100% in each row."""
    form, first, last, rates, scope = _rates(request)
    return render(
        request,
        "opinions/channel_rates.html",
        {
            "form": form,
            "first": first,
            "last": last,
            "rates": rates,
            "scope": scope,
            "offline": {value for value, _label in OFFLINE_CHANNELS},
            "can_export": has_perm(request.user, Perm.DATA_EXPORT),
            "export_query": request.GET.urlencode(),
        },
    )


def _percent(value) -> str:
    return "" if value is None else f"{value * 100:.1f}%"


@staff_view(Perm.DATA_EXPORT)
def channel_rates_export(request):
    """The same table as CSV (UTF-8 with BOM, for Excel), with the export in the audit log."""
    _form, first, last, rates, scope = _rates(request)
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow([_("各渠道答复率"), _("统计范围：%(unit)s") % {"unit": scope}])
    writer.writerow([_("收到时间"), f"{first:%Y-%m-%d} ~ {last:%Y-%m-%d}"])
    writer.writerow(
        [
            _("受理渠道"),
            _("收到"),
            _("已答复"),
            _("按期答复"),
            _("超期未答复"),
            _("待打印回函"),
            _("答复率"),
            _("已评价"),
            _("满意率"),
        ]
    )
    for rate in rates:
        writer.writerow(
            [
                rate.label,
                rate.received,
                rate.answered,
                rate.on_time,
                rate.overdue_open,
                rate.letters_due,
                _percent(rate.reply_rate),
                rate.rated,
                _percent(rate.satisfied_share),
            ]
        )
    audit_record(
        action=AuditAction.EXPORT,
        request=request,
        obj=request.user.unit,
        detail={
            "table": "opinion_channel_rates",
            "format": "csv",
            "from": f"{first:%Y-%m-%d}",
            "to": f"{last:%Y-%m-%d}",
            "rows": len(rates),
        },
    )
    response = HttpResponse(out.getvalue().encode("utf-8"), content_type="text/csv")
    response["Content-Disposition"] = (
        f'attachment; filename="minyi-channel-rates-{first:%Y%m%d}-{last:%Y%m%d}.csv"'
    )
    return response
