"""Satisfaction per officer (民警满意度) on the contacts of one station or brigade. Officers
with fewer than 5 answers are never named (DOMAIN.md: no officer can be identified from a
tiny cell).
"""

from collections import Counter, defaultdict

from django.db.models import Count, Q, Sum
from django.utils.translation import gettext as _

from minyi.core.periods import Period
from minyi.dashboards import conf
from minyi.dashboards.cells import Table, count, interval, pct, text
from minyi.dashboards.filters import DrillFilters, drill_url
from minyi.dashboards.models import OfficerSatisfactionDaily
from minyi.dashboards.rates import rate, small
from minyi.dashboards.rollups import OFFICERS
from minyi.dashboards.scope import UnitIndex, _unit_rows
from minyi.orgs.models import Officer, OrgUnit
from minyi.orgs.selectors import scope_q
from minyi.perception.models import SATISFIED_RATINGS, Survey, SurveyStatus


def officer_satisfaction_for(
    user,
    unit: OrgUnit,
    *,
    period: Period,
    business_type: int | None = None,
    index: UnitIndex | None = None,
) -> dict:
    """Satisfaction per officer on the contacts of `unit` itself (not its subtree). Officers
    with fewer than 5 answers are not named: they are merged into one row, itself shown only
    if it is about 5 answers or more. Reads OfficerSatisfactionDaily, and the surveys of the
    unit too young for it, for all business types or one."""
    index = index or UnitIndex(user)
    mark = index.fill(OFFICERS).last_id
    per_officer: dict[int, Counter] = defaultdict(Counter)
    type_q = Q() if business_type is None else Q(business_type_id=business_type)
    if mark is not None:
        for r in (
            OfficerSatisfactionDaily.objects.filter(
                _unit_rows(index, unit),
                type_q,
                unit=unit,
                day__gte=period.start,
                day__lte=period.end,
            )
            .values("officer_id")
            .annotate(n=Sum("replies"), sat=Sum("satisfied"))
            .order_by()
        ):
            per_officer[r["officer_id"]].update(n=r["n"], sat=r["sat"])
    surveys = Survey.objects.filter(
        _unit_rows(index, unit),
        type_q,
        unit=unit,
        contact_at__gte=period.start_at,
        contact_at__lt=period.end_before,
        status=SurveyStatus.ANSWERED,
        excluded_at__isnull=True,
        rating__isnull=False,
        event__officers__isnull=False,
    )
    if mark is not None:
        surveys = surveys.filter(id__gt=mark)
    for g in (
        surveys.values("event__officers")
        .annotate(n=Count("id"), sat=Count("id", filter=Q(rating__in=SATISFIED_RATINGS)))
        .order_by()
    ):
        per_officer[g["event__officers"]].update(n=g["n"], sat=g["sat"])
    officers = {o.pk: o for o in Officer.objects.filter(scope_q(user), pk__in=list(per_officer))}
    minimum = conf.small_cell()
    rows, other_s, other_n, merged = [], 0, 0, 0
    for officer_id, c in sorted(per_officer.items(), key=lambda kv: -kv[1]["n"]):
        officer = officers.get(officer_id)
        if officer is not None and c["n"] >= minimum:
            rows.append({"officer": officer, **rate(c["sat"], c["n"])})
        else:
            other_s, other_n, merged = other_s + c["sat"], other_n + c["n"], merged + 1
    other = small(rate(other_s, other_n)) if merged else None
    return {"rows": rows, "other": other, "merged": merged}


def _officers_table(fig: dict, base: DrillFilters) -> Table:
    table = Table("officers", _("民警满意度"), [_("民警"), _("参评"), _("满意率"), _("95%区间")])
    for r in fig["rows"]:
        officer = r["officer"]
        href = drill_url(base, figure="satisfaction", officer=officer.pk)
        table.rows.append(
            [text(str(officer)), count(r["n"], href=href), pct(r["rate"]), interval(r)]
        )
    other = fig["other"]
    if other is not None:
        table.rows.append(
            [
                text(_("其他民警（各不足 5 人，%(n)d 名）") % {"n": fig["merged"]}),
                count(other["n"], suppressed=other["suppressed"]),
                pct(other["rate"], suppressed=other["suppressed"]),
                interval(other),
            ]
        )
    table.note = _("本单位经办的服务事件；参评不足 5 人的民警不列姓名。")
    return table
