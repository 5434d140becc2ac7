"""Staff pages of patrol visibility (巡逻见警率): compliance with the heatmap, dwell stops and
the polls' 见警率 beside; flagged pings; the bureau's rules; a file import of pings; the
recompute button. Thin: the services and reads are in patrol.py."""

from datetime import date, timedelta

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from minyi.community.access import GRID_MANAGE, GRID_VIEW
from minyi.community.models import PatrolRule
from minyi.community.patrol import (
    PING_COLUMNS,
    RULE_FIELDS,
    flagged_pings_visible_to,
    key_hours_parse,
    passes_recompute,
    patrol_overview,
    patrol_rule_for,
    patrol_rule_save,
    pings_import,
    stations_visible_to,
)
from minyi.core.errors import ApplicationError, NotFound
from minyi.core.imports import ImportFileForm
from minyi.core.ui import page_of
from minyi.orgs.access import staff_view
from minyi.orgs.roles import has_perm
from minyi.orgs.selectors import orgunit_list_visible_to

MAX_DAYS = 62
RECOMPUTE_MAX_DAYS = 31


class RangeForm(forms.Form):
    start = forms.DateField(label=gettext_lazy("起始日期"), required=False)
    end = forms.DateField(label=gettext_lazy("截止日期"), required=False)
    station = forms.ModelChoiceField(
        label=gettext_lazy("派出所"),
        queryset=None,
        required=False,
        empty_label=gettext_lazy("全部"),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["station"].queryset = stations_visible_to(user)

    def clean(self):
        data = super().clean()
        end = data.get("end") or timezone.localdate()
        start = data.get("start") or end - timedelta(days=6)
        if start > end:
            raise forms.ValidationError(_("起始日期不能晚于截止日期。"))
        if (end - start).days >= MAX_DAYS:
            raise forms.ValidationError(_("一次最多查看 %(n)d 天。") % {"n": MAX_DAYS})
        data["start"], data["end"] = start, end
        return data


def _range(request) -> tuple[RangeForm, date, date, object]:
    form = RangeForm(request.GET or None, user=request.user)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        return form, data["start"], data["end"], data["station"]
    end = timezone.localdate()
    return form, end - timedelta(days=6), end, None


@staff_view(GRID_VIEW)
def patrol(request):
    form, first, last, station = _range(request)
    overview = patrol_overview(request.user, first=first, last=last, station=station)
    return render(
        request,
        "community/patrol_overview.html",
        {
            "form": form,
            "first": first,
            "last": last,
            "station": station,
            "can_manage": has_perm(request.user, GRID_MANAGE),
            **overview,
        },
        status=400 if form.errors else 200,
    )


@staff_view(GRID_VIEW)
def patrol_flagged(request):
    form, first, last, station = _range(request)
    rows = flagged_pings_visible_to(request.user, first=first, last=last, station=station)
    return render(
        request,
        "community/patrol_flagged.html",
        {"form": form, "first": first, "last": last, "page": page_of(request, rows)},
    )


class RuleForm(forms.ModelForm):
    class Meta:
        model = PatrolRule
        fields = list(RULE_FIELDS)

    def clean_key_hours(self):
        text = self.cleaned_data["key_hours"]
        try:
            key_hours_parse(text)
        except ApplicationError as exc:
            raise forms.ValidationError(str(exc.message)) from None
        return text


@staff_view(GRID_MANAGE)
def patrol_rules(request):
    units = orgunit_list_visible_to(request.user)
    unit_id = request.GET.get("unit")
    unit = units.filter(pk=unit_id).first() if unit_id else units.first()
    if unit is None:
        raise NotFound()
    rule = patrol_rule_for(unit)
    own = rule.pk is not None and rule.bureau_id == unit.pk
    initial = {name: getattr(rule, name) for name in RULE_FIELDS}
    form = RuleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            patrol_rule_save(actor=request.user, unit=unit, **form.cleaned_data)
        except ApplicationError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
        else:
            messages.success(request, _("巡逻规则已保存，重新计算后生效。"))
            return redirect(f"{reverse('community:patrol_rules')}?unit={unit.pk}")
    return render(
        request,
        "community/patrol_rules.html",
        {
            "form": form,
            "unit": unit,
            "units": units.exclude(kind="police_station")[:200],
            "rule": rule,
            "own": own,
        },
        status=400 if form.errors else 200,
    )


class PingImportForm(ImportFileForm):
    station = forms.ModelChoiceField(label=gettext_lazy("派出所"), queryset=None)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, columns=PING_COLUMNS, **kwargs)
        self.fields["station"].queryset = stations_visible_to(user)


@staff_view(GRID_MANAGE)
def patrol_import(request):
    form = PingImportForm(request.POST or None, request.FILES or None, user=request.user)
    report = None
    if request.method == "POST" and form.is_valid():
        report = pings_import(
            actor=request.user,
            station=form.cleaned_data["station"],
            table=form.cleaned_data["file"],
        )
    summary = {}
    if report is not None and report.stored:
        for result in report.results:
            key = result["flag"] or result["status"]
            summary[key] = summary.get(key, 0) + 1
    return render(
        request,
        "community/patrol_import.html",
        {"form": form, "report": report, "columns": PING_COLUMNS, "summary": summary},
        status=400 if form.errors or (report and not report.stored) else 200,
    )


@require_POST
@staff_view(GRID_MANAGE)
def patrol_recompute(request):
    form = RangeForm(request.POST, user=request.user)
    if not form.is_valid():
        messages.error(request, _("日期或派出所不正确。"))
        return redirect("community:patrol")
    first, last, station = (form.cleaned_data[k] for k in ("start", "end", "station"))
    if (last - first).days >= RECOMPUTE_MAX_DAYS:
        messages.error(request, _("一次最多重新计算 %(n)d 天。") % {"n": RECOMPUTE_MAX_DAYS})
        return redirect("community:patrol")
    stations = [station] if station is not None else list(stations_visible_to(request.user))
    total = passes_recompute(actor=request.user, stations=stations, first=first, last=last)
    messages.success(request, _("已重新计算，共 %(n)d 次巡逻经过。") % {"n": total})
    query = f"start={first.isoformat()}&end={last.isoformat()}"
    if station is not None:
        query += f"&station={station.pk}"
    return redirect(f"{reverse('community:patrol')}?{query}")
