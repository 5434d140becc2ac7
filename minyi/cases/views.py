"""Staff pages for cases (阳光警务): the list and detail of the cases in one's subtree, and the
CSV import. Parties' ID numbers and mobiles are shown masked only."""

from django import forms
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils.translation import gettext_lazy

from minyi.cases.imports import CSV_COLUMNS, cases_import_rows, read_csv
from minyi.cases.selectors import case_complaints, case_get_visible, case_list_visible_to
from minyi.orgs.access import staff_view
from minyi.core.errors import ApplicationError
from minyi.orgs.roles import Perm, has_perm

PAGE_SIZE = 50


@staff_view(Perm.CASE_VIEW)
def case_list(request):
    number = request.GET.get("number", "").strip()[:40]
    page = Paginator(case_list_visible_to(request.user, number=number), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
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


class ImportForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("CSV 文件（UTF-8）"))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        try:
            return read_csv(upload.read())
        except ApplicationError as exc:
            raise forms.ValidationError(str(exc.message)) from None


@staff_view(Perm.CASE_IMPORT)
def case_import(request):
    form = ImportForm(request.POST or None, request.FILES or None)
    results = None
    if request.method == "POST" and form.is_valid():
        results = cases_import_rows(actor=request.user, rows=form.cleaned_data["file"])
    return render(
        request,
        "cases/case_import.html",
        {
            "form": form,
            "results": results,
            "columns": CSV_COLUMNS,
            "imported": sum(1 for r in results or () if r["status"] == "imported"),
            "failed": sum(1 for r in results or () if r["status"] == "error"),
        },
    )
