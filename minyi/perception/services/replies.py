"""Step 3, replies (群众评价): a rating by SMS or on the H5 page counts once; what the parser
cannot place goes to the SMS inbox, never lost. An unsatisfied rating hands the survey to the
hook `survey_unsatisfied` (the callbacks app opens the callback)."""

from collections import Counter

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from minyi.core.errors import ApplicationError
from minyi.integrations.sms.models import (
    InboundSms,
    InboundStatus,
    SmsPurpose,
)
from minyi.integrations.sms.services import (
    optout_add,
    sms_enqueue,
)
from minyi.orgs.models import OrgUnit
from minyi.perception.hooks import survey_unsatisfied
from minyi.perception.models import (
    OPEN_SURVEY_STATUSES,
    SURVEY_LIFECYCLE,
    UNSATISFIED_RATINGS,
    Survey,
    SurveyReply,
    SurveyStatus,
)
from minyi.perception.replies import ReplyKind, parse_reply
from minyi.perception.services.daily import rollup_add, rollup_add_many, rollup_key


@transaction.atomic
def survey_answer(*, survey: Survey, rating: int, comment: str, via: str, now=None) -> Survey:
    """Record the citizen's rating (SMS or H5, whichever comes first). The survey must still
    be open; an unsatisfied rating opens a callback."""
    now = now or timezone.now()
    if rating not in range(1, 6):
        raise ApplicationError("invalid_rating", _("评价须为 1 到 5。"), field="rating")
    SURVEY_LIFECYCLE.move(
        survey,
        actor=None,
        to=SurveyStatus.ANSWERED,
        note=via,
        now=now,
        rating=rating,
        comment=comment[:500],
        answered_at=now,
        answered_via=via,
    )
    rollup_add(Counter([rollup_key(survey.event)]), "replies", f"rating_{rating}")
    if rating in UNSATISFIED_RATINGS:
        survey_unsatisfied(survey=survey, now=now)
    return survey


def survey_answer_h5(*, token: str, rating: int, comment: str) -> Survey:
    survey = Survey.objects.select_related("event").filter(token=token).first()
    if survey is None:
        raise ApplicationError("survey_not_found", _("评价链接无效。"), status=404)
    # Kept even when the survey closed meanwhile (answered by SMS, expired): never lost.
    reply = SurveyReply.objects.create(
        survey=survey, channel="h5", text=comment, kind="rating", rating=rating, comment=comment
    )
    answered = survey_answer(survey=survey, rating=rating, comment=comment, via="h5")
    SurveyReply.objects.filter(pk=reply.pk).update(counted=True)
    return answered


OPT_OUT_CONFIRMATION = "您已退订公安服务评价短信，今后不再向您发送。感谢您的支持。"


class _Batch:
    """One batch of stored replies, read in the order they came (received_at, then id), with
    every write collected and made set-wise at the end. `open` holds each mobile's open survey
    (locked); `last` the survey a message without one is routed by."""

    def __init__(self, messages: list[InboundSms], now):
        self.now = now
        self.outcome: dict[int, str] = {}
        self.answered: list[Survey] = []
        self.replies: list[SurveyReply] = []
        self.opt_outs: list[InboundSms] = []
        hashes = {m.from_mobile_hash for m in messages if m.from_mobile_hash}
        # Locked in id order (concurrent batches never deadlock on them). Of two replies
        # racing for one survey (two batches, or a batch and the H5 page), the second waits
        # here and then finds the survey answered: the ordinary late-reply path.
        self.open: dict[str, Survey] = {
            s.mobile_hash: s
            for s in Survey.objects.select_related("event", "unit", "business_type")
            .select_for_update(of=("self",))
            .filter(mobile_hash__in=hashes, status=SurveyStatus.SENT)
            .order_by("id")
        }
        self.last: dict[str, tuple] = {}
        for mobile_hash, pk, unit_id, sent_at in (
            Survey.objects.filter(mobile_hash__in=hashes - self.open.keys(), sent_at__isnull=False)
            .values_list("mobile_hash", "pk", "unit_id", "sent_at")
            .iterator()
        ):
            if mobile_hash not in self.last or sent_at > self.last[mobile_hash][2]:
                self.last[mobile_hash] = (pk, unit_id, sent_at)
        self._city = None

    def city_id(self):
        """A message from no one we surveyed goes to the city bureau's inbox."""
        if self._city is None:
            self._city = OrgUnit.objects.filter(depth=1).values_list("pk", flat=True).first()
        return self._city

    def read(self, message: InboundSms) -> None:
        mobile_hash = message.from_mobile_hash
        survey = self.open.get(mobile_hash)
        last = (survey.pk, survey.unit_id, survey.sent_at) if survey else self.last.get(mobile_hash)
        message.unit_id = last[1] if last else self.city_id()
        if not mobile_hash:
            self._review(message, "invalid_sender")
            return
        parsed = parse_reply(message.text)
        reply = SurveyReply(
            inbound=message,
            channel="sms",
            text=message.text,
            kind=parsed.kind,
            rating=parsed.rating,
            comment=parsed.comment,
            survey=survey,
        )
        self.replies.append(reply)
        if parsed.kind == ReplyKind.OPT_OUT:
            if survey is not None and parsed.rating:
                reply.counted = True
                self._answer(survey, parsed.rating, parsed.comment)
            self.open.pop(mobile_hash, None)  # answered, or cancelled with the opt-out
            self.opt_outs.append(message)
            self._done(message, "opted_out")
        elif survey is None:
            # Not an answer we can attach: a late reply, a question, a second answer.
            reply.survey_id = last[0] if last else None
            self._review(message, "no_open_survey")
        elif parsed.kind == ReplyKind.RATING:
            reply.counted = True
            self._answer(survey, parsed.rating, parsed.comment)
            self.open.pop(mobile_hash)  # later replies in the batch find it answered
            self._done(message, "answered")
        else:
            self._review(message, "unparsed")

    def _answer(self, survey: Survey, rating: int, comment: str) -> None:
        survey.status = SurveyStatus.ANSWERED
        survey.rating = rating
        survey.comment = comment[:500]
        survey.answered_at = self.now
        survey.answered_via = "sms"
        self.answered.append(survey)
        self.last[survey.mobile_hash] = (survey.pk, survey.unit_id, survey.sent_at)

    def _done(self, message: InboundSms, outcome: str) -> None:
        message.status, message.review_reason = InboundStatus.PROCESSED, ""
        self.outcome[message.pk] = outcome

    def _review(self, message: InboundSms, reason: str) -> None:
        message.status, message.review_reason = InboundStatus.NEEDS_REVIEW, reason
        self.outcome[message.pk] = reason

    def write(self, messages: list[InboundSms]) -> None:
        """A statement for each kind of row, whatever the batch's size; per message only for
        opt-outs and per survey only for the callbacks unsatisfied ratings open."""
        if self.answered:
            _update_rows(
                Survey,
                ["status", "rating", "comment", "answered_at", "answered_via"],
                self.answered,
            )
            SURVEY_LIFECYCLE.record_many(
                [s.pk for s in self.answered],
                from_status=SurveyStatus.SENT,
                to_status=SurveyStatus.ANSWERED,
                note="sms",
                now=self.now,
            )
            rollup_add_many(
                Counter((rollup_key(s.event), f"rating_{s.rating}") for s in self.answered),
                "replies",
            )
        SurveyReply.objects.bulk_create(self.replies)
        _update_rows(InboundSms, ["status", "review_reason", "unit"], messages)
        for message in self.opt_outs:
            _opt_out(message)
        for survey in self.answered:
            if survey.rating in UNSATISFIED_RATINGS:
                survey_unsatisfied(survey=survey, now=self.now)


def _update_rows(model, names: list[str], rows: list) -> None:
    """One UPDATE … FROM (VALUES …) setting `names` row by row (Django's bulk_update writes a
    CASE per field and row, whose compiling costs more than the batch's whole work)."""
    connection = transaction.get_connection()
    fields = [model._meta.pk, *(model._meta.get_field(name) for name in names)]
    # PostgreSQL types the VALUES columns from the casts; SQLite needs none.
    casts = [
        f"CAST(%s AS {f.cast_db_type(connection)})" if connection.vendor == "postgresql" else "%s"
        for f in fields
    ]
    row_sql = "(" + ", ".join(casts) + ")"
    quote = connection.ops.quote_name
    assignments = ", ".join(
        f"{quote(f.column)} = v.column{i}" for i, f in enumerate(fields[1:], start=2)
    )
    # Identifiers are the model's own; every value is a parameter.
    sql = (
        f"UPDATE {quote(model._meta.db_table)} SET {assignments} "  # noqa: S608
        f"FROM (VALUES {', '.join([row_sql] * len(rows))}) AS v "
        f"WHERE {quote(model._meta.db_table)}.{quote(fields[0].column)} = v.column1"
    )
    params = [
        f.get_db_prep_save(getattr(row, f.attname), connection) for row in rows for f in fields
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _opt_out(message: InboundSms) -> None:
    """退订: the mobile's open surveys are cancelled, the number listed, and told once."""
    _cancel_open_surveys(message.from_mobile_hash)
    if optout_add(mobile_hash=message.from_mobile_hash, source="sms", inbound=message):
        sms_enqueue(
            mobile=message.from_mobile,
            purpose=SmsPurpose.OPT_OUT_CONFIRM,
            body=settings.SMS_SIGNATURE + OPT_OUT_CONFIRMATION,
        )


def inbound_process_batch(*, limit: int | None = None, ids=None, now=None) -> dict[int, str]:
    """Claim up to `limit` stored replies (those of `ids` only, when given) and act on them in
    one transaction: parse, answer the open survey, route the rest to the SMS inbox, honour
    opt-outs. Concurrent batches skip each other's messages; a worker killed mid-batch commits
    nothing, and the next batch takes the messages again. Returns {inbound id: outcome}."""
    limit = limit or settings.INBOUND_BATCH
    now = now or timezone.now()
    with transaction.atomic():
        claim = InboundSms.objects.filter(status=InboundStatus.RECEIVED)
        if ids is not None:
            claim = claim.filter(pk__in=list(ids))
        messages = list(
            claim.order_by("id")
            .select_for_update(skip_locked=True)
            .defer("from_mobile")[
                # decrypted only for an opt-out's confirmation
                :limit
            ]
        )
        if not messages:
            return {}
        # The first valid rating counts: replies are read in the order they came.
        messages.sort(key=lambda m: (m.received_at, m.pk))
        batch = _Batch(messages, now)
        for message in messages:
            batch.read(message)
        batch.write(messages)
    return batch.outcome


def reply_record_sms(*, inbound_id: int) -> str:
    """Process one stored message now, as a batch of one (demo phones, tests). Returns what
    happened, or "already_processed" when another batch has it or had it."""
    return inbound_process_batch(ids=[inbound_id]).get(inbound_id, "already_processed")


def inbound_process_pending(*, limit: int | None = None) -> int:
    """One batch of the worker's sweep; returns how many messages it processed (the worker
    runs the sweep again at once while there are any)."""
    return len(inbound_process_batch(limit=limit))


def _cancel_open_surveys(mobile_hash: str) -> None:
    """An opt-out (退订) cancels the mobile's surveys not yet answered, each with its history."""
    for status in OPEN_SURVEY_STATUSES:
        ids = list(
            Survey.objects.select_for_update()
            .filter(mobile_hash=mobile_hash, status=status)
            .values_list("pk", flat=True)
        )
        if ids:
            Survey.objects.filter(pk__in=ids).update(status=SurveyStatus.CANCELLED)
            SURVEY_LIFECYCLE.record_many(
                ids, from_status=status, to_status=SurveyStatus.CANCELLED, note="退订"
            )
