"""Writes of the officer directory (警官名录): counting QR scans of the printed cards."""

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from minyi.directory.models import CardScanDaily


def card_scan_record(*, unit_id: int, officer_id: int | None = None, now=None) -> None:
    """Count one QR scan of an officer's (or, with no officer, a station's) card today."""
    day = timezone.localdate(now or timezone.now())
    # An officer's row is the officer's, whichever unit they were at when it was made.
    if officer_id is not None:
        rows = CardScanDaily.objects.filter(officer_id=officer_id, day=day)
    else:
        rows = CardScanDaily.objects.filter(officer__isnull=True, unit_id=unit_id, day=day)
    if rows.update(scans=F("scans") + 1):
        return
    try:
        with transaction.atomic():
            CardScanDaily.objects.create(officer_id=officer_id, unit_id=unit_id, day=day, scans=1)
    except IntegrityError:  # another scan created today's row first
        rows.update(scans=F("scans") + 1)
