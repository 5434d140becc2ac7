"""Staff pages of vote campaigns (票选活动): the scoped list with status tabs, a new campaign,
a campaign's page (settings, options with their photos and source suggestion, live turnout
and tally, the moves allowed now, the history), editing a draft and its options, the
lifecycle moves, and the results as Excel (audited). Thin: selectors read, services write."""

import io

from django.contrib import messages
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from minyi.core.audit import audit_record
from minyi.core.errors import ApplicationError, NotFound
from minyi.core.models import AuditAction
from minyi.core.ui import ALL, ActionPage, Tabs, console_list
from minyi.orgs.access import staff_view
from minyi.orgs.roles import has_perm
from minyi.votes.access import VOTE_AUDIT, VOTE_KEY, VOTE_MANAGE, VOTE_VIEW
from minyi.votes.campaigns import (
    PHOTOS_MAX,
    campaign_close,
    campaign_create,
    campaign_open,
    campaign_publish,
    campaign_update,
    option_add,
    option_remove,
)
from minyi.votes.forms import CampaignEditForm, CampaignForm, OptionForm
from minyi.votes.models import CampaignStatus
from minyi.votes.results import campaign_export, campaign_tally, rejections_by_reason
from minyi.votes.selectors import (
    campaign_action_require,
    campaign_actions_for,
    campaign_counts_visible_to,
    campaign_get_visible_to,
    campaign_history,
    campaign_list_visible_to,
    campaign_options,
    option_get_visible_to,
    option_photo_get_visible_to,
    paper_unsettled,
)

S = CampaignStatus
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

CAMPAIGN_TABS = Tabs(
    choices=(
        (ALL, gettext_lazy("全部")),
        (S.DRAFT, gettext_lazy("草稿")),
        (S.OPEN, gettext_lazy("投票中")),
        (S.CLOSED, gettext_lazy("已截止")),
        (S.PUBLISHED, gettext_lazy("已公布")),
    ),
    default=ALL,
)


@staff_view(VOTE_VIEW)
def campaign_list(request):
    status = CAMPAIGN_TABS.current(request)
    campaigns = campaign_list_visible_to(request.user, CAMPAIGN_TABS.filter_value(status))
    counts = campaign_counts_visible_to(request.user)
    context = console_list(request, campaigns, tabs=CAMPAIGN_TABS, current=status, counts=counts)
    context["can_manage"] = has_perm(request.user, VOTE_MANAGE)
    return render(request, "votes/campaign_list.html", context)


def _form_page(request, form, *, campaign=None, status=200):
    return render(
        request,
        "votes/campaign_form.html",
        {"form": form, "campaign": campaign},
        status=status,
    )


@staff_view(VOTE_MANAGE)
def campaign_new(request):
    form = CampaignForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            campaign = campaign_create(request.user, **form.cleaned_data)
        except ApplicationError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
        else:
            messages.success(request, _("已创建投票活动（草稿），请添加候选项。"))
            return redirect("votes:campaign_detail", pk=campaign.pk)
    return _form_page(request, form, status=400 if form.errors else 200)


@staff_view(VOTE_MANAGE)
def campaign_edit(request, pk):
    campaign = campaign_get_visible_to(request.user, pk)
    campaign_action_require(request.user, campaign, "edit")
    if request.method == "POST":
        form = CampaignEditForm(request.POST)
        if form.is_valid():
            try:
                campaign_update(request.user, campaign, **form.cleaned_data)
            except NotFound:
                raise
            except ApplicationError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
            else:
                messages.success(request, _("设置已保存。"))
                return redirect("votes:campaign_detail", pk=campaign.pk)
        return _form_page(request, form, campaign=campaign, status=400)
    initial = {
        name: getattr(campaign, name)
        for name in CampaignEditForm.base_fields
        if name not in ("opens_at", "closes_at")
    }
    initial["opens_at"] = timezone.localtime(campaign.opens_at)
    initial["closes_at"] = timezone.localtime(campaign.closes_at)
    return _form_page(request, CampaignEditForm(initial=initial), campaign=campaign)


def _campaign_page(request, campaign, *, failed=None, alert="", status=200):
    actions = campaign_actions_for(request.user, campaign)
    forms = {"edit": OptionForm(user=request.user)}
    alert = CAMPAIGN_PAGE.forms_shown(forms, actions, failed=failed, alert=alert)
    return render(
        request,
        "votes/campaign_detail.html",
        {
            "campaign": campaign,
            "options": campaign_options(campaign),
            "tally": campaign_tally(campaign),
            "rejections": rejections_by_reason(campaign),
            "paper_unsettled": paper_unsettled(campaign),
            "history": campaign_history(campaign),
            "actions": actions,
            "forms": forms,
            "alert": alert,
            "can_key": has_perm(request.user, VOTE_KEY),
            "can_audit": has_perm(request.user, VOTE_AUDIT),
            "can_plan": has_perm(request.user, VOTE_MANAGE),
            "photos_max": PHOTOS_MAX,
            "moment": timezone.now(),
        },
        status=status,
    )


@staff_view(VOTE_VIEW)
def campaign_detail(request, pk):
    return _campaign_page(request, campaign_get_visible_to(request.user, pk))


CAMPAIGN_PAGE = ActionPage(
    get=campaign_get_visible_to,
    render=_campaign_page,
    url_name="votes:campaign_detail",
    main_field={"edit": "title"},
)


@staff_view(VOTE_MANAGE)
@require_POST
def option_new(request, pk):
    return CAMPAIGN_PAGE.act(
        request,
        pk,
        name="edit",
        form=OptionForm(request.POST, request.FILES, user=request.user),
        call=lambda campaign, data: option_add(
            request.user,
            campaign,
            title=data["title"],
            text=data["text"],
            unit=data["unit"],
            opinion_number=data["opinion_number"],
            photos=data["photos"],
        ),
        done=_("已添加候选项。"),
    )


@staff_view(VOTE_MANAGE)
@require_POST
def option_delete(request, pk, option_pk):
    option = option_get_visible_to(request.user, pk, option_pk)
    return CAMPAIGN_PAGE.act(
        request,
        pk,
        name="remove",
        form=None,
        call=lambda campaign, data: option_remove(request.user, option),
        done=_("已删除候选项，后面的候选项编号依次前移。"),
    )


@staff_view(VOTE_VIEW)
def option_photo(request, pk, photo_pk):
    """An option's photo, through a scoped read, with the type judged at upload."""
    photo = option_photo_get_visible_to(request.user, pk, photo_pk)
    try:
        handle = photo.file.open("rb")
    except FileNotFoundError as exc:
        raise NotFound(_("照片文件已不存在，请联系管理员。")) from exc
    response = FileResponse(handle, content_type=photo.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    return response


def _move_view(service, done):
    @staff_view(VOTE_MANAGE)
    @require_POST
    def view(request, pk):
        return CAMPAIGN_PAGE.act(
            request,
            pk,
            name=service.__name__,
            form=None,
            call=lambda campaign, data: service(request.user, campaign),
            done=done,
        )

    view.__name__ = f"{service.__name__}_view"
    return view


campaign_open_view = _move_view(campaign_open, gettext_lazy("投票已开始。"))
campaign_close_view = _move_view(campaign_close, gettext_lazy("投票已截止。"))
campaign_publish_view = _move_view(campaign_publish, gettext_lazy("结果已公布。"))


@staff_view(VOTE_VIEW)
def campaign_export_view(request, pk):
    """The results as Excel, with the export in the audit log."""
    campaign = campaign_get_visible_to(request.user, pk)
    body = campaign_export(campaign)
    audit_record(
        action=AuditAction.EXPORT,
        request=request,
        obj=campaign,
        detail={"table": "vote_results", "format": "xlsx"},
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return FileResponse(
        io.BytesIO(body),
        as_attachment=True,
        filename=f"minyi-vote-{campaign.code}-{stamp}.xlsx",
        content_type=XLSX,
    )
