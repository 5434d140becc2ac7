"""Sign-in, sign-out and the administrators' second factor (TOTP)."""

import base64
from io import BytesIO

import qrcode
import qrcode.image.svg
from django import forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from minyi.core.audit import audit_record
from minyi.core.models import AuditAction, AuditOutcome
from minyi.orgs.forms import StaffLoginForm
from minyi.orgs.lockout import address_check


class LoginView(auth_views.LoginView):
    template_name = "orgs/login.html"
    authentication_form = StaffLoginForm
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        return address_check(request) or super().post(request, *args, **kwargs)


class TokenForm(forms.Form):
    token = forms.CharField(
        label=gettext_lazy("动态验证码"),
        max_length=6,
        min_length=6,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


def _safe_next(request) -> str:
    """`next` only when it stays on this site: never an open redirect after sign-in."""
    target = request.GET.get("next") or ""
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if allowed else ""


@login_required
def second_factor(request):
    """Verify a TOTP code; on first use, enrol an authenticator app with a QR code."""
    user = request.user
    if not user.needs_second_factor or user.is_verified():
        return redirect("console:home")
    device = TOTPDevice.objects.filter(user=user).order_by("-confirmed", "id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="default", confirmed=False)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"]):
            if not device.confirmed:
                device.confirmed = True
                device.save(update_fields=["confirmed"])
            otp_login(request, device)
            audit_record(action=AuditAction.SECOND_FACTOR, request=request)
            return redirect(_safe_next(request) or "console:home")
        audit_record(
            action=AuditAction.SECOND_FACTOR, request=request, outcome=AuditOutcome.FAILURE
        )
        form.add_error("token", _("验证码不正确或已过期，请查看验证器中的最新 6 位数字。"))
    context = {"form": form, "enrolling": not device.confirmed}
    if not device.confirmed:
        image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage)
        buffer = BytesIO()
        image.save(buffer)
        context["qr_data_uri"] = (
            "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()
        )
        context["secret"] = base64.b32encode(device.bin_key).decode()
    return render(request, "orgs/second_factor.html", context)
