"""What callbacks hand to higher layers without importing them (minyi.core.hooks)."""

from minyi.core.hooks import Hook

callback_recorded = Hook(
    "callback_recorded",
    "Called with (actor=, callback=, now=) when a call ends a callback (reached or "
    "unreachable), inside its transaction; the workorders app dispatches a work order for "
    "police at fault and moves an order on after its 追评.",
)
reason_tags_suggest = Hook(
    "reason_tags_suggest",
    "Called with the citizen's words; returns the reason tags the tagger proposes. The insight "
    "app provides it.",
)
