"""What the SMS transport hands to higher layers without importing them (minyi.core.hooks)."""

from minyi.core.hooks import Hook

inbound_stored = Hook(
    "inbound_stored",
    "Called with (inbound_id=) once an incoming message is safely stored; perception reads it "
    "as a reply. A failure loses nothing: the worker's inbound sweep retries.",
)
