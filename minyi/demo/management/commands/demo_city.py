"""`manage.py demo_city`: build the Shaoxing-shaped demo city once, then print its accounts."""

import time
import unicodedata

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from minyi.demo.city import (
    DEMO_PASSWORD,
    build_demo_city,
    demo_city_exists,
    existing_demo_city,
)
from minyi.demo.city_plan import DEFAULT_SEED, MAX_SCALE, ROOT_CODE, DemoCityError


def _width(text: str) -> int:
    """Terminal columns: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def accounts_table(accounts) -> str:
    header = ("username", "password", "role", "unit", "name", "note")
    rows = [
        (a.username, a.password, f"{a.role_label} ({a.role})", a.unit_name, a.full_name, a.note)
        for a in accounts
    ]
    widths = [max(_width(row[i]) for row in [header, *rows]) for i in range(len(header))]
    rule = "  ".join("-" * w for w in widths)
    lines = ["  ".join(_pad(cell, w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in [header, *rows]]  # fmt: skip
    return "\n".join([lines[0], rule, *lines[1:]])


class Command(BaseCommand):
    help = (
        "Create the deterministic demo city (绍兴市公安局: 6 county/district bureaus, ~60 "
        "stations and brigades, ~2,000 synthetic officers, business types and one demo "
        "account per role and tier). Does nothing if it exists, except print the accounts."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--scale", type=int, default=1,
            help=f"multiply stations and officers (1–{MAX_SCALE}); 1 is the demo",
        )  # fmt: skip
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")

    def handle(self, *args, scale, seed, **options):
        if demo_city_exists():
            city = existing_demo_city()
            self.stdout.write(
                f"The demo city (unit {ROOT_CODE}) exists already; nothing was created. "
                f"{city.units} units, {city.officers} officers."
            )
        else:
            if not settings.DEMO_MODE:
                raise CommandError(
                    "demo_city creates accounts with a published password; it runs only "
                    "with MINYI_DEMO_MODE=true."
                )
            started = time.perf_counter()
            try:
                city = build_demo_city(scale=scale, seed=seed)
            except DemoCityError as exc:
                raise CommandError(str(exc)) from exc
            elapsed = time.perf_counter() - started
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo city created in {elapsed:.1f}s (scale {city.scale}, seed {city.seed}): "
                    f"{city.units} units ({city.stations_and_brigades} stations and brigades), "
                    f"{city.officers} officers, {city.business_types_created} business types."
                )
            )
        self.stdout.write("")
        self.stdout.write(f"Demo accounts (password for all: {DEMO_PASSWORD}):")
        self.stdout.write(accounts_table(city.accounts))
