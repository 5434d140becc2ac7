"""Settings for bench/portal.py's gunicorn: Minyi's own settings, with the bench URLconf (the
site's URLs plus a hello-world view, the baseline). Set as DJANGO_SETTINGS_MODULE by the
script; never used outside the benchmark. `bench/portal.py --health-checks` sets
MINYI_DB_HEALTH_CHECKS=1, to measure what the per-request `SELECT 1` costs."""

from minyi.settings import *  # noqa: F403

ROOT_URLCONF = "bench.portal_urls"
