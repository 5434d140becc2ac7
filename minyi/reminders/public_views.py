"""The citizen's opt-out page of service reminders (办事提醒退订), linked from every reminder
SMS: the citizen proves the mobile with a one-time code (OtpPurpose.REMINDER_OPT_OUT) and stops
reminders of one kind or of all kinds (or takes them again). Phone first, no JavaScript; the
number is shown masked once proven."""

from django import forms
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy

from minyi.core.errors import ApplicationError
from minyi.core.pii import mask_mobile
from minyi.reminders.models import ReminderKind
from minyi.reminders.sending import (
    reminder_optout_add,
    reminder_optout_remove,
    reminder_optouts_for,
)
from minyi.verification.forms import ProvenMobileForm
from minyi.verification.models import OtpPurpose
from minyi.verification.services import session_forget, session_verified_mobile
from minyi.verification.views import proven_mobile, send_code, wants_code

STOP, RESUME, FORGET = "stop", "resume", "forget"
ALL = "all"
KIND_CHOICES = [(ALL, gettext_lazy("全部办事提醒")), *ReminderKind.choices]


class OptOutForm(ProvenMobileForm):
    kind = forms.ChoiceField(
        label=gettext_lazy("退订哪类提醒"), choices=KIND_CHOICES, initial=ALL, required=False
    )


def _kind(value: str) -> str:
    return value if value in ReminderKind.values else ""


def _apply(action: str, mobile: str, kind: str) -> None:
    if action == RESUME:
        reminder_optout_remove(mobile=mobile, kind=kind)
    else:
        reminder_optout_add(mobile=mobile, kind=kind, source="h5")


def _proven_page(request, mobile):
    opted = reminder_optouts_for(mobile)
    kinds = [
        {"value": value or ALL, "label": label, "stopped": value in opted or "" in opted}
        for value, label in [("", gettext_lazy("全部办事提醒")), *ReminderKind.choices]
    ]
    return render(
        request,
        "reminders/public_opt_out.html",
        {"mobile_masked": mask_mobile(mobile), "kinds": kinds, "all_stopped": "" in opted},
    )


def opt_out(request):
    purpose = OtpPurpose.REMINDER_OPT_OUT
    mobile = session_verified_mobile(request.session, purpose=purpose)
    action = request.POST.get("action", "") if request.method == "POST" else ""
    kind = _kind(request.POST.get("kind", ""))
    if mobile and action in (STOP, RESUME, FORGET):
        # The session already proved this mobile: no second code.
        if action == FORGET:
            session_forget(request.session, purpose=purpose)
        else:
            _apply(action, mobile, kind)
        return redirect("reminders_public:opt_out")
    if mobile:
        return _proven_page(request, mobile)
    form = OptOutForm(request.POST or None)
    notice = code_error = ""
    if wants_code(request):
        notice, code_error = send_code(
            request, mobile=request.POST.get("mobile", ""), purpose=purpose
        )
    elif request.method == "POST" and form.is_valid():
        try:
            typed = {name: form.cleaned_data[name] for name in ("mobile", "code")}
            proven = proven_mobile(request, purpose=purpose, **typed)
        except ApplicationError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
        else:
            _apply(STOP, proven, _kind(form.cleaned_data.get("kind") or ""))
            return redirect("reminders_public:opt_out")
    return render(
        request,
        "reminders/public_opt_out.html",
        {"form": form, "notice": notice, "code_error": code_error},
    )
