"""What a dashboard page is asked for (unit, period, business type, and for a drill-down the
figure, status, reason tag or officer), and the drill-down link a figure's cell makes of it.
"""

from dataclasses import dataclass
from urllib.parse import urlencode

from django.urls import reverse

from minyi.core.periods import Period
from minyi.orgs.models import OrgUnit


@dataclass(frozen=True)
class DrillFilters:
    figure: str
    unit: OrgUnit
    period: Period
    business_type: int | None = None
    tag: str = ""
    status: str = ""
    officer: int | None = None

    def as_params(self) -> dict:
        params = {"figure": self.figure, "unit": self.unit.pk, "period": self.period.key}
        for key in ("tag", "status"):
            if getattr(self, key):
                params[key] = getattr(self, key)
        if self.business_type is not None:
            params["type"] = self.business_type
        if self.officer is not None:
            params["officer"] = self.officer
        return params


DRILL_FIGURES = ("satisfaction", "callbacks", "reasons", "workorders", "repeats")


DRILL_STATUSES = {
    "satisfaction": ("satisfied", "unsatisfied"),
    "callbacks": ("on_time", "late", "open", "overdue"),
    "reasons": (),
    "workorders": ("on_time", "late", "closed", "resolved", "open", "overdue"),
    "repeats": (),
}


def drill_url(filters: DrillFilters, **changes) -> str:
    params = {**filters.as_params(), **changes}
    params = {k: v for k, v in params.items() if v not in (None, "")}
    return f"{reverse('dashboards:drill')}?{urlencode(params)}"
