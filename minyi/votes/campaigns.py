"""Services of vote campaigns (票选活动): create and edit a campaign and its options while it
is a draft, then open, close (at its closing time, or early by the organiser) and publish it.

Every change is audited (core.audit: CREATE / CHANGE / DELETE), and every move of the
lifecycle (draft → open → closed → published) is a CampaignEvent with its actor, which the
campaign's page shows as its history. Who may make a move now is one rule
(selectors.CAMPAIGN_ACTIONS), the same the page draws its buttons from.
"""

import re
import secrets
from datetime import datetime

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from minyi.core.audit import audit_record
from minyi.core.errors import ApplicationError, NotFound, PermissionDenied
from minyi.core.lifecycle import lock_in_scope
from minyi.core.models import AuditAction
from minyi.core.uploads import JPEG, PNG, check_uploads
from minyi.opinions.models import Opinion
from minyi.orgs.models import OrgUnit
from minyi.orgs.roles import has_perm
from minyi.orgs.selectors import scope_q
from minyi.votes import chain
from minyi.votes.access import VOTE_MANAGE
from minyi.votes.ballots import campaign_cache_forget
from minyi.votes.models import (
    CAMPAIGN_LIFECYCLE,
    MAX_OPTIONS,
    Campaign,
    CampaignKind,
    CampaignStatus,
    Option,
    OptionPhoto,
)
from minyi.votes.selectors import campaign_action_require

S = CampaignStatus
TITLE_MAX = 100
OPTION_TITLE_MAX = 100
CODE_RE = re.compile(r"^[a-z0-9]{3,20}$")
# Easy to read aloud and to type from a poster: no 0/o, 1/l/i.
CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
PHOTOS_MAX = 3
PHOTO_MAX_BYTES = 5 * 2**20


# --- Checks ---------------------------------------------------------------------------------


def _require_manager(actor) -> None:
    if not has_perm(actor, VOTE_MANAGE):
        raise PermissionDenied()


def _unit_in_scope(actor, unit: OrgUnit | None, *, field: str = "unit") -> None:
    if unit is None:
        raise ApplicationError("unit_required", _("请选择主办单位。"), field=field)
    if not OrgUnit.objects.filter(scope_q(actor, ""), pk=unit.pk).exists():
        raise ApplicationError("unit_out_of_scope", _("只能选择本单位及下属单位。"), field=field)


def _lock(actor, campaign: Campaign) -> Campaign:
    """The campaign row, locked, if the actor manages it (else PermissionDenied / NotFound)."""
    return lock_in_scope(
        Campaign.objects,
        campaign.pk,
        scope=scope_q(actor, "unit__"),
        allowed=has_perm(actor, VOTE_MANAGE),
    )


def _check_settings(
    *, title: str, kind: str, max_choices, opens_at: datetime, closes_at: datetime
) -> None:
    if not title:
        raise ApplicationError("title_required", _("请填写标题。"), field="title")
    if len(title) > TITLE_MAX:
        raise ApplicationError(
            "title_too_long", _("标题不能超过 %(n)d 个字。") % {"n": TITLE_MAX}, field="title"
        )
    if kind not in CampaignKind.values:
        raise ApplicationError("invalid_kind", _("请选择投票方式。"), field="kind")
    if kind == CampaignKind.SINGLE and max_choices != 1:
        raise ApplicationError(
            "invalid_max_choices", _("单选投票只能选 1 项。"), field="max_choices"
        )
    if not isinstance(max_choices, int) or not 1 <= max_choices <= MAX_OPTIONS:
        raise ApplicationError(
            "invalid_max_choices",
            _("最多可选项数应在 1 到 %(n)d 之间。") % {"n": MAX_OPTIONS},
            field="max_choices",
        )
    if opens_at is None:
        raise ApplicationError("opens_at_required", _("请填写开始时间。"), field="opens_at")
    if closes_at is None:
        raise ApplicationError("closes_at_required", _("请填写截止时间。"), field="closes_at")
    if closes_at <= opens_at:
        raise ApplicationError("invalid_window", _("截止时间必须晚于开始时间。"), field="closes_at")


# Words the citizen pages use under /c/votes/ (the chosen actions' pages come first there).
RESERVED_CODES = frozenset({"actions"})


def _code_for(code: str, title: str) -> str:
    """The given code, checked, or a new one: the title's Latin letters and digits (if any)
    and a random tail, lowercase."""
    code = (code or "").strip()
    if code:
        if not CODE_RE.match(code):
            raise ApplicationError(
                "invalid_code",
                _("链接代码只能由 3 到 20 个小写字母或数字组成。"),
                field="code",
            )
        if code in RESERVED_CODES or Campaign.objects.filter(code=code).exists():
            raise ApplicationError("code_taken", _("该链接代码已被使用，请换一个。"), field="code")
        return code
    stem = re.sub(r"[^a-z0-9]", "", title.lower())[:8]
    while True:
        tail = "".join(secrets.choice(CODE_ALPHABET) for _i in range(6))
        candidate = f"{stem}{tail}"
        if not Campaign.objects.filter(code=candidate).exists():
            return candidate


# --- Campaigns ------------------------------------------------------------------------------


def campaign_create(
    actor,
    *,
    unit,
    title,
    description,
    kind,
    max_choices,
    opens_at,
    closes_at,
    show_shares=False,
    require_id_number=False,
    code="",
) -> Campaign:
    """A draft campaign organised by `unit` (within the actor's subtree)."""
    _require_manager(actor)
    title = (title or "").strip()
    _unit_in_scope(actor, unit)
    _check_settings(
        title=title, kind=kind, max_choices=max_choices, opens_at=opens_at, closes_at=closes_at
    )
    with transaction.atomic():
        campaign = Campaign.objects.create(
            unit=unit,
            code=_code_for(code, title),
            title=title,
            description=(description or "").strip(),
            kind=kind,
            max_choices=max_choices,
            opens_at=opens_at,
            closes_at=closes_at,
            show_shares=bool(show_shares),
            require_id_number=bool(require_id_number),
            status=S.DRAFT,
            created_by=actor,
        )
        CAMPAIGN_LIFECYCLE.record(campaign, actor=actor, to_status=S.DRAFT, note=_("创建"))
        audit_record(
            action=AuditAction.CREATE,
            actor=actor,
            obj=campaign,
            detail={"code": campaign.code, "unit": unit.pk, "kind": kind},
        )
    return campaign


UPDATABLE = (
    "title",
    "description",
    "kind",
    "max_choices",
    "opens_at",
    "closes_at",
    "show_shares",
    "require_id_number",
)


def campaign_update(actor, campaign: Campaign, **fields) -> Campaign:
    """Change a draft's settings (any of UPDATABLE); the code and the unit stay."""
    unknown = set(fields) - set(UPDATABLE)
    if unknown:
        raise ValueError(f"campaign_update: unknown fields {sorted(unknown)}")
    with transaction.atomic():
        current = _lock(actor, campaign)
        campaign_action_require(actor, current, "edit")
        values = {name: getattr(current, name) for name in UPDATABLE} | fields
        values["title"] = (values["title"] or "").strip()
        values["description"] = (values["description"] or "").strip()
        _check_settings(
            title=values["title"],
            kind=values["kind"],
            max_choices=values["max_choices"],
            opens_at=values["opens_at"],
            closes_at=values["closes_at"],
        )
        changed = sorted(name for name in UPDATABLE if getattr(current, name) != values[name])
        if changed:
            for name in changed:
                setattr(current, name, values[name])
            current.save(update_fields=[*changed, "updated_at"])
            audit_record(
                action=AuditAction.CHANGE, actor=actor, obj=current, detail={"fields": changed}
            )
    return current


# --- Options --------------------------------------------------------------------------------


def _opinion_for(actor, number: str) -> Opinion | None:
    """The citizen's suggestion with tracking number `number`, visible in the actor's
    subtree (a number from elsewhere looks like no number at all)."""
    number = (number or "").strip()
    if not number:
        return None
    opinion = Opinion.objects.filter(scope_q(actor, "unit__"), number=number).first()
    if opinion is None:
        raise ApplicationError(
            "unknown_opinion",
            _("找不到受理编号为“%(n)s”的群众建议，或不在本单位范围内。") % {"n": number},
            field="opinion_number",
        )
    return opinion


def _checked_photos(photos, *, already: int = 0):
    return check_uploads(
        photos,
        kinds=(JPEG, PNG),
        max_files=PHOTOS_MAX - already,
        max_bytes=PHOTO_MAX_BYTES,
        field="photos",
        too_many=_("每个候选项最多 %(n)d 张照片。") % {"n": PHOTOS_MAX},
        wrong_type=_("“%(name)s”不是 JPG 或 PNG 图片。"),
    )


def _save_photos(option: Option, checked) -> None:
    for upload, content_type, suffix in checked:
        photo = OptionPhoto(option=option, content_type=content_type)
        photo.file.save(f"photo{suffix}", upload, save=False)
        photo.save()


def _check_option(actor, *, title: str, unit) -> None:
    if not title:
        raise ApplicationError("title_required", _("请填写候选项名称。"), field="title")
    if len(title) > OPTION_TITLE_MAX:
        raise ApplicationError(
            "title_too_long",
            _("候选项名称不能超过 %(n)d 个字。") % {"n": OPTION_TITLE_MAX},
            field="title",
        )
    if unit is not None:
        _unit_in_scope(actor, unit)


def option_add(
    actor, campaign: Campaign, *, title, text="", unit=None, opinion_number="", photos=()
) -> Option:
    """A new option, numbered after the last one (only while the campaign is a draft)."""
    title = (title or "").strip()
    with transaction.atomic():
        current = _lock(actor, campaign)
        campaign_action_require(actor, current, "edit")
        _check_option(actor, title=title, unit=unit)
        opinion = _opinion_for(actor, opinion_number)
        checked = _checked_photos(photos)
        last = current.options.aggregate(n=Max("number"))["n"] or 0
        if last >= MAX_OPTIONS:
            raise ApplicationError(
                "too_many_options",
                _("候选项最多 %(n)d 个。") % {"n": MAX_OPTIONS},
                status=409,
            )
        option = Option.objects.create(
            campaign=current,
            number=last + 1,
            title=title,
            text=(text or "").strip(),
            unit=unit,
            opinion=opinion,
        )
        _save_photos(option, checked)
        audit_record(
            action=AuditAction.CREATE,
            actor=actor,
            obj=option,
            detail={"campaign": current.pk, "number": option.number, "photos": len(checked)},
        )
    return option


def option_update(
    actor, option: Option, *, title, text="", unit=None, opinion_number="", photos=()
) -> Option:
    """Change a draft's option; `photos` are added to those it has (at most 3 in all)."""
    title = (title or "").strip()
    with transaction.atomic():
        current = _lock(actor, option.campaign)
        campaign_action_require(actor, current, "edit")
        option = Option.objects.filter(pk=option.pk, campaign=current).first()
        if option is None:
            raise NotFound()
        _check_option(actor, title=title, unit=unit)
        opinion = _opinion_for(actor, opinion_number)
        checked = _checked_photos(photos, already=option.photos.count())
        option.title = title
        option.text = (text or "").strip()
        option.unit = unit
        option.opinion = opinion
        option.save()
        _save_photos(option, checked)
        audit_record(
            action=AuditAction.CHANGE,
            actor=actor,
            obj=option,
            detail={"campaign": current.pk, "number": option.number, "photos_added": len(checked)},
        )
    return option


def option_remove(actor, option: Option) -> None:
    """Remove a draft's option; the later ones move up a number, so the ballot's numbers
    stay 1..n without a gap."""
    with transaction.atomic():
        current = _lock(actor, option.campaign)
        campaign_action_require(actor, current, "edit")
        option = Option.objects.filter(pk=option.pk, campaign=current).first()
        if option is None:
            raise NotFound()
        number, title = option.number, option.title
        audit_record(
            action=AuditAction.DELETE,
            actor=actor,
            obj=option,
            detail={"campaign": current.pk, "number": number, "title": title},
        )
        for photo in option.photos.all():
            photo.file.delete(save=False)
        option.delete()
        # One by one in ascending order: each number below is free when it is taken.
        for later in current.options.filter(number__gt=number).order_by("number"):
            later.number -= 1
            later.save(update_fields=["number"])


# --- Lifecycle --------------------------------------------------------------------------------


def campaign_open(actor, campaign: Campaign, now=None) -> Campaign:
    """Open the ballot box: at least two options, no more choices than options, and the
    closing time still ahead. Ballots are taken from `opens_at` on."""
    now = now or timezone.now()
    with transaction.atomic():
        current = _lock(actor, campaign)
        campaign_action_require(actor, current, "open", now=now)
        return CAMPAIGN_LIFECYCLE.move(current, actor=actor, to=S.OPEN, now=now)


def campaign_close(actor, campaign: Campaign, now=None) -> Campaign:
    """Close the ballot box, at the closing time or earlier (the organiser's decision, kept
    in the history). Paper sheets may still be keyed in; the chain's head is published."""
    now = now or timezone.now()
    with transaction.atomic():
        current = _lock(actor, campaign)
        campaign_action_require(actor, current, "close", now=now)
        note = _("提前截止") if now < current.closes_at else ""
        current = CAMPAIGN_LIFECYCLE.move(current, actor=actor, to=S.CLOSED, note=note, now=now)
        chain.head_publish(current, now=now)
    campaign_cache_forget(current)
    return current


def campaign_publish(actor, campaign: Campaign, now=None) -> Campaign:
    """Publish the results (every paper sheet settled, every stuffing flag reviewed): the
    chain's head at this moment is published with them, so anyone can later check the record
    they were counted from."""
    now = now or timezone.now()
    with transaction.atomic():
        current = _lock(actor, campaign)
        campaign_action_require(actor, current, "publish", now=now)
        current = CAMPAIGN_LIFECYCLE.move(
            current, actor=actor, to=S.PUBLISHED, now=now, published_at=now
        )
        chain.head_publish(current, now=now)
    campaign_cache_forget(current)
    return current


def campaigns_close_due(now=None) -> int:
    """The worker's sweep: every open campaign past its closing time is closed (no actor),
    with its history row and its chain head. Returns how many were closed."""
    now = now or timezone.now()
    closed = 0
    due = list(
        Campaign.objects.filter(status=S.OPEN, closes_at__lte=now).values_list("pk", flat=True)
    )
    for pk in due:
        with transaction.atomic():
            current = Campaign.objects.select_for_update().filter(pk=pk, status=S.OPEN).first()
            if current is None or current.closes_at > now:
                continue  # closed (or extended) meanwhile
            current = CAMPAIGN_LIFECYCLE.move(
                current, actor=None, to=S.CLOSED, note=_("到达截止时间"), now=now
            )
            chain.head_publish(current, now=now)
        campaign_cache_forget(current)
        closed += 1
    return closed
