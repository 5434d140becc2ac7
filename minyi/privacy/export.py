"""An export of everything held about one mobile number (PIPL art. 45, 查阅复制权): found by
the keyed hash, scoped to the actor's subtree, decrypted, and always audited as a reveal."""

import json

from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone
from django.utils.translation import gettext as _

from minyi.core.audit import audit_record
from minyi.core.models import AuditAction, AuditOutcome
from minyi.core.pii import mask_mobile, normalize_mobile
from minyi.orgs.roles import Perm, has_perm
from minyi.orgs.selectors import scope_q
from minyi.privacy.registry import SOURCES

# Revealing a person's whole record is a reveal of personal data: the same permission as
# revealing an officer's mobile or ID number.
EXPORT_PERMISSION = Perm.OFFICER_REVEAL_PII


def citizen_rows(*, mobile: str, actor=None) -> dict[str, list[dict]]:
    """Every row the normalised number `mobile`'s keyed hash finds, per model; within `actor`'s
    subtree, or everywhere when there is no actor (the operator's management command)."""
    held = {}
    for source in SOURCES:
        rows = source.rows_of(mobile)
        if actor is not None:
            rows = rows.filter(scope_q(actor, source.unit_prefix))
        held[source.model] = list(rows.order_by("pk").values("pk", *source.fields))
    return held


def citizen_data_export(*, actor, mobile: str, request=None, username: str = "") -> dict:
    """The export as a dict; `actor` None means the management command (whole database,
    recorded under `username`). Raises ApplicationError for a malformed number."""
    normalized = normalize_mobile(mobile)
    masked = mask_mobile(normalized)
    if actor is not None and not has_perm(actor, EXPORT_PERMISSION):
        audit_record(
            action=AuditAction.PII_REVEAL,
            actor=actor,
            request=request,
            outcome=AuditOutcome.DENIED,
            detail={"export": "citizen_data", "mobile": masked},
        )
        raise PermissionDenied(_("您的角色无权查看完整个人信息。"))
    held = citizen_rows(mobile=normalized, actor=actor)
    audit_record(
        action=AuditAction.PII_REVEAL,
        actor=actor,
        request=request,
        username=username,
        detail={
            "export": "citizen_data",
            "mobile": masked,
            "rows": {model: len(rows) for model, rows in held.items() if rows},
        },
    )
    return {"mobile": normalized, "generated_at": timezone.now(), "held": held}


def export_json(export: dict) -> str:
    return json.dumps(export, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)
