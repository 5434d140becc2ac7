"""Staff pages of polls (民意测评, DOMAIN.md capability 2): the waves within one's subtree,
a new wave, a wave's estimates (per indicator: n beside n_eff, weighted rate with its Wilson
interval, empirical-Bayes rate, funnel z, median rank with its 90% interval, P(last),
P(bottom 3)), its imports and its units' population margins; the margins; and the stored
imports (preview, confirm, a progress bar, the rows refused)."""

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from minyi.core.errors import ApplicationError
from minyi.core.models import ImportStatus
from minyi.core.ui import page_of
from minyi.orgs.access import staff_view
from minyi.polls.forms import PollForm, UploadForm
from minyi.polls.imports import KIND_MARGINS, KIND_RESPONDENTS, MARGIN_COLUMNS, RESPONDENT_COLUMNS
from minyi.polls.models import Indicator, PollSource
from minyi.polls.selectors import (
    import_get_visible,
    import_list_visible_to,
    margin_summary_visible_to,
    poll_estimates,
    poll_get_visible,
    poll_imports,
    poll_list_visible_to,
    poll_unit_status,
)
from minyi.polls.services import (
    POLL_MANAGE,
    POLL_VIEW,
    can_manage,
    margins_upload,
    poll_create,
    poll_import_confirm,
    poll_import_preview,
    poll_weigh,
    respondents_upload,
)
from minyi.polls.tasks import poll_import_task

TABS = (
    ("estimates", gettext_lazy("测评结果")),
    ("imports", gettext_lazy("导入记录")),
    ("margins", gettext_lazy("人口结构")),
)
KIND_LABELS = {KIND_RESPONDENTS: gettext_lazy("测评样本"), KIND_MARGINS: gettext_lazy("人口结构")}
COLUMNS = {KIND_RESPONDENTS: RESPONDENT_COLUMNS, KIND_MARGINS: MARGIN_COLUMNS}


@staff_view(POLL_VIEW)
def poll_list(request):
    return render(
        request,
        "polls/poll_list.html",
        {
            "page": page_of(request, poll_list_visible_to(request.user)),
            "can_manage": can_manage(request.user),
        },
    )


@staff_view(POLL_MANAGE)
def poll_new(request):
    form = PollForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            poll = poll_create(actor=request.user, source=PollSource.IMPORTED, **form.cleaned_data)
        except ApplicationError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
        else:
            messages.success(request, _("已创建测评，请导入测评样本。"))
            return redirect(reverse("polls:poll_detail", args=[poll.pk]) + "?tab=imports")
    return render(
        request, "polls/poll_form.html", {"form": form}, status=400 if form.errors else 200
    )


@staff_view(POLL_VIEW)
def poll_detail(request, pk):
    poll = poll_get_visible(request.user, pk)
    tab = request.GET.get("tab")
    tab = tab if tab in dict(TABS) else "estimates"
    indicator = request.GET.get("indicator")
    indicator = indicator if indicator in Indicator.values else Indicator.SATISFACTION
    context = {
        "poll": poll,
        "tab": tab,
        "tabs": TABS,
        "can_manage": can_manage(request.user),
        "min_n_eff": settings.POLL_MIN_N_EFF,
    }
    if tab == "estimates":
        estimates = poll_estimates(request.user, poll, indicator=indicator)
        context |= {
            "indicators": Indicator.choices,
            "indicator": indicator,
            "indicator_label": Indicator(indicator).label,
            "estimates": estimates,
            "units": poll_unit_status(request.user, poll),
        }
    elif tab == "imports":
        context |= {
            "imports": poll_imports(request.user, poll),
            "form": UploadForm(),
            "columns": RESPONDENT_COLUMNS,
        }
    else:
        context["units"] = poll_unit_status(request.user, poll)
    return render(request, "polls/poll_detail.html", context)


@staff_view(POLL_MANAGE)
@require_POST
def poll_upload(request, pk):
    poll = poll_get_visible(request.user, pk)
    form = UploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            record = respondents_upload(
                actor=request.user, poll=poll, upload=form.cleaned_data["file"]
            )
        except ApplicationError as exc:
            form.add_error("file", str(exc.message))
        else:
            return redirect("polls:import_detail", pk=record.pk)
    context = {
        "poll": poll,
        "tab": "imports",
        "tabs": TABS,
        "can_manage": True,
        "imports": poll_imports(request.user, poll),
        "form": form,
        "columns": RESPONDENT_COLUMNS,
    }
    return render(request, "polls/poll_detail.html", context, status=400)


@staff_view(POLL_MANAGE)
@require_POST
def poll_recompute(request, pk):
    poll = poll_get_visible(request.user, pk)
    summary = poll_weigh(poll=poll, actor=request.user)
    messages.success(
        request,
        _("已重新计算权重与测评结果：%(units)d 个单位，%(n)d 项结果。")
        % {"units": summary["units"], "n": summary["estimates"]},
    )
    return redirect("polls:poll_detail", pk=poll.pk)


@staff_view(POLL_VIEW)
def margin_list(request):
    year = request.GET.get("year", "")
    year = int(year) if year.isdigit() else None
    return render(
        request,
        "polls/margin_list.html",
        {
            "rows": margin_summary_visible_to(request.user, year=year),
            "year": year,
            "can_manage": can_manage(request.user),
            "form": UploadForm(),
            "columns": MARGIN_COLUMNS,
        },
    )


@staff_view(POLL_MANAGE)
@require_POST
def margin_upload(request):
    form = UploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            record = margins_upload(actor=request.user, upload=form.cleaned_data["file"])
        except ApplicationError as exc:
            form.add_error("file", str(exc.message))
        else:
            return redirect("polls:import_detail", pk=record.pk)
    context = {
        "rows": margin_summary_visible_to(request.user),
        "year": None,
        "can_manage": True,
        "form": form,
        "columns": MARGIN_COLUMNS,
    }
    return render(request, "polls/margin_list.html", context, status=400)


@staff_view(POLL_VIEW)
def import_list(request):
    kind = request.GET.get("kind", KIND_RESPONDENTS)
    kind = kind if kind in KIND_LABELS else KIND_RESPONDENTS
    return render(
        request,
        "polls/import_list.html",
        {
            "page": page_of(request, import_list_visible_to(request.user, kind=kind)),
            "kind": kind,
            "kinds": list(KIND_LABELS.items()),
        },
    )


def _import_context(request, record) -> dict:
    poll = None
    if record.kind == KIND_RESPONDENTS:
        poll = poll_get_visible(request.user, record.target.get("poll"))
    return {
        "record": record,
        "poll": poll,
        "kind_label": KIND_LABELS[record.kind],
        "progress_url": reverse("polls:import_progress", args=[record.pk]),
        "can_manage": can_manage(request.user),
    }


@staff_view(POLL_VIEW)
def import_detail(request, pk):
    record = import_get_visible(request.user, pk)
    context = _import_context(request, record)
    if record.status == ImportStatus.UPLOADED:
        try:
            context["preview"] = poll_import_preview(record=record)
            context["columns"] = COLUMNS[record.kind]
        except ApplicationError:
            record.refresh_from_db()  # refused as a whole: the status shows why
    return render(request, "polls/import_detail.html", context)


@staff_view(POLL_MANAGE)
@require_POST
def import_confirm(request, pk):
    record = import_get_visible(request.user, pk)
    poll_import_confirm(actor=request.user, record=record)
    poll_import_task.enqueue(import_id=record.pk)
    return redirect("polls:import_detail", pk=record.pk)


@staff_view(POLL_VIEW)
def import_progress(request, pk):
    """The progress partial the import page polls (htmx) while the import runs."""
    record = import_get_visible(request.user, pk)
    return render(request, "core/_import_status.html", _import_context(request, record))
