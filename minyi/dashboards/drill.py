"""Drill-down (明细): the rows behind a figure, scoped to the user's subtree, a page at a time
for the page and streamed for the export, and the table they show in. Mobiles are always
masked and no officer is named.
"""

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
        qs = Survey.objects.filter(
            scope,
            # The same units again through the event (Survey.unit is a copy of it), so the
            # planner may start from whichever index on units and time serves better.
            event__unit_id__in=index.subtree_ids(f.unit),
            status=SurveyStatus.ANSWERED,
            excluded_at__isnull=True,
            rating__isnull=False,
            event__occurred_at__gte=f.period.start_at,
            event__occurred_at__lt=f.period.end_before,
        )
        if f.business_type is not None:
            qs = qs.filter(business_type_id=f.business_type)
        if f.status == "satisfied":
            qs = qs.filter(rating__in=SATISFIED_RATINGS)
        elif f.status == "unsatisfied":
            qs = qs.filter(rating__in=UNSATISFIED_RATINGS)
        if f.officer is not None:
            qs = qs.filter(event__officers=f.officer)
        return qs.order_by("-event__occurred_at", "-id")
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


def drill_page(
    user, filters: DrillFilters, *, page: int, page_size: int, index: UnitIndex | None = None
) -> tuple[list, bool]:
    """One page of drill-down rows and whether there is a next one (a row more than the page
    is asked for: no COUNT(*) over millions of rows). The page's keys are found first and
    only those rows are then loaded with what they show, so the joins run for 50 rows, not
    for every candidate the sort has to look at."""
    qs = drill_rows(user, filters, index=index)
    offset = (page - 1) * page_size
    if filters.figure == "repeats":
        rows = list(qs[offset : offset + page_size + 1])
        return rows[:page_size], len(rows) > page_size
    keys = list(qs.values_list("pk", flat=True)[offset : offset + page_size + 1])
    loaded = qs.model.objects.select_related(*DRILL_RELATED[filters.figure]).in_bulk(
        keys[:page_size]
    )
    return [loaded[k] for k in keys[:page_size] if k in loaded], len(keys) > page_size


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
            moment(obj.event.occurred_at),
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
