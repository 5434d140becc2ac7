"""Perception pages: the citizen's H5 survey, and the staff callback queue, inbox and import."""

import csv
import io

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from minyi.console.access import staff_view
from minyi.core.errors import ApplicationError, NotFound
from minyi.orgs.roles import Perm
from minyi.perception.imports import CSV_COLUMNS, events_import_rows
from minyi.perception.models import Rating, Survey, SurveyStatus
from minyi.perception.selectors import callback_list_visible_to, inbox_list_visible_to
from minyi.perception.services import inbox_message_review, survey_answer_h5

PAGE_SIZE = 50

# --- Citizen: the H5 survey (/s/<token>) -------------------------------------------------


class SurveyForm(forms.Form):
    rating = forms.TypedChoiceField(
        label=gettext_lazy("您对本次服务的评价"),
        choices=Rating.choices,
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": gettext_lazy("请选择一项评价。")},
    )
    comment = forms.CharField(
        label=gettext_lazy("想对我们说的话（选填）"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": 500}),
    )


# The unguessable single-use token in the URL is the credential, so a forged cross-site post
# would need it; without cookies (some in-app browsers block them) a citizen must still be
# able to answer, not meet a CSRF error page.
@csrf_exempt
def survey_h5(request, token):
    survey = (
        Survey.objects.select_related("event", "unit", "business_type").filter(token=token).first()
    )
    if survey is None or survey.status == SurveyStatus.SCHEDULED:
        return render(request, "perception/survey_closed.html", {"reason": "unknown"}, status=404)
    if survey.status != SurveyStatus.SENT:
        return render(
            request, "perception/survey_closed.html", {"reason": survey.status, "survey": survey}
        )
    form = SurveyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            survey_answer_h5(
                token=token,
                rating=form.cleaned_data["rating"],
                comment=form.cleaned_data["comment"],
            )
        except ApplicationError:
            survey.refresh_from_db()
            return render(
                request,
                "perception/survey_closed.html",
                {"reason": survey.status, "survey": survey},
            )
        return redirect("survey_h5", token=token)
    occurred = timezone.localtime(survey.event.occurred_at)
    return render(
        request, "perception/survey.html", {"survey": survey, "form": form, "occurred": occurred}
    )


# --- Staff: callback queue, inbox, manual import -------------------------------------------


@staff_view(Perm.CALLBACK_VIEW)
def callback_list(request):
    callbacks = callback_list_visible_to(request.user)
    page = Paginator(callbacks, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "perception/callback_list.html", {"page": page, "now": timezone.now()})


@staff_view(Perm.INBOX_VIEW)
def inbox(request):
    page = Paginator(inbox_list_visible_to(request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "perception/inbox.html", {"page": page})


@staff_view(Perm.INBOX_VIEW)
@require_POST
def inbox_mark_read(request, pk):
    inbound = inbox_list_visible_to(request.user).filter(pk=pk).first()
    if inbound is None:
        raise NotFound()
    inbox_message_review(actor=request.user, inbound=inbound)
    messages.success(request, _("已标记为已查看。"))
    return redirect("perception:inbox")


class ImportForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("CSV 文件（UTF-8）"))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > 5 * 1024 * 1024:
            raise forms.ValidationError(_("文件不能超过 5 MB。"))
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise forms.ValidationError(_("文件不是 UTF-8 编码的 CSV。")) from exc
        reader = csv.DictReader(io.StringIO(text))
        missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise forms.ValidationError(_("缺少列：%(cols)s") % {"cols": ", ".join(missing)})
        return list(reader)


@staff_view(Perm.EVENT_IMPORT)
def event_import(request):
    form = ImportForm(request.POST or None, request.FILES or None)
    results = None
    if request.method == "POST" and form.is_valid():
        results = events_import_rows(actor=request.user, rows=form.cleaned_data["file"])
    return render(
        request,
        "perception/event_import.html",
        {"form": form, "results": results, "columns": CSV_COLUMNS},
    )
