"""Background work for community safety (社区安全): the jobs `manage.py worker` runs on
settings.WORKER_SCHEDULE. Each returns its counts."""

from datetime import timedelta

from django.utils import timezone
from django_tasks import task

from minyi.community.colours import colours_compute_all, month_add, month_start
from minyi.community.models import PatrolCheckin, PatrolPing
from minyi.community.patrol import day_bounds, passes_compute
from minyi.orgs.models import OrgUnit


@task()
def community_colours_task() -> dict:
    """The three colours (三色) of every city's communities for the last complete month.
    Run daily: the upsert is idempotent, and incidents that arrive late are counted in the
    following day's run."""
    now = timezone.now()
    month = month_add(month_start(timezone.localdate(now)), -1)
    return {"month": f"{month:%Y-%m}", "rows": colours_compute_all(month, now=now)}


@task()
def community_passes_task() -> dict:
    """Patrol passes (巡逻经过) and coverage of yesterday and today so far, for every station
    whose patrol units reported or checked in since yesterday's start. Run hourly: each
    station-day is replaced as a whole, so late pings are counted in the next run."""
    now = timezone.now()
    today = timezone.localdate(now)
    days = [today - timedelta(days=1), today]
    since = day_bounds(days[0])[0]
    station_ids = set(
        PatrolPing.objects.filter(at__gte=since).values_list("station_id", flat=True).distinct()
    ) | set(
        PatrolCheckin.objects.filter(at__gte=since)
        .values_list("area__station_id", flat=True)
        .distinct()
    )
    passes = 0
    for station in OrgUnit.objects.filter(pk__in=station_ids):
        for day in days:
            passes += passes_compute(station, day, now=now)
    return {"stations": len(station_ids), "passes": passes}
