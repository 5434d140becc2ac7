"""Hooks: how a lower layer hands work to a higher one without importing it.

The house's imports point one way (docs/architecture.md). When a lower app must set off work
that belongs to a higher one (a callback that finds police at fault opens a work order), the
lower app declares a `Hook` and calls it; the higher app registers the handler in its
`AppConfig.ready()`. The call is synchronous and inside the caller's transaction, so the
behaviour is exactly that of a direct call; only the import is turned round.

A hook is not a Django signal: it has exactly one handler, its result is returned, and calling
it with no handler registered is an error, not a silent no-op (a fault must never go without
its work order because an app was left out of INSTALLED_APPS).
"""

from collections.abc import Callable
from typing import Any


class HookNotConnected(RuntimeError):
    pass


class Hook:
    def __init__(self, name: str, doc: str = ""):
        self.name = name
        self.__doc__ = doc
        self._handler: Callable[..., Any] | None = None

    def connect(self, handler: Callable[..., Any]) -> Callable[..., Any]:
        """Register the one handler (usable as a decorator). Registering the same function
        again is harmless (ready() may run twice in tests); a different one is a mistake."""
        if self._handler is not None and self._handler is not handler:
            raise RuntimeError(f"hook {self.name} already has a handler: {self._handler!r}")
        self._handler = handler
        return handler

    def __call__(self, *args, **kwargs):
        if self._handler is None:
            raise HookNotConnected(f"no handler registered for hook {self.name}")
        return self._handler(*args, **kwargs)

    def __repr__(self):
        return f"<Hook {self.name}>"
