"""The units a dashboard user sees: their own subtree (DOMAIN.md: a user sees and acts on
their own subtree only), loaded once per page. Every figure maps its grouped rows onto units,
branches and peers with `UnitIndex`, in Python, with no per-unit query. Peers for ranking are
the fixed peer groups (orgs.PeerGroup, see figures/ranking.py), whose members outside the
user's subtree lend their counts to the ranks only; a unit in no group falls back to the units
of the same kind under the user's own root.
"""

from collections import Counter, defaultdict

from django.db.models import Q

from minyi.core.errors import NotFound
from minyi.dashboards.models import FillState
from minyi.orgs.models import OrgUnit
from minyi.orgs.selectors import orgunit_root_for, scope_q
from minyi.perception.models import BusinessType


class UnitIndex:
    """The units `user` sees under their root, loaded once per page: every figure maps its
    grouped rows onto units, branches and peers with it, in Python, with no per-unit query."""

    def __init__(self, user):
        self.user = user
        self.root = orgunit_root_for(user)
        if self.root is None:
            raise NotFound()
        self.units = list(
            OrgUnit.objects.filter(scope_q(user, ""), self.root.subtree_filter(""))
            .only("id", "path", "depth", "name", "short_name", "kind", "is_active", "numchild")
            .order_by("path")
        )
        self.by_id = {u.pk: u for u in self.units}

    def get(self, pk) -> OrgUnit:
        try:
            return self.by_id[int(pk)]
        except (KeyError, TypeError, ValueError):
            raise NotFound() from None

    def contains(self, unit: OrgUnit, unit_id: int) -> bool:
        other = self.by_id.get(unit_id)
        return other is not None and other.path.startswith(unit.path)

    def children(self, unit: OrgUnit) -> list[OrgUnit]:
        return [u for u in self.units if u.depth == unit.depth + 1 and u.path.startswith(unit.path)]

    def branch(self, unit: OrgUnit, unit_id: int) -> OrgUnit | None:
        """The child of `unit` whose subtree holds `unit_id`; `unit` itself for its own rows;
        None outside."""
        other = self.by_id.get(unit_id)
        if other is None or not other.path.startswith(unit.path):
            return None
        if other.depth == unit.depth:
            return unit
        step = OrgUnit.steplen * (unit.depth + 1)
        return self._by_path().get(other.path[:step])

    def fill(self, name: str) -> FillState:
        """How far a rollup has got (all marks read in one query per page)."""
        if not hasattr(self, "_fills"):
            self._fills = {f.name: f for f in FillState.objects.all()}
        return self._fills.get(name) or FillState(name=name)

    def business_types(self) -> dict[int, BusinessType]:
        if not hasattr(self, "_types"):
            self._types = {t.pk: t for t in BusinessType.objects.all()}
        return self._types

    def _by_path(self) -> dict[str, OrgUnit]:
        if not hasattr(self, "_paths"):
            self._paths = {u.path: u for u in self.units}
        return self._paths

    def subtree_ids(self, unit: OrgUnit) -> list[int]:
        return [u.pk for u in self.units if u.path.startswith(unit.path)]

    def kinds_below(self, unit: OrgUnit) -> list[str]:
        """Kinds of the units strictly below `unit`, most common first."""
        counts = Counter(
            u.kind for u in self.units if u.depth > unit.depth and u.path.startswith(unit.path)
        )
        return [kind for kind, _n in counts.most_common()]


def _unit_rows(index: UnitIndex, unit: OrgUnit) -> Q:
    """Rows whose `unit` is in `unit`'s subtree and visible to the index's user.

    The ids come from the scoped unit list (scope_q) rather than a join on the unit's path:
    the planner then sees an equality on `unit_id` it can estimate, instead of a path
    pattern it guesses wrong (one row), which made it rescan the time index once per unit.
    """
    return Q(unit_id__in=index.subtree_ids(unit))


def _by_branch(index: UnitIndex, unit: OrgUnit, per_unit: dict[int, Counter], row) -> dict:
    """Sum per-unit counters into the total and one row per child unit (and one for `unit`'s
    own rows when it has any)."""
    total: Counter = Counter()
    branches: dict[int, Counter] = defaultdict(Counter)
    for unit_id, c in per_unit.items():
        branch = index.branch(unit, unit_id)
        if branch is None:
            continue
        total.update(c)
        branches[branch.pk].update(c)
    rows = []
    for child in [unit, *index.children(unit)]:
        c = branches.get(child.pk)
        if c is None and child is unit:
            continue
        rows.append({"unit": child, "own": child is unit, **row(c or Counter())})
    return {"total": row(total), "rows": rows}
