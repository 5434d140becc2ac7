"""Paper ballots (纸质票选表): double keying by two clerks, a supervisor's third keying for a
mismatch, and the outcome of a settled sheet.

- The first clerk's entry leaves the sheet PENDING; the same clerk cannot key it again.
- A second clerk's entry that matches the first (the same normalised mobile, or both marked
  unreadable; the same ID number, or both marked unreadable, when the campaign requires one;
  and the same choices) settles the sheet: it is cast through
  `ballots.ballot_cast(channel="paper")` and COUNTED; or REJECTED with a recorded rejection
  (unreadable mobile, unreadable or missing ID number on a campaign that requires one,
  invalid choices, or the voter had already voted: first valid ballot
  wins). A mismatch waits in the queue (MISMATCH) for a supervisor.
- The supervisor keys the sheet a third time from the paper (`resolution`), which decides;
  the same outcome rules apply.

Every step runs under the sheet's row lock, so a sheet keyed twice is one ballot even when
both clerks press "save" at the same moment. The mobile and the ID number are stored
encrypted with a keyed hash (core.pii), never in clear, and never written to the audit log.
"""

import re

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from minyi.core.audit import audit_record
from minyi.core.errors import ApplicationError, NotFound, PermissionDenied
from minyi.core.models import AuditAction
from minyi.core.pii import lookup_hash, normalize_id_number, normalize_mobile
from minyi.orgs.roles import Perm, has_perm
from minyi.orgs.selectors import scope_q
from minyi.votes.ballots import ballot_cast, rejection_record
from minyi.votes.keys import voter_key
from minyi.votes.models import (
    Campaign,
    CampaignStatus,
    Channel,
    Option,
    PaperEntry,
    PaperSheet,
    RejectReason,
    SheetStatus,
)

# A printed serial: letters, digits and dashes, e.g. "HZ-000123".
SERIAL_RE = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,19}$")
_INVALID_CHOICE_CODES = {"no_choice", "too_many_choices", "repeated_choice", "unknown_option"}


def serial_normalize(value: str) -> str:
    serial = re.sub(r"\s", "", value or "").upper()
    if not SERIAL_RE.match(serial):
        raise ApplicationError(
            "invalid_serial",
            _("票号格式不正确：应为 1–20 位字母、数字或短横线，如 HZ-000123。"),
            field="serial",
            status=422,
        )
    return serial


def _mobile(mobile: str, unreadable: bool) -> str:
    if unreadable:
        return ""
    if not (mobile or "").strip():
        raise ApplicationError(
            "mobile_required",
            _("请录入票选表上的手机号；确实无法辨认时请勾选“无法辨认”。"),
            field="mobile",
            status=422,
        )
    try:
        return normalize_mobile(mobile)
    except ApplicationError as exc:
        raise ApplicationError(
            "invalid_mobile",
            _(
                "录入的手机号不是有效的 11 位手机号，请对照票选表核对；"
                "确实无法辨认时请勾选“无法辨认”。"
            ),
            field="mobile",
            status=422,
        ) from exc


def _id_number(campaign: Campaign, id_number: str, id_unreadable: bool) -> tuple[str, bool]:
    """The keyed ID number (normalised) and whether it is marked unreadable; both empty when
    the campaign does not ask for one."""
    if not campaign.require_id_number:
        return "", False
    if id_unreadable:
        return "", True
    if not (id_number or "").strip():
        raise ApplicationError(
            "id_number_required",
            _("请录入票选表上的身份证号；确实无法辨认或未填写时请勾选“身份证号无法辨认”。"),
            field="id_number",
            status=422,
        )
    try:
        return normalize_id_number(id_number), False
    except ApplicationError as exc:
        raise ApplicationError(
            "invalid_id_number",
            _(
                "录入的身份证号无效（位数、出生日期或校验位不对），请对照票选表核对；"
                "确实无法辨认时请勾选“身份证号无法辨认”。"
            ),
            field="id_number",
            status=422,
        ) from exc


def _vector(campaign: Campaign, choices) -> str:
    """The sheet's marks as a selection vector. A sheet may carry too many marks (then it is
    an invalid ballot, decided when it settles), but not a number that is not printed on it:
    that is a keying error."""
    numbers = sorted(Option.objects.filter(campaign=campaign).values_list("number", flat=True))
    chosen = set()
    for choice in choices or []:
        try:
            number = int(choice)
        except (TypeError, ValueError):
            number = None
        if number not in numbers:
            raise ApplicationError(
                "unknown_option",
                _("候选项编号不存在，请对照票选表核对。"),
                field="choices",
                status=422,
            )
        chosen.add(number)
    width = numbers[-1] if numbers else 1
    return "".join("1" if i in chosen else "0" for i in range(1, width + 1))


def _numbers(vector: str) -> list[int]:
    return [i + 1 for i, c in enumerate(vector) if c == "1"]


def _check_keyable(campaign: Campaign) -> None:
    if campaign.status not in (CampaignStatus.OPEN, CampaignStatus.CLOSED):
        raise ApplicationError(
            "campaign_not_keyable",
            _("只有投票中或已截止（尚未公布结果）的投票活动可以录入纸质票选表。"),
            status=409,
        )


def _in_scope(actor, campaign: Campaign) -> None:
    if not Campaign.objects.filter(scope_q(actor, "unit__"), pk=campaign.pk).exists():
        raise NotFound()


def _entry(
    sheet,
    actor,
    *,
    mobile: str,
    unreadable: bool,
    ident: tuple[str, bool],
    vector: str,
    resolution: bool,
    now,
):
    id_number, id_unreadable = ident
    return PaperEntry.objects.create(
        sheet=sheet,
        clerk=actor,
        mobile=mobile,
        mobile_hash=lookup_hash("mobile", mobile),
        unreadable=unreadable,
        id_number=id_number,
        id_number_hash=lookup_hash("id", id_number),
        id_unreadable=id_unreadable,
        choices=vector,
        resolution=resolution,
        keyed_at=now,
    )


def entries_match(first: PaperEntry, second: PaperEntry) -> bool:
    same_mobile = (first.unreadable and second.unreadable) or (
        not first.unreadable and not second.unreadable and first.mobile_hash == second.mobile_hash
    )
    same_id = first.id_unreadable == second.id_unreadable and (
        first.id_unreadable or first.id_number_hash == second.id_number_hash
    )
    return same_mobile and same_id and first.choices == second.choices


def _settle(actor, sheet: PaperSheet, entry: PaperEntry, now) -> str:
    """Count or reject the sheet as `entry` reads it; returns the new status."""
    campaign = sheet.campaign
    if entry.unreadable:
        rejection_record(
            campaign,
            channel=Channel.PAPER,
            reason=RejectReason.UNREADABLE_MOBILE,
            sheet=sheet,
            actor=actor,
            now=now,
        )
        return SheetStatus.REJECTED
    if campaign.require_id_number and entry.id_unreadable:
        rejection_record(
            campaign,
            channel=Channel.PAPER,
            reason=RejectReason.UNREADABLE_ID,
            voter_key=voter_key(campaign, entry.mobile),
            sheet=sheet,
            actor=actor,
            now=now,
        )
        return SheetStatus.REJECTED
    try:
        ballot_cast(
            campaign,
            mobile=entry.mobile,
            id_number=entry.id_number,
            choices=_numbers(entry.choices),
            channel=Channel.PAPER,
            sheet=sheet,
            actor=actor,
            now=now,
        )
    except ApplicationError as exc:
        if exc.code == "already_voted":
            return SheetStatus.REJECTED  # ballot_cast recorded the rejection
        if exc.code not in _INVALID_CHOICE_CODES:
            raise
        rejection_record(
            campaign,
            channel=Channel.PAPER,
            reason=RejectReason.INVALID_CHOICES,
            sheet=sheet,
            detail=str(exc.message),
            actor=actor,
            now=now,
        )
        return SheetStatus.REJECTED
    return SheetStatus.COUNTED


def _locked_sheet(campaign: Campaign, serial: str, now) -> PaperSheet:
    """The sheet (created on its first keying), locked for this transaction."""
    sheet = PaperSheet.objects.filter(campaign=campaign, serial=serial).first()
    if sheet is None:
        try:
            with transaction.atomic():
                sheet = PaperSheet.objects.create(campaign=campaign, serial=serial, created_at=now)
        except IntegrityError:  # another clerk created it at the same moment
            sheet = PaperSheet.objects.get(campaign=campaign, serial=serial)
    return PaperSheet.objects.select_for_update().select_related("campaign").get(pk=sheet.pk)


def sheet_key(
    actor,
    campaign: Campaign,
    *,
    serial: str,
    mobile: str,
    unreadable: bool,
    choices: list[int],
    id_number: str = "",
    id_unreadable: bool = False,
    now=None,
) -> PaperSheet:
    """One clerk's keying of a paper sheet (票选表录入); see the module docstring."""
    now = now or timezone.now()
    if not has_perm(actor, Perm.VOTE_KEY):
        raise PermissionDenied()
    _in_scope(actor, campaign)
    serial = serial_normalize(serial)
    mobile = _mobile(mobile, unreadable)
    ident = _id_number(campaign, id_number, id_unreadable)
    vector = _vector(campaign, choices)
    with transaction.atomic():
        sheet = _locked_sheet(campaign, serial, now)
        _check_keyable(sheet.campaign)
        if sheet.status in (SheetStatus.COUNTED, SheetStatus.REJECTED):
            raise ApplicationError(
                "sheet_done",
                _("票号 %(serial)s 的票选表已两次录入并处理完毕（%(status)s），不能再录入。")
                % {"serial": serial, "status": sheet.get_status_display()},
                field="serial",
                status=409,
            )
        if sheet.status == SheetStatus.MISMATCH:
            raise ApplicationError(
                "sheet_in_queue",
                _("票号 %(serial)s 的两次录入不一致，已转督察核对，不能再录入。")
                % {"serial": serial},
                field="serial",
                status=409,
            )
        earlier = list(sheet.entries.filter(resolution=False))
        if any(e.clerk_id == actor.pk for e in earlier):
            raise ApplicationError(
                "same_clerk",
                _("您已录入过这张票选表：第二次录入须由另一名录入员完成。"),
                field="serial",
                status=409,
            )
        entry = _entry(
            sheet,
            actor,
            mobile=mobile,
            unreadable=unreadable,
            ident=ident,
            vector=vector,
            resolution=False,
            now=now,
        )
        if earlier:
            if entries_match(earlier[0], entry):
                sheet.status = _settle(actor, sheet, entry, now)
            else:
                sheet.status = SheetStatus.MISMATCH
            sheet.save(update_fields=["status"])
        audit_record(
            action=AuditAction.CREATE,
            actor=actor,
            obj=sheet,
            detail={"keying": len(earlier) + 1, "status": sheet.status},
        )
    return sheet


def sheet_resolve(
    actor,
    sheet: PaperSheet,
    *,
    mobile: str,
    unreadable: bool,
    choices: list[int],
    id_number: str = "",
    id_unreadable: bool = False,
    now=None,
) -> PaperSheet:
    """A supervisor keys a mismatched sheet a third time from the paper; that keying decides."""
    now = now or timezone.now()
    if not has_perm(actor, Perm.VOTE_AUDIT):
        raise PermissionDenied()
    _in_scope(actor, sheet.campaign)
    mobile = _mobile(mobile, unreadable)
    ident = _id_number(sheet.campaign, id_number, id_unreadable)
    vector = _vector(sheet.campaign, choices)
    with transaction.atomic():
        locked = PaperSheet.objects.select_for_update().select_related("campaign").get(pk=sheet.pk)
        if locked.status != SheetStatus.MISMATCH:
            raise ApplicationError(
                "sheet_not_mismatch",
                _("这张票选表不在待核对队列中（当前状态：%(status)s）。")
                % {"status": locked.get_status_display()},
                status=409,
            )
        _check_keyable(locked.campaign)
        entry = _entry(
            locked,
            actor,
            mobile=mobile,
            unreadable=unreadable,
            ident=ident,
            vector=vector,
            resolution=True,
            now=now,
        )
        locked.status = _settle(actor, locked, entry, now)
        locked.resolved_by = actor
        locked.resolved_at = now
        locked.save(update_fields=["status", "resolved_by", "resolved_at"])
        audit_record(
            action=AuditAction.CHANGE,
            actor=actor,
            obj=locked,
            detail={"resolution": True, "status": locked.status},
        )
    return locked
