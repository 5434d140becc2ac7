"""Perception pages: the citizen's H5 survey and the staff's manual event import."""

from django import forms
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt

from minyi.core.errors import ApplicationError
from minyi.core.imports import ImportFileForm
from minyi.orgs.access import staff_view
from minyi.orgs.roles import Perm
from minyi.perception.imports import COLUMNS, events_import
from minyi.perception.models import Rating, Survey, SurveyStatus
from minyi.perception.services.replies import survey_answer_h5

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


# --- Staff: the manual event import ----------------------------------------------------


@staff_view(Perm.EVENT_IMPORT)
def event_import(request):
    form = ImportFileForm(request.POST or None, request.FILES or None, columns=COLUMNS)
    report = None
    if request.method == "POST" and form.is_valid():
        report = events_import(actor=request.user, table=form.cleaned_data["file"])
    return render(
        request,
        "perception/event_import.html",
        {"form": form, "report": report, "columns": COLUMNS},
    )
