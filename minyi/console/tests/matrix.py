"""The shape of a permission-matrix case; apps list theirs in tests/permission_cases.py."""

from collections.abc import Callable
from dataclasses import dataclass

from minyi.orgs.tests.factories import World


@dataclass
class Case:
    permission: str
    url: Callable[[World], str]  # an address about station a2 (the owner)
    # Text the owner sees and a sibling must not; None for a page that shows no unit's data.
    marker: Callable[[World], str] | None
    api: bool = False
    method: str = "get"
    detail: bool = False  # a sibling gets 404 (detail) or a list without the marker
    owner_status: int = 200
    # What a sibling gets when it is neither a 404 nor a 200 list (e.g. "take the next task"
    # redirects everyone back to the queue).
    sibling_status: int | None = None
