"""Test data for meetings: a meeting of a station written straight to the table, at fixed
times relative to a fixed `NOW` (tests pass `now=`, never the wall clock's hour)."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from minyi.meetings.models import Meeting, MeetingKind, MeetingStatus

TZ = ZoneInfo("Asia/Shanghai")
# A Wednesday morning, a working day.
NOW = datetime(2026, 11, 18, 10, 0, tzinfo=TZ)


def make_meeting(unit, *, kind=MeetingKind.FORUM, start=None, hours=2, **extra) -> Meeting:
    start = start or NOW - timedelta(hours=3)
    fields = {
        "title": f"{unit.name}社区恳谈会",
        "place": "社区会议室",
        "agenda": "听取群众对辖区治安的意见",
        "status": MeetingStatus.SCHEDULED,
    }
    fields.update(extra)
    return Meeting.objects.create(
        kind=kind, unit=unit, starts_at=start, ends_at=start + timedelta(hours=hours), **fields
    )
