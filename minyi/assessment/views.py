"""Staff pages of the annual assessment (年度综合考评): rules and peer groups, business
figures (list, import, compute), assessments (list, run, ranking per peer group with its
caterpillar and funnel plots, approval and publication).

Charts get their data as JSON through `json_script` and are drawn by
static/assessment/assessment.js, so the Content-Security-Policy can forbid inline scripts.
"""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from minyi.assessment.access import (
    ASSESSMENT_APPROVE,
    ASSESSMENT_MANAGE,
    ASSESSMENT_VIEW,
    can_approve,
    can_manage,
)
from minyi.assessment.charts import group_charts, indicator_table, share_summary
from minyi.assessment.compute import assessment_compute
from minyi.assessment.figures import (
    COLUMNS,
    business_figures_compute,
    figures_import_confirm,
    figures_import_preview,
    figures_import_upload,
)
from minyi.assessment.forms import (
    AssessmentComputeForm,
    PeerGroupForm,
    PeriodForm,
    RuleForm,
    UploadForm,
)
from minyi.assessment.models import AssessmentStatus, BusinessCode
from minyi.assessment.selectors import (
    assessment_get_visible,
    assessment_list_visible_to,
    assessment_rankings,
    figure_import_get_visible,
    figure_import_list_visible_to,
    figure_list_visible_to,
    peer_group_get_visible,
    peer_group_list_visible_to,
    rule_get_visible,
    rule_list_visible_to,
)
from minyi.assessment.services import (
    assessment_approve,
    assessment_publish,
    peer_group_save,
    rule_activate,
    rule_save,
)
from minyi.assessment.tasks import business_figures_import_task
from minyi.core.errors import ApplicationError, NotFound
from minyi.core.models import ImportStatus
from minyi.core.ui import page_of
from minyi.orgs.access import staff_view
from minyi.orgs.selectors import orgunit_root_for


def _owner(request):
    owner = orgunit_root_for(request.user)
    if owner is None:
        raise NotFound()
    return owner


# --- Assessments ----------------------------------------------------------------------------


@staff_view(ASSESSMENT_VIEW)
def assessment_list(request):
    return render(
        request,
        "assessment/assessment_list.html",
        {
            "page": page_of(request, assessment_list_visible_to(request.user)),
            "can_manage": can_manage(request.user),
        },
    )


@staff_view(ASSESSMENT_VIEW)
def assessment_detail(request, pk):
    assessment = assessment_get_visible(request.user, pk)
    rankings = assessment_rankings(request.user, assessment)
    chosen = request.GET.get("group", "")
    current = next((g for g in rankings if str(g.group_id) == chosen), None)
    current = current or (rankings[0] if rankings else None)
    context = {
        "assessment": assessment,
        "rankings": rankings,
        "group": current,
        "can_approve": can_approve(request.user)
        and assessment.status in (AssessmentStatus.COMPUTED, AssessmentStatus.APPROVED),
    }
    if current is not None:
        context["charts"] = group_charts(current)
        context["share"] = share_summary(current, draws=assessment.draws)
        context["indicators"] = indicator_table(current)
    return render(request, "assessment/assessment_detail.html", context)


@staff_view(ASSESSMENT_MANAGE)
def assessment_run(request):
    form = AssessmentComputeForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            assessment = assessment_compute(
                rule=data["rule"],
                label=data["label"],
                period_start=data["period_start"],
                period_end=data["period_end"],
                polls=data["polls"],
                actor=request.user,
            )
        except ApplicationError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
        else:
            messages.success(request, _("考评已计算，待督察/局领导审定。"))
            return redirect("assessment:assessment_detail", pk=assessment.pk)
    return render(request, "assessment/assessment_run.html", {"form": form})


def _transition(request, pk, service, done):
    assessment = assessment_get_visible(request.user, pk)
    try:
        service(actor=request.user, assessment=assessment)
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, done)
    return redirect("assessment:assessment_detail", pk=pk)


@require_POST
@staff_view(ASSESSMENT_APPROVE)
def assessment_approve_view(request, pk):
    return _transition(request, pk, assessment_approve, _("考评已审定。"))


@require_POST
@staff_view(ASSESSMENT_APPROVE)
def assessment_publish_view(request, pk):
    return _transition(request, pk, assessment_publish, _("考评排名已向社会公布。"))


# --- Rules ----------------------------------------------------------------------------------


@staff_view(ASSESSMENT_VIEW)
def rule_list(request):
    return render(
        request,
        "assessment/rule_list.html",
        {
            "page": page_of(request, rule_list_visible_to(request.user)),
            "can_manage": can_manage(request.user),
        },
    )


def _rule_page(request, rule=None):
    owner = rule.owner if rule is not None else _owner(request)
    form = RuleForm(request.POST or None, owner=owner, rule=rule)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            saved = rule_save(
                actor=request.user,
                owner=owner,
                year=data["year"],
                indicators=data["indicators"],
                peer_groups=data["peer_groups"],
                min_n_eff=data["min_n_eff"],
                p_bottom3_gate=data["p_bottom3_gate"],
                z_gate=data["z_gate"],
                note=data["note"],
                rule=rule,
            )
        except ApplicationError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
        else:
            if rule is not None and saved.pk != rule.pk:
                messages.success(
                    request,
                    _("原规则已用于考评，不能修改：已另存为第 %(v)d 版。") % {"v": saved.version},
                )
            else:
                messages.success(request, _("考评规则已保存。"))
            return redirect("assessment:rule_list")
    return render(
        request,
        "assessment/rule_form.html",
        {"form": form, "rule": rule, "owner": owner, "used": rule and rule.assessments.exists()},
        status=400 if request.method == "POST" else 200,
    )


@staff_view(ASSESSMENT_MANAGE)
def rule_create(request):
    return _rule_page(request)


@staff_view(ASSESSMENT_MANAGE)
def rule_edit(request, pk):
    return _rule_page(request, rule_get_visible(request.user, pk))


@require_POST
@staff_view(ASSESSMENT_MANAGE)
def rule_activate_view(request, pk):
    rule = rule_get_visible(request.user, pk)
    try:
        rule_activate(actor=request.user, rule=rule)
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("规则已启用，同类单位组成员已锁定。"))
    return redirect("assessment:rule_list")


# --- Peer groups ----------------------------------------------------------------------------


@staff_view(ASSESSMENT_VIEW)
def peer_group_list(request):
    return render(
        request,
        "assessment/peer_group_list.html",
        {
            "groups": peer_group_list_visible_to(request.user),
            "can_manage": can_manage(request.user),
        },
    )


def _peer_group_page(request, group=None):
    owner = group.owner if group is not None else _owner(request)
    initial = None
    if group is not None:
        initial = {"name": group.name, "members": [m.unit for m in group.memberships.all()]}
    form = PeerGroupForm(request.POST or None, owner=owner, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            peer_group_save(
                actor=request.user,
                owner=owner,
                name=form.cleaned_data["name"],
                members=form.cleaned_data["members"],
                group=group,
            )
        except ApplicationError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
        else:
            messages.success(request, _("同类单位组已保存。"))
            return redirect("assessment:peer_group_list")
    return render(
        request,
        "assessment/peer_group_form.html",
        {"form": form, "group": group, "owner": owner},
        status=400 if request.method == "POST" else 200,
    )


@staff_view(ASSESSMENT_MANAGE)
def peer_group_create(request):
    return _peer_group_page(request)


@staff_view(ASSESSMENT_MANAGE)
def peer_group_edit(request, pk):
    return _peer_group_page(request, peer_group_get_visible(request.user, pk))


# --- Business figures -----------------------------------------------------------------------


@staff_view(ASSESSMENT_VIEW)
def figure_list(request):
    code = request.GET.get("code", "")
    code = code if code in BusinessCode.values else ""
    unit_code = request.GET.get("unit", "").strip()[:20]
    return render(
        request,
        "assessment/figure_list.html",
        {
            "page": page_of(
                request, figure_list_visible_to(request.user, code=code, unit_code=unit_code)
            ),
            "code": code,
            "unit_code": unit_code,
            "codes": BusinessCode.choices,
            "can_manage": can_manage(request.user),
        },
    )


@staff_view(ASSESSMENT_MANAGE)
def figure_import(request):
    """Upload a file: it is kept (for audit) and previewed before anything is stored."""
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            record = figures_import_upload(actor=request.user, upload=form.cleaned_data["file"])
        except ApplicationError as exc:
            form.add_error("file", str(exc.message))
        else:
            return redirect("assessment:figure_import_detail", pk=record.pk)
    return render(
        request,
        "assessment/figure_import.html",
        {
            "form": form,
            "columns": COLUMNS,
            "codes": BusinessCode.choices,
            "imports": figure_import_list_visible_to(request.user)[:20],
        },
    )


def _import_context(request, record) -> dict:
    return {
        "record": record,
        "progress_url": reverse("assessment:figure_import_progress", args=[record.pk]),
        "can_manage": can_manage(request.user),
    }


@staff_view(ASSESSMENT_VIEW)
def figure_import_detail(request, pk):
    record = figure_import_get_visible(request.user, pk)
    context = _import_context(request, record)
    if record.status == ImportStatus.UPLOADED:
        try:
            context["preview"] = figures_import_preview(record=record)
            context["columns"] = COLUMNS
        except ApplicationError:
            record.refresh_from_db()  # refused as a whole: the status shows why
    return render(request, "assessment/figure_import_detail.html", context)


@require_POST
@staff_view(ASSESSMENT_MANAGE)
def figure_import_confirm(request, pk):
    record = figure_import_get_visible(request.user, pk)
    figures_import_confirm(actor=request.user, record=record)
    business_figures_import_task.enqueue(import_id=record.pk)
    return redirect("assessment:figure_import_detail", pk=record.pk)


@staff_view(ASSESSMENT_VIEW)
def figure_import_progress(request, pk):
    """The progress partial the import page polls (htmx) while the import runs."""
    record = figure_import_get_visible(request.user, pk)
    return render(request, "core/_import_status.html", _import_context(request, record))


@staff_view(ASSESSMENT_MANAGE)
def figure_compute(request):
    owner = _owner(request)
    form = PeriodForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        count = business_figures_compute(
            owner=owner,
            period_start=form.cleaned_data["period_start"],
            period_end=form.cleaned_data["period_end"],
            actor=request.user,
        )
        messages.success(request, _("已计算 %(n)d 项业务指标。") % {"n": count})
        return redirect("assessment:figure_list")
    return render(
        request,
        "assessment/figure_compute.html",
        {"form": form, "owner": owner},
    )
