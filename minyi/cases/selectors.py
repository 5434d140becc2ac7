"""Reads on cases (阳光警务): the staff list and detail, scoped to the reader's subtree, and
the one read the citizen's pages make (a party of a case that is still public)."""

from django.db.models import QuerySet

from minyi.cases.models import PUBLIC_CASES, Case, CaseParty
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


def case_complaints(case: Case) -> QuerySet[Opinion]:
    """Opinions filed about this case from the citizen's progress page."""
    return Opinion.objects.filter(case=case).select_related("unit").order_by("-submitted_at")


def case_party_public(party_id) -> CaseParty | None:
    """The party, if its case is still neither confidential nor private."""
    if not party_id:
        return None
    return (
        CaseParty.objects.select_related("case", "case__unit", "case__officer")
        .filter(pk=party_id, case__in=Case.objects.filter(PUBLIC_CASES))
        .first()
    )
