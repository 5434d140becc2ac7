"""Writes of polls (民意测评, DOMAIN.md capability 2): creating a wave, importing a polling
firm's respondents and the population margins (through the stored-import helper of
minyi.core.imports), raking the respondents' weights and writing the estimates.

Who may do what (orgs.roles): reading polls, estimates, imports and margins (`POLL_VIEW`):
administrators, supervisors and unit leaders, within their subtree, not the evaluators;
managing (creating polls, imports, recomputing, collecting: `POLL_MANAGE`): administrators.
"""

import logging
from collections import defaultdict

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from minyi.core.audit import audit_record
from minyi.core.errors import ApplicationError, PermissionDenied
from minyi.core.imports import (
    ImportReport,
    Preview,
    Progress,
    Table,
    import_file_run,
    import_file_start,
    import_file_store,
    import_preview,
)
from minyi.core.models import AuditAction, ImportFile
from minyi.core.stats import RULE_VERSION
from minyi.core.weighting import DEFAULT_TRIM, WeightedCell, cell_estimates, rake
from minyi.orgs.models import OrgUnit, PeerGroupMember
from minyi.orgs.roles import Perm, has_perm
from minyi.orgs.selectors import orgunit_root_for
from minyi.polls.imports import (
    KIND_MARGINS,
    KIND_RESPONDENTS,
    MARGIN_COLUMNS,
    MAX_BYTES,
    RESPONDENT_COLUMNS,
    margin_checker,
    margins_import,
    respondent_checker,
    respondents_import,
)
from minyi.polls.models import (
    Dimension,
    Indicator,
    Poll,
    PollEstimate,
    PollRespondent,
    PollSource,
    PopulationMargin,
)
from minyi.polls.selectors import indicator_sums

POLL_VIEW = Perm.POLL_VIEW
POLL_MANAGE = Perm.POLL_MANAGE
STRATA = [d.value for d in Dimension]
FIRM_WEIGHTS = "firm_weights"  # in an import's target: the file brought the firm's weights

logger = logging.getLogger(__name__)


def can_manage(user) -> bool:
    return has_perm(user, POLL_MANAGE)


def _require_manager(actor, unit: OrgUnit) -> None:
    if not can_manage(actor):
        raise PermissionDenied()
    if not actor.is_superuser and (actor.unit_id is None or not actor.unit.contains(unit)):
        raise PermissionDenied()


# --- Polls ---------------------------------------------------------------------------------


@transaction.atomic
def poll_create(
    *,
    actor,
    unit: OrgUnit,
    title: str,
    year: int,
    wave: int,
    fielded_from,
    fielded_to,
    pollster: str = "",
    source: str = PollSource.IMPORTED,
) -> Poll:
    """A new wave over `unit`'s subtree (a bureau within the actor's)."""
    _require_manager(actor, unit)
    if fielded_to < fielded_from:
        raise ApplicationError(
            "dates_unordered", _("调查结束日期不能早于开始日期。"), field="fielded_to"
        )
    if fielded_from.year != year and fielded_to.year != year:
        raise ApplicationError(
            "dates_outside_year", _("调查期应在测评年度内。"), field="fielded_from"
        )
    if Poll.objects.filter(unit=unit, year=year, wave=wave).exists():
        raise ApplicationError(
            "poll_exists",
            _("%(unit)s %(year)d 年第 %(wave)d 轮测评已存在。")
            % {"unit": unit.name, "year": year, "wave": wave},
            field="wave",
        )
    poll = Poll.objects.create(
        title=title,
        year=year,
        wave=wave,
        source=source,
        unit=unit,
        fielded_from=fielded_from,
        fielded_to=fielded_to,
        pollster=pollster,
        created_by=actor,
    )
    audit_record(action=AuditAction.CREATE, actor=actor, obj=poll)
    return poll


# --- Imports ---------------------------------------------------------------------------------


def respondents_upload(*, actor, poll: Poll, upload) -> ImportFile:
    """Keep a polling firm's respondent file for `poll`, to preview and then confirm."""
    _require_manager(actor, poll.unit)
    if poll.source != PollSource.IMPORTED:
        raise ApplicationError(
            "poll_not_imported", _("平台短信测评不能导入第三方样本。"), field="file"
        )
    return import_file_store(
        actor=actor,
        kind=KIND_RESPONDENTS,
        unit=poll.unit,
        upload=upload,
        target={"poll": poll.pk},
        max_bytes=MAX_BYTES,
    )


def margins_upload(*, actor, upload) -> ImportFile:
    """Keep a population-margins file (人口结构), to preview and then confirm."""
    root = orgunit_root_for(actor)
    if root is None:
        raise PermissionDenied()
    _require_manager(actor, root)
    return import_file_store(
        actor=actor, kind=KIND_MARGINS, unit=root, upload=upload, max_bytes=MAX_BYTES
    )


def poll_import_confirm(*, actor, record: ImportFile) -> None:
    """Start a previewed import; the caller enqueues `poll_import_task` with its id."""
    _require_manager(actor, record.unit)
    import_file_start(record=record, actor=actor)


def _respondents_run(record: ImportFile, table: Table, progress: Progress) -> ImportReport:
    poll = Poll.objects.select_related("unit").get(pk=record.target["poll"])
    if "weight" in table.headers:
        # Said before the rows are stored: weighing (now and on every recompute) keeps the
        # firm's weights of this file's respondents instead of raking them.
        record.target = {**record.target, FIRM_WEIGHTS: True}
        ImportFile.objects.filter(pk=record.pk).update(target=record.target)
    report = respondents_import(
        actor=record.uploaded_by, poll=poll, table=table, progress=progress, source=record
    )
    if report.stored:
        progress("weigh", 0, len(table.rows))
        try:
            report.summary = poll_weigh(poll=poll)
        except Exception:
            # The respondents are stored (their transaction committed); the page offers the
            # recompute button (重新计算) rather than calling the import failed.
            logger.exception("Weighing poll %s after import %s failed", poll.pk, record.pk)
            report.summary = {"weigh_failed": True}
    return report


def _margins_run(record: ImportFile, table: Table, progress: Progress) -> ImportReport:
    return margins_import(actor=record.uploaded_by, table=table, progress=progress)


IMPORTERS = {
    KIND_RESPONDENTS: (RESPONDENT_COLUMNS, _respondents_run),
    KIND_MARGINS: (MARGIN_COLUMNS, _margins_run),
}


def poll_import_preview(*, record: ImportFile) -> Preview:
    """What a stored poll file holds, before it is confirmed (refused as a whole when it
    cannot be read: see `import_preview`)."""
    columns, _run = IMPORTERS[record.kind]
    if record.kind == KIND_RESPONDENTS:
        poll = Poll.objects.select_related("unit").get(pk=record.target["poll"])
        check_row = respondent_checker(actor=record.uploaded_by, poll=poll)
    else:
        check_row = margin_checker(actor=record.uploaded_by)
    return import_preview(record, columns=columns, check_row=check_row, max_bytes=MAX_BYTES)


def poll_import_run(record_id: int) -> ImportFile:
    """Run a confirmed poll import (the task's body): respondents are weighed and estimated
    at the end."""
    kind = ImportFile.objects.values_list("kind", flat=True).get(pk=record_id)
    columns, run = IMPORTERS[kind]
    return import_file_run(record_id, columns=columns, run=run, max_bytes=MAX_BYTES)


# --- Weighting and estimates -------------------------------------------------------------------


def _firm_weighted_imports(poll: Poll) -> set[int]:
    """Imports of `poll` whose file brought the firm's own weights (权重)."""
    files = ImportFile.objects.filter(kind=KIND_RESPONDENTS, target__poll=poll.pk)
    return {pk for pk, target in files.values_list("pk", "target") if target.get(FIRM_WEIGHTS)}


def _weights_by_unit(poll: Poll, firm_imports: set[int]) -> dict:
    """Rake each unit's respondents (those without firm weights) to its margins of the poll's
    year; returns per unit how it was weighted."""
    margins: dict[int, dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    for unit_id, dimension, category, population in PopulationMargin.objects.filter(
        year=poll.year, unit__in=PollRespondent.objects.filter(poll=poll).values("unit")
    ).values_list("unit_id", "dimension", "category", "population"):
        margins[unit_id][dimension][category] = population
    rows = (
        PollRespondent.objects.filter(poll=poll)
        .exclude(source_import__in=firm_imports)
        .values_list("unit_id", *STRATA)
        .order_by("unit_id")
    )
    strata_of: dict[int, list[tuple]] = defaultdict(list)
    for unit_id, *strata in rows:
        strata_of[unit_id].append(tuple(strata))
    outcome = {}
    cells: list[tuple] = []  # (unit_id, *stratum, weight)
    for unit_id, strata in strata_of.items():
        unit_margins = margins.get(unit_id)
        weights = None
        if unit_margins:
            try:
                weights = rake([dict(zip(STRATA, s, strict=True)) for s in strata], unit_margins)
            except ValueError:  # a category with respondents but no population
                weights = None
        if weights is None:
            cell_weight = {s: 1.0 for s in strata}
        else:
            # Raking weights depend only on the stratum cell.
            cell_weight = {s: float(w) for s, w in zip(strata, weights, strict=True)}
        cells.extend((unit_id, *cell, weight) for cell, weight in cell_weight.items())
        outcome[unit_id] = "raked" if weights is not None else "unweighted"
    _weights_write(poll, cells, firm_imports)
    return outcome


def _weights_write(poll: Poll, cells: list[tuple], firm_imports: set[int]) -> None:
    """One UPDATE … FROM a VALUES list for the whole poll: a weight per unit and stratum cell
    (a thousand cells for 60 units), instead of one UPDATE per cell through the ORM."""
    if not cells:
        return
    table = PollRespondent._meta.db_table
    firm = sorted(firm_imports)
    for start in range(0, len(cells), 500):
        chunk = cells[start : start + 500]
        rows = ", ".join(["(%s, %s, %s, %s, %s)"] * len(chunk))
        # CAST in the first row types the VALUES columns on PostgreSQL.
        rows = rows.replace(
            "(%s, %s, %s, %s, %s)",
            "(CAST(%s AS integer), CAST(%s AS varchar), CAST(%s AS varchar),"
            " CAST(%s AS varchar), CAST(%s AS double precision))",
            1,
        )
        exclude = (
            f" AND (r.source_import_id IS NULL OR r.source_import_id NOT IN"
            f" ({', '.join(['%s'] * len(firm))}))"
            if firm
            else ""
        )
        sql = (
            # The table name is the model's; every value is a parameter.
            f"WITH v(unit_id, age_band, sex, residence, w) AS (VALUES {rows})"  # noqa: S608
            f" UPDATE {table} AS r SET weight = v.w FROM v"
            " WHERE r.poll_id = %s AND r.unit_id = v.unit_id AND r.age_band = v.age_band"
            f" AND r.sex = v.sex AND r.residence = v.residence{exclude}"
        )
        params = [value for cell in chunk for value in cell] + [poll.pk, *firm]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


def _peer_groups(poll: Poll, unit_ids) -> dict:
    """Each unit's comparison group: its configured peer group (同类单位组), or else the units
    of its own kind within the poll's unit (the page says so)."""
    member_of = dict(
        PeerGroupMember.objects.filter(unit_id__in=unit_ids).values_list("unit_id", "group_id")
    )
    kind_of = dict(OrgUnit.objects.filter(pk__in=unit_ids).values_list("pk", "kind"))
    return {
        unit_id: ("group", member_of[unit_id])
        if unit_id in member_of
        else ("kind", kind_of[unit_id])
        for unit_id in unit_ids
    }


@transaction.atomic
def poll_weigh(*, poll: Poll, actor=None) -> dict:
    """Weigh `poll`'s respondents and (re)write its estimates (delete + insert).

    Each unit's respondents are raked to the unit's population margins of the poll's year,
    trimmed to [0.3, 3]; respondents whose file brought the firm's weights keep them
    (trimmed too); a unit without margins weighs everyone 1. Then, per indicator and
    comparison group, the SQL sums go to `cell_estimates` with the minimum effective sample
    `settings.POLL_MIN_N_EFF`."""
    if actor is not None:
        _require_manager(actor, poll.unit)
    poll = Poll.objects.select_for_update().get(pk=poll.pk)
    low, high = DEFAULT_TRIM
    firm_imports = _firm_weighted_imports(poll)
    respondents = PollRespondent.objects.filter(poll=poll)
    respondents.filter(source_import__in=firm_imports, weight__lt=low).update(weight=low)
    respondents.filter(source_import__in=firm_imports, weight__gt=high).update(weight=high)
    outcome = _weights_by_unit(poll, firm_imports)
    for unit_id in respondents.filter(source_import__in=firm_imports).values_list(
        "unit_id", flat=True
    ):
        outcome.setdefault(unit_id, "firm")

    groups = _peer_groups(poll, list(outcome))
    estimates = []
    for indicator in Indicator.values:
        cells_of: dict[tuple, list[WeightedCell]] = defaultdict(list)
        for sums in indicator_sums(respondents, indicator):
            cell = WeightedCell(
                key=sums["unit_id"],
                n=sums["n"],
                sum_w=sums["sum_w"],
                sum_w2=sums["sum_w2"],
                sum_wy=min(sums["sum_wy"], sums["sum_w"]),
            )
            cells_of[groups[sums["unit_id"]]].append(cell)
        for (group_kind, group), cells in cells_of.items():
            for estimate in cell_estimates(cells, min_n_eff=settings.POLL_MIN_N_EFF):
                estimates.append(
                    PollEstimate(
                        poll=poll,
                        unit_id=estimate.key,
                        indicator=indicator,
                        n=estimate.n,
                        n_eff=estimate.n_eff,
                        rate=estimate.rate,
                        low=estimate.low,
                        high=estimate.high,
                        shrunk=estimate.shrunk,
                        z_adjusted=estimate.z_adjusted,
                        median_rank=estimate.median_rank,
                        rank_low=estimate.rank_low,
                        rank_high=estimate.rank_high,
                        p_last=estimate.p_last,
                        p_bottom3=estimate.p_bottom3,
                        ranked=estimate.ranked,
                        peer_group_id=group if group_kind == "group" else None,
                        rule_version=RULE_VERSION,
                    )
                )
    PollEstimate.objects.filter(poll=poll).delete()
    PollEstimate.objects.bulk_create(estimates)
    poll.weighted_at = timezone.now()
    poll.save(update_fields=["weighted_at", "updated_at"])
    summary = {
        "units": len(outcome),
        "raked": sorted(u for u, how in outcome.items() if how == "raked"),
        "unweighted": sorted(u for u, how in outcome.items() if how == "unweighted"),
        "firm": sorted(u for u, how in outcome.items() if how == "firm"),
        "by_kind": sorted(u for u, g in groups.items() if g[0] == "kind"),
        "estimates": len(estimates),
        "rule_version": RULE_VERSION,
    }
    if actor is not None:
        audit_record(
            action=AuditAction.CHANGE,
            actor=actor,
            obj=poll,
            detail={"weighed": True, "estimates": len(estimates)},
        )
    return summary
