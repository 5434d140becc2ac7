"""Reads on cases (阳光警务): the staff list and detail, scoped to the reader's subtree, and
the one read the citizen's pages make (a party of a case that is still public)."""

from django.db.models import QuerySet

from minyi.cases.models import Case, CaseParty
from minyi.core.errors import NotFound
from minyi.opinions.models import Opinion
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
    """The party, if its case is still neither confidential nor private."""
    if not party_id:
        return None
    return (
        CaseParty.objects.select_related("case", "case__unit", "case__officer")
        .filter(pk=party_id, case__confidential=False, case__private=False)
        .first()
    )


def case_party_version(party_id):
    """(mobile hash, version) of the party if its case is still public, else None: what the
    progress page checks before serving its cached copy. The version changes with the case,
    its handling unit and its officer (a new step, a new duty phone, a card made private)."""
    row = (
        CaseParty.objects.filter(pk=party_id, case__confidential=False, case__private=False)
        .values_list(
            "mobile_hash", "case__updated_at", "case__unit__updated_at", "case__officer__updated_at"
        )
        .first()
    )
    if row is None:
        return None
    return row[0], ":".join(str(moment.timestamp()) if moment else "-" for moment in row[1:])
