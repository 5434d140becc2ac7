"""Staff pages of service reminders (办事提醒): the overview (counts per kind, due items), the
reminders sent with their delivery status, the templates, and the file import of due items
(upload → preview → confirm; the import runs synchronously on confirm). Templates are
city-wide: the city bureau edits them, a district or station reads them. Mobiles are shown
masked only (138****5678); nothing here reveals one."""

from django import forms
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from minyi.core.errors import ApplicationError
from minyi.core.models import ImportStatus
from minyi.core.ui import page_of
from minyi.orgs.access import staff_view
from minyi.orgs.roles import Perm, has_perm
from minyi.reminders.items import (
    COLUMNS,
    item_import_get_visible,
    item_imports_visible_to,
    items_file_confirm,
    items_file_preview,
    items_file_upload,
)
from minyi.reminders.models import PLACEHOLDERS, ReminderKind, ReminderTemplate
from minyi.reminders.selectors import (
    DELIVERY_COLUMNS,
    delivery_state,
    items_visible_to,
    kind_counts,
    sends_visible_to,
)
from minyi.reminders.sending import (
    rate_limits,
    template_edit_check,
    template_editable_by,
    template_for,
    template_save,
)

RECENT_IMPORTS = 20
DELIVERY_LABELS = {
    "queued": gettext_lazy("待发送"),
    "sent": gettext_lazy("网关已接收"),
    "delivered": gettext_lazy("已送达"),
    "failed": gettext_lazy("发送失败"),
}


class UploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("CSV 或 Excel（.xlsx）文件"))


class TemplateForm(forms.ModelForm):
    class Meta:
        model = ReminderTemplate
        fields = ["text", "lead_days", "active"]
        widgets = {"text": forms.Textarea(attrs={"rows": 4})}


def _kind(request) -> str:
    kind = request.GET.get("kind", "")
    return kind if kind in ReminderKind.values else ""


@staff_view(Perm.REMINDER_VIEW)
def item_list(request):
    kind = _kind(request)
    page = page_of(request, items_visible_to(request.user, kind=kind))
    return render(
        request,
        "reminders/item_list.html",
        {
            "counts": kind_counts(request.user),
            "delivery_labels": [DELIVERY_LABELS[c] for c in DELIVERY_COLUMNS],
            "kinds": ReminderKind.choices,
            "kind": kind,
            "page": page,
            "can_manage": has_perm(request.user, Perm.REMINDER_MANAGE),
            "limits": rate_limits(),
        },
    )


@staff_view(Perm.REMINDER_VIEW)
def send_list(request):
    kind = _kind(request)
    page = page_of(request, sends_visible_to(request.user, kind=kind))
    for send in page:
        send.delivery = delivery_state(send)
        send.delivery_label = DELIVERY_LABELS.get(send.delivery, "")
    return render(
        request,
        "reminders/send_list.html",
        {"kinds": ReminderKind.choices, "kind": kind, "page": page},
    )


@staff_view(Perm.REMINDER_MANAGE)
def template_list(request):
    templates = [template_for(kind) for kind in ReminderKind.values]
    return render(
        request,
        "reminders/template_list.html",
        {
            "templates": templates,
            "placeholders": PLACEHOLDERS.items(),
            "can_edit": template_editable_by(request.user),
        },
    )


@staff_view(Perm.REMINDER_MANAGE)
def template_edit(request, kind):
    """City bureau only (templates are city-wide): others get a 403 saying so."""
    template_edit_check(request.user)
    if kind not in ReminderKind.values:
        return render(request, "404.html", status=404)
    template = template_for(kind)
    form = TemplateForm(request.POST or None, instance=template)
    if request.method == "POST":
        if form.is_valid():
            template_save(actor=request.user, template=form.save(commit=False))
            return redirect("reminders:template_list")
        status = 400
    else:
        status = 200
    return render(
        request,
        "reminders/template_edit.html",
        {"template": template, "form": form, "placeholders": PLACEHOLDERS.items()},
        status=status,
    )


@staff_view(Perm.REMINDER_MANAGE)
def item_import(request):
    status = 200
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                record = items_file_upload(actor=request.user, upload=form.cleaned_data["file"])
            except ApplicationError as exc:
                form.add_error("file", str(exc.message))
            else:
                return redirect("reminders:import_detail", pk=record.pk)
        status = 400
    else:
        form = UploadForm()
    return render(
        request,
        "reminders/import.html",
        {
            "form": form,
            "columns": COLUMNS,
            "kinds": ReminderKind.choices,
            "imports": item_imports_visible_to(request.user)[:RECENT_IMPORTS],
        },
        status=status,
    )


@staff_view(Perm.REMINDER_MANAGE)
def import_detail(request, pk):
    record = item_import_get_visible(request.user, pk)
    context = {
        "record": record,
        "progress_url": reverse("reminders:import_detail", args=[record.pk]),
    }
    if record.status == ImportStatus.UPLOADED:
        try:
            context["preview"] = items_file_preview(record=record)
            context["columns"] = COLUMNS
        except ApplicationError:
            record.refresh_from_db()  # refused as a whole: the status shows why
    return render(request, "reminders/import_detail.html", context)


@staff_view(Perm.REMINDER_MANAGE)
@require_POST
def import_confirm(request, pk):
    record = item_import_get_visible(request.user, pk)
    items_file_confirm(actor=request.user, record=record)
    return redirect("reminders:import_detail", pk=record.pk)
