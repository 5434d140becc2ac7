"""Shared fixtures: a small org tree with siblings, staff of every role, browser launch."""

import os

import pytest

from minyi.orgs.tests.factories import make_world


@pytest.fixture
def world(db):
    return make_world()


# --- Browser tests: Playwright driving Debian's Chromium -----------------------------------
# Playwright's sync API runs an event loop in the test thread, and Django then refuses ORM
# calls (fixtures, database flushes) as "async-unsafe" although the tests are plain
# synchronous code. No test here runs real async code, so the check is off for the run.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _quiet_hours_kept(settings):
    """A developer's .env may turn the demo's "send now" on; tests keep quiet hours."""
    settings.DEMO_IGNORE_QUIET_HOURS = False


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """Uploaded evidence goes to the test's own folder, not to var/media."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache (the directory keeps rendered pages in it)."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def btypes(db):
    from minyi.perception.tests.factories import business_types

    return business_types()


@pytest.fixture
def daytime(settings):
    """Quiet hours that never bite, so tests do not depend on the wall clock."""
    settings.SURVEY_QUIET_START = 24
    settings.SURVEY_QUIET_END = 0
