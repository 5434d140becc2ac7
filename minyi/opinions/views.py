"""Staff pages for opinions (警务e广场) and tip rewards (线索奖励): the queue, one opinion with
the actions its reader may take now, photos, the author's contact (audited), and the rewards
waiting for approval or payment. Capability 4 of DOMAIN.md.

Every read goes through a scoped selector; every action is one service call that redirects
back to the opinion, or re-renders it with the refusal in Chinese and what was typed kept."""

from django.http import FileResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from minyi.core.audit import audit_record
from minyi.core.errors import ApplicationError, NotFound
from minyi.core.models import AuditAction
from minyi.core.ui import ALL, ActionPage, Tabs, console_list, page_of
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
    OpinionKind,
    OpinionStatus,
    RewardStatus,
)
from minyi.opinions.selectors import (
    OPEN,
    OVERDUE,
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
from minyi.opinions.services.rewards import reward_decide, reward_pay, reward_propose
from minyi.orgs.access import staff_view
from minyi.orgs.roles import Perm, has_perm
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
    ),
    default=OPEN,
)


@staff_view(Perm.OPINION_VIEW)
def opinion_list(request):
    """Opinions of the user's subtree by status and kind, overdue first (群众诉求)."""
    status = OPINION_TABS.current(request)
    kind = request.GET.get("kind", "")
    if kind not in OpinionKind.values:
        kind = ""
    opinions = opinion_list_visible_to(
        request.user, status=OPINION_TABS.filter_value(status), kind=kind
    )
    counts = opinion_counts_visible_to(request.user, kind=kind)
    return render(
        request,
        "opinions/opinion_list.html",
        {
            **console_list(request, opinions, tabs=OPINION_TABS, current=status, counts=counts),
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


@staff_view(Perm.OPINION_HANDLE)
@require_POST
def answer(request, pk):
    return OPINION_PAGE.act(
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
