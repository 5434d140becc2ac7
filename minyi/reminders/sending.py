"""Sending service reminders (办事提醒): the sweep that turns due items into SMS at each kind's
lead times, the templates, and the citizen's opt-out (per kind or all).

Exactly once: each decision is a ReminderSend row, unique per (item, lead days), written in
the same transaction as its outbox message, so a reminder is never decided twice and never
sent without its record, even when two sweeps run at once or one is killed mid-batch.

Never at night: the message's `not_before` is the end of the quiet hours, and the outbox holds
SERVICE_REMINDER at night anyway. Never to a number that opted out of this kind, of all
reminders, or of every SMS (TD); at most a few reminders per mobile per day and per 30 days
(`REMINDER_MAX_PER_DAY`, `REMINDER_MAX_PER_30_DAYS` in settings, with defaults). A reminder
over the limit is not a decision: nothing is written, and a later run sends it once the mobile
is below its limits, while the item is still within the lead's window and not yet due."""

from collections import Counter
from datetime import datetime, time, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from minyi.core.audit import audit_record
from minyi.core.errors import ApplicationError
from minyi.core.models import AuditAction
from minyi.core.pii import lookup_hash, normalize_mobile
from minyi.integrations.sms.models import OptOut, OutboundSms, OutboundStatus, SmsPurpose
from minyi.integrations.sms.services import quiet_hours_end, sms_enqueue
from minyi.reminders.models import (
    DueItem,
    ReminderKind,
    ReminderOptOut,
    ReminderSend,
    ReminderTemplate,
    SendStatus,
    SkipReason,
)

BATCH = 200
DEFAULT_MAX_PER_DAY = 2
DEFAULT_MAX_PER_30_DAYS = 6
DEFAULT_TEXTS = {
    ReminderKind.VEHICLE_INSPECTION: "{signature}您的机动车{item}检验有效期至{due}，"
    "请在到期前预约年检。",
    ReminderKind.LICENCE_RENEWAL: "{signature}您的驾驶证（{item}）有效期至{due}，"
    "请在到期前办理换证。",
    ReminderKind.ID_EXPIRY: "{signature}您的居民身份证（{item}）有效期至{due}，"
    "请及时到户籍窗口办理换领。",
    ReminderKind.UNPAID_VIOLATION: "{signature}您的机动车{item}有交通违法未处理，请于{due}前处理。",
}
DEFAULT_LEADS = {
    ReminderKind.VEHICLE_INSPECTION: "30,7",
    ReminderKind.LICENCE_RENEWAL: "60,15",
    ReminderKind.ID_EXPIRY: "60,15",
    ReminderKind.UNPAID_VIOLATION: "15,3",
}


def rate_limits() -> tuple[int, int]:
    return (
        getattr(settings, "REMINDER_MAX_PER_DAY", DEFAULT_MAX_PER_DAY),
        getattr(settings, "REMINDER_MAX_PER_30_DAYS", DEFAULT_MAX_PER_30_DAYS),
    )


def optout_url() -> str:
    return f"{settings.PUBLIC_BASE_URL}{reverse('reminders_public:opt_out')}"


def _day(value) -> str:
    return f"{value.year}年{value.month}月{value.day}日"


def reminder_text(template: ReminderTemplate, item: DueItem, *, today) -> str:
    """The SMS for `item`: only its own masked label, kind, date and unit, and the way out."""
    link = optout_url()
    text = template.text.format(
        item=item.item_label,
        due=_day(item.due_date),
        days=max((item.due_date - today).days, 0),
        kind=item.get_kind_display(),
        signature=settings.SMS_SIGNATURE,
        unit=item.unit.display_name,
        optout=link,
    )
    if "{optout}" not in template.text:
        text += _("退订提醒：%(url)s") % {"url": link}
    return text


# --- The sweep -----------------------------------------------------------------------------------


def reminders_send_due(*, now=None, limit: int = 2000) -> dict:
    """Decide the reminders due on the day they reach the citizen (an item's due date minus a
    lead time of its kind has been reached), at most `limit`, batch by batch; returns the
    counts by outcome. Decided after 21:00, a reminder goes out the next morning: that day is
    "today" for the lead times, {days}, and an item due the day before gets none."""
    now = now or timezone.now()
    send_at = quiet_hours_end(now)
    today = timezone.localdate(send_at)
    counts: Counter = Counter()
    remaining = limit
    for template in ReminderTemplate.objects.filter(active=True).order_by("kind"):
        previous = None
        # The smallest lead reached is the one that applies: an item imported 5 days before
        # its due date gets the 7-day reminder, not a late 30-day one as well.
        for lead in sorted(template.leads):
            window = Q(due_date__lte=today + timedelta(days=lead))
            window &= (
                Q(due_date__gte=today)
                if previous is None
                else Q(due_date__gt=today + timedelta(days=previous))
            )
            sweep = Sweep(template, lead, send_at=send_at, today=today, now=now)
            while remaining > 0:
                size = min(BATCH, remaining)
                seen = sweep.batch(window, size=size, counts=counts)
                remaining -= seen
                if seen < size:
                    break
            previous = lead
    return dict(counts)


class Sweep:
    """One template's lead in one run, batch after batch in (due date, id) order. A batch
    starts after the last item the previous one looked at, so an item passed over (rate
    limited: no row is written, a later run decides it again) is not looked at twice."""

    def __init__(self, template, lead: int, *, send_at, today, now):
        self.template, self.lead = template, lead
        self.send_at, self.today, self.now = send_at, today, now
        self.after: tuple | None = None

    def batch(self, window: Q, *, size: int, counts: Counter) -> int:
        """One transaction: lock up to `size` items of the window not yet decided at this
        lead, decide each, write the decisions and their messages. Returns the items looked
        at (0 when another sweep decided the same items first: its decisions stand)."""
        lead = self.lead
        decided = ReminderSend.objects.filter(item=OuterRef("pk"), lead_days__lte=lead)
        if self.after is not None:
            day, pk = self.after
            window &= Q(due_date__gt=day) | Q(due_date=day, pk__gt=pk)
        try:
            with transaction.atomic():
                items = list(
                    DueItem.objects.filter(window, kind=self.template.kind, cancelled=False)
                    .exclude(Exists(decided))
                    .select_related("unit")
                    .order_by("due_date", "pk")
                    .select_for_update(skip_locked=True, of=("self",))[:size]
                )
                if not items:
                    return 0
                # Locked now: what another sweep committed meanwhile is visible and left alone.
                done = set(
                    ReminderSend.objects.filter(item__in=items, lead_days__lte=lead).values_list(
                        "item_id", flat=True
                    )
                )
                looked = len(items)
                last = (items[-1].due_date, items[-1].pk)
                outcome = self._decide([i for i in items if i.pk not in done])
        except IntegrityError:
            return 0
        self.after = last
        counts.update(outcome)
        return looked

    def _decide(self, items: list[DueItem]) -> Counter:
        template, send_at = self.template, self.send_at
        hashes = {item.mobile_hash for item in items}
        opted = set(
            ReminderOptOut.objects.filter(
                mobile_hash__in=hashes, kind__in=["", template.kind]
            ).values_list("mobile_hash", flat=True)
        )
        td = set(
            OptOut.objects.filter(mobile_hash__in=hashes).values_list("mobile_hash", flat=True)
        )
        per_day, per_month = _recent_counts(hashes, send_at)
        max_day, max_month = rate_limits()
        rows, outcome = [], Counter()
        for item in sorted(items, key=lambda i: (i.due_date, i.pk)):
            key = item.mobile_hash
            if (
                key not in td
                and key not in opted
                and (per_day[key] >= max_day or per_month[key] >= max_month)
            ):
                # Not a decision: no row, so a later run (still within the lead's window and
                # before the due date) decides it again once the mobile is below its limits.
                outcome[SkipReason.RATE_LIMITED] += 1
                continue
            row = ReminderSend(
                item=item,
                lead_days=self.lead,
                mobile_hash=key,
                created_at=self.now,
                planned_at=send_at,
                status=SendStatus.SKIPPED,
            )
            if key in td:
                row.reason = SkipReason.SMS_OPTED_OUT
            elif key in opted:
                row.reason = SkipReason.OPTED_OUT
            else:
                row.status = SendStatus.SENT
                row.message = sms_enqueue(
                    mobile=item.mobile,
                    body=reminder_text(template, item, today=self.today),
                    purpose=SmsPurpose.SERVICE_REMINDER,
                    not_before=send_at,
                )
                per_day[key] += 1
                per_month[key] += 1
            outcome[row.reason or row.status] += 1
            rows.append(row)
        ReminderSend.objects.bulk_create(rows)
        return outcome


def _recent_counts(hashes, send_at) -> tuple[Counter, Counter]:
    """Reminders sent to each mobile on `send_at`'s day and in the 30 days up to it."""
    local = timezone.localtime(send_at)
    day_start = timezone.make_aware(datetime.combine(local.date(), time.min))
    per_day: Counter = Counter()
    per_month: Counter = Counter()
    for key, planned in ReminderSend.objects.filter(
        mobile_hash__in=hashes,
        status=SendStatus.SENT,
        planned_at__gte=day_start - timedelta(days=29),
        planned_at__lt=day_start + timedelta(days=1),
    ).values_list("mobile_hash", "planned_at"):
        per_month[key] += 1
        if planned >= day_start:
            per_day[key] += 1
    return per_day, per_month


# --- Templates -----------------------------------------------------------------------------------


def template_for(kind: str) -> ReminderTemplate:
    """The kind's template, or an unsaved one with the default text (not active until saved)."""
    return ReminderTemplate.objects.filter(kind=kind).first() or ReminderTemplate(
        kind=kind, text=DEFAULT_TEXTS[kind], lead_days=DEFAULT_LEADS[kind], active=False
    )


def template_editable_by(user) -> bool:
    """Templates are city-wide: only the city bureau's staff (the top unit) or a superuser
    change them; a district or station sees them read-only."""
    return user.is_superuser or (user.unit_id is not None and user.unit.depth == 1)


def template_edit_check(user) -> None:
    if not template_editable_by(user):
        raise ApplicationError(
            "template_city_only",
            _("提醒模板全市统一，只有市局的管理员可以修改；如需调整请联系市局。"),
            status=403,
        )


@transaction.atomic
def template_save(*, actor, template: ReminderTemplate) -> ReminderTemplate:
    """Save a template its form checked (placeholders, lead days: `ReminderTemplate.clean`);
    only by the city bureau (`template_editable_by`)."""
    template_edit_check(actor)
    template.full_clean()
    created = template.pk is None
    template.save()
    audit_record(
        action=AuditAction.CREATE if created else AuditAction.CHANGE,
        actor=actor,
        obj=template,
        detail={"kind": template.kind, "lead_days": template.lead_days, "active": template.active},
    )
    return template


# --- Opt-out -------------------------------------------------------------------------------------


def reminder_optouts_for(mobile: str) -> set[str]:
    """The kinds `mobile` opted out of ("" for all)."""
    key = lookup_hash("mobile", normalize_mobile(mobile))
    return set(ReminderOptOut.objects.filter(mobile_hash=key).values_list("kind", flat=True))


@transaction.atomic
def reminder_optout_add(*, mobile: str, kind: str = "", source: str = "h5", now=None) -> bool:
    """Opt `mobile` out of reminders of `kind` ("" = all kinds), and withdraw those still
    waiting in the outbox, in the same transaction. Returns False when it already was."""
    if kind and kind not in ReminderKind.values:
        kind = ""
    key = lookup_hash("mobile", normalize_mobile(mobile))
    _optout, created = ReminderOptOut.objects.get_or_create(
        mobile_hash=key, kind=kind, defaults={"source": source, "created_at": now or timezone.now()}
    )
    waiting = ReminderSend.objects.filter(
        mobile_hash=key, status=SendStatus.SENT, message__status=OutboundStatus.QUEUED
    )
    if kind:
        waiting = waiting.filter(item__kind=kind)
    message_ids = list(waiting.values_list("message_id", flat=True))
    if message_ids:
        OutboundSms.objects.filter(pk__in=message_ids, status=OutboundStatus.QUEUED).update(
            status=OutboundStatus.FAILED, last_error="opted out before sending"
        )
        ReminderSend.objects.filter(message_id__in=message_ids).update(
            status=SendStatus.SKIPPED, reason=SkipReason.OPTED_OUT
        )
    return created


@transaction.atomic
def reminder_optout_remove(*, mobile: str, kind: str = "") -> int:
    """Take reminders of `kind` ("" = the "all kinds" opt-out) again."""
    key = lookup_hash("mobile", normalize_mobile(mobile))
    deleted, _rows = ReminderOptOut.objects.filter(mobile_hash=key, kind=kind).delete()
    return deleted
