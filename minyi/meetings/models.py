"""Meetings and live programmes (恳谈会、广场警务活动日、110直播室), issue 17 part 2: every
channel into one flow (DOMAIN.md capability 4, opinions).

A unit schedules a meeting (a community 恳谈会, a plaza day, or the 110直播室 radio hour of a
working day), records who came, and keys in each question raised there: the question becomes
an opinion (`Opinion`, channel 恳谈会 / 广场警务活动日 / 110直播室) tracked to its answer like any
other. Staff write a public summary of each question (no personal data), the minutes and the
follow-up, and once a question's opinion is answered, a public answer (公开答复) written for
everyone to read; once published, the citizen portal shows them with each question's status
and that public answer. The answer sent to the citizen (`Opinion.answer`) is never public, and
a tip (线索举报) raised at a meeting never appears on the portal.
"""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from minyi.core.lifecycle import LifecycleEvent
from minyi.core.models import BaseModel
from minyi.opinions.models import OpinionChannel


class MeetingKind(models.TextChoices):
    FORUM = "forum", _("恳谈会")
    PLAZA_DAY = "plaza_day", _("广场警务活动日")
    RADIO = "radio", _("110直播室")


class MeetingStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("待召开")
    HELD = "held", _("已召开")
    PUBLISHED = "published", _("纪要已公开")
    CANCELLED = "cancelled", _("已取消")


M = MeetingStatus
MEETING_ALLOWED = {
    M.SCHEDULED: {M.HELD, M.CANCELLED},
    M.HELD: {M.PUBLISHED},
    M.PUBLISHED: set(),
    M.CANCELLED: set(),
}
# Shown on the citizen portal: what is coming (or was called off) and what was published.
PUBLIC_STATUSES = (M.SCHEDULED, M.CANCELLED, M.PUBLISHED)


class Meeting(BaseModel):
    """One meeting or programme of a unit, optionally in one community of its grid."""

    kind = models.CharField(_("类型"), max_length=12, choices=MeetingKind.choices)
    unit = models.ForeignKey(
        "orgs.OrgUnit", verbose_name=_("主办单位"), on_delete=models.PROTECT, related_name="+"
    )
    community = models.ForeignKey(
        "community.GridArea",
        verbose_name=_("社区"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    title = models.CharField(_("主题"), max_length=100)
    agenda = models.TextField(_("议程"), blank=True)
    place = models.CharField(_("地点"), max_length=100)
    starts_at = models.DateTimeField(_("开始时间"), db_index=True)
    ends_at = models.DateTimeField(_("结束时间"))
    status = models.CharField(
        _("状态"), max_length=12, choices=MeetingStatus.choices, default=M.SCHEDULED
    )
    citizens_count = models.PositiveIntegerField(_("参加群众人数"), null=True, blank=True)
    # The officers present, as written (names and posts of officers are public).
    officers_present = models.CharField(_("出席民警"), max_length=300, blank=True)
    minutes = models.TextField(_("会议纪要"), blank=True)
    follow_up = models.TextField(_("后续成效"), blank=True)
    published_at = models.DateTimeField(_("公开时间"), null=True, blank=True)
    cancel_reason = models.CharField(_("取消原因"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("恳谈会与直播")
        verbose_name_plural = _("恳谈会与直播")
        ordering = ["-starts_at", "-id"]
        indexes = [
            models.Index(fields=["unit", "starts_at"], name="meeting_unit_start_idx"),
            models.Index(fields=["status", "starts_at"], name="meeting_status_start_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="meeting_ends_after_start",
            ),
            # One 110直播室 programme per unit and hour: scheduling twice adds nothing.
            models.UniqueConstraint(
                fields=["unit", "starts_at"],
                condition=models.Q(kind="radio"),
                name="meeting_radio_once",
            ),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("meetings:meeting_detail", args=[self.pk])

    @property
    def channel(self) -> str:
        return KIND_CHANNEL[self.kind]


# The opinion channel a question of each kind of meeting enters by (受理渠道).
KIND_CHANNEL = {
    MeetingKind.FORUM: OpinionChannel.MEETING,
    MeetingKind.PLAZA_DAY: OpinionChannel.PLAZA_DAY,
    MeetingKind.RADIO: OpinionChannel.RADIO,
}


class MeetingQuestion(models.Model):
    """A question raised at a meeting, tracked as its opinion. `summary` is what the public
    reads, written by staff without personal data; the citizen's own words stay in the
    opinion (encrypted, staff only)."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="questions")
    opinion = models.OneToOneField(
        "opinions.Opinion", on_delete=models.PROTECT, related_name="meeting_question"
    )
    summary = models.CharField(_("问题摘要（公开）"), max_length=200)
    asked_at = models.DateTimeField(_("提问时间"))
    order = models.PositiveSmallIntegerField(_("序号"))
    answered_on_spot = models.BooleanField(_("现场已解答"), default=False)
    # What was said on the spot, public like the summary (the formal answer is the opinion's).
    spot_answer = models.CharField(_("现场解答（公开）"), max_length=300, blank=True)
    # Written by staff once the opinion is answered, for the portal: the opinion's own answer
    # is the citizen's (it may name them or their affairs) and is never published.
    public_answer = models.CharField(_("公开答复"), max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("群众提问")
        verbose_name_plural = _("群众提问")
        ordering = ["meeting", "order"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "order"], name="meeting_question_order"),
        ]

    def __str__(self):
        return f"{self.meeting_id}#{self.order}"


class MeetingEvent(LifecycleEvent):
    """A meeting's history: scheduled, held, published, cancelled; who and when."""

    STATUS = MeetingStatus

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="history")

    def __str__(self):
        return f"{self.meeting_id}: {self.from_status} → {self.to_status}"
