"""Staff pages of the officer directory (/directory/): printable QR cards for a unit's public
officers and its station, and scan counts per officer and station (知晓率 proxy)."""

from django.shortcuts import render

from minyi.core.ui import page_of
from minyi.directory.qr import officer_scan_url, qr_svg, unit_scan_url
from minyi.directory.selectors import (
    SCAN_PERIODS,
    card_sheet_for,
    officer_scans_visible_to,
    station_scans_visible_to,
)
from minyi.orgs.access import staff_view
from minyi.orgs.roles import Perm
from minyi.orgs.selectors import orgunit_list_visible_to

PAGE_SIZE = 100


@staff_view(Perm.CARD_PRINT)
def cards(request):
    """An A4 sheet of cards: the station's own and one per public officer, each with its QR."""
    unit, officers = card_sheet_for(request.user, request.GET.get("unit"))
    station_url = unit_scan_url(unit)
    sheet = [
        {"officer": o, "url": (url := officer_scan_url(o.card)), "qr": qr_svg(url, label=o.name)}
        for o in officers
    ]
    return render(
        request,
        "directory/cards.html",
        {
            "unit": unit,
            "units": [
                (u.pk, "\u3000" * (u.depth - 1) + u.name)
                for u in orgunit_list_visible_to(request.user).only("pk", "name", "depth")
            ],
            "sheet": sheet,
            "station_url": station_url,
            "station_qr": qr_svg(station_url, label=unit.name),
        },
    )


@staff_view(Perm.CARD_PRINT)
def scans(request):
    """Scans per officer and per station over the last 30 or 90 days, in the user's subtree."""
    days = _choice(request.GET.get("days"), SCAN_PERIODS)
    ascending = request.GET.get("sort") == "asc"
    officers = officer_scans_visible_to(request.user, days=days, ascending=ascending)
    page = page_of(request, officers, size=PAGE_SIZE)
    stations = station_scans_visible_to(request.user, days=days, ascending=ascending)
    total = officers.count()
    scanned = officers.filter(scans__gt=0).count()
    return render(
        request,
        "directory/scans.html",
        {
            "days": days,
            "periods": SCAN_PERIODS,
            "ascending": ascending,
            "page": page,
            "stations": stations,
            "officer_total": total,
            "officer_scanned": scanned,
        },
    )


def _choice(raw, allowed):
    try:
        value = int(raw)
    except (TypeError, ValueError):
        return allowed[0]
    return value if value in allowed else allowed[0]
