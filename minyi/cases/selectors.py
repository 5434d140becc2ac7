"""Reads on cases (阳光警务): the staff list and detail, scoped to the reader's subtree, and
the one read the citizen's pages make (a party of a case that is still public)."""

import hashlib

from django.db import connection
from django.db.models import QuerySet

from minyi.cases.models import HIDING_FLAGS, Case, CaseParty, public_cases_q
from minyi.core.errors import NotFound
from minyi.core.pii import lookup_hash
from minyi.opinions.models import Opinion
from minyi.orgs.models import Officer, OrgUnit
from minyi.orgs.selectors import scope_q


def case_list_visible_to(user, *, number: str = "") -> QuerySet[Case]:
    cases = Case.objects.filter(scope_q(user, "unit__")).select_related("unit")
    number = (number or "").strip().upper()
    if number:
        cases = cases.filter(number__contains=number)
    return cases.order_by("-stage_at", "-id")


def case_get_visible(user, pk) -> Case:
    case = (
        Case.objects.filter(scope_q(user, "unit__"), pk=pk)
        .select_related("unit", "officer")
        .first()
    )
    if case is None:
        raise NotFound()
    return case


def case_complaints(user, case: Case) -> QuerySet[Opinion]:
    """Complaints filed about this case from the party's progress page, those handled in the
    reader's subtree only: a complaint goes to the unit above the handling unit (督察), and
    the station complained about must not see it."""
    return (
        Opinion.objects.filter(scope_q(user, "unit__"), case=case)
        .select_related("unit")
        .order_by("-submitted_at")
    )


def case_party_public(party_id) -> CaseParty | None:
    """The party, if its case is still public (neither confidential nor private)."""
    if not party_id:
        return None
    return (
        CaseParty.objects.select_related("case", "case__unit", "case__officer")
        .filter(public_cases_q("case__"), pk=party_id)
        .first()
    )


def case_party_public_find(number: str, id_number: str) -> CaseParty | None:
    """The party with this (normalised) ID number of the public case with this number: step 1
    of the party's lookup. A confidential or private case is not found, as if absent."""
    return (
        CaseParty.objects.select_related("case")
        .filter(
            public_cases_q("case__"),
            case__number=number,
            id_number_hash=lookup_hash("id", id_number),
        )
        .first()
    )


def case_party_version(party_id):
    """(mobile hash, version) of the party if its case is still public, else None: what the
    progress page checks on every request before serving its cached copy. The version changes
    with the case, its handling unit and its officer (a new step, a new duty phone, a card made
    private). Plain SQL: it runs on every refresh of the page, and the ORM would spend longer
    compiling it than the database spends answering it."""
    with connection.cursor() as cursor:
        cursor.execute(_PARTY_VERSION_SQL, [party_id])
        row = cursor.fetchone()
    if row is None:
        return None
    version = ":".join(str(moment) for moment in row[1:])
    return row[0], hashlib.sha256(version.encode()).hexdigest()[:32]


_PARTY_VERSION_SQL = f"""
    SELECT p.mobile_hash, c.updated_at, u.updated_at, o.updated_at
    FROM {CaseParty._meta.db_table} p
    JOIN {Case._meta.db_table} c ON c.id = p.case_id
    JOIN {OrgUnit._meta.db_table} u ON u.id = c.unit_id
    LEFT JOIN {Officer._meta.db_table} o ON o.id = c.officer_id
    WHERE p.id = %s AND {" AND ".join(f"NOT c.{flag}" for flag in HIDING_FLAGS)}
"""  # noqa: S608 - table and column names from the models, the id is a parameter
