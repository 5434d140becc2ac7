"""What each staff role may do. Scope (which units) is separate: every role acts only inside
its own unit's subtree."""

from minyi.orgs.choices import Role


class Perm:
    ORG_VIEW = "org.view"
    OFFICER_VIEW = "officer.view"
    OFFICER_REVEAL_PII = "officer.reveal_pii"
    AUDIT_VIEW = "audit.view"
    ADMIN_SITE = "admin.site"
    CALLBACK_VIEW = "callback.view"
    INBOX_VIEW = "inbox.view"
    EVENT_IMPORT = "event.import"


_SEE = {Perm.ORG_VIEW, Perm.OFFICER_VIEW}
ROLE_PERMS: dict[str, frozenset[str]] = {
    Role.ADMIN: frozenset(
        _SEE
        | {
            Perm.OFFICER_REVEAL_PII,
            Perm.AUDIT_VIEW,
            Perm.ADMIN_SITE,
            Perm.CALLBACK_VIEW,
            Perm.INBOX_VIEW,
            Perm.EVENT_IMPORT,
        }
    ),
    Role.SUPERVISOR: frozenset(
        _SEE | {Perm.OFFICER_REVEAL_PII, Perm.AUDIT_VIEW, Perm.CALLBACK_VIEW, Perm.INBOX_VIEW}
    ),
    Role.EVALUATOR: frozenset(_SEE | {Perm.CALLBACK_VIEW, Perm.INBOX_VIEW, Perm.EVENT_IMPORT}),
    Role.UNIT_LEADER: frozenset(_SEE),
}


def has_perm(user, perm: str) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return perm in ROLE_PERMS.get(user.role, frozenset())
