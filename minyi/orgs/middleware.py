from django.http import JsonResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

# Paths an administrator may reach before completing the second factor.
_OPEN_PREFIXES = ("/accounts/", "/static/", "/i18n/", "/healthz")


class AdminSecondFactorMiddleware:
    """Administrators (and the operator's superuser) must pass a TOTP check after the password
    before anything else; they enrol a device on first login."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if (
            user.is_authenticated
            and user.needs_second_factor
            and not user.is_verified()
            and not request.path.startswith(_OPEN_PREFIXES)
        ):
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {"code": "second_factor_required", "message": _("请先完成二次验证。")},
                    status=403,
                )
            return redirect("second_factor")
        return self.get_response(request)


class StaffIdleTimeoutMiddleware:
    """A signed-in staff member's session is saved on every request, so its age
    (MINYI_SESSION_IDLE_SECONDS) is an idle timeout. A citizen's session is saved only when it
    changes: the proven mobile in it has its own window, and the portal's pages should not
    write to the database on every view."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            request.session.modified = True
        return response
