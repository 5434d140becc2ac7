"""Reads of service reminders (办事提醒), always scoped to the actor's subtree (the due item's
unit)."""

from collections import Counter

from django.db.models import Count, QuerySet

from minyi.orgs.selectors import scope_q
from minyi.reminders.models import DueItem, ReminderKind, ReminderSend, SendStatus

# What the outbox says about a sent reminder, as the staff page groups it.
DELIVERY_COLUMNS = ("queued", "sent", "delivered", "failed")
_IN_FLIGHT = {"sending": "queued", "unknown": "sent"}


def items_visible_to(user, *, kind: str = "") -> QuerySet[DueItem]:
    rows = DueItem.objects.filter(scope_q(user))
    if kind:
        rows = rows.filter(kind=kind)
    return rows.select_related("unit").order_by("due_date", "pk")


def sends_visible_to(user, *, kind: str = "") -> QuerySet[ReminderSend]:
    rows = ReminderSend.objects.filter(scope_q(user, "item__unit__"))
    if kind:
        rows = rows.filter(item__kind=kind)
    return rows.select_related("item", "item__unit", "message").order_by("-created_at", "-pk")


def kind_counts(user) -> list[dict]:
    """Per kind: due items (and those still to come), reminders by delivery state, skipped;
    two grouped queries."""
    items = Counter()
    for row in (
        DueItem.objects.filter(scope_q(user), cancelled=False)
        .values("kind")
        .annotate(n=Count("id"))
    ):
        items[row["kind"]] = row["n"]
    sends: dict[str, Counter] = {k: Counter() for k in ReminderKind.values}
    for row in (
        ReminderSend.objects.filter(scope_q(user, "item__unit__"))
        .values("item__kind", "status", "message__status")
        .annotate(n=Count("id"))
    ):
        counter = sends[row["item__kind"]]
        if row["status"] == SendStatus.SKIPPED:
            counter["skipped"] += row["n"]
        else:
            state = row["message__status"] or "failed"
            counter[_IN_FLIGHT.get(state, state)] += row["n"]
    return [
        {
            "kind": kind,
            "label": label,
            "items": items[kind],
            "cells": [sends[kind][c] for c in DELIVERY_COLUMNS],
            "skipped": sends[kind]["skipped"],
        }
        for kind, label in ReminderKind.choices
    ]


def delivery_state(send: ReminderSend) -> str:
    """queued / sent / delivered / failed for a sent reminder; "" for a skipped one."""
    if send.status != SendStatus.SENT:
        return ""
    state = send.message.status if send.message_id else "failed"
    return _IN_FLIGHT.get(state, state)
