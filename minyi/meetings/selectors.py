"""Every read of meetings: staff lists and pages scoped to the user's subtree (by the
organising unit; a question's words and answer by its opinion's unit), and the citizen
portal's public view (upcoming and published only, with each question's public summary,
status and staff-written public answer, numbers masked; tips never)."""

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from minyi.community.models import AreaLevel, GridArea
from minyi.core.errors import NotFound
from minyi.core.pii import mask_text
from minyi.meetings.models import PUBLIC_STATUSES, Meeting, MeetingQuestion, MeetingStatus
from minyi.opinions.models import OPEN_STATUSES, OpinionKind
from minyi.orgs.models import OrgUnit
from minyi.orgs.selectors import scope_q

UPCOMING, PAST = "upcoming", "past"
PUBLIC_PAST_LIMIT = 30


@dataclass(frozen=True)
class MeetingFilter:
    kind: str = ""
    status: str = ""
    when: str = ""  # UPCOMING, PAST or "" (both)


def meeting_list_visible_to(user, filters: MeetingFilter = MeetingFilter(), *, now=None):
    now = now or timezone.now()
    qs = (
        Meeting.objects.filter(scope_q(user))
        .select_related("unit", "community")
        .annotate(question_count=Count("questions"))
    )
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.when == UPCOMING:
        return qs.filter(ends_at__gte=now).order_by("starts_at", "id")
    if filters.when == PAST:
        qs = qs.filter(ends_at__lt=now)
    return qs.order_by("-starts_at", "-id")


def meeting_get_visible_to(user, pk) -> Meeting:
    meeting = (
        Meeting.objects.filter(scope_q(user), pk=pk).select_related("unit", "community").first()
    )
    if meeting is None:
        raise NotFound()
    return meeting


def meeting_questions(meeting: Meeting) -> QuerySet[MeetingQuestion]:
    return meeting.questions.select_related("opinion", "opinion__unit").order_by("order")


def question_ids_in_scope(user, meeting: Meeting) -> set[int]:
    """The questions of `meeting` whose opinion is in the user's subtree: only those show the
    citizen's words and the answer. An opinion transferred (转办) to a unit outside it shows
    its number and status only, like the opinions list would not show it at all."""
    return set(
        meeting.questions.filter(scope_q(user, "opinion__unit__")).values_list("pk", flat=True)
    )


def meeting_history(meeting: Meeting):
    return meeting.history.select_related("actor")


def units_for(user) -> QuerySet[OrgUnit]:
    """The units a user may schedule for: their own subtree, active ones."""
    return OrgUnit.objects.filter(scope_q(user, ""), is_active=True).order_by("path")


def communities_for(user) -> QuerySet[GridArea]:
    """The communities of the stations in the user's subtree."""
    return (
        GridArea.objects.filter(scope_q(user, "station__"), level=AreaLevel.COMMUNITY)
        .select_related("station")
        .order_by("station__path", "name")
    )


# --- The citizen portal ----------------------------------------------------------------------


def public_upcoming(*, now=None) -> QuerySet[Meeting]:
    now = now or timezone.now()
    return (
        Meeting.objects.filter(
            status__in=(MeetingStatus.SCHEDULED, MeetingStatus.CANCELLED), ends_at__gte=now
        )
        .select_related("unit", "community")
        .order_by("starts_at", "id")
    )


# A tip (线索举报) raised at a meeting is handled in confidence: never on the portal, not even
# counted.
PUBLIC_QUESTION_Q = ~Q(opinion__kind=OpinionKind.TIP)


def public_past() -> QuerySet[Meeting]:
    return (
        Meeting.objects.filter(status=MeetingStatus.PUBLISHED)
        .select_related("unit", "community")
        .annotate(
            question_count=Count("questions", filter=~Q(questions__opinion__kind=OpinionKind.TIP))
        )
        .order_by("-starts_at", "-id")
    )


def public_meeting_get(pk) -> Meeting:
    meeting = (
        Meeting.objects.filter(pk=pk, status__in=PUBLIC_STATUSES)
        .select_related("unit", "community")
        .first()
    )
    if meeting is None:
        raise NotFound()
    return meeting


@dataclass(frozen=True)
class PublicQuestion:
    """What a citizen reads of a question: only what staff wrote for the public (the summary,
    the spot answer, the public answer), never the citizen's words or the answer sent to them."""

    order: int
    summary: str
    spot_answer: str
    answered: bool
    status_label: str
    public_answer: str
    answered_at: object


def public_questions(meeting: Meeting) -> list[PublicQuestion]:
    if meeting.status != MeetingStatus.PUBLISHED:
        return []
    rows = []
    questions = meeting.questions.filter(PUBLIC_QUESTION_Q).select_related("opinion")
    for q in questions.order_by("order"):
        opinion = q.opinion
        answered = opinion.status not in OPEN_STATUSES
        rows.append(
            PublicQuestion(
                order=q.order,
                summary=mask_text(q.summary),
                spot_answer=mask_text(q.spot_answer),
                answered=answered,
                status_label=_("已答复") if answered else _("办理中"),
                public_answer=mask_text(q.public_answer) if answered else "",
                answered_at=opinion.answered_at if answered else None,
            )
        )
    return rows


def public_text(value: str) -> str:
    """Staff free text shown to citizens (minutes, follow-up): numbers masked."""
    return mask_text(value or "")
