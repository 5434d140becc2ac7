"""Community safety API: patrol (filled in by issue 16's work)."""

from ninja import Router

router = Router(tags=["community"])
