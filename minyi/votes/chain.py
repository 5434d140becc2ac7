"""The campaign's hash chain (存证链): every ballot and every rejection, in order.

Entry n holds the canonical JSON of its row (`payload`), `payload_hash` = SHA-256 of it, and
`hash` = SHA-256 of "n|prev_hash|payload_hash"; the first entry's prev_hash is SHA-256 of
"minyi-vote-genesis:" and the canonical JSON of the ballot paper itself (the campaign's code,
kind, limit and its options' numbers and titles), so a ballot's selection vector cannot be
made to mean other options by editing them. Entries are appended under the campaign's row lock, so
the chain is linear. The head (last seq and hash) is published daily and when results are
published (`ChainHead`): whoever holds a published head can later prove that nothing before it
was edited, removed or rolled back. `chain_verify` checks all of it, row by row.
"""

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC

from django.utils import timezone
from django.utils.translation import gettext as _

from minyi.votes.models import (
    Ballot,
    Campaign,
    CampaignStatus,
    ChainEntry,
    ChainHead,
    Option,
    Rejection,
)

KIND_BALLOT = "ballot"
KIND_REJECTION = "rejection"


def canonical(payload: dict) -> str:
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def ballot_paper(campaign) -> dict:
    """What a ballot's "1" at place i means: fixed once the campaign opens."""
    options = Option.objects.filter(campaign_id=campaign.pk).order_by("number")
    return {
        "code": campaign.code,
        "kind": campaign.kind,
        "max_choices": campaign.max_choices,
        "options": [[number, title] for number, title in options.values_list("number", "title")],
    }


def genesis_hash(campaign) -> str:
    return sha256_hex(f"minyi-vote-genesis:{canonical(ballot_paper(campaign))}")


def link_hash(seq: int, prev_hash: str, payload_hash: str) -> str:
    return sha256_hex(f"{seq}|{prev_hash}|{payload_hash}")


def _instant(value) -> str:
    # UTC, microseconds kept: the same text whatever the time zone it was handed in.
    return value.astimezone(UTC).isoformat()


def ballot_payload(ballot: Ballot) -> dict:
    """What the chain records of a ballot (no mobile: only its keyed hash)."""
    return {
        "kind": KIND_BALLOT,
        "seq": ballot.seq,
        "campaign": ballot.campaign.code,
        "voter_key": ballot.voter_key,
        "id_key": ballot.id_key,
        "choices": ballot.choices,
        "choice_count": ballot.choice_count,
        "max_choices": ballot.max_choices,
        "channel": ballot.channel,
        "receipt": ballot.receipt,
        "network_key": ballot.network_key,
        "device_key": ballot.device_key,
        "sheet": ballot.sheet.serial if ballot.sheet_id else "",
        "cast_at": _instant(ballot.cast_at),
    }


def rejection_payload(rejection: Rejection) -> dict:
    return {
        "kind": KIND_REJECTION,
        "seq": rejection.seq,
        "campaign": rejection.campaign.code,
        "channel": rejection.channel,
        "reason": rejection.reason,
        "voter_key": rejection.voter_key,
        "sheet": rejection.sheet.serial if rejection.sheet_id else "",
        "detail": rejection.detail,
        "actor": rejection.actor_id,
        "created_at": _instant(rejection.created_at),
    }


def chain_tip(campaign) -> tuple[int, str]:
    """(seq, hash) of the last entry; (0, genesis) for an empty chain."""
    last = (
        ChainEntry.objects.filter(campaign=campaign)
        .order_by("-seq")
        .values_list("seq", "hash")
        .first()
    )
    return last or (0, genesis_hash(campaign))


def chain_next_seq(campaign) -> int:
    """The seq the next entry will take. Only meaningful under the campaign's row lock."""
    return chain_tip(campaign)[0] + 1


def chain_append(campaign, *, kind: str, payload: dict, now=None, tip=None) -> ChainEntry:
    """Append one entry. The caller holds the campaign's row lock (select_for_update inside
    atomic) and has given the row the seq `chain_next_seq` returned; the payload's "seq"
    must be that seq. `tip` is `chain_tip(campaign)` when the caller has just read it."""
    seq, prev_hash = tip or chain_tip(campaign)
    seq += 1
    if payload.get("seq") != seq:
        raise ValueError(f"chain entry seq {payload.get('seq')!r} is not the next seq {seq}")
    text = canonical(payload)
    payload_hash = sha256_hex(text)
    return ChainEntry.objects.create(
        campaign=campaign,
        seq=seq,
        kind=kind,
        payload=text,
        payload_hash=payload_hash,
        prev_hash=prev_hash,
        hash=link_hash(seq, prev_hash, payload_hash),
        created_at=now or timezone.now(),
    )


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    entries: int
    failed_seq: int | None = None
    problem: str = ""
    head_checked: ChainHead | None = None


def _row_payload(row) -> dict:
    return ballot_payload(row) if isinstance(row, Ballot) else rejection_payload(row)


def _entry_problem(entry, expected_seq: int, prev_hash: str, rows: list) -> str:
    """Why entry `expected_seq` is wrong, or ""."""
    if entry.seq != expected_seq:
        return _("第 %(seq)s 条记录缺失（存证链不连续）。") % {"seq": expected_seq}
    if sha256_hex(entry.payload) != entry.payload_hash:
        return _("第 %(seq)s 条记录的内容与其摘要不符：记录被改动。") % {"seq": entry.seq}
    if entry.prev_hash != prev_hash:
        return _("第 %(seq)s 条记录与上一条记录的链接断开。") % {"seq": entry.seq}
    if link_hash(entry.seq, entry.prev_hash, entry.payload_hash) != entry.hash:
        return _("第 %(seq)s 条记录的链值不正确。") % {"seq": entry.seq}
    if len(rows) != 1:
        if not rows:
            return _("第 %(seq)s 条记录对应的选票或无效票记录缺失。") % {"seq": entry.seq}
        return _("第 %(seq)s 条记录对应了多条选票或无效票记录。") % {"seq": entry.seq}
    row = rows[0]
    expected_kind = KIND_BALLOT if isinstance(row, Ballot) else KIND_REJECTION
    if entry.kind != expected_kind or canonical(_row_payload(row)) != entry.payload:
        return _("第 %(seq)s 条记录与数据库中的选票或无效票记录不一致：记录被改动。") % {
            "seq": entry.seq
        }
    return ""


def _head_problem(head: ChainHead, hashes: dict[int, str], genesis: str) -> str:
    if head.seq == 0:
        return "" if head.hash == genesis else _("已公布的空链存证值不正确。")
    if head.seq not in hashes:
        return _("已公布的存证值（第 %(seq)s 条）在链中找不到：记录被删除或回滚。") % {
            "seq": head.seq
        }
    if hashes[head.seq] != head.hash:
        return _("第 %(seq)s 条记录的链值与已公布的存证值不符：此前的记录被改动或重新生成。") % {
            "seq": head.seq
        }
    return ""


def chain_verify(campaign) -> ChainReport:
    """Walk the whole chain and every ballot and rejection row of the campaign; report the
    first failing seq with a Chinese explanation of the problem."""
    rows = defaultdict(list)
    for ballot in Ballot.objects.filter(campaign=campaign).select_related("campaign", "sheet"):
        rows[ballot.seq].append(ballot)
    for rejection in Rejection.objects.filter(campaign=campaign).select_related(
        "campaign", "sheet"
    ):
        rows[rejection.seq].append(rejection)
    heads = list(ChainHead.objects.filter(campaign=campaign).order_by("-published_at", "-id"))
    latest = heads[0] if heads else None

    def failed(seq, problem, entries):
        return ChainReport(False, entries, seq, problem, latest)

    genesis = genesis_hash(campaign)
    prev_hash, hashes, count = genesis, {}, 0
    for entry in ChainEntry.objects.filter(campaign=campaign).order_by("seq").iterator(2000):
        expected = count + 1
        problem = _entry_problem(entry, expected, prev_hash, rows.pop(expected, []))
        if problem:
            return failed(expected, problem, count)
        count, prev_hash = expected, entry.hash
        hashes[entry.seq] = entry.hash
    if rows:
        seq = min(rows)
        return failed(seq, _("第 %(seq)s 条选票或无效票记录不在存证链中。") % {"seq": seq}, count)
    # The latest head first, then older ones: the earliest seq at fault is reported.
    found = [(head.seq, _head_problem(head, hashes, genesis)) for head in heads]
    found = [(seq, problem) for seq, problem in found if problem]
    if found:
        seq, problem = min(found, key=lambda item: item[0])
        return failed(seq, problem, count)
    return ChainReport(True, count, None, "", latest)


def _head_publish(campaign, now) -> tuple[ChainHead, bool]:
    seq, tip = chain_tip(campaign)
    last = ChainHead.objects.filter(campaign=campaign).order_by("-published_at", "-id").first()
    if last is not None and last.seq == seq and last.hash == tip:
        return last, False
    return ChainHead.objects.create(campaign=campaign, seq=seq, hash=tip, published_at=now), True


def head_publish(campaign, now=None) -> ChainHead:
    """Record the chain's current head; the last one again when nothing was appended since."""
    return _head_publish(campaign, now or timezone.now())[0]


def heads_publish_due(now=None) -> int:
    """The daily head: for every open or closed campaign without a head published today
    (local date), publish one (an unchanged head is not repeated). Returns how many were new."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    campaigns = Campaign.objects.filter(
        status__in=[CampaignStatus.OPEN, CampaignStatus.CLOSED]
    ).exclude(heads__published_at__date=today)
    return sum(_head_publish(campaign, now)[1] for campaign in campaigns)
