"""Drill-down (明细): the rows behind a figure, scoped to the user's subtree, a page at a time
for the page and streamed for the export, and the table they show in. Mobiles are always
masked and no officer is named.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection
from django.db.models import Count, F, Max, Min, Q, QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from minyi.callbacks.models import Attribution, Callback, CallbackKind, CallbackStatus
from minyi.core.errors import NotFound
from minyi.core.pii import mask_mobile, mask_text
from minyi.dashboards.cells import Cell, count, moment, text
from minyi.dashboards.figures.repeat_contacts import _repeats
from minyi.dashboards.filters import DrillFilters
from minyi.dashboards.scope import UnitIndex, _unit_rows
from minyi.perception.models import (
    SATISFIED_RATINGS,
    UNSATISFIED_RATINGS,
    Rating,
    ReasonTag,
    Survey,
    SurveyStatus,
)
from minyi.workorders.models import OPEN_STATUSES, UNIT_STATUSES, WorkOrder, WorkOrderStatus

# What a drill-down row shows besides its own columns.
DRILL_RELATED = {
    "satisfaction": ("unit", "business_type", "event"),
    "callbacks": ("unit", "survey__business_type", "survey__event"),
    "reasons": ("unit", "survey__business_type", "survey__event"),
    "workorders": ("unit", "business_type"),
    "repeats": (),
}


def drill_rows(
    user, filters: DrillFilters, *, index: UnitIndex | None = None, now=None
) -> QuerySet:
    """The rows behind a figure, scoped to the user's subtree, newest first. Filters use the
    same definitions as the figures; every one of them is on an indexed or denormalised
    column together with a unit and time range. Related rows are not joined here: see
    `drill_page` and `drill_export_rows`."""
    f = filters
    index = index or UnitIndex(user)
    scope = _unit_rows(index, f.unit)
    now = now or timezone.now()
    if f.figure == "satisfaction":
        # By the contact's time copied onto the survey: (unit, contact_at, id) is indexed,
        # so a page is read in order from the index (see `drill_page`), never sorted.
        qs = Survey.objects.filter(
            scope,
            status=SurveyStatus.ANSWERED,
            excluded_at__isnull=True,
            rating__isnull=False,
            contact_at__gte=f.period.start_at,
            contact_at__lt=f.period.end_before,
        )
        if f.business_type is not None:
            qs = qs.filter(business_type_id=f.business_type)
        if f.status == "satisfied":
            qs = qs.filter(rating__in=SATISFIED_RATINGS)
        elif f.status == "unsatisfied":
            qs = qs.filter(rating__in=UNSATISFIED_RATINGS)
        if f.officer is not None:
            qs = qs.filter(event__officers=f.officer)
        return qs.order_by("-contact_at", "-id")
    if f.figure in ("callbacks", "reasons"):
        qs = Callback.objects.filter(scope)
        if f.figure == "reasons":
            qs = qs.filter(
                kind=CallbackKind.FIRST,
                status=CallbackStatus.DONE,
                completed_at__gte=f.period.start_at,
                completed_at__lt=f.period.end_before,
            )
            if f.tag:
                # Tags are a JSON list of known codes; the quotes keep one code from matching
                # inside another.
                qs = qs.filter(tags__icontains=f'"{f.tag}"')
            order = ("-completed_at", "-id")
        elif f.status == "overdue":
            qs = qs.filter(
                status__in=[CallbackStatus.OPEN, CallbackStatus.IN_PROGRESS], due_at__lt=now
            )
            order = ("due_at", "id")
        else:
            qs = qs.filter(due_at__gte=f.period.start_at, due_at__lt=f.period.end_before)
            done = Q(status=CallbackStatus.DONE)
            qs = qs.filter(
                {
                    "on_time": done & Q(completed_at__lte=F("due_at")),
                    "late": done & Q(completed_at__gt=F("due_at")),
                    "open": ~done,
                }.get(f.status, Q())
            )
            order = ("-due_at", "-id")
        if f.business_type is not None:
            qs = qs.filter(survey__business_type_id=f.business_type)
        return qs.order_by(*order)
    if f.figure == "workorders":
        today = timezone.localdate()
        qs = WorkOrder.objects.filter(scope)
        if f.status == "overdue":
            qs = qs.filter(status__in=UNIT_STATUSES, deadline__lt=today)
        else:
            qs = qs.filter(
                dispatched_at__gte=f.period.start_at, dispatched_at__lt=f.period.end_before
            )
            qs = qs.filter(
                {
                    "on_time": Q(feedback_at__isnull=False, feedback_at__date__lte=F("deadline")),
                    "late": Q(feedback_at__isnull=False, feedback_at__date__gt=F("deadline"))
                    | Q(feedback_at__isnull=True, deadline__lt=today, status__in=UNIT_STATUSES),
                    "closed": Q(status=WorkOrderStatus.CLOSED),
                    "resolved": Q(status=WorkOrderStatus.CLOSED, resolved=True),
                    "open": Q(status__in=OPEN_STATUSES),
                }.get(f.status, Q())
            )
            if f.status in ("on_time", "late"):
                qs = qs.exclude(status=WorkOrderStatus.CANCELLED)
        if f.business_type is not None:
            qs = qs.filter(business_type_id=f.business_type)
        return qs.order_by("-dispatched_at", "-id")
    if f.figure == "repeats":
        qs = _repeats(index, f.unit, period=f.period, business_type=f.business_type)
        return (
            qs.values("pair", "unit_id", "unit__name", "business_type__name", "mobile_masked")
            .annotate(
                repeats=Count("id"),
                first_at=Min("previous_occurred_at"),
                last_at=Max("occurred_at"),
            )
            .order_by("-last_at", "pair", "unit_id")
        )
    raise NotFound()


# Figures whose drill-down pages by keyset (a cursor on the sort key) rather than OFFSET: the
# answers of a unit run to millions of rows.
KEYSET_FIGURES = ("satisfaction",)
_CURSOR = re.compile(r"^(\d{1,17})\.(\d{1,19})$")


class BadCursor(ValueError):
    """A page cursor that is not one this page made (hand-edited or truncated link)."""


@dataclass(frozen=True)
class Cursor:
    """Where a page of answers starts: the (contact_at, id) of the row next to it, in a
    link as "<microseconds since the epoch>.<id>"."""

    at: datetime
    id: int

    def __str__(self) -> str:
        delta = self.at - EPOCH
        micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
        return f"{micros}.{self.id}"

    @classmethod
    def parse(cls, value: str) -> "Cursor":
        m = _CURSOR.match(value or "")
        if not m:
            raise BadCursor(value)
        try:
            at = EPOCH + timedelta(microseconds=int(m[1]))
        except OverflowError:
            raise BadCursor(value) from None
        if int(m[2]) > 2**63 - 1:
            raise BadCursor(value)
        return cls(at, int(m[2]))


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class DrillPage:
    rows: list
    has_next: bool
    # Keyset figures: the cursors of the next and previous pages ("" when there is none).
    after: str = ""
    before: str = ""


def _keyset_keys(qs: QuerySet, unit_ids: list[int], *, after, before, limit: int) -> list:
    """(pk, contact_at) of up to `limit` rows of `qs` after (or before) a cursor, newest
    first. With several units on PostgreSQL, one small index scan per unit (UNION ALL of
    LIMITed subqueries) and only their heads are merged: `unit_id IN (…)` would make the
    planner read and sort every row of the subtree in the period."""
    if after is not None:
        qs = qs.filter(Q(contact_at__lt=after.at) | Q(contact_at=after.at, id__lt=after.id))
        # The same bound as a range the index can start from.
        qs = qs.filter(contact_at__lte=after.at)
        order = ("-contact_at", "-id")
    elif before is not None:
        qs = qs.filter(Q(contact_at__gt=before.at) | Q(contact_at=before.at, id__gt=before.id))
        qs = qs.filter(contact_at__gte=before.at)
        order = ("contact_at", "id")
    else:
        order = ("-contact_at", "-id")
    qs = qs.order_by(*order)
    fields = ("pk", "contact_at")
    if len(unit_ids) > 1 and connection.features.supports_slicing_ordering_in_compound:
        parts = [qs.filter(unit_id=u).values_list(*fields)[:limit] for u in unit_ids]
        keys = list(parts[0].union(*parts[1:], all=True).order_by(*order)[:limit])
    else:
        keys = list(qs.values_list(*fields)[:limit])
    return keys[::-1] if before is not None else keys


def drill_page(
    user,
    filters: DrillFilters,
    *,
    page: int,
    page_size: int,
    index: UnitIndex | None = None,
    after: "Cursor | None" = None,
    before: "Cursor | None" = None,
) -> DrillPage:
    """One page of drill-down rows and whether there is a next one (a row more than the page
    is asked for: no COUNT(*) over millions of rows). The page's keys are found first and
    only those rows are then loaded with what they show, so the joins run for 50 rows, not
    for every candidate the sort has to look at. Answers page by keyset (`after`/`before`
    cursors); the other figures, a few thousand rows at most, by page number."""
    index = index or UnitIndex(user)
    qs = drill_rows(user, filters, index=index)
    if filters.figure == "repeats":
        offset = (page - 1) * page_size
        rows = list(qs[offset : offset + page_size + 1])
        return DrillPage(rows[:page_size], len(rows) > page_size)
    if filters.figure in KEYSET_FIGURES:
        units = index.subtree_ids(filters.unit)
        got = _keyset_keys(qs, units, after=after, before=before, limit=page_size + 1)
        if before is not None:
            # Going back: the extra row (if any) is the first, and there is always a next.
            more_before, keys = len(got) > page_size, got[-page_size:]
            has_next = True
        else:
            keys, has_next = got[:page_size], len(got) > page_size
            more_before = after is not None
        pks = [k for k, _at in keys]
        loaded = qs.model.objects.select_related(*DRILL_RELATED[filters.figure]).in_bulk(pks)
        return DrillPage(
            [loaded[k] for k in pks if k in loaded],
            has_next and bool(keys),
            after=str(Cursor(keys[-1][1], keys[-1][0])) if has_next and keys else "",
            before=str(Cursor(keys[0][1], keys[0][0])) if more_before and keys else "",
        )
    offset = (page - 1) * page_size
    keys = list(qs.values_list("pk", flat=True)[offset : offset + page_size + 1])
    loaded = qs.model.objects.select_related(*DRILL_RELATED[filters.figure]).in_bulk(
        keys[:page_size]
    )
    return DrillPage([loaded[k] for k in keys[:page_size] if k in loaded], len(keys) > page_size)


def drill_export_rows(user, filters: DrillFilters, *, limit: int, index: UnitIndex | None = None):
    """Every drill-down row (up to `limit`) with what it shows, streamed in chunks."""
    qs = drill_rows(user, filters, index=index)
    related = DRILL_RELATED[filters.figure]
    if related:
        qs = qs.select_related(*related)
    return qs[:limit].iterator(chunk_size=2000)


RATINGS = dict(Rating.choices)


ATTRIBUTIONS = dict(Attribution.choices)


TAGS = dict(ReasonTag.choices)


CALLBACK_STATUSES = dict(CallbackStatus.choices)


ORDER_STATUSES = dict(WorkOrderStatus.choices)


def drill_headers(figure: str) -> list[str]:
    return {
        "satisfaction": [
            _("服务时间"),
            _("单位"),
            _("业务类型"),
            _("评价"),
            _("评价方式"),
            _("群众手机"),
            _("留言"),
        ],
        "callbacks": [
            _("编号"),
            _("单位"),
            _("业务类型"),
            _("类型"),
            _("回访时限"),
            _("完成时间"),
            _("状态"),
            _("是否按时"),
            _("群众手机"),
        ],
        "reasons": [
            _("编号"),
            _("单位"),
            _("业务类型"),
            _("完成时间"),
            _("原因标签"),
            _("责任认定"),
            _("群众手机"),
        ],
        "workorders": [
            _("工单号"),
            _("单位"),
            _("业务类型"),
            _("派发时间"),
            _("整改期限"),
            _("反馈时间"),
            _("状态"),
            _("群众认可解决"),
        ],
        "repeats": [
            _("群众手机"),
            _("业务类型"),
            _("单位"),
            _("再次办理次数"),
            _("首次办理"),
            _("最近办理"),
        ],
    }[figure]


def drill_row(figure: str, obj, *, links: dict[str, bool]) -> list[Cell]:
    """One row behind a figure. Mobiles are always masked (decrypted only to be masked) and
    free text has numbers masked; no officer is named."""
    if figure == "satisfaction":
        comment = mask_text(obj.comment or "")
        return [
            moment(obj.contact_at),
            text(obj.unit.name),
            text(obj.business_type.name),
            text(
                RATINGS.get(obj.rating, obj.rating),
                cls="error" if obj.rating in UNSATISFIED_RATINGS else "",
            ),
            text({"sms": _("短信"), "h5": _("网页")}.get(obj.answered_via, obj.answered_via)),
            text(mask_mobile(obj.event.citizen_mobile)),
            text(comment[:200]),
        ]
    if figure in ("callbacks", "reasons"):
        href = _link("callbacks:callback_detail", obj.pk, links)
        ident = text(f"#{obj.pk}", href=href)
        mobile = text(mask_mobile(obj.survey.event.citizen_mobile))
        business = text(obj.survey.business_type.name)
        if figure == "reasons":
            return [
                ident,
                text(obj.unit.name),
                business,
                moment(obj.completed_at),
                text("、".join(str(TAGS.get(t, t)) for t in obj.tags or [])),
                text(ATTRIBUTIONS.get(obj.attribution, obj.attribution)),
                mobile,
            ]
        if obj.status == CallbackStatus.DONE:
            late = obj.completed_at > obj.due_at
            on_time = _("超时") if late else _("按时")
        else:
            late = obj.due_at < timezone.now()
            on_time = _("已超时") if late else _("未到期")
        return [
            ident,
            text(obj.unit.name),
            business,
            text(obj.get_kind_display()),
            moment(obj.due_at),
            moment(obj.completed_at),
            text(CALLBACK_STATUSES.get(obj.status, obj.status)),
            text(on_time, cls="error" if late else ""),
            mobile,
        ]
    if figure == "workorders":
        return [
            text(obj.number, href=_link("workorders:order_detail", obj.pk, links)),
            text(obj.unit.name),
            text(obj.business_type.name),
            moment(obj.dispatched_at),
            moment(obj.deadline),
            moment(obj.feedback_at),
            text(
                ORDER_STATUSES.get(obj.status, obj.status),
                cls="error" if obj.is_overdue else "",
            ),
            text(_("是") if obj.resolved else ("" if obj.status != "closed" else _("否"))),
        ]
    if figure == "repeats":
        return [
            text(obj["mobile_masked"]),
            text(obj["business_type__name"]),
            text(obj["unit__name"]),
            count(obj["repeats"]),
            moment(obj["first_at"]),
            moment(obj["last_at"]),
        ]
    raise ValueError(figure)


def _link(name: str, pk, links: dict[str, bool]) -> str:
    return reverse(name, args=[pk]) if links.get(name) else ""


def drill_title(filters: DrillFilters) -> str:
    titles = {
        "satisfaction": _("满意度评价明细"),
        "callbacks": _("回访任务明细"),
        "reasons": _("不满意原因明细"),
        "workorders": _("整改工单明细"),
        "repeats": _("跑多次明细"),
    }
    return titles[filters.figure]


def url_exists(name: str) -> bool:
    """Whether a URL name is served yet (other apps add theirs), so links can be offered
    only where they lead somewhere."""
    try:
        reverse(name, args=[1])
    except NoReverseMatch:
        return False
    return True
