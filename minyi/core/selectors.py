from django.db.models import QuerySet

from minyi.core.models import AuditEvent
from minyi.orgs.selectors import scope_q


def audit_list_visible_to(user, *, action: str = "") -> QuerySet[AuditEvent]:
    """Audit rows of actions taken by accounts in the user's subtree. Rows with no actor unit
    (failed logins under unknown names) belong to the whole city and only a superuser sees
    them."""
    qs = AuditEvent.objects.filter(scope_q(user, "actor_unit__")).select_related("actor_unit")
    if action:
        qs = qs.filter(action=action)
    return qs
