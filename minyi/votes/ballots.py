"""Casting ballots (投票) and recording rejections (无效票): one verified person, one ballot.

Everything happens under the campaign's row lock, in one transaction: the window is checked,
the choices and the ID number validated, the voter's key looked up, the ballot written and
appended to the hash chain with the same seq. Two submissions for one voter at once queue on
the lock: the first wins, the second finds the first's ballot and is refused (already_voted),
and that refusal is recorded as a `Rejection` in the chain. The unique constraints on the
voter's and the ID number's keys are the backstop.

The cast is recorded in nothing else (no audit row per ballot): the chain is the record.
"""

from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from minyi.core.errors import ApplicationError
from minyi.core.pii import normalize_mobile
from minyi.votes import keys
from minyi.votes.chain import (
    KIND_BALLOT,
    KIND_REJECTION,
    ballot_payload,
    chain_append,
    chain_tip,
    rejection_payload,
)
from minyi.votes.models import (
    Ballot,
    Campaign,
    CampaignStatus,
    Channel,
    Option,
    Rejection,
    RejectReason,
)

# How stale the ballot path's copy of a campaign may be (campaign_for_ballot).
CAMPAIGN_CACHE_SECONDS = 2
# Receipt collisions (50 random bits, per campaign) are rare: a few tries are plenty.
_RECEIPT_TRIES = 5


def _lock(campaign) -> Campaign:
    return Campaign.objects.select_for_update().get(pk=campaign.pk)


def _check_window(campaign: Campaign, channel: str, now) -> None:
    """Online: open and within its times. Paper: open or closed (sheets are keyed after the
    box is emptied), never once the results are published."""
    if campaign.status == CampaignStatus.DRAFT or (
        channel == Channel.ONLINE
        and campaign.status == CampaignStatus.OPEN
        and now < campaign.opens_at
    ):
        raise ApplicationError(
            "campaign_not_open", _("投票尚未开始，请在开始时间后再来投票。"), status=409
        )
    if campaign.status == CampaignStatus.PUBLISHED or (
        channel == Channel.ONLINE
        and (campaign.status != CampaignStatus.OPEN or now >= campaign.closes_at)
    ):
        raise ApplicationError("campaign_closed", _("投票已截止，感谢您的关注。"), status=409)


def _choice_error(code: str, message) -> ApplicationError:
    return ApplicationError(code, message, field="choices", status=422)


def _as_number(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip())
    return None


def campaign_option_numbers(campaign: Campaign) -> set[int]:
    return set(Option.objects.filter(campaign=campaign).values_list("number", flat=True))


def campaign_for_ballot(code: str) -> tuple[Campaign, set[int]] | None:
    """A public (not draft) campaign and its option numbers, or None: the code and ballot
    requests' read, kept in the process's cache for CAMPAIGN_CACHE_SECONDS. A copy that old
    is safe here: a public campaign's options never change, and the window it shows is only
    a courtesy check before a code is sent or spent (`ballot_cast` judges the window again
    on the locked row). The staff moves forget it at once in their own process."""
    key = _cache_key(code)
    hit = cache.get(key)
    if hit is None:
        campaign = Campaign.objects.exclude(status=CampaignStatus.DRAFT).filter(code=code).first()
        if campaign is None:
            return None
        hit = (campaign, campaign_option_numbers(campaign))
        cache.set(key, hit, CAMPAIGN_CACHE_SECONDS)
    return hit


def campaign_cache_forget(campaign: Campaign) -> None:
    cache.delete(_cache_key(campaign.code))


def _cache_key(code: str) -> str:
    return f"votes:ballot-campaign:{code}"


def selection_vector(campaign: Campaign, choices, option_numbers=None) -> str:
    """The choices as a selection vector ("01001…", one character per option, in number
    order), or the ApplicationError that explains what is wrong with them."""
    if option_numbers is None:
        option_numbers = campaign_option_numbers(campaign)
    choices = list(choices or [])
    if not choices:
        raise _choice_error("no_choice", _("请至少选择一项。"))
    numbers = [_as_number(c) for c in choices]
    if any(n is None or n not in option_numbers for n in numbers):
        raise _choice_error("unknown_option", _("所选的候选项不存在，请刷新页面后重新选择。"))
    if len(set(numbers)) != len(numbers):
        raise _choice_error("repeated_choice", _("同一候选项只能选择一次。"))
    if len(numbers) > campaign.max_choices:
        raise _choice_error(
            "too_many_choices",
            _("最多可选 %(n)s 项，您选了 %(k)s 项。")
            % {"n": campaign.max_choices, "k": len(numbers)},
        )
    width = max(option_numbers)
    chosen = set(numbers)
    return "".join("1" if i in chosen else "0" for i in range(1, width + 1))


def _id_key(campaign: Campaign, id_number: str) -> str:
    if not campaign.require_id_number:
        return ""
    if not (id_number or "").strip():
        raise ApplicationError(
            "id_number_required", _("本次投票需要填写身份证号。"), field="id_number", status=422
        )
    try:
        return keys.id_key(campaign, id_number)
    except ApplicationError as exc:
        raise ApplicationError(exc.code, exc.message, field="id_number", status=422) from exc


def _already_voted(reason: str) -> ApplicationError:
    if reason == RejectReason.DUPLICATE_ID:
        message = _("该身份证号已经投过票，每人只能投一次（以先计入的有效选票为准）。")
    else:
        message = _("该手机号已经投过票，每人只能投一次（以先计入的有效选票为准）。")
    return ApplicationError("already_voted", message, status=409)


# Is the voter's key (and the ID number's, when there is one) already on a ballot? As SQL:
# the ORM's Exists() subqueries cost several times the statement on the ballot's hot path.
_TAKEN = """
SELECT EXISTS (SELECT 1 FROM votes_ballot
                WHERE campaign_id = %(campaign)s AND voter_key = %(voter)s),
       EXISTS (SELECT 1 FROM votes_ballot
                WHERE campaign_id = %(campaign)s AND id_key = %(id)s AND id_key <> '')
"""
# The same and the chain's tip (NULL before the first entry), read under the campaign's lock
# in one statement after it (not in the locking statement itself: on PostgreSQL its
# subqueries would see the rows as they were before the lock was granted).
_STATE = """
SELECT EXISTS (SELECT 1 FROM votes_ballot
                WHERE campaign_id = %(campaign)s AND voter_key = %(voter)s),
       EXISTS (SELECT 1 FROM votes_ballot
                WHERE campaign_id = %(campaign)s AND id_key = %(id)s AND id_key <> ''),
       (SELECT seq FROM votes_chainentry
         WHERE campaign_id = %(campaign)s ORDER BY seq DESC LIMIT 1),
       (SELECT hash FROM votes_chainentry
         WHERE campaign_id = %(campaign)s ORDER BY seq DESC LIMIT 1)
"""


def _query_one(sql: str, params: dict) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def _reason(voter_taken, id_taken) -> str:
    if voter_taken:
        return RejectReason.DUPLICATE_VOTER
    return RejectReason.DUPLICATE_ID if id_taken else ""


def _duplicate(campaign: Campaign, voter: str, id_hash: str) -> str:
    """The rejection reason when this voter (or ID number) already has a ballot, else ""."""
    params = {"campaign": campaign.pk, "voter": voter, "id": id_hash}
    return _reason(*_query_one(_TAKEN, params))


def _state(campaign, voter: str, id_hash: str) -> tuple[tuple[int, str], str]:
    """The chain's tip and the duplicate reason, read under the campaign's lock."""
    params = {"campaign": campaign.pk, "voter": voter, "id": id_hash}
    voter_taken, id_taken, seq, hash_ = _query_one(_STATE, params)
    tip = (seq, hash_) if seq is not None else chain_tip(campaign)
    return tip, _reason(voter_taken, id_taken)


def _append_rejection(
    campaign: Campaign,
    *,
    channel,
    reason,
    voter_key="",
    sheet=None,
    detail="",
    actor=None,
    now,
    tip=None,
) -> Rejection:
    """Write a rejection and its chain entry; the caller holds the campaign's row lock."""
    tip = tip or chain_tip(campaign)
    rejection = Rejection.objects.create(
        campaign=campaign,
        channel=channel,
        reason=reason,
        voter_key=voter_key,
        sheet=sheet,
        detail=detail[:200],
        actor=actor,
        created_at=now,
        seq=tip[0] + 1,
    )
    chain_append(
        campaign, kind=KIND_REJECTION, payload=rejection_payload(rejection), now=now, tip=tip
    )
    return rejection


def rejection_record(
    campaign, *, channel, reason, voter_key="", sheet=None, detail="", actor=None, now=None
) -> Rejection:
    """Record a ballot not counted (a paper sheet's duplicate, an unreadable sheet, a void)
    and append it to the chain. Refused once the results are published."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock(campaign)
        if locked.status == CampaignStatus.PUBLISHED:
            raise ApplicationError(
                "campaign_closed", _("结果已公布，不能再记录无效票。"), status=409
            )
        return _append_rejection(
            locked,
            channel=channel,
            reason=reason,
            voter_key=voter_key,
            sheet=sheet,
            detail=detail,
            actor=actor,
            now=now,
        )


def ballot_cast(
    campaign,
    *,
    mobile: str,
    choices,
    channel: str = Channel.ONLINE,
    id_number: str = "",
    ip: str = "",
    device: str = "",
    sheet=None,
    actor=None,
    now=None,
    option_numbers=None,
) -> Ballot:
    """Cast one ballot for the proven `mobile`, or raise the ApplicationError that says why
    not. A duplicate (already_voted) is recorded as a Rejection before it is refused.

    Everything that needs no lock (the mobile, the choices, the ID number, the keys) is done
    first, against the caller's campaign (its options, limit and settings are fixed once it
    opens); the lock is then held only for the window, the duplicate check and the writes.
    The caller's object may be stale (read before the campaign opened): the window is judged
    on the locked row alone. `option_numbers`: the caller's read of the campaign's options,
    if it has one.
    """
    now = now or timezone.now()
    if channel not in Channel.values:
        raise ValueError(f"unknown channel {channel!r}")
    if (channel == Channel.PAPER) != (sheet is not None):
        raise ValueError("a paper ballot needs its sheet, an online ballot has none")
    mobile = normalize_mobile(mobile)
    # The window is checked under the lock only: the caller's object may be older than the
    # campaign's last move (read before it opened or closed).
    vector = selection_vector(campaign, choices, option_numbers)
    id_hash = _id_key(campaign, id_number)
    voter = keys.voter_key(campaign, mobile)
    online = channel == Channel.ONLINE
    ballot = Ballot(
        voter_key=voter,
        id_key=id_hash,
        mobile=mobile,
        choices=vector,
        choice_count=vector.count("1"),
        max_choices=campaign.max_choices,
        channel=channel,
        network_key=keys.network_key(ip) if online else "",
        device_key=keys.device_key(device) if online else "",
        sheet=sheet,
        cast_at=now,
    )
    rejection = {"channel": channel, "voter_key": voter, "sheet": sheet, "actor": actor, "now": now}
    for attempt in range(_RECEIPT_TRIES):
        try:
            with transaction.atomic():
                locked = _lock(campaign)
                _check_window(locked, channel, now)
                if locked.max_choices != ballot.max_choices:  # edited while still a draft
                    ballot.choices = selection_vector(locked, choices)
                    ballot.max_choices = locked.max_choices
                tip, reason = _state(locked, voter, id_hash)
                if reason:
                    # Committed with the lock still held: the refusal survives the error.
                    _append_rejection(locked, reason=reason, tip=tip, **rejection)
                else:
                    ballot.campaign, ballot.seq = locked, tip[0] + 1
                    ballot.receipt = keys.new_receipt()
                    ballot.save(force_insert=True)
                    payload = ballot_payload(ballot)
                    chain_append(locked, kind=KIND_BALLOT, payload=payload, now=now, tip=tip)
        except IntegrityError:
            # The constraints' backstop: a duplicate that slipped past the check, or (rarely)
            # a receipt drawn twice. The failed transaction wrote nothing.
            ballot.pk = None
            with transaction.atomic():
                locked = _lock(campaign)
                reason = _duplicate(locked, voter, id_hash)
                if reason:
                    _append_rejection(locked, reason=reason, **rejection)
            if not reason and attempt == _RECEIPT_TRIES - 1:
                raise
        if reason:
            raise _already_voted(reason)
        if ballot.pk:
            return ballot
    raise AssertionError("unreachable")  # pragma: no cover


def ballot_by_receipt(campaign, receipt: str) -> Ballot | None:
    """The ballot with this receipt (typed any way: case, dashes, O for 0), or None. Receipts
    are public only once the campaign is published: the caller checks."""
    normalized = keys.receipt_normalize(receipt)
    if not normalized:
        return None
    return Ballot.objects.filter(campaign=campaign, receipt=normalized).first()
