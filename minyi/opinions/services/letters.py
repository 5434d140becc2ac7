"""The written answer (书面回函): an answered opinion that came with a postal address and no
mobile is answered by a printed letter. Printing it shows the citizen's name and address, so
every printing is an audited reveal (refusals included), and the first one is recorded on the
opinion (letter_printed_at) and in its history."""

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from minyi.core.audit import audit_record
from minyi.core.errors import ApplicationError, NotFound, PermissionDenied
from minyi.core.models import AuditAction, AuditOutcome
from minyi.opinions.models import Opinion, OpinionKind, ReplyBy
from minyi.opinions.services.shared import S, opinion_note
from minyi.orgs.roles import Perm, has_perm
from minyi.orgs.selectors import scope_q

LETTER_STATUSES = (S.ANSWERED, S.CLOSED)
# The question is quoted in the letter up to this many characters, then summarised with "…".
QUOTE_MAX = 300


@dataclass(frozen=True)
class Letter:
    number: str
    name: str
    address: str
    kind: str
    received_on: datetime
    question: str
    answer: str
    unit: str
    answered_on: datetime
    first_print: bool


def letter_quote(text: str) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= QUOTE_MAX else text[: QUOTE_MAX - 1] + "…"


def letter_may_print(actor, opinion: Opinion) -> bool:
    """Whether the actor's role may print the letter of `opinion` at all: a unit that handles
    opinions; a tip's letter names and locates the tipster (举报人), so only a role that may
    see a tipster's identity prints it."""
    if not has_perm(actor, Perm.OPINION_HANDLE):
        return False
    return opinion.kind != OpinionKind.TIP or has_perm(actor, Perm.TIP_IDENTITY_VIEW)


def _letter_refusal(actor, opinion: Opinion) -> ApplicationError | None:
    if not has_perm(actor, Perm.OPINION_HANDLE):
        return PermissionDenied()
    if not letter_may_print(actor, opinion):
        return PermissionDenied(
            _("举报线索的回函载有举报人的姓名和地址，仅限有权查看举报人身份的人员打印。")
        )
    if opinion.reply_by != ReplyBy.LETTER:
        return ApplicationError("not_a_letter", _("该诉求不以书面回函答复。"), status=409)
    if opinion.status not in LETTER_STATUSES:
        return ApplicationError("not_answered", _("答复后才能打印回函。"), status=409)
    return None


def opinion_letter_print(*, actor, opinion: Opinion, request=None, now=None) -> Letter:
    """The letter answering `opinion`, for printing: the addressee's name and address, the
    opinion's number, the question (quoted, shortened when long), the answer, the unit and
    the day. Audited as a reveal of personal data, refusals included; the first printing
    sets letter_printed_at."""
    now = now or timezone.now()
    current = (
        Opinion.objects.filter(scope_q(actor, "unit__"), pk=opinion.pk)
        .select_related("unit")
        .first()
    )
    if current is None:
        raise NotFound()
    refusal = _letter_refusal(actor, current)
    audit_record(
        action=AuditAction.PII_REVEAL,
        actor=actor,
        request=request,
        obj=current,
        outcome=AuditOutcome.DENIED if refusal else AuditOutcome.SUCCESS,
        detail={"field": "letter", "kind": current.kind},
    )
    if refusal:
        raise refusal
    with transaction.atomic():
        first = bool(
            Opinion.objects.filter(pk=current.pk, letter_printed_at__isnull=True).update(
                letter_printed_at=now
            )
        )
        if first:
            opinion_note(current, actor=actor, note=_("已打印书面回函"), now=now)
    return Letter(
        number=current.number,
        name=current.contact_name,
        address=current.postal_address,
        kind=current.get_kind_display(),
        received_on=current.submitted_at,
        question=letter_quote(current.content),
        answer=current.answer,
        unit=current.unit.name,
        answered_on=current.answered_at or now,
        first_print=first,
    )
