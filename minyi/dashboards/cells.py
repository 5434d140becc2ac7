"""The cells and tables of the dashboard and drill-down pages, built once and rendered twice:
as HTML and as an Excel export (exports.py). Building both from the same cells means the
export shows exactly what the page shows, "<5" included.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

SUPPRESSED = "<5"


DASH = "—"


@dataclass
class Cell:
    text: str
    value: object = None  # what goes in the spreadsheet; the text when None
    href: str = ""
    num: bool = False
    fmt: str = ""  # spreadsheet number format
    cls: str = ""


@dataclass
class Table:
    name: str
    title: str
    headers: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    note: str = ""
    export_url: str = ""


def text(value, href: str = "", cls: str = "") -> Cell:
    value = "" if value is None else str(value)
    return Cell(value or DASH, value, href=href, cls=cls)


def count(n, *, href: str = "", suppressed: bool = False) -> Cell:
    if n is None:
        return Cell(
            SUPPRESSED if suppressed else DASH, SUPPRESSED if suppressed else None, num=True
        )
    return Cell(f"{n:,}", n, href=href if n else "", num=True)


def pct(value, *, suppressed: bool = False, digits: int = 1, href: str = "") -> Cell:
    if value is None:
        return Cell(
            SUPPRESSED if suppressed else DASH, SUPPRESSED if suppressed else None, num=True
        )
    return Cell(f"{value * 100:.{digits}f}%", round(value, 4), href=href, num=True, fmt="0.0%")


def interval(r: dict) -> Cell:
    if r.get("suppressed"):
        return Cell(SUPPRESSED, SUPPRESSED, num=True)
    if r.get("low") is None:
        return Cell(DASH, None, num=True)
    label = f"{r['low'] * 100:.1f}–{r['high'] * 100:.1f}%"
    return Cell(label, label, num=True)


def number(value, digits: int = 2) -> Cell:
    if value is None:
        return Cell(DASH, None, num=True)
    return Cell(f"{value:.{digits}f}", round(value, 4), num=True)


def moment(value) -> Cell:
    if value is None:
        return Cell(DASH, None)
    if isinstance(value, datetime):
        local = timezone.localtime(value)
        return Cell(f"{local:%Y-%m-%d %H:%M}", local.replace(tzinfo=None))
    return Cell(f"{value:%Y-%m-%d}", value)
