"""The two steps every citizen form shares (opinions, case progress, and votes to come): send
a code to a mobile, check the code. Pages use them without JavaScript: "获取验证码" is a submit
button of the same form, so what the citizen wrote comes back with the code field."""

from django.conf import settings
from django.utils.translation import gettext as _

from minyi.core.errors import ApplicationError
from minyi.core.net import client_ip
from minyi.core.pii import mask_mobile, normalize_mobile
from minyi.verification.services import (
    otp_request,
    otp_verify,
    session_mark_verified,
    session_verified_mobile,
)

SEND_CODE = "send_code"  # the value of the form's action button that asks for a code


def wants_code(request) -> bool:
    return request.method == "POST" and request.POST.get("action") == SEND_CODE


def send_code(request, *, mobile: str, purpose: str, subject: str = "") -> tuple[str, str]:
    """(notice, error) for a code request: one of them is empty."""
    try:
        otp_request(mobile=mobile, purpose=purpose, subject=subject, ip=client_ip(request))
    except ApplicationError as exc:
        return "", str(exc.message)
    return _("验证码已发送至 %(mobile)s，%(ttl)d 分钟内有效。") % {
        "mobile": mask_mobile(normalize_mobile(mobile)),
        "ttl": settings.OTP_TTL_MINUTES,
    }, ""


def proven_mobile(request, *, mobile: str, code: str, purpose: str, subject: str = "") -> str:
    """The mobile, if this session already proved it for `purpose` or `code` proves it now;
    otherwise ApplicationError (field "code")."""
    already = session_verified_mobile(request.session, purpose=purpose, subject=subject)
    if already:
        try:
            typed = normalize_mobile(mobile) if mobile else already
        except ApplicationError:
            typed = ""
        if typed == already:
            return already
    proven = otp_verify(mobile=mobile, purpose=purpose, code=code, subject=subject)
    session_mark_verified(request.session, purpose=purpose, mobile=proven, subject=subject)
    return proven
