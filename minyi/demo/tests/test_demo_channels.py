"""`demo_channels` runs every part of issue 17's demo (each part has its own test next to its
app) and only in demo mode."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from minyi.demo.management.commands.demo_channels import PARTS


def test_every_part_is_loaded_once_each():
    names = [name for name, _load in PARTS]
    assert len(names) == len(set(names))
    assert set(names) == {
        "offline",
        "meetings",
        "reminders",
        "appointments",
        "volunteers",
        "repeats",
        "evaluators",
    }


@pytest.mark.django_db
def test_the_command_runs_only_in_demo_mode():
    with override_settings(DEMO_MODE=False), pytest.raises(CommandError):
        call_command("demo_channels")
