"""Demo satisfaction history for the demo city (capability 1, DOMAIN.md).

`build_history` gives the demo city (minyi.demo.city) `days` days of police contacts and
what the public said about them, ending now. Every figure is produced by the real services:
events go in through `events_ingest` in small batches as simulated time passes; the real
rules decide and send surveys (`surveys_schedule_pending`, `surveys_dispatch_due` and
`surveys_remind_and_expire`, each called with `now=` the simulated moment, so quiet hours,
cool-off, one open survey per mobile, sensitive types and staleness all apply); citizens
answer with `survey_answer(..., now=...)` (which opens the callbacks). Only the SMS round
trip is shortened: the outbox rows the services write are marked delivered by the console
gateway at the simulated time, and an answer by SMS is stored with its incoming message and
reply row directly instead of one `reply_record_sms` per answer (that function answers at
the wall-clock time). Questions and opt-outs (退订) do go through `inbound_receive` and
`reply_record_sms`, with their timestamps moved back to the simulated moment afterwards.

Contacts and answers are drawn as `minyi.demo.contacts` describes.

Cost: every row goes through the real services, so a 90-day build (~69,000 contacts, 64,000
surveys, 23,000 answers, 43,000 reminders) takes about four minutes on SQLite.

Deterministic: the same seed, `days`, `events_per_day` and `now` give the same contacts and
answers (survey tokens come from the real services and are random).
"""

import heapq
import itertools
import math
import random
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as dtime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Max
from django.utils import timezone

from minyi.callbacks.models import Callback
from minyi.core.errors import ApplicationError
from minyi.demo.city_plan import DEFAULT_SEED
from minyi.demo.contacts import (
    GATEWAY,
    HISTORY_SOURCE,
    OPT_OUTS,
    QUESTIONS,
    Catalogue,
    Citizens,
    DemoHistoryError,
    PlannedEvent,
    draw_rating,
    h5_comment,
    load_catalogue,
    plan_day,
    reply_text,
    unsatisfied_risk,
)
from minyi.integrations.sms.models import (
    InboundSms,
    InboundStatus,
    OptOut,
    OutboundSms,
    OutboundStatus,
    SmsPurpose,
)
from minyi.integrations.sms.services import inbound_receive
from minyi.perception.models import (
    UNSATISFIED_RATINGS,
    ServiceEvent,
    Survey,
    SurveyReply,
    SurveyStatus,
)
from minyi.perception.replies import ReplyKind, parse_reply
from minyi.perception.services.ingest import MAX_BATCH, events_ingest
from minyi.perception.services.replies import reply_record_sms, survey_answer
from minyi.perception.services.surveys import (
    surveys_dispatch_due,
    surveys_remind_and_expire,
    surveys_schedule_pending,
)

H5_SHARE = 0.25  # answers given on the H5 page rather than by SMS
UNPARSED_SHARE = 0.005  # SMS answers that are a question or a remark, not a rating
OPT_OUT_SHARE = 0.004  # SMS answers that are 退订 / TD


# --- History -----------------------------------------------------------------------------------


@dataclass(order=True)
class _Answer:
    at: datetime
    seq: int
    survey_id: int = field(compare=False)
    mode: str = field(compare=False)  # sms / h5 / raw (through reply_record_sms)
    text: str = field(compare=False)
    rating: int = field(compare=False, default=0)
    comment: str = field(compare=False, default="")


def _ticks(rng: random.Random, start: datetime, end: datetime) -> list[datetime]:
    """When the simulated worker runs: hourly by day, every four hours at night."""
    ticks = []
    moment = start
    while moment < end:
        hour = timezone.localtime(moment).hour
        busy = settings.SURVEY_QUIET_END <= hour <= settings.SURVEY_QUIET_START
        if busy or hour % 4 == 0:
            ticks.append(min(moment + timedelta(seconds=rng.randrange(1, 50)), end))
        moment += timedelta(hours=1)
    if not ticks or ticks[-1] < end:
        ticks.append(end)
    return ticks


def _morning_if_night(rng, moment: datetime) -> datetime:
    """Few people answer between 23:00 and 07:00: such an answer comes the next morning."""
    local = timezone.localtime(moment)
    if 7 <= local.hour < 23:
        return moment
    morning = local.replace(hour=7, minute=0, second=0, microsecond=0)
    if local.hour >= 23:
        morning += timedelta(days=1)
    return morning + timedelta(seconds=rng.randrange(90 * 60))


class _History:
    def __init__(self, cat: Catalogue, *, seed: int, days: int):
        self.cat = cat
        self.days = days
        self.rng = random.Random(f"{seed}:history:replies")  # noqa: S311
        self.events: dict[int, PlannedEvent] = {}  # event id → what was planned
        self.day_of: dict[int, int] = {}
        self.queue: list[_Answer] = []
        self.seq = itertools.count()
        # Outbox rows are found by primary key ranges: scanning 100,000 messages on every
        # tick would make the build quadratic.
        self.last_sms_id = OutboundSms.objects.aggregate(m=Max("id"))["m"] or 0

    # Replies are decided when the survey is sent: whether, when, what.
    def plan_replies(self, now: datetime) -> None:
        sent = OutboundSms.objects.filter(
            id__gt=self.last_sms_id,
            purpose=SmsPurpose.SURVEY,
            survey__sent_at=now,
            survey__status=SurveyStatus.SENT,
            survey__event__source=HISTORY_SOURCE,
        ).order_by("survey_id")
        expiry = timedelta(hours=settings.SURVEY_EXPIRY_HOURS)
        reminder = timedelta(hours=settings.SURVEY_REMINDER_HOURS)
        for survey_id, event_id in sent.values_list("survey_id", "survey__event_id"):
            event = self.events[event_id]
            spec = self.cat.specs[event.type_code]
            rng = self.rng
            if rng.random() >= spec.reply:
                continue
            delay = timedelta(minutes=min(rng.lognormvariate(math.log(25), 1.0), 600))
            if reminder and rng.random() < 0.22:
                delay += reminder
            at = _morning_if_night(rng, now + delay)
            if at >= now + expiry - timedelta(minutes=1):
                continue
            trend = 1.15 - 0.3 * self.day_of[event_id] / max(self.days, 1)
            risk = unsatisfied_risk(self.cat, event, trend=trend)
            rating = draw_rating(rng, risk, enforcement=spec.unsatisfied >= 2)
            self._plan(at, survey_id, rating, event, spec)

    def _plan(self, at, survey_id, rating, event, spec) -> None:
        rng = self.rng
        draw = rng.random()
        if draw < OPT_OUT_SHARE:
            self._push(at, survey_id, "raw", rng.choice(OPT_OUTS))
        elif draw < OPT_OUT_SHARE + UNPARSED_SHARE:
            self._push(at, survey_id, "raw", rng.choice(QUESTIONS))
            if rng.random() < 0.6:  # then answers properly once they understood
                later = at + timedelta(minutes=rng.randint(5, 60))
                self._push(later, survey_id, "sms", str(rating), rating)
        elif rng.random() < H5_SHARE:
            comment = h5_comment(rng, rating, spec.comments, repeat=event.repeat)
            self._push(at, survey_id, "h5", comment, rating, comment)
        else:
            text = reply_text(rng, rating, spec.comments, repeat=event.repeat)
            self._push(at, survey_id, "sms", text, rating)

    def _push(self, at, survey_id, mode, text, rating=0, comment="") -> None:
        heapq.heappush(
            self.queue, _Answer(at, next(self.seq), survey_id, mode, text, rating, comment)
        )

    def answer_due(self, now: datetime) -> None:
        due = []
        while self.queue and self.queue[0].at <= now:
            due.append(heapq.heappop(self.queue))
        if not due:
            return
        surveys = Survey.objects.in_bulk({a.survey_id for a in due})
        inbound, replies = [], []
        for answer in due:
            survey = surveys[answer.survey_id]
            mobile = self.events[survey.event_id].mobile
            if answer.mode == "raw":
                self._through_gateway(answer, mobile)
                continue
            parsed = parse_reply(answer.text) if answer.mode == "sms" else None
            if parsed is not None and parsed.kind != ReplyKind.RATING:
                self._through_gateway(answer, mobile)
                continue
            rating = parsed.rating if parsed else answer.rating
            comment = parsed.comment if parsed else answer.comment
            try:
                survey_answer(
                    survey=survey, rating=rating, comment=comment, via=answer.mode, now=answer.at
                )
            except ApplicationError:
                continue  # closed meanwhile (opted out): the late answer is not counted
            message = None
            if answer.mode == "sms":
                message = InboundSms(
                    gateway=GATEWAY,
                    gateway_message_id=f"demo-history-{answer.seq}",
                    from_mobile=mobile,
                    from_mobile_hash=survey.mobile_hash,
                    text=answer.text,
                    received_at=answer.at,
                    status=InboundStatus.PROCESSED,
                    unit_id=survey.unit_id,
                )
                inbound.append(message)
            replies.append(
                SurveyReply(
                    survey_id=survey.pk,
                    inbound=message,
                    channel=answer.mode,
                    text=answer.text,
                    kind=ReplyKind.RATING,
                    rating=rating,
                    comment=comment,
                    counted=True,
                    created_at=answer.at,
                )
            )
        InboundSms.objects.bulk_create(inbound)
        SurveyReply.objects.bulk_create(replies)

    def _through_gateway(self, answer: _Answer, mobile: str) -> None:
        """Questions and opt-outs take the real path; their timestamps are then moved back
        to the simulated moment."""
        message, created = inbound_receive(
            gateway=GATEWAY,
            gateway_message_id=f"demo-history-{answer.seq}",
            sender=mobile,
            text=answer.text,
            received_at=answer.at,
        )
        if created:
            reply_record_sms(inbound_id=message.pk)
            SurveyReply.objects.filter(inbound=message).update(created_at=answer.at)
            OptOut.objects.filter(inbound=message).update(created_at=answer.at)
            Survey.objects.filter(replies__inbound=message, status=SurveyStatus.ANSWERED).update(
                answered_at=answer.at
            )

    def deliver(self, now: datetime) -> None:
        """The console gateway delivers what the services put in the outbox, at once."""
        last = OutboundSms.objects.aggregate(m=Max("id"))["m"] or 0
        OutboundSms.objects.filter(
            id__gt=self.last_sms_id, id__lte=last, status=OutboundStatus.QUEUED
        ).update(
            status=OutboundStatus.DELIVERED,
            backend=GATEWAY,
            gateway_reply=GATEWAY,
            attempts=1,
            created_at=now,
            not_before=now,
            claimed_at=now,
            sent_at=now,
            delivered_at=now,
        )
        self.last_sms_id = last


def history_exists() -> bool:
    return ServiceEvent.objects.filter(source=HISTORY_SOURCE).exists()


def build_history(
    *,
    days: int = 90,
    seed: int = DEFAULT_SEED,
    events_per_day: int | None = None,
    now=None,
    progress=None,
) -> dict:
    """Give the demo city `days` full days of contacts and answers before today, and
    today's until `now` (default: the current time). Does nothing when the history exists
    already. Runs in one transaction: all or nothing. `progress(day, days)` is called as
    each simulated day begins."""
    if not settings.DEMO_MODE:
        raise DemoHistoryError("the demo history is written only in demo mode (DEMO_MODE)")
    if days < 1:
        raise DemoHistoryError("days must be at least 1")
    if history_exists():
        return {**history_figures(), "created": False}
    started, cpu = time.perf_counter(), time.process_time()
    end = (now or timezone.now()).replace(microsecond=0)
    cat = load_catalogue(seed=seed)
    today = timezone.localtime(end).date()
    tz = timezone.get_current_timezone()
    start = datetime.combine(today - timedelta(days=days), dtime(0), tzinfo=tz)
    event_rng = random.Random(f"{seed}:history:events")  # noqa: S311
    citizens = Citizens()
    planned = []
    for day in range(days + 1):
        date = today - timedelta(days=days - day)
        planned += [
            (day, e)
            for e in plan_day(cat, event_rng, citizens, day=day, date=date, count=events_per_day)
            if e.occurred_at <= end
        ]
    with transaction.atomic(), _large_cache():
        if history_exists():
            return {**history_figures(now=end), "created": False}
        sim = _History(cat, seed=seed, days=days)
        position = 0
        tick_rng = random.Random(f"{seed}:history:ticks")  # noqa: S311
        day = -1
        for tick in _ticks(tick_rng, start, end):
            if progress and (tick - start).days > day:
                day = (tick - start).days
                progress(day, days)
            batch = []
            while position < len(planned) and planned[position][1].occurred_at <= tick:
                batch.append(planned[position])
                position += 1
            for chunk in range(0, len(batch), MAX_BATCH):
                _ingest(sim, batch[chunk : chunk + MAX_BATCH], tick)
            # The worker's pass, at the simulated moment.
            surveys_schedule_pending(now=tick, limit=MAX_BATCH)
            sim.answer_due(tick)
            if surveys_dispatch_due(now=tick, limit=MAX_BATCH):
                sim.plan_replies(tick)
            surveys_remind_and_expire(now=tick, limit=MAX_BATCH)
            sim.deliver(tick)
    return {
        **history_figures(now=end),
        "created": True,
        "seconds": time.perf_counter() - started,
        "cpu_seconds": time.process_time() - cpu,
    }


@contextmanager
def _large_cache():
    """SQLite keeps 2 MB of pages by default: a 90-day transaction would spill them to the
    journal and read them back all the time. Use 256 MB while the history is written."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        size = cursor.execute("PRAGMA cache_size").fetchone()[0]
        cursor.execute("PRAGMA cache_size = -262144")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(size)}")


def _ingest(sim: _History, batch: list, now: datetime) -> None:
    results = events_ingest(
        items=[event.item(HISTORY_SOURCE) for _, event in batch], scope_unit=None
    )
    ids = []
    for (day, event), result in zip(batch, results, strict=True):
        if result.status != "accepted":
            raise DemoHistoryError(f"event {event.external_id} {result.status}: {result.message}")
        sim.events[result.id] = event
        sim.day_of[result.id] = day
        ids.append(result.id)
    ServiceEvent.objects.filter(id__in=ids).update(received_at=now)


def history_figures(sources=(HISTORY_SOURCE,), *, now=None) -> dict:
    """What the demo contacts came to: counts and rates, from the database."""
    now = now or timezone.now()
    settled_before = now - timedelta(hours=settings.SURVEY_EXPIRY_HOURS)
    events = ServiceEvent.objects.filter(source__in=sources)
    surveys = Survey.objects.filter(event__source__in=sources)
    decisions = dict(events.values_list("survey_decision").annotate(n=Count("id")).order_by())
    statuses = dict(surveys.values_list("status").annotate(n=Count("id")).order_by())
    ratings = dict(
        surveys.filter(status=SurveyStatus.ANSWERED)
        .values_list("rating")
        .annotate(n=Count("id"))
        .order_by()
    )
    answered = statuses.get(SurveyStatus.ANSWERED, 0)
    settled = dict(
        surveys.filter(
            sent_at__lte=settled_before,
            status__in=[SurveyStatus.ANSWERED, SurveyStatus.EXPIRED],
        )
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    settled_answered = settled.get(SurveyStatus.ANSWERED, 0)
    settled_total = sum(settled.values())
    unsatisfied = sum(ratings.get(r, 0) for r in UNSATISFIED_RATINGS)
    sent = surveys.filter(sent_at__isnull=False).count()
    first = events.order_by("occurred_at").values_list("occurred_at", flat=True).first()
    last = events.order_by("-occurred_at").values_list("occurred_at", flat=True).first()
    n_events = sum(decisions.values())
    span_days = max((last - first).total_seconds() / 86400, 1) if first else 0
    return {
        "events": n_events,
        "events_per_day": round(n_events / span_days) if span_days else 0,
        "decisions": decisions,
        "surveys_sent": sent,
        "surveys": statuses,
        "answered": answered,
        "open": statuses.get(SurveyStatus.SENT, 0) + statuses.get(SurveyStatus.SCHEDULED, 0),
        # Among surveys sent long enough ago that their time is up (answered or expired):
        # the rate the loop settles at. The dashboards' replies / sent counts the open too.
        "reply_rate": settled_answered / settled_total if settled_total else None,
        "reply_rate_of_sent": answered / sent if sent else None,
        "ratings": {r: ratings.get(r, 0) for r in range(1, 6)},
        "unsatisfied": unsatisfied,
        "satisfaction_rate": (answered - unsatisfied) / answered if answered else None,
        "callbacks": Callback.objects.filter(survey__event__source__in=sources).count(),
        "reminders": OutboundSms.objects.filter(
            survey__event__source__in=sources, purpose=SmsPurpose.REMINDER
        ).count(),
        "opt_outs": SurveyReply.objects.filter(
            survey__event__source__in=sources, kind=ReplyKind.OPT_OUT
        ).count(),
        "unparsed": SurveyReply.objects.filter(
            survey__event__source__in=sources, kind=ReplyKind.UNPARSED
        ).count(),
    }


def summary_line(figures: dict) -> str:
    def pct(value):
        return "–" if value is None else f"{value:.1%}"

    decisions = figures["decisions"]
    return (
        f"{figures['events']} events (~{figures['events_per_day']}/day), "
        f"{figures['surveys_sent']} surveys sent "
        f"({decisions.get('sensitive', 0)} sensitive, {decisions.get('cool_off', 0)} cool-off, "
        f"{decisions.get('open_survey', 0)} open-survey, "
        f"{decisions.get('opted_out', 0)} opted-out not surveyed), "
        f"{figures['answered']} answered: reply rate {pct(figures['reply_rate'])}, "
        f"satisfaction {pct(figures['satisfaction_rate'])}, "
        f"{figures['unsatisfied']} unsatisfied → {figures['callbacks']} callbacks, "
        f"{figures['open']} surveys still open"
    )
