"""The JSON API (django-ninja): /api/v1/…, OpenAPI schema and docs at /api/docs.

Staff use it with their console session (CSRF-protected); integrating systems (业务系统) will
use API keys. Every refusal is a JSON body with a stable `code`.
"""

from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, ValidationError
from ninja.renderers import JSONRenderer

from minyi.cases.api import router as cases_router
from minyi.community.api_incidents import router as community_incidents_router
from minyi.community.api_patrol import router as community_patrol_router
from minyi.core.audit import audit_record
from minyi.core.errors import ApplicationError
from minyi.core.models import AuditAction, AuditOutcome
from minyi.orgs.api import router as orgs_router
from minyi.perception.api import router as perception_router
from minyi.reminders.api import router as reminders_router
from minyi.votes.api import router as votes_router


class UTF8JSONRenderer(JSONRenderer):
    """Chinese text as UTF-8, not \\u escapes: half the size and readable in logs."""

    json_dumps_params = {"ensure_ascii": False}


api = NinjaAPI(
    renderer=UTF8JSONRenderer(),
    title="Minyi 民意 API",
    version="1",
    description="Public-opinion-driven policing. Every answer that is not 2xx carries a "
    "machine-readable `code` and a human `message`.",
    urls_namespace="api",
    docs_url="/docs",
)
api.add_router("/v1/", orgs_router)
api.add_router("/v1/", perception_router)
api.add_router("/v1/", cases_router)
api.add_router("/v1/", votes_router)
api.add_router("/v1/", community_incidents_router)
api.add_router("/v1/", community_patrol_router)
api.add_router("/v1/", reminders_router)


@api.exception_handler(ApplicationError)
def _application_error(request, exc: ApplicationError):
    if exc.status == 403:
        audit_record(
            action=AuditAction.PERMISSION_DENIED,
            request=request,
            outcome=AuditOutcome.DENIED,
            detail={"code": exc.code},
        )
    return api.create_response(request, exc.as_dict(), status=exc.status)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    return api.create_response(
        request,
        {"code": "unauthenticated", "message": _("请先登录或提供有效的 API 密钥。")},
        status=401,
    )


@api.exception_handler(ValidationError)
def _invalid(request, exc: ValidationError):
    return api.create_response(
        request,
        {"code": "invalid_request", "message": _("请求参数不正确。"), "errors": exc.errors},
        status=422,
    )
