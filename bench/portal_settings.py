"""Settings for bench/portal.py's gunicorn: Minyi's own settings, with the bench URLconf (the
site's URLs plus a hello-world view, the baseline). Set as DJANGO_SETTINGS_MODULE by the
script; never used outside the benchmark."""

from minyi.settings import *  # noqa: F403

ROOT_URLCONF = "bench.portal_urls"
