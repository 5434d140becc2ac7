"""What every step of an opinion's life uses: its lifecycle move (minyi.core.lifecycle) with
the notifications the move answers, the lock on the row, the text check and the citizen's
SMS."""

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from minyi.core.errors import ApplicationError
from minyi.core.lifecycle import lock_in_scope
from minyi.integrations.sms.models import SmsPurpose
from minyi.integrations.sms.services import sms_enqueue, sms_enqueue_unsolicited
from minyi.notifications.models import NotificationKind
from minyi.notifications.services import notifications_resolve
from minyi.opinions.models import ONLINE_CHANNELS, OPINION_LIFECYCLE, Opinion, OpinionStatus
from minyi.orgs.roles import has_perm
from minyi.orgs.selectors import scope_q

S = OpinionStatus
K = NotificationKind
# Which notifications about an opinion stop being something to do once it reaches a status.
# A transfer (RECEIVED again, at another unit) answers the old unit's "new opinion"; the new
# unit's notice is written after the move.
_RESOLVED_BY = {
    S.RECEIVED: {K.OPINION_ARRIVED},
    S.ACCEPTED: {K.OPINION_ARRIVED},
    S.ANSWERED: {K.OPINION_ARRIVED, K.OPINION_DUE, K.OPINION_OVERDUE},
    S.CLOSED: {K.OPINION_ARRIVED, K.OPINION_DUE, K.OPINION_OVERDUE},
}


def checked_text(value: str, *, field: str, label, low: int, high: int) -> str:
    """`value` stripped, if it is `low` to `high` characters long; else refused on `field`
    (codes `<field>_too_short`, `<field>_too_long`)."""
    value = (value or "").strip()
    if len(value) < low:
        raise ApplicationError(
            f"{field}_too_short",
            _("%(label)s至少 %(n)d 个字。") % {"label": label, "n": low},
            field=field,
        )
    if len(value) > high:
        raise ApplicationError(
            f"{field}_too_long",
            _("%(label)s不能超过 %(n)d 个字（现有 %(len)d 个字）。")
            % {"label": label, "n": high, "len": len(value)},
            field=field,
        )
    return value


def tell_citizen(opinion: Opinion, text: str, now) -> None:
    """An SMS to the citizen about their opinion (received, answered, a tip's news); none for
    an opinion without a mobile (answered by letter, or not at all). `now` is the real time
    of the step, never the day a letter was received.

    Online (H5, SMS) the citizen just wrote to us and waits for it: sent at once, quiet hours
    or not. From an offline channel (线下录入) the citizen did not type the number into our
    system nor ask for an SMS at that moment: the acknowledgement, the answer and any later
    news are unsolicited (办理告知): never to a number that opted out (退订), and at night
    (21:00-08:00) they wait for the morning. The answer stays readable on the look-up page."""
    if not opinion.mobile:
        return
    body = f"{settings.SMS_SIGNATURE}{text}"
    if opinion.channel not in ONLINE_CHANNELS:
        sms_enqueue_unsolicited(
            mobile=opinion.mobile, body=body, purpose=SmsPurpose.ACKNOWLEDGEMENT, now=now
        )
        return
    sms_enqueue(mobile=opinion.mobile, body=body, purpose=SmsPurpose.NOTIFICATION, not_before=now)


def staff_url(opinion: Opinion) -> str:
    return reverse("opinions:opinion_detail", args=[opinion.pk])


def track_url(number: str) -> str:
    """The look-up page with the tracking number filled in: the citizen adds the code."""
    return f"{settings.PUBLIC_BASE_URL}{reverse('portal:opinion_track')}?number={number}"


def opinion_move(opinion: Opinion, *, actor, to: str, note: str = "", now=None, **fields):
    """One move of OPINION_LIFECYCLE; the history row names the unit holding it after the
    move, and the notifications the move answers are resolved with it."""
    now = now or timezone.now()
    unit_id = fields.get("unit_id", opinion.unit_id)
    opinion = OPINION_LIFECYCLE.move(
        opinion, actor=actor, to=to, note=note, now=now, event={"unit_id": unit_id}, **fields
    )
    if to in _RESOLVED_BY:
        notifications_resolve(url=staff_url(opinion), kinds=_RESOLVED_BY[to], now=now)
    return opinion


def opinion_note(opinion: Opinion, *, actor, note: str, now) -> None:
    """A history row that moves nothing (a tip verified, the wall moderated)."""
    OPINION_LIFECYCLE.record(
        opinion,
        actor=actor,
        from_status=opinion.status,
        to_status=opinion.status,
        note=note,
        now=now,
        unit_id=opinion.unit_id,
    )


def opinion_locked(actor, opinion: Opinion, perm: str) -> Opinion:
    """The opinion, locked, if it is in the actor's subtree and the actor may do `perm`.
    Whether its state allows the action is opinion_action_require's (the page's rule)."""
    return lock_in_scope(
        Opinion.objects.all(),
        opinion.pk,
        scope=scope_q(actor, "unit__"),
        allowed=has_perm(actor, perm),
    )
