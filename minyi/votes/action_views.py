"""Staff pages of the chosen actions (惠民实事落实), under /votes/actions/: the scoped list, a
plan made from a published campaign's option, and one plan with its milestones, updates and
the number of citizens following it (never who they are).

Reading needs VOTE_VIEW. Creating a plan needs VOTE_MANAGE. Milestones and updates are posted
by the responsible unit's leader (ACTION_UPDATE) or the organiser (VOTE_MANAGE): their URLs
are open to VOTE_VIEW, and the service (actions.can_update) decides who of those may act, so
both roles reach the same forms.
"""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from minyi.core.errors import ApplicationError, NotFound
from minyi.core.ui import ActionPage, page_of
from minyi.orgs.access import staff_view
from minyi.orgs.roles import Perm, has_perm
from minyi.votes.action_forms import MilestoneDoneForm, MilestoneForm, PlanForm, UpdateForm
from minyi.votes.actions import (
    can_update,
    follower_count,
    milestone_add,
    milestone_done,
    option_get_for_plan,
    option_vote_count,
    options_awaiting_plan,
    plan_counts,
    plan_create,
    plan_get_visible_to,
    plan_list_visible_to,
    plan_updates,
    responsible_unit_choices,
    update_publish,
)
from minyi.votes.models import ActionPlan, CampaignStatus


@staff_view(Perm.VOTE_VIEW)
def action_list(request):
    page = page_of(request, plan_list_visible_to(request.user))
    counts = plan_counts([plan.pk for plan in page])
    for plan in page:
        plan.follower_n = counts.get(plan.pk, 0)
    return render(
        request,
        "votes/action_list.html",
        {"page": page, "awaiting": list(options_awaiting_plan(request.user)[:50])},
    )


@staff_view(Perm.VOTE_MANAGE)
def action_new(request, option_pk):
    option = option_get_for_plan(request.user, option_pk)
    existing = ActionPlan.objects.filter(option=option).first()
    if existing is not None:
        return redirect("votes:action_detail", pk=existing.pk)
    units = responsible_unit_choices(request.user)
    initial = {"unit": option.unit_id or request.user.unit_id}
    form = PlanForm(request.POST or None, units=units, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                plan = plan_create(
                    request.user,
                    option,
                    unit=form.cleaned_data["unit"],
                    target=form.cleaned_data["target"],
                )
            except NotFound:
                raise
            except ApplicationError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
                status = exc.status
            else:
                messages.success(request, _("已列为实事项目，请添加节点并定期公布进展。"))
                return redirect("votes:action_detail", pk=plan.pk)
        else:
            status = 400
    return render(
        request,
        "votes/action_new.html",
        {
            "option": option,
            "campaign": option.campaign,
            "form": form,
            "published": option.campaign.status == CampaignStatus.PUBLISHED,
        },
        status=status,
    )


def _plan_page(request, plan, *, failed=None, alert="", status=200):
    actions = {"milestone", "done", "update"} if can_update(request.user, plan) else set()
    today = timezone.localdate()
    forms = {
        "milestone": MilestoneForm(),
        "done": MilestoneDoneForm(initial={"done_on": today}),
        "update": UpdateForm(initial={"percent_done": plan.percent_done}),
    }
    alert = PLAN_PAGE.forms_shown(forms, actions, failed=failed, alert=alert)
    return render(
        request,
        "votes/action_detail.html",
        {
            "plan": plan,
            "option": plan.option,
            "campaign": plan.option.campaign,
            "milestones": list(plan.milestones.all()),
            "updates": list(plan_updates(plan)),
            "followers": follower_count(plan),
            "votes": option_vote_count(plan.option),
            "actions": actions,
            "forms": forms,
            "alert": alert,
            "today": today,
            "can_manage": has_perm(request.user, Perm.VOTE_MANAGE),
        },
        status=status,
    )


PLAN_PAGE = ActionPage(
    get=plan_get_visible_to,
    render=_plan_page,
    url_name="votes:action_detail",
    main_field={"milestone": "title", "update": "text"},
    first="update",
)


@staff_view(Perm.VOTE_VIEW)
def action_detail(request, pk):
    return _plan_page(request, plan_get_visible_to(request.user, pk))


@staff_view(Perm.VOTE_VIEW)
@require_POST
def action_milestone_add(request, pk):
    return PLAN_PAGE.act(
        request,
        pk,
        name="milestone",
        form=MilestoneForm(request.POST),
        call=lambda plan, data: milestone_add(
            request.user, plan, title=data["title"], due_on=data["due_on"]
        ),
        done=_("节点已添加。"),
    )


def _milestone_of(plan, milestone_pk):
    milestone = plan.milestones.filter(pk=milestone_pk).first()
    if milestone is None:
        raise NotFound()
    milestone.plan = plan
    return milestone


@staff_view(Perm.VOTE_VIEW)
@require_POST
def action_milestone_done(request, pk, milestone_pk):
    return PLAN_PAGE.act(
        request,
        pk,
        name="done",
        form=MilestoneDoneForm(request.POST),
        call=lambda plan, data: milestone_done(
            request.user, _milestone_of(plan, milestone_pk), data["done_on"]
        ),
        done=_("节点已标记完成。"),
    )


@staff_view(Perm.VOTE_VIEW)
@require_POST
def action_update_publish(request, pk):
    return PLAN_PAGE.act(
        request,
        pk,
        name="update",
        form=UpdateForm(request.POST, request.FILES),
        call=lambda plan, data: update_publish(
            request.user,
            plan,
            text=data["text"],
            percent_done=data["percent_done"],
            figure_label=data["figure_label"],
            figure_value=data["figure_value"],
            photos=data["photos"],
            lower_reason=data["lower_reason"],
        ),
        done=_("进展已公布，关注该项目的群众将收到短信提醒。"),
    )
