"""The dashboard page (数据看板): every figure, sharing one unit index and one satisfaction
cube, and the tables built from them.
"""

from minyi.core.periods import Period
from minyi.dashboards.cells import Table
from minyi.dashboards.figures.callbacks import _callbacks_table, callback_timeliness_for
from minyi.dashboards.figures.officers import _officers_table, officer_satisfaction_for
from minyi.dashboards.figures.ranking import _ranking_table, unit_ranking_for
from minyi.dashboards.figures.reasons import _reasons_table, top_reasons_for
from minyi.dashboards.figures.repeat_contacts import (
    _repeat_types_table,
    _repeat_units_table,
    repeat_contacts_for,
)
from minyi.dashboards.figures.satisfaction import (
    _trend_table,
    _types_table,
    business_type_comparison_for,
    satisfaction_cube,
    satisfaction_trend_for,
)
from minyi.dashboards.figures.workorders import _workorders_table, workorder_performance_for
from minyi.dashboards.filters import DrillFilters
from minyi.dashboards.scope import UnitIndex
from minyi.orgs.models import OrgUnit

FIGURES = (
    "trend",
    "ranking",
    "types",
    "callbacks",
    "workorders",
    "reasons",
    "repeats",
    "officers",
)


def dashboard_for(
    user,
    unit: OrgUnit,
    *,
    period: Period,
    business_type: int | None = None,
    kind: str = "",
    index: UnitIndex | None = None,
    only: set[str] | None = None,
) -> dict:
    """Every figure of the dashboard page (or those in `only`), sharing one unit index and
    one satisfaction cube. The number of queries does not depend on the number of units."""
    index = index or UnitIndex(user)
    wanted = set(FIGURES) if only is None else set(only)
    cube = None
    if wanted & {"ranking", "types"}:
        cube = satisfaction_cube(user, period=period, index=index)
    figures: dict = {}
    common = {"period": period, "business_type": business_type}
    if "trend" in wanted:
        figures["trend"] = satisfaction_trend_for(user, unit, **common, index=index)
    if "ranking" in wanted:
        figures["ranking"] = unit_ranking_for(
            user, unit, **common, kind=kind, index=index, cube=cube
        )
    if "types" in wanted:
        figures["types"] = business_type_comparison_for(
            user, unit, period=period, index=index, cube=cube
        )
    if "callbacks" in wanted:
        figures["callbacks"] = callback_timeliness_for(user, unit, **common, index=index)
    if "workorders" in wanted:
        figures["workorders"] = workorder_performance_for(user, unit, **common, index=index)
    if "reasons" in wanted:
        figures["reasons"] = top_reasons_for(user, unit, **common, index=index)
    if "repeats" in wanted:
        figures["repeats"] = repeat_contacts_for(user, unit, **common, index=index)
    if "officers" in wanted and not unit.numchild:  # a station or brigade: its own officers
        figures["officers"] = officer_satisfaction_for(user, unit, **common, index=index)
    return figures


def index_tables(figures: dict, base: DrillFilters) -> dict[str, Table]:
    """Tables for the figures computed; `base` carries unit, period and business type for the
    drill-down links."""
    builders = {
        "trend": _trend_table,
        "ranking": _ranking_table,
        "types": _types_table,
        "callbacks": _callbacks_table,
        "workorders": _workorders_table,
        "reasons": _reasons_table,
        "repeats": _repeat_units_table,
        "repeat_types": _repeat_types_table,
        "officers": _officers_table,
    }
    source = {"repeat_types": "repeats"}
    tables = {}
    for name, build in builders.items():
        figure = figures.get(source.get(name, name))
        if figure is not None:
            tables[name] = build(figure, base)
    return tables
