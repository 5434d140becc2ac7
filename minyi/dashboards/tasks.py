"""Background work for the dashboards: keeping the rollups current (every few minutes) and
rebuilding them (nightly, `full`), run by `manage.py worker` on settings.WORKER_SCHEDULE."""

import json

from django.core.serializers.json import DjangoJSONEncoder
from django_tasks import task

from minyi.dashboards.repeat_rules import repeat_referrals_sweep
from minyi.dashboards.rollups import dashboard_rollups_refresh


@task()
def dashboard_rollups_task(full: bool = False) -> dict:
    # The result is stored as JSON: the days it names become ISO strings.
    return json.loads(json.dumps(dashboard_rollups_refresh(full=full), cls=DjangoJSONEncoder))


@task()
def repeat_referrals_task() -> int:
    """跑多次 into rectification: refer the repeat contacts found since the last pass by the
    active rules (after the rollup refresh has found them); returns the referrals made."""
    return repeat_referrals_sweep()
