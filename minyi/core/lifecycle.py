"""Lifecycles (状态流转): one way to move a row from one status to another and write its
history row, for every lifecycle of the house (work order, opinion, tip reward; callback and
survey to follow).

A lifecycle is declared once, next to its services:

    ORDER = Lifecycle(
        model=WorkOrder,
        allowed=WORKORDER_ALLOWED,          # {old: {new, ...}}
        event_model=WorkOrderEvent,         # a concrete LifecycleEvent
        event_fk="order",                   # the event's ForeignKey to the row
        refused=_("工单当前状态为“%(status)s”，不能进行此操作。"),
        stale=_("工单状态已变化，请刷新后重试。"),
    )

and each service calls `ORDER.move(current, actor=actor, to=S.ACCEPTED, note=..., now=now,
accepted_at=now)`. The row changes only while it is still in the status the caller read (a
conditional UPDATE, whose count is checked), so two people acting at once never both win,
even without a row lock; the services also lock the row first (`lock_in_scope`) so that the
checks they make before the move see the row as it will be moved.

Which moves a user may make now is the app's `Actions` rule (in its selectors): the page
draws a button per allowed action and the service raises the same rule's refusal, so the
two never disagree. The history tables inherit `LifecycleEvent`.
"""

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q, QuerySet
from django.utils import timezone

from minyi.core.audit import audit_record
from minyi.core.errors import ApplicationError, NotFound, PermissionDenied
from minyi.core.models import AuditAction
from minyi.core.pii import EncryptedTextField


class LifecycleEvent(models.Model):
    """One step of a row's history: who moved it from which status to which, why, when.
    A concrete event table adds its ForeignKey to the row (and anything else it records);
    `STATUS` names the row's status choices, for the labels the history page shows."""

    STATUS: type[models.TextChoices] | None = None

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12)
    # Staff notes and citizens' words (a 追评, a reason): encrypted at rest.
    note = EncryptedTextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True
        ordering = ["created_at", "id"]

    def _label(self, value: str) -> str:
        if not value or self.STATUS is None:
            return value
        return str(self.STATUS(value).label)

    @property
    def from_label(self) -> str:
        return self._label(self.from_status)

    @property
    def to_label(self) -> str:
        return self._label(self.to_status)


@dataclass(frozen=True)
class Lifecycle:
    """A model's status lifecycle: its ALLOWED map, its event table and its refusals.

    `refused` is the message when the move is not allowed from the row's status (it may name
    `%(status)s`, the status's label); `final` gives a status its own refusal, as
    {status: (code, message)} (a closed work order says so); `stale` is the message when the
    row moved on between the caller's read and the update. `audited` writes an AuditEvent
    per move made by a person (not per move made by a sweep, whose actor is None).
    """

    model: type[models.Model]
    allowed: Mapping[str, Collection[str]]
    event_model: type[LifecycleEvent]
    event_fk: str
    refused: Any
    stale: Any
    final: Mapping[str, tuple[str, Any]] = field(default_factory=dict)
    status_field: str = "status"
    audited: bool = True
    # The code of the stale refusal, where a lifecycle has its own word for it (a survey
    # answered meanwhile is "survey_closed" to the citizen, whichever reply came first).
    stale_code: str = "stale_state"

    def can_move(self, row, to: str) -> bool:
        return to in self.allowed.get(getattr(row, self.status_field), ())

    def refusal(self, row) -> ApplicationError:
        """The error for a move the row's status does not allow (code stays stable)."""
        status = getattr(row, self.status_field)
        if status in self.final:
            code, message = self.final[status]
            return ApplicationError(code, message, status=409)
        label = getattr(row, f"get_{self.status_field}_display")()
        return ApplicationError("invalid_transition", self.refused % {"status": label}, status=409)

    def check(self, row, to: str) -> None:
        if not self.can_move(row, to):
            raise self.refusal(row)

    def move(
        self,
        row,
        *,
        actor,
        to: str,
        note: str = "",
        now=None,
        event: Mapping[str, Any] | None = None,
        **fields,
    ):
        """Move `row` to `to`, setting `fields` in the same UPDATE, only while it is still in
        the status it has in memory; record the event row (`event` adds columns of the
        concrete event table). Returns `row`, refreshed from the database."""
        now = now or timezone.now()
        self.check(row, to)
        old = getattr(row, self.status_field)
        updated = self.model._default_manager.filter(pk=row.pk, **{self.status_field: old}).update(
            **{self.status_field: to}, **fields
        )
        if not updated:
            raise ApplicationError(self.stale_code, self.stale, status=409)
        self.record(
            row, actor=actor, from_status=old, to_status=to, note=note, now=now, **(event or {})
        )
        if self.audited and actor is not None:
            audit_record(
                action=AuditAction.CHANGE, actor=actor, obj=row, detail={"from": old, "to": to}
            )
        row.refresh_from_db()
        return row

    def record(
        self,
        row,
        *,
        actor,
        from_status: str = "",
        to_status: str,
        note: str = "",
        now=None,
        **extra,
    ):
        """A history row without a move: the first status, or a note on the current one
        (an appeal filed, a tip verified, an escalation)."""
        return self.event_model.objects.create(
            **{self.event_fk: row},
            actor=actor,
            from_status=from_status,
            to_status=to_status,
            note=note,
            created_at=now or timezone.now(),
            **extra,
        )

    def record_many(self, pks, *, from_status: str, to_status: str, note: str = "", now=None):
        """History rows for a move a sweep made to many rows in one UPDATE (conditional on
        `from_status`, like `move`): one INSERT for all of them. The sweep has no actor."""
        now = now or timezone.now()
        fk = f"{self.event_fk}_id"
        self.event_model.objects.bulk_create(
            [
                self.event_model(
                    **{fk: pk},
                    from_status=from_status,
                    to_status=to_status,
                    note=note,
                    created_at=now,
                )
                for pk in pks
            ],
            batch_size=2000,
        )


@dataclass(frozen=True)
class Actions:
    """What a user may do to a row now, as one rule for two users: the page draws a button
    per allowed action, and the service raises the refusal for any other. `refusal(user,
    row, action, **context)` returns the ApplicationError the service raises (its stable
    code: PermissionDenied, invalid_transition, …) or None when the action is allowed."""

    names: tuple[str, ...]
    refusal: Callable[..., ApplicationError | None]

    def allowed(self, user, row, **context) -> frozenset:
        return frozenset(
            name for name in self.names if self.refusal(user, row, name, **context) is None
        )

    def require(self, user, row, action: str, **context) -> None:
        refusal = self.refusal(user, row, action, **context)
        if refusal is not None:
            raise refusal


def lock_in_scope(queryset: QuerySet, pk, *, scope: Q, allowed: bool = True):
    """The row `pk` of `queryset`, locked for this transaction (its own row only: locking
    joined rows would queue every other row of the unit behind this one), if the actor may
    act (`allowed`, else PermissionDenied) and it is inside the actor's `scope` (else
    NotFound: outside the subtree it does not exist)."""
    if not allowed:
        raise PermissionDenied()
    current = queryset.select_for_update(of=("self",)).filter(scope, pk=pk).first()
    if current is None:
        raise NotFound()
    return current
