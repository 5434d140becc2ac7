"""Retention periods below the legal minimum stop the process at start-up."""

import os
import subprocess
import sys

import pytest
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from minyi.privacy.conf import retention_validate


def _days(**changes):
    return {**settings.RETENTION_DAYS, **changes}


def test_defaults_are_valid():
    retention_validate()
    assert settings.RETENTION_DAYS["audit"] >= 183
    assert settings.RETENTION_DAYS["processing_record"] >= 1095


@pytest.mark.parametrize(
    ("category", "variable", "minimum"),
    [
        ("audit", "MINYI_RETENTION_AUDIT_DAYS", 183),
        ("processing_record", "MINYI_RETENTION_PROCESSING_RECORD_DAYS", 1095),
    ],
)
def test_below_the_legal_minimum_refused(category, variable, minimum):
    retention_validate(_days(**{category: minimum}))
    with pytest.raises(ImproperlyConfigured) as exc:
        retention_validate(_days(**{category: minimum - 1}))
    assert variable in str(exc.value) and f"legal minimum of {minimum} days" in str(exc.value)


def test_zero_days_refused_for_any_category():
    with pytest.raises(ImproperlyConfigured, match="MINYI_RETENTION_TEXT_DAYS"):
        retention_validate(_days(text=0))


def test_app_refuses_to_start(settings):
    settings.RETENTION_DAYS = _days(audit=90)
    with pytest.raises(ImproperlyConfigured, match="MINYI_RETENTION_AUDIT_DAYS=90"):
        apps.get_app_config("privacy").ready()


def test_manage_py_refuses_to_start_with_a_short_audit_period():
    env = {**os.environ, "MINYI_RETENTION_AUDIT_DAYS": "30"}
    run = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode != 0
    assert "MINYI_RETENTION_AUDIT_DAYS=30 is shorter than the legal minimum of 183" in run.stderr
