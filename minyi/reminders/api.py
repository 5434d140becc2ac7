"""The reminders API: due items (到期事项) pushed by business systems."""

from ninja import Router

router = Router(tags=["reminders"])
