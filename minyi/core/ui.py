"""The staff console's shared page parts.

- List pages (工作台列表): status tabs with their counts, the tab chosen in the query string,
  and the page of rows (`Tabs`, `console_list`, `page_of`). Work orders, opinions and the
  other queues draw the same tabs and pager (templates core/_tabs.html and core/_pager.html,
  whose links keep the rest of the query string: filters survive paging and switching tabs).
- Detail pages with actions (办理页): each action is a form posted to its own URL; the service
  decides, and a refusal re-renders the page with the message on the field at fault and what
  was typed kept (`ActionPage`). Which actions the page offers is the app's selector rule
  (core.lifecycle.Actions), the same the services enforce.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from django.contrib import messages
from django.core.paginator import Page, Paginator
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.shortcuts import redirect

from minyi.core.errors import ApplicationError, NotFound, PermissionDenied

PAGE_SIZE = 50
# The tab that shows every row; any other tab is a status (or a pseudo-status such as
# "overdue") the list's selector filters by.
ALL = "all"


@dataclass(frozen=True)
class Tabs:
    """A list's tabs, as (value, label) pairs in the order shown; `counts[value]` is each
    tab's number (one aggregate query in the app's selector). `default` is the tab a bare
    URL (or an unknown value) opens on: what is still to do (待办)."""

    choices: tuple[tuple[str, str], ...]
    default: str
    param: str = "status"

    def current(self, request) -> str:
        value = request.GET.get(self.param) or self.default
        return value if value in {v for v, _label in self.choices} else self.default

    def filter_value(self, value: str) -> str:
        """What the selector filters by: "" for the ALL tab."""
        return "" if value == ALL else value

    def with_counts(self, counts: dict, current: str) -> list[dict]:
        return [
            {"value": value, "label": label, "count": counts[value], "active": value == current}
            for value, label in self.choices
        ]


def page_of(request, rows, *, size: int = PAGE_SIZE) -> Page:
    """The page the query string asks for (the last one when past the end)."""
    return Paginator(rows, size).get_page(request.GET.get("page"))


def console_list(request, rows, *, tabs: Tabs, current: str, counts: dict) -> dict:
    """The context every tabbed list page renders: the page of `rows`, the tabs with their
    counts and the current tab (as `status`, which the filter form keeps)."""
    return {
        "page": page_of(request, rows),
        "tabs": tabs.with_counts(counts, current),
        "status": current,
    }


@dataclass(frozen=True)
class ActionPage:
    """One kind of detail page and its actions.

    `get(user, pk)` is the scoped selector of the row; `render(request, row, *, failed=None,
    alert="", status=200)` draws the page, where `failed` is (action, bound form) to show
    again; `url_name` is the page's URL, where a done action redirects; `main_field` names,
    per action, the field a person types into first (it gets the focus); `first` is the action
    whose form has the focus when nothing failed.
    """

    get: Callable
    render: Callable
    url_name: str
    main_field: Mapping[str, str] = field(default_factory=dict)
    first: str = ""

    def forms_shown(self, forms: dict, actions, *, failed=None, alert: str = "") -> str:
        """Put a failed form back among `forms` and focus the right field; returns the alert
        to show (the failed form's errors, when its action is no longer offered: the row
        moved on meanwhile, so the form is gone but its message stays)."""
        focus = self.first if self.first in actions else None
        if failed is not None:
            name, form = failed
            forms[name] = form
            if name not in actions:
                alert = alert or " ".join(str(e) for errors in form.errors.values() for e in errors)
            focus = name if name in actions else None
        if focus in self.main_field:
            forms[focus].fields[self.main_field[focus]].widget.attrs["autofocus"] = True
        return alert

    def act(self, request, pk, *, name: str, form, call: Callable, done):
        """Run one action: the form collects, the service (`call(row, cleaned_data)`)
        decides. Done: a message and back to the page. Refused: the page again, with the
        message on the field the error names (or over the form) and the status it carries."""
        row = self.get(request.user, pk)
        if form is not None and not form.is_valid():
            return self.render(request, row, failed=(name, form), status=400)
        try:
            call(row, form.cleaned_data if form is not None else {})
        except (NotFound, PermissionDenied):
            raise  # staff_view answers these (404 / the error page)
        except ApplicationError as exc:
            alert = ""
            if form is not None:
                form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
            else:
                alert = str(exc.message)
            row = self.get(request.user, pk)  # as it is now
            failed = (name, form) if form is not None else None
            return self.render(request, row, failed=failed, alert=alert, status=exc.status)
        messages.success(request, done)
        return redirect(self.url_name, pk=pk)


def order_by_urgency(queryset: QuerySet, *, overdue: Q, open_statuses) -> QuerySet:
    """A work queue in the order a person should work it: overdue first, then the open
    ones, each by deadline; what is finished last."""
    return queryset.annotate(
        overdue_rank=Case(
            When(overdue, then=Value(0)), default=Value(1), output_field=IntegerField()
        ),
        open_rank=Case(
            When(status__in=open_statuses, then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        ),
    ).order_by("overdue_rank", "open_rank", "deadline", "id")
