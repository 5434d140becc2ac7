"""Staff pages for cases (阳光警务): the list and detail of the cases in one's subtree, and the
CSV or Excel import. Parties' ID numbers and mobiles are shown masked only."""

from django.shortcuts import render

from minyi.cases.imports import COLUMNS, cases_import
from minyi.cases.selectors import case_complaints, case_get_visible, case_list_visible_to
from minyi.core.imports import ImportFileForm
from minyi.core.ui import page_of
from minyi.orgs.access import staff_view
from minyi.orgs.roles import Perm, has_perm


@staff_view(Perm.CASE_VIEW)
def case_list(request):
    number = request.GET.get("number", "").strip()[:40]
    page = page_of(request, case_list_visible_to(request.user, number=number))
    return render(
        request,
        "cases/case_list.html",
        {
            "page": page,
            "number": number,
            "can_import": has_perm(request.user, Perm.CASE_IMPORT),
        },
    )


@staff_view(Perm.CASE_VIEW)
def case_detail(request, pk):
    case = case_get_visible(request.user, pk)
    return render(
        request,
        "cases/case_detail.html",
        {
            "case": case,
            "progress": case.progress.all(),
            "parties": case.parties.all().order_by("role", "id"),
            "complaints": case_complaints(request.user, case),
            "can_see_opinions": has_perm(request.user, Perm.OPINION_VIEW),
        },
    )


@staff_view(Perm.CASE_IMPORT)
def case_import(request):
    form = ImportFileForm(request.POST or None, request.FILES or None, columns=COLUMNS)
    report = None
    if request.method == "POST" and form.is_valid():
        report = cases_import(actor=request.user, table=form.cleaned_data["file"])
    return render(
        request,
        "cases/case_import.html",
        {"form": form, "report": report, "columns": COLUMNS},
    )
