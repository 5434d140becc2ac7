"""Staff pages of volunteers (群防群治), under /volunteers/: the registry, partner
organisations, activities with sign-up and attendance, the recognition list (表彰榜) and the
registry's export. Lists need VOLUNTEER_VIEW, changes VOLUNTEER_MANAGE; everything is scoped to
the user's subtree by the selectors, and mobiles are masked, a reveal audited."""

import csv
import io
from datetime import date

from django.contrib import messages
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from openpyxl import Workbook

from minyi.core.audit import audit_record
from minyi.core.errors import ApplicationError
from minyi.core.models import AuditAction
from minyi.core.pii import mask_mobile
from minyi.core.ui import page_of
from minyi.orgs.access import staff_view
from minyi.orgs.roles import Perm, has_perm
from minyi.volunteers import selectors as sel
from minyi.volunteers.forms import (
    ActivityForm,
    OrganisationForm,
    PeriodForm,
    VolunteerFilterForm,
    VolunteerForm,
)
from minyi.volunteers.models import ActivityKind, ActivityStatus
from minyi.volunteers.services import (
    CONSENT_TEXT,
    activity_move,
    activity_save,
    attendance_record,
    organisation_save,
    signup_add,
    volunteer_erase,
    volunteer_register,
    volunteer_reveal_mobile,
    volunteer_update,
    volunteer_withdraw,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT_MAX_ROWS = 20_000


def _form_error(form, exc: ApplicationError) -> int:
    form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
    return exc.status


def _can_manage(user) -> bool:
    return has_perm(user, Perm.VOLUNTEER_MANAGE)


# --- Volunteers -------------------------------------------------------------------------------


def _filters(request) -> tuple[VolunteerFilterForm, sel.VolunteerFilter]:
    form = VolunteerFilterForm(
        request.GET or None,
        stations=sel.stations_visible_to(request.user),
        organisations=sel.organisation_list_visible_to(request.user),
    )
    filters = sel.VolunteerFilter()
    if form.is_valid():
        data = form.cleaned_data
        filters = sel.VolunteerFilter(
            unit=data["unit"],
            status=data["status"],
            skill=data["skill"],
            organisation=data["organisation"],
            mobile=data["mobile"].strip(),
        )
    return form, filters


@staff_view(Perm.VOLUNTEER_VIEW)
def volunteer_list(request):
    form, filters = _filters(request)
    page = page_of(request, sel.volunteer_list_visible_to(request.user, filters))
    hours = sel.volunteer_hours(v.pk for v in page)
    for volunteer in page:
        volunteer.total_hours, volunteer.total_activities = hours.get(volunteer.pk, (0, 0))
    return render(
        request,
        "volunteers/volunteer_list.html",
        {
            "filter_form": form,
            "page": page,
            "can_manage": _can_manage(request.user),
        },
    )


def _volunteer_form(request, *, initial=None):
    return VolunteerForm(
        request.POST or None,
        initial=initial,
        stations=sel.stations_visible_to(request.user),
        communities=sel.communities_visible_to(request.user),
        organisations=sel.organisation_list_visible_to(request.user).filter(active=True),
    )


def _person(data) -> dict:
    return {
        "name": data["name"],
        "community": data["community"],
        "organisation": data["organisation"],
        "skills": data["skills"],
        "availability": data["availability"],
        "availability_note": data["availability_note"],
        "public_name": data["public_name"],
    }


@staff_view(Perm.VOLUNTEER_MANAGE)
def volunteer_new(request):
    form = _volunteer_form(request, initial={"consent": False})
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            volunteer = volunteer_register(
                actor=request.user,
                unit=data["unit"],
                mobile=data["mobile"],
                consent=data["consent"],
                **_person(data),
            )
        except ApplicationError as exc:
            status = _form_error(form, exc)
        else:
            messages.success(request, _("志愿者已登记。"))
            return redirect("volunteers:volunteer_edit", pk=volunteer.pk)
    elif request.method == "POST":
        status = 400
    return render(
        request,
        "volunteers/volunteer_form.html",
        {"form": form, "consent_text": CONSENT_TEXT},
        status=status,
    )


@staff_view(Perm.VOLUNTEER_MANAGE)
def volunteer_edit(request, pk):
    volunteer = sel.volunteer_get_visible_to(request.user, pk)
    form = _volunteer_form(
        request,
        initial={
            "unit": volunteer.unit_id,
            "name": volunteer.name,
            "community": volunteer.community_id,
            "organisation": volunteer.organisation_id,
            "skills": volunteer.skills,
            "availability": volunteer.availability,
            "availability_note": volunteer.availability_note,
            "public_name": volunteer.public_name,
        },
    )
    form.fields["unit"].disabled = True
    form.fields["consent"].disabled = True
    form.fields["mobile"].help_text = _("留空则不修改。")
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            volunteer_update(
                actor=request.user,
                volunteer=volunteer,
                mobile=form.cleaned_data["mobile"],
                **_person(form.cleaned_data),
            )
        except ApplicationError as exc:
            status = _form_error(form, exc)
        else:
            messages.success(request, _("已保存。"))
            return redirect("volunteers:volunteer_edit", pk=volunteer.pk)
    elif request.method == "POST":
        status = 400
    hours = sel.volunteer_hours([volunteer.pk]).get(volunteer.pk, (0, 0))
    return render(
        request,
        "volunteers/volunteer_form.html",
        {
            "form": form,
            "volunteer": volunteer,
            "hours": hours,
            "signups": volunteer.signups.select_related("activity").order_by(
                "-activity__starts_at"
            )[:50],
        },
        status=status,
    )


@staff_view(Perm.VOLUNTEER_MANAGE)
@require_POST
def volunteer_reveal(request, pk):
    volunteer = sel.volunteer_get_visible_to(request.user, pk)
    value = volunteer_reveal_mobile(actor=request.user, volunteer=volunteer, request=request)
    response = render(request, "console/_revealed.html", {"value": value})
    response["Cache-Control"] = "private, no-store"
    return response


def _volunteer_action(service, done):
    @staff_view(Perm.VOLUNTEER_MANAGE)
    @require_POST
    def view(request, pk):
        volunteer = sel.volunteer_get_visible_to(request.user, pk)
        try:
            service(actor=request.user, volunteer=volunteer)
        except ApplicationError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(request, str(done))
        return redirect("volunteers:volunteer_edit", pk=volunteer.pk)

    view.__name__ = f"{service.__name__}_view"
    return view


# Module level: lazy, translated per request in the user's language.
volunteer_withdraw_view = _volunteer_action(volunteer_withdraw, gettext_lazy("志愿者已退出。"))
volunteer_erase_view = _volunteer_action(
    volunteer_erase, gettext_lazy("该志愿者的个人信息已删除。")
)


def _export_rows(request):
    _form, filters = _filters(request)
    rows = sel.volunteer_list_visible_to(request.user, filters)[:EXPORT_MAX_ROWS]
    rows = list(rows)
    hours = sel.volunteer_hours(v.pk for v in rows)
    headers = [
        _("编号"),
        _("派出所"),
        _("姓名"),
        _("手机号码"),
        _("所在社区"),
        _("合作单位"),
        _("特长"),
        _("可参与时间"),
        _("状态"),
        _("累计服务时长"),
        _("参加活动次数"),
        _("登记时间"),
    ]
    body = [
        [
            v.pk,
            v.unit.name,
            v.name or _("（已删除）"),
            mask_mobile(v.mobile),
            v.community.name if v.community else "",
            v.organisation.name if v.organisation else "",
            "、".join(v.skill_labels()),
            "、".join(v.availability_labels()),
            v.get_status_display(),
            float(hours.get(v.pk, (0, 0))[0]),
            hours.get(v.pk, (0, 0))[1],
            timezone.localtime(v.created_at).strftime("%Y-%m-%d"),
        ]
        for v in rows
    ]
    return headers, body


@staff_view(Perm.VOLUNTEER_MANAGE)
def volunteer_export(request):
    """The registry as CSV or Excel (mobiles masked), with the export in the audit log: people
    listed, so only those who manage volunteers export it."""
    fmt = "xlsx" if request.GET.get("format") == "xlsx" else "csv"
    headers, body = _export_rows(request)
    audit_record(
        action=AuditAction.EXPORT,
        request=request,
        obj=request.user.unit,
        detail={"table": "volunteers", "format": fmt, "rows": len(body)},
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(headers)
        writer.writerows(body)
        response = HttpResponse("\ufeff" + out.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="minyi-volunteers-{stamp}.csv"'
        return response
    book = Workbook()
    sheet = book.active
    sheet.title = _("志愿者")
    sheet.append(headers)
    for row in body:
        sheet.append(row)
    data = io.BytesIO()
    book.save(data)
    data.seek(0)
    return FileResponse(
        data, as_attachment=True, filename=f"minyi-volunteers-{stamp}.xlsx", content_type=XLSX
    )


# --- Partner organisations ----------------------------------------------------------------------


@staff_view(Perm.VOLUNTEER_VIEW)
def organisation_list(request):
    return render(
        request,
        "volunteers/organisation_list.html",
        {
            "page": page_of(request, sel.organisation_list_visible_to(request.user)),
            "can_manage": _can_manage(request.user),
        },
    )


def _organisation_page(request, organisation=None):
    initial = (
        {
            "unit": organisation.unit_id,
            "name": organisation.name,
            "kind": organisation.kind,
            "contact_name": organisation.contact_name,
            "contact_mobile": organisation.contact_mobile,
            "active": organisation.active,
        }
        if organisation
        else {"active": True}
    )
    form = OrganisationForm(
        request.POST or None, initial=initial, stations=sel.stations_visible_to(request.user)
    )
    if organisation is not None:
        form.fields["unit"].disabled = True
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            organisation_save(actor=request.user, organisation=organisation, **form.cleaned_data)
        except ApplicationError as exc:
            status = _form_error(form, exc)
        else:
            messages.success(request, _("已保存。"))
            return redirect("volunteers:organisation_list")
    elif request.method == "POST":
        status = 400
    return render(
        request,
        "volunteers/organisation_form.html",
        {"form": form, "organisation": organisation},
        status=status,
    )


@staff_view(Perm.VOLUNTEER_MANAGE)
def organisation_new(request):
    return _organisation_page(request)


@staff_view(Perm.VOLUNTEER_MANAGE)
def organisation_edit(request, pk):
    return _organisation_page(request, sel.organisation_get_visible_to(request.user, pk))


# --- Activities ---------------------------------------------------------------------------------


@staff_view(Perm.VOLUNTEER_VIEW)
def activity_list(request):
    when = request.GET.get("when", "upcoming")
    when = when if when in ("upcoming", "past", "all") else "upcoming"
    kind = request.GET.get("kind", "")
    kind = kind if kind in ActivityKind.values else ""
    rows = sel.activity_list_visible_to(request.user, kind=kind, when="" if when == "all" else when)
    return render(
        request,
        "volunteers/activity_list.html",
        {
            "page": page_of(request, rows),
            "when": when,
            "kind": kind,
            "kinds": ActivityKind.choices,
            "can_manage": _can_manage(request.user),
        },
    )


def _activity_page(request, activity=None):
    initial = {"capacity": 10}
    if activity is not None:
        initial = {
            name: getattr(activity, name)
            for name in ("title", "kind", "place", "capacity", "description")
        }
        initial.update(
            unit=activity.unit_id,
            area=activity.area_id,
            starts_at=timezone.localtime(activity.starts_at),
            ends_at=timezone.localtime(activity.ends_at),
        )
    form = ActivityForm(
        request.POST or None,
        initial=initial,
        stations=sel.stations_visible_to(request.user),
        areas=sel.areas_visible_to(request.user),
    )
    if activity is not None:
        form.fields["unit"].disabled = True
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            saved = activity_save(actor=request.user, activity=activity, **form.cleaned_data)
        except ApplicationError as exc:
            status = _form_error(form, exc)
        else:
            messages.success(request, _("活动已保存。"))
            return redirect("volunteers:activity_detail", pk=saved.pk)
    elif request.method == "POST":
        status = 400
    return render(
        request,
        "volunteers/activity_form.html",
        {"form": form, "activity": activity},
        status=status,
    )


@staff_view(Perm.VOLUNTEER_MANAGE)
def activity_new(request):
    return _activity_page(request)


@staff_view(Perm.VOLUNTEER_MANAGE)
def activity_edit(request, pk):
    return _activity_page(request, sel.activity_get_visible_to(request.user, pk))


def _detail(request, activity, *, error="", status=200, marks=None):
    signups = list(sel.activity_signups(activity))
    for signup in signups:
        if marks is not None:
            signup.typed_attended, signup.typed_hours = marks.get(signup.pk, (False, ""))
        else:
            signup.typed_attended = signup.attended
            signup.typed_hours = signup.hours if signup.recorded_at else ""
    now = timezone.now()
    return render(
        request,
        "volunteers/activity_detail.html",
        {
            "activity": activity,
            "signups": signups,
            "candidates": sel.volunteers_to_sign_up(activity)[:500]
            if activity.status == ActivityStatus.OPEN
            else [],
            "can_manage": _can_manage(request.user),
            "can_record": activity.status != ActivityStatus.CANCELLED and activity.starts_at <= now,
            "counts_for_patrol": activity.kind == ActivityKind.PATROL
            and activity.area is not None
            and activity.area.is_key,
            "error": error,
            "ActivityStatus": ActivityStatus,
        },
        status=status,
    )


@staff_view(Perm.VOLUNTEER_VIEW)
def activity_detail(request, pk):
    return _detail(request, sel.activity_get_visible_to(request.user, pk))


@staff_view(Perm.VOLUNTEER_MANAGE)
@require_POST
def activity_signup(request, pk):
    activity = sel.activity_get_visible_to(request.user, pk)
    volunteer_id = request.POST.get("volunteer", "")
    volunteer = (
        sel.volunteers_to_sign_up(activity).filter(pk=volunteer_id).first()
        if volunteer_id.isdigit()
        else None
    )
    if volunteer is None:
        return _detail(request, activity, error=_("请选择本所在册且尚未报名的志愿者。"), status=400)
    try:
        signup_add(activity=activity, volunteer=volunteer, actor=request.user)
    except ApplicationError as exc:
        return _detail(request, activity, error=str(exc.message), status=exc.status)
    messages.success(request, _("已报名。"))
    return redirect("volunteers:activity_detail", pk=activity.pk)


@staff_view(Perm.VOLUNTEER_MANAGE)
@require_POST
def activity_attendance(request, pk):
    activity = sel.activity_get_visible_to(request.user, pk)
    marks = {
        signup.pk: (
            request.POST.get(f"attended_{signup.pk}") == "on",
            request.POST.get(f"hours_{signup.pk}", "").strip(),
        )
        for signup in activity.signups.all()
    }
    try:
        present = attendance_record(actor=request.user, activity=activity, marks=marks)
    except ApplicationError as exc:
        return _detail(request, activity, error=str(exc.message), status=exc.status, marks=marks)
    messages.success(request, _("已记录到场 %(n)d 人。") % {"n": present})
    return redirect("volunteers:activity_detail", pk=activity.pk)


@staff_view(Perm.VOLUNTEER_MANAGE)
@require_POST
def activity_status(request, pk):
    activity = sel.activity_get_visible_to(request.user, pk)
    try:
        activity_move(actor=request.user, activity=activity, to=request.POST.get("to", ""))
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("活动状态已更新。"))
    return redirect("volunteers:activity_detail", pk=activity.pk)


# --- Recognition (表彰榜) -------------------------------------------------------------------------


@staff_view(Perm.VOLUNTEER_VIEW)
def recognition(request):
    form = PeriodForm(request.GET or None, stations=sel.stations_visible_to(request.user))
    today = timezone.localdate()
    first, last, unit = date(today.year, 1, 1), today, None
    if form.is_valid():
        first = form.cleaned_data["first"] or first
        last = form.cleaned_data["last"] or last
        unit = form.cleaned_data["unit"]
    figures = sel.recognition_for(request.user, first=first, last=last, unit=unit)
    return render(
        request,
        "volunteers/recognition.html",
        {"form": form, "first": first, "last": last, **figures},
    )
