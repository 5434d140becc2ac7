"""`staff_view`: the one gate every staff page passes through.

It records the permission the view needs on the view itself (`required_permission`), which is
how the permission-matrix test finds and checks every staff URL.
"""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import render

from minyi.core.audit import audit_record
from minyi.core.errors import ApplicationError, NotFound
from minyi.core.models import AuditAction, AuditOutcome
from minyi.orgs.roles import has_perm


def staff_view(permission: str):
    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not has_perm(request.user, permission):
                audit_record(
                    action=AuditAction.PERMISSION_DENIED,
                    request=request,
                    outcome=AuditOutcome.DENIED,
                    detail={"permission": permission},
                )
                return render(request, "403.html", status=403)
            try:
                return view(request, *args, **kwargs)
            except NotFound as exc:
                raise Http404(str(exc.message)) from exc
            except ApplicationError as exc:
                return render(request, "error.html", {"error": exc}, status=exc.status)

        wrapped.required_permission = permission
        return wrapped

    return decorator
