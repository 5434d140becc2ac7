"""Staff pages for opinions (警务e广场) and tip rewards (线索奖励): the queue, one opinion with
the actions its reader may take now, photos, the author's contact (audited), and the rewards
waiting for approval or payment. Capability 4 of DOMAIN.md.

Every read goes through a scoped selector; every action is one service call that redirects
back to the opinion, or re-renders it with the refusal in Chinese and what was typed kept."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from minyi.orgs.access import staff_view
from minyi.core.audit import audit_record
from minyi.core.errors import ApplicationError, NotFound, PermissionDenied
from minyi.core.models import AuditAction
from minyi.opinions.forms import (
    AnswerForm,
    RewardDecideForm,
    RewardPayForm,
    RewardProposeForm,
    TransferForm,
    VerdictForm,
    WallForm,
)
from minyi.opinions.models import (
    OPEN_STATUSES,
    OpinionKind,
    OpinionStatus,
    RewardStatus,
    TipVerdict,
)
from minyi.opinions.selectors import (
    OPEN,
    OVERDUE,
    opinion_counts_visible_to,
    opinion_get_visible_to,
    opinion_history,
    opinion_list_visible_to,
    opinion_photo_get_visible_to,
    opinion_photos,
    reward_decidable_by,
    reward_for,
    reward_history,
    reward_list_for,
    transfer_targets_for,
)
from minyi.opinions.services import (
    opinion_accept,
    opinion_answer,
    opinion_contact_reveal,
    opinion_tip_verdict,
    opinion_transfer,
    opinion_wall_hide,
    reward_decide,
    reward_pay,
    reward_propose,
)
from minyi.orgs.roles import Perm, has_perm
from minyi.perception.models import Rating

S = OpinionStatus
PAGE_SIZE = 50

# The queue opens on what is still to answer (待办), most urgent first.
ALL = "all"
OPINION_TABS = [
    (OPEN, gettext_lazy("待办"), OPEN),
    (ALL, gettext_lazy("全部"), "all"),
    (S.RECEIVED, gettext_lazy("待签收"), S.RECEIVED),
    (S.ACCEPTED, gettext_lazy("办理中"), S.ACCEPTED),
    (S.ANSWERED, gettext_lazy("已答复"), S.ANSWERED),
    (S.CLOSED, gettext_lazy("已办结"), S.CLOSED),
    (OVERDUE, gettext_lazy("超期"), OVERDUE),
]
_TAB_VALUES = {value for value, _label, _key in OPINION_TABS}


@staff_view(Perm.OPINION_VIEW)
def opinion_list(request):
    """Opinions of the user's subtree by status and kind, overdue first (群众诉求)."""
    status = request.GET.get("status") or OPEN
    if status not in _TAB_VALUES:
        status = OPEN
    kind = request.GET.get("kind", "")
    if kind not in OpinionKind.values:
        kind = ""
    opinions = opinion_list_visible_to(
        request.user, status="" if status == ALL else status, kind=kind
    )
    counts = opinion_counts_visible_to(request.user, kind=kind)
    tabs = [
        {"value": value, "label": label, "count": counts[key], "active": value == status}
        for value, label, key in OPINION_TABS
    ]
    page = Paginator(opinions, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "opinions/opinion_list.html",
        {
            "page": page,
            "tabs": tabs,
            "status": status,
            "kind": kind,
            "kinds": OpinionKind.choices,
            "can_see_rewards": has_perm(request.user, Perm.REWARD_APPROVE),
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


def _allowed_actions(user, opinion, reward, targets) -> dict[str, bool]:
    """What THIS user may do to the opinion in ITS state; the services enforce the same."""
    handle = has_perm(user, Perm.OPINION_HANDLE)
    is_open = opinion.status in OPEN_STATUSES
    is_tip = opinion.kind == OpinionKind.TIP
    return {
        "accept": handle and opinion.status == S.RECEIVED,
        "answer": handle and is_open,
        "transfer": has_perm(user, Perm.OPINION_ROUTE) and is_open and bool(targets),
        "verdict": handle
        and is_tip
        and opinion.tip_verdict not in (TipVerdict.VERIFIED, TipVerdict.UNFOUNDED),
        "propose": has_perm(user, Perm.REWARD_MANAGE)
        and is_tip
        and opinion.tip_verdict == TipVerdict.VERIFIED
        and reward is None,
        "decide": has_perm(user, Perm.REWARD_APPROVE) and reward_decidable_by(user, reward),
        "pay": has_perm(user, Perm.REWARD_MANAGE)
        and reward is not None
        and reward.status == RewardStatus.APPROVED,
        # The centre moderates the public wall (民意墙): consented suggestions only.
        "wall": has_perm(user, Perm.OPINION_ROUTE)
        and opinion.kind == OpinionKind.SUGGESTION
        and opinion.wall_consent,
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
        "can_reveal": has_perm(user, Perm.OPINION_REVEAL_CONTACT),
    }


def _opinion_page(request, opinion, *, failed=None, alert="", status=200):
    """The opinion's page; `failed` = (action, bound form) re-shows what the user typed."""
    reward = reward_for(opinion) if opinion.kind == OpinionKind.TIP else None
    targets = transfer_targets_for(request.user, opinion)
    actions = _allowed_actions(request.user, opinion, reward, targets)
    forms = _forms(targets)
    focus = "answer" if actions["answer"] else None
    if failed is not None:
        name, form = failed
        forms[name] = form
        if not actions.get(name):
            # The opinion moved on meanwhile: the form is gone, its message stays.
            alert = alert or " ".join(str(e) for errors in form.errors.values() for e in errors)
        focus = name if actions.get(name) else None
    if focus in _MAIN_FIELD:
        forms[focus].fields[_MAIN_FIELD[focus]].widget.attrs["autofocus"] = True
    history = list(opinion_history(opinion))
    for event in history:
        event.from_label = S(event.from_status).label if event.from_status else ""
    reward_events = list(reward_history(reward)) if reward is not None else []
    for event in reward_events:
        event.from_label = RewardStatus(event.from_status).label if event.from_status else ""
    return render(
        request,
        "opinions/opinion_detail.html",
        {
            "opinion": opinion,
            "author": _author(request.user, opinion),
            "photos": opinion_photos(opinion),
            "history": history,
            "reward": reward,
            "reward_history": reward_events,
            "actions": actions,
            "any_action": any(actions.values()),
            "forms": forms,
            "alert": alert,
            "rating_label": Rating(opinion.rating).label if opinion.rating else "",
            "is_tip": opinion.kind == OpinionKind.TIP,
        },
        status=status,
    )


@staff_view(Perm.OPINION_VIEW)
def opinion_detail(request, pk):
    return _opinion_page(request, opinion_get_visible_to(request.user, pk))


def _act(request, pk, *, name, form, call, done):
    """Run one action: the form collects, the service decides. A refusal re-renders the
    opinion with the message on the field at fault and the user's input kept."""
    opinion = opinion_get_visible_to(request.user, pk)
    if form is not None and not form.is_valid():
        return _opinion_page(request, opinion, failed=(name, form), status=400)
    try:
        call(opinion, form.cleaned_data if form is not None else {})
    except (NotFound, PermissionDenied):
        raise  # staff_view answers these (404 / the error page)
    except ApplicationError as exc:
        alert = ""
        if form is not None and exc.field in form.fields:
            form.add_error(exc.field, str(exc.message))
        elif form is not None:
            form.add_error(None, str(exc.message))
        else:
            alert = str(exc.message)
        opinion = opinion_get_visible_to(request.user, pk)  # as it is now
        failed = (name, form) if form is not None else None
        return _opinion_page(request, opinion, failed=failed, alert=alert, status=exc.status)
    messages.success(request, done)
    return redirect("opinions:opinion_detail", pk=pk)


def _transfer_form(request, pk):
    opinion = opinion_get_visible_to(request.user, pk)
    return TransferForm(request.POST, units=transfer_targets_for(request.user, opinion))


@staff_view(Perm.OPINION_HANDLE)
@require_POST
def accept(request, pk):
    return _act(
        request,
        pk,
        name="accept",
        form=None,
        call=lambda opinion, data: opinion_accept(actor=request.user, opinion=opinion),
        done=_("已签收，请按期答复。"),
    )


@staff_view(Perm.OPINION_HANDLE)
@require_POST
def answer(request, pk):
    return _act(
        request,
        pk,
        name="answer",
        form=AnswerForm(request.POST),
        call=lambda opinion, data: opinion_answer(
            actor=request.user, opinion=opinion, text=data["answer"]
        ),
        done=_("已答复，群众将收到短信并可评价。"),
    )


@staff_view(Perm.OPINION_ROUTE)
@require_POST
def transfer(request, pk):
    return _act(
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
    return _act(
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
    return _act(
        request,
        pk,
        name="propose",
        form=RewardProposeForm(request.POST),
        call=lambda opinion, data: reward_propose(
            actor=request.user, opinion=opinion, amount=data["amount"], reason=data["reason"]
        ),
        done=_("奖励申请已提交，等待上级审批。"),
    )


def _reward_of(opinion):
    reward = reward_for(opinion)
    if reward is None:
        raise ApplicationError("no_reward", _("该线索尚未申请奖励。"), status=404)
    return reward


@staff_view(Perm.REWARD_APPROVE)
@require_POST
def decide(request, pk):
    return _act(
        request,
        pk,
        name="decide",
        form=RewardDecideForm(request.POST),
        call=lambda opinion, data: reward_decide(
            actor=request.user,
            reward=_reward_of(opinion),
            approve=data["decision"] == "approve",
            note=data["note"],
        ),
        done=_("审批意见已保存。"),
    )


@staff_view(Perm.REWARD_MANAGE)
@require_POST
def pay(request, pk):
    return _act(
        request,
        pk,
        name="pay",
        form=RewardPayForm(request.POST),
        call=lambda opinion, data: reward_pay(
            actor=request.user, reward=_reward_of(opinion), reference=data["reference"]
        ),
        done=_("奖励发放已记录。"),
    )


@staff_view(Perm.OPINION_ROUTE)
@require_POST
def wall_toggle(request, pk):
    form = WallForm(request.POST)
    hide = form.is_valid() and form.cleaned_data["hide"]
    return _act(
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
    page = Paginator(reward_list_for(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "opinions/reward_list.html",
        {"page": page, "proposed": RewardStatus.PROPOSED},
    )
