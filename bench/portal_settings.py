"""Settings for bench/portal.py's gunicorn: Minyi's own settings, with the bench URLconf (the
site's URLs plus a hello-world view, the baseline). Set as DJANGO_SETTINGS_MODULE by the
script; never used outside the benchmark.

MINYI_BENCH_NO_HEALTH_CHECKS=1 (set by `bench/portal.py --no-health-checks`) turns off
CONN_HEALTH_CHECKS, whose `SELECT 1` is a round trip at the start of every request that uses
the database: to measure what it costs, not to publish as the page's figure."""

import os

from minyi.settings import *  # noqa: F403
from minyi.settings import DATABASES

ROOT_URLCONF = "bench.portal_urls"

if os.environ.get("MINYI_BENCH_NO_HEALTH_CHECKS") == "1":
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
