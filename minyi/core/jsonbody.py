"""Request bodies as JSON, with a bound on nesting: `[[[[…]]]]` a thousand deep would
otherwise exhaust the parser's recursion (a 500) or any code that walks the value."""

import json

from django.utils.translation import gettext_lazy as _

from minyi.core.errors import ApplicationError

# Deeper than any body the API takes (a batch → an event → its officers → one officer).
MAX_DEPTH = 16


def _too_deep() -> ApplicationError:
    return ApplicationError(
        "json_too_deep",
        _("请求体 JSON 嵌套层数过多（最多 %(depth)d 层）。") % {"depth": MAX_DEPTH},
        status=400,
    )


def _deeper_than(value, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        for child in children:
            if isinstance(child, (dict, list)):
                if depth + 1 > limit:
                    return True
                stack.append((child, depth + 1))
    return False


def json_body(raw: bytes):
    """The parsed value of `raw`. Raises ValueError (or UnicodeDecodeError) for text that is
    not JSON, as json.loads does, and ApplicationError(json_too_deep, 400) for nesting deeper
    than MAX_DEPTH."""
    try:
        value = json.loads(raw)
    except RecursionError as exc:
        raise _too_deep() from exc
    if isinstance(value, (dict, list)) and _deeper_than(value, MAX_DEPTH):
        raise _too_deep()
    return value
