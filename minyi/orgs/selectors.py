"""Reads of units, officers and accounts, always scoped to the actor's subtree."""

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Length, Substr

from minyi.core.errors import NotFound
from minyi.core.models import AuditEvent, ImportFile
from minyi.orgs.models import Officer, OrgUnit


def scope_q(user, prefix: str = "unit__") -> Q:
    """Q restricting rows (whose unit is reached through `prefix`) to `user`'s subtree.

    `prefix=""` applies to OrgUnit itself. Nobody without a unit sees anything, except a
    superuser (the operator's break-glass account), who sees all.
    """
    if user.is_superuser:
        return Q()
    if not user.is_authenticated or user.unit_id is None:
        return Q(pk__in=[])
    return user.unit.subtree_filter(prefix)


def orgunit_list_visible_to(user) -> QuerySet[OrgUnit]:
    """Visible units in tree order, each annotated with `parent_id` (the path minus one step)."""
    parent = OrgUnit.objects.filter(
        path=Substr(OuterRef("path"), 1, Length(OuterRef("path")) - OrgUnit.steplen)
    ).values("pk")[:1]
    return (
        OrgUnit.objects.filter(scope_q(user, ""))
        .annotate(parent_id=Subquery(parent))
        .order_by("path")
    )


def orgunit_get_visible(user, pk) -> OrgUnit:
    unit = orgunit_list_visible_to(user).filter(pk=pk).first()
    if unit is None:
        raise NotFound()
    return unit


def orgunit_root_for(user) -> OrgUnit | None:
    """The top of what `user` sees."""
    if user.unit_id is not None:
        return user.unit
    return OrgUnit.objects.get_root_nodes().first() if user.is_superuser else None


def orgunit_children_with_counts(user, unit: OrgUnit) -> list[OrgUnit]:
    """Direct children of a visible unit, each with `officer_total` over its whole subtree,
    counted in one grouped query."""
    children = list(OrgUnit.objects.get_children(unit).filter(scope_q(user, "")))
    if not children:
        return children
    branch_len = len(children[0].path)
    counts = dict(
        Officer.objects.filter(unit.subtree_filter("unit__"), is_active=True)
        .filter(unit__depth__gt=unit.depth)
        .annotate(branch=Substr("unit__path", 1, branch_len))
        .values("branch")
        .annotate(n=Count("id"))
        .values_list("branch", "n")
    )
    for child in children:
        child.officer_total = counts.get(child.path, 0)
    return children


def officer_list_visible_to(user, *, search: str = "", unit: OrgUnit | None = None):
    qs = Officer.objects.filter(scope_q(user)).select_related("unit")
    if unit is not None:
        qs = qs.filter(unit.subtree_filter("unit__"))
    search = search.replace("\x00", "").strip()  # PostgreSQL text cannot hold NUL
    if search:
        qs = qs.filter(
            Q(name__contains=search)
            | Q(police_number__startswith=search)
            | Q(unit__name__contains=search)
        )
    return qs


def officer_get_visible(user, pk) -> Officer:
    officer = officer_list_visible_to(user).filter(pk=pk).first()
    if officer is None:
        raise NotFound()
    return officer


def subtree_summary(user, unit: OrgUnit) -> dict:
    """Figures for the console home: units by kind and active officers in `unit`'s subtree."""
    units = OrgUnit.objects.filter(unit.subtree_filter(""), is_active=True)
    by_kind = dict(units.order_by().values_list("kind").annotate(n=Count("id")))
    officers = Officer.objects.filter(unit.subtree_filter("unit__"), is_active=True)
    return {
        "unit_count": sum(by_kind.values()),
        "units_by_kind": by_kind,
        "officer_count": officers.count(),
        "public_officer_count": officers.filter(is_public=True).count(),
    }


def audit_list_visible_to(user, *, action: str = "") -> QuerySet[AuditEvent]:
    """Audit rows of actions taken by accounts in the user's subtree. Rows with no actor unit
    (failed logins under unknown names) belong to the whole city and only a superuser sees
    them."""
    qs = AuditEvent.objects.filter(scope_q(user, "actor_unit__")).select_related("actor_unit")
    if action:
        qs = qs.filter(action=action)
    return qs


def import_files_visible_to(user, *, kind: str, kinds) -> QuerySet[ImportFile]:
    """The audit trail of one kind of stored import (among an app's `kinds`), newest first:
    who, when, which file, what became of it; scoped by the file's unit."""
    if kind not in kinds:
        return ImportFile.objects.none()
    return (
        ImportFile.objects.filter(scope_q(user), kind=kind)
        .select_related("uploaded_by", "unit")
        .order_by("-created_at", "-pk")
    )


def import_file_get_visible(user, pk, *, kinds) -> ImportFile:
    record = (
        ImportFile.objects.filter(scope_q(user), kind__in=kinds, pk=pk)
        .select_related("uploaded_by", "unit")
        .first()
    )
    if record is None:
        raise NotFound()
    return record
