"""Writing the audit log (审计日志). Every login, denial, export and reveal of personal data."""

from minyi.core.models import AuditAction, AuditEvent, AuditOutcome
from minyi.core.net import client_ip


def audit_record(
    *,
    action: AuditAction,
    actor=None,
    request=None,
    obj=None,
    outcome: AuditOutcome = AuditOutcome.SUCCESS,
    username: str = "",
    detail: dict | None = None,
) -> AuditEvent:
    if actor is None and request is not None and request.user.is_authenticated:
        actor = request.user
    event = AuditEvent(
        action=action,
        outcome=outcome,
        actor=actor if actor is not None and actor.pk else None,
        actor_username=username or (actor.get_username() if actor is not None else ""),
        actor_unit_id=getattr(actor, "unit_id", None),
        detail=detail or {},
    )
    if obj is not None:
        event.object_type = obj._meta.label_lower
        event.object_id = str(obj.pk)
        event.object_repr = str(obj)[:200]
    if request is not None:
        event.ip = client_ip(request) or None
        event.user_agent = request.META.get("HTTP_USER_AGENT", "")[:300]
        event.path = request.path[:300]
    event.save()
    return event
