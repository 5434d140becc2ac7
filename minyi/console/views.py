"""Staff console (工作台): thin views over the org selectors and services."""

from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from minyi.callbacks.selectors import callback_backlog
from minyi.console.selectors import todo_for
from minyi.core.models import AuditAction
from minyi.core.ui import page_of
from minyi.notifications.selectors import notification_list_for
from minyi.orgs.access import staff_view
from minyi.orgs.choices import UnitKind
from minyi.orgs.models import OrgUnit
from minyi.orgs.roles import Perm, has_perm
from minyi.orgs.selectors import (
    audit_list_visible_to,
    officer_get_visible,
    officer_list_visible_to,
    orgunit_children_with_counts,
    orgunit_get_visible,
    orgunit_root_for,
    subtree_summary,
)
from minyi.orgs.services import officer_reveal_pii
from minyi.perception.selectors import satisfaction_summary


@staff_view(Perm.ORG_VIEW)
def home(request):
    root = orgunit_root_for(request.user)
    summary = subtree_summary(request.user, root)
    children = orgunit_children_with_counts(request.user, root)
    kinds = [
        {"label": label, "count": summary["units_by_kind"].get(value, 0)}
        for value, label in UnitKind.choices
        if summary["units_by_kind"].get(value)
    ]
    chart = {
        "labels": [c.display_name for c in children],
        "values": [c.officer_total for c in children],
    }
    # Work first: what waits for this person, then the figures of their subtree.
    todo = todo_for(request.user)
    news = []
    if has_perm(request.user, Perm.NOTIFICATION_VIEW):
        news = list(notification_list_for(request.user).filter(read_at__isnull=True)[:5])
        for notification in news:
            # Only links within this site (notifications are written by our services).
            url = notification.url or ""
            notification.link = url if url.startswith("/") and not url.startswith("//") else ""
    satisfaction = satisfaction_summary(request.user, root)
    satisfaction["callbacks"] = callback_backlog(request.user, root)
    trend = {
        "labels": {"replies": _("参评"), "rate": _("满意率")},
        "days": [row["day"].strftime("%m-%d") for row in satisfaction["by_day"]],
        "replies": [row["n_replies"] for row in satisfaction["by_day"]],
        "rate": [
            round(row["satisfaction_rate"] * 100, 1) if row["satisfaction_rate"] else None
            for row in satisfaction["by_day"]
        ],
    }
    return render(
        request,
        "console/home.html",
        {
            "root": root,
            "todo": todo,
            "news": news,
            "now": timezone.now(),
            "summary": summary,
            "kinds": kinds,
            "children": children,
            "chart": chart,
            "satisfaction": satisfaction,
            "trend": trend,
        },
    )


@staff_view(Perm.ORG_VIEW)
def unit_tree(request):
    root = orgunit_root_for(request.user)
    # The whole visible subtree in path order; depth gives the indentation.
    units = list(OrgUnit.objects.get_tree(root)) if root else []
    for unit in units:
        unit.indent = unit.depth - root.depth
    return render(request, "console/unit_tree.html", {"units": units})


@staff_view(Perm.ORG_VIEW)
def unit_detail(request, pk):
    unit = orgunit_get_visible(request.user, pk)
    children = orgunit_children_with_counts(request.user, unit)
    officers = officer_list_visible_to(request.user).filter(unit=unit)
    ancestors = [
        a
        for a in OrgUnit.objects.get_ancestors(unit)
        if request.user.is_superuser or (request.user.unit and request.user.unit.contains(a))
    ]
    return render(
        request,
        "console/unit_detail.html",
        {"unit": unit, "children": children, "officers": officers, "ancestors": ancestors},
    )


@staff_view(Perm.OFFICER_VIEW)
def officer_list(request):
    search = request.GET.get("q", "")[:50]
    unit = None
    if request.GET.get("unit"):
        unit = orgunit_get_visible(request.user, request.GET["unit"])
    officers = officer_list_visible_to(request.user, search=search, unit=unit)
    page = page_of(request, officers)
    template = "console/_officer_rows.html" if request.htmx else "console/officer_list.html"
    return render(request, template, {"page": page, "search": search, "unit": unit})


@staff_view(Perm.OFFICER_VIEW)
def officer_detail(request, pk):
    officer = officer_get_visible(request.user, pk)
    return render(
        request,
        "console/officer_detail.html",
        {"officer": officer, "can_reveal": has_perm(request.user, Perm.OFFICER_REVEAL_PII)},
    )


@staff_view(Perm.OFFICER_REVEAL_PII)
@require_POST
def officer_reveal(request, pk, field):
    officer = officer_get_visible(request.user, pk)
    value = officer_reveal_pii(actor=request.user, officer=officer, field=field, request=request)
    response = render(request, "console/_revealed.html", {"value": value})
    response["Cache-Control"] = "private, no-store"
    return response


@staff_view(Perm.AUDIT_VIEW)
def audit_list(request):
    action = request.GET.get("action", "")
    events = audit_list_visible_to(request.user, action=action)
    page = page_of(request, events)
    return render(
        request,
        "console/audit_list.html",
        {"page": page, "action": action, "actions": AuditAction.choices},
    )
