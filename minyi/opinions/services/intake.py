"""Intake (受理): a citizen's opinion checked, routed to a unit, numbered, given its answer
deadline in working days, and acknowledged by SMS. The portal's forms run the same checks
(opinion_content_check, opinion_photos_check) before a one-time code is spent."""

import re
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from minyi.core.errors import ApplicationError
from minyi.core.pii import lookup_hash, normalize_mobile
from minyi.core.uploads import check_photos
from minyi.core.workdays import add_working_days
from minyi.notifications.models import NotificationKind
from minyi.notifications.services import notify_unit
from minyi.opinions.models import (
    ONLINE_CHANNELS,
    OPINION_LIFECYCLE,
    Opinion,
    OpinionChannel,
    OpinionKind,
    OpinionPhoto,
    OpinionPolicy,
    ReplyBy,
)
from minyi.opinions.services.shared import S, checked_text, staff_url, tell_citizen, track_url
from minyi.orgs.models import Officer, OrgUnit
from minyi.orgs.roles import Perm, has_perm
from minyi.orgs.selectors import scope_q

CONTENT_MIN, CONTENT_MAX = 5, 2000
MAX_PHOTOS = 3
# Working days to answer when the bureau has not set its own (答复期限).
DEFAULT_ANSWER_DAYS = {
    OpinionKind.SUGGESTION: 5,
    OpinionKind.COMPLAINT: 5,
    OpinionKind.CONSULTATION: 3,
    OpinionKind.TIP: 5,
}


def answer_days(kind: str) -> int:
    policy = OpinionPolicy.objects.filter(kind=kind).first()
    return policy.answer_days if policy else DEFAULT_ANSWER_DAYS[kind]


def opinion_content_check(content: str) -> str:
    """The opinion's text, stripped, if its length is CONTENT_MIN to CONTENT_MAX."""
    return checked_text(
        content, field="content", label=_("内容"), low=CONTENT_MIN, high=CONTENT_MAX
    )


def opinion_photos_check(photos) -> list[tuple]:
    """The citizen's photos: at most MAX_PHOTOS JPEG or PNG files, each within
    OPINION_PHOTO_MAX_BYTES, judged by content. Returns (file, content type, suffix)."""
    return check_photos(photos, max_files=MAX_PHOTOS)


# Separators between the community names an officer serves ("城东社区、城西社区；…").
_COMMUNITY_SEPARATORS = re.compile(r"[、,，;；\s]+")
# Shorter names ("社区", "东村") occur in too many addresses to route by.
COMMUNITY_MIN_CHARS = 3


def _unit_for_area(area: str):
    """The unit whose public, active officer serves the community named in `area`: the
    longest community name (of COMMUNITY_MIN_CHARS or more) that occurs in the text. None
    when no name occurs, or when the longest ones belong to two units (the centre decides).
    One query of two columns, whatever the number of officers."""
    best_len, best_units = 0, set()
    rows = (
        Officer.objects.filter(is_active=True, is_public=True, unit__is_active=True)
        .exclude(communities="")
        .values_list("communities", "unit_id")
    )
    for communities, unit_id in rows:
        for name in _COMMUNITY_SEPARATORS.split(communities):
            if len(name) < COMMUNITY_MIN_CHARS or len(name) < best_len or name not in area:
                continue
            if len(name) > best_len:
                best_len, best_units = len(name), set()
            best_units.add(unit_id)
    return best_units.pop() if len(best_units) == 1 else None


def opinion_route(*, unit_id=None, area: str = "") -> OrgUnit:
    """Where a new opinion goes: the unit the citizen chose; else the station whose community
    officer serves the community named in the area; else the city bureau's perception centre,
    which transfers it (转办)."""
    if unit_id:
        unit = OrgUnit.objects.filter(pk=unit_id, is_active=True).first()
        if unit is None:
            raise ApplicationError("invalid_unit", _("所选单位不存在，请重新选择。"), field="unit")
        return unit
    area = (area or "").strip()
    if len(area) >= COMMUNITY_MIN_CHARS:
        routed = _unit_for_area(area)
        if routed is not None:
            unit = OrgUnit.objects.filter(pk=routed, is_active=True).first()
            if unit is not None:
                return unit
    root = OrgUnit.objects.get_root_nodes().filter(is_active=True).first()
    if root is None:
        raise ApplicationError("no_unit", _("系统尚未配置受理单位。"), status=503)
    return root


def _new_number(now) -> str:
    return f"MY{timezone.localtime(now):%y%m%d}{secrets.randbelow(10**6):06d}"


@transaction.atomic
def opinion_submit(
    *,
    kind: str,
    content: str,
    mobile: str,
    anonymous: bool = False,
    contact_name: str = "",
    area: str = "",
    unit_id=None,
    wall_consent: bool = False,
    photos=(),
    case=None,
    channel: str = "h5",
    now=None,
) -> Opinion:
    """A citizen's opinion, from a mobile the caller has verified (手机验证), or from the SMS
    the citizen sent (`channel="sms"`, turned into an opinion from the SMS inbox)."""
    now = now or timezone.now()
    if kind not in OpinionKind.values:
        raise ApplicationError("invalid_kind", _("请选择留言类别。"), field="kind")
    content = opinion_content_check(content)
    contact_name = (contact_name or "").strip()
    if not anonymous and not contact_name:
        raise ApplicationError(
            "name_required", _("实名留言请填写姓名，或选择匿名。"), field="contact_name"
        )
    if len(contact_name) > 30:
        raise ApplicationError("name_too_long", _("姓名不能超过 30 个字。"), field="contact_name")
    area = (area or "").strip()
    if len(area) > 100:
        raise ApplicationError("area_too_long", _("地点不能超过 100 个字。"), field="area")
    mobile = normalize_mobile(mobile)
    mobile_hash = lookup_hash("mobile", mobile)
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    if (
        # Only what the citizen sent: opinions staff keyed in for them do not use it up.
        Opinion.objects.filter(
            mobile_hash=mobile_hash, submitted_at__gte=today, entered_by__isnull=True
        ).count()
        >= settings.OPINIONS_PER_MOBILE_DAY
    ):
        raise ApplicationError(
            "too_many_opinions",
            _("同一手机号每天最多提交 %(n)d 条留言，请明天再试。")
            % {"n": settings.OPINIONS_PER_MOBILE_DAY},
            status=429,
        )
    return _opinion_create(
        kind=kind,
        content=content,
        area=area,
        unit=opinion_route(unit_id=unit_id, area=area),
        requested=bool(unit_id),
        case=case,
        contact_name="" if anonymous else contact_name,
        mobile=mobile,
        wall_consent=wall_consent and kind == OpinionKind.SUGGESTION,
        photos=opinion_photos_check(photos),
        channel=OpinionChannel.SMS if channel == "sms" else OpinionChannel.H5,
        received_note=_("群众短信，由短信收件箱转为留言") if channel == "sms" else _("群众提交"),
        submitted_at=now,
        now=now,
    )


def _opinion_create(
    *,
    kind,
    content,
    area,
    unit,
    requested,
    case,
    contact_name,
    mobile,
    photos,
    channel,
    received_note,
    submitted_at,
    now,
    wall_consent=False,
    postal_address="",
    consent=False,
    entered_by=None,
    paper=(),
    anonymous=None,
) -> Opinion:
    """Number, store and announce a checked opinion, whatever its channel: the deadline in
    working days from `submitted_at` (the day it reached us, earlier than `now` for a letter
    keyed in later), the unit told, the citizen told by SMS at `now` when there is a mobile
    (an opinion answered by letter, or without any contact, gets no SMS)."""
    deadline, provisional = add_working_days(
        timezone.localtime(submitted_at).date(), answer_days(kind)
    )
    if mobile:
        reply_by = ReplyBy.SMS
    elif postal_address:
        reply_by = ReplyBy.LETTER
    else:
        reply_by = ReplyBy.NONE
    for _attempt in range(5):
        try:
            with transaction.atomic():
                opinion = Opinion.objects.create(
                    number=_new_number(submitted_at),
                    kind=kind,
                    content=content,
                    area=area,
                    requested_unit=unit if requested else None,
                    unit=unit,
                    case=case,
                    anonymous=not contact_name if anonymous is None else anonymous,
                    contact_name=contact_name,
                    mobile=mobile,
                    mobile_hash=lookup_hash("mobile", mobile) if mobile else "",
                    wall_consent=wall_consent,
                    submitted_at=submitted_at,
                    deadline=deadline,
                    deadline_provisional=provisional,
                    channel=channel,
                    reply_by=reply_by,
                    postal_address=postal_address,
                    consent=consent,
                    entered_by=entered_by,
                )
            break
        except IntegrityError:
            continue
    else:
        raise ApplicationError("number_failed", _("受理编号生成失败，请重试。"), status=503)
    for is_paper, files in ((False, photos), (True, paper)):
        for upload, content_type, suffix in files:
            photo = OpinionPhoto(
                opinion=opinion, content_type=content_type, size=upload.size, paper=is_paper
            )
            photo.file.save(f"{opinion.pk}{suffix}", upload, save=False)
            photo.save()
    OPINION_LIFECYCLE.record(
        opinion,
        actor=entered_by,
        to_status=S.RECEIVED,
        note=received_note,
        now=submitted_at,
        unit=unit,
    )
    notify_unit(
        unit=unit,
        kind=NotificationKind.OPINION_ARRIVED,
        text=_("新%(kind)s %(no)s，请于 %(day)s 前答复。")
        % {"kind": opinion.get_kind_display(), "no": opinion.number, "day": f"{deadline:%m月%d日}"},
        url=staff_url(opinion),
    )
    if kind == OpinionKind.TIP:
        # A phone is seen by others: a tipster's SMS must not say it is about a tip.
        received = _("您的事项（编号 %(no)s）已受理，我们将于 %(day)s 前答复。查询：%(url)s")
    else:
        received = _("您的%(kind)s已受理，编号 %(no)s，我们将于 %(day)s 前答复。查询：%(url)s")
    tell_citizen(
        opinion,
        received
        % {
            "kind": opinion.get_kind_display(),
            "no": opinion.number,
            "day": f"{deadline:%m月%d日}",
            "url": track_url(opinion.number),
        },
        now,
    )
    return opinion


# A paper older than this is not keyed in as a new opinion (mostly a mistyped year or month):
# its deadline would already be long past.
KEY_IN_MAX_AGE_DAYS = 90


def received_too_old_message() -> str:
    return _("收到时间不能早于 %(n)d 天前，请核对日期（年份、月份）。") % {"n": KEY_IN_MAX_AGE_DAYS}


# A keyed-in letter may be long: the paper's photo keeps every word, the text what staff typed.
KEYED_CONTENT_MAX = 5000
POSTAL_ADDRESS_MAX = 120


@transaction.atomic
def opinion_key_in(
    *,
    actor,
    channel: str,
    kind: str,
    content: str,
    contact_name: str = "",
    mobile: str = "",
    postal_address: str = "",
    consent: bool = False,
    area: str = "",
    unit_id=None,
    paper=(),
    received_at=None,
    case=None,
    now=None,
) -> Opinion:
    """An opinion from an offline channel (线下录入: a letter from the mailbox, a question at a
    恳谈会 or on the 110直播室, a call to the chief's phone, a petition, a WeChat group), keyed
    in by staff with a photo of the paper it came on. It enters the same flow as an online
    one: routed (to `unit_id` when staff chose one inside their scope), numbered, given its
    deadline from the day it was received (`received_at`: not after `now`, not more than
    KEY_IN_MAX_AGE_DAYS before), answered by SMS when there is a mobile (unsolicited: never to
    a number that opted out, at night at 08:00; see tell_citizen), by a printed letter when
    there is only an address, and not at all when there is no contact (allowed: an unsigned
    letter is still heard). Keeping a contact needs the citizen's consent (PIPL). It does not
    count toward the citizen's online daily quota."""
    now = now or timezone.now()
    received_at = received_at or now
    if not has_perm(actor, Perm.OPINION_KEY_IN):
        raise ApplicationError("forbidden", _("无权录入线下诉求。"), status=403)
    if channel not in OpinionChannel.values or channel in ONLINE_CHANNELS:
        raise ApplicationError("invalid_channel", _("请选择受理渠道。"), field="channel")
    if kind not in OpinionKind.values:
        raise ApplicationError("invalid_kind", _("请选择留言类别。"), field="kind")
    if received_at > now:
        raise ApplicationError(
            "received_in_future", _("收到时间不能晚于现在。"), field="received_at"
        )
    if received_at < now - timedelta(days=KEY_IN_MAX_AGE_DAYS):
        raise ApplicationError("received_too_old", received_too_old_message(), field="received_at")
    content = checked_text(
        content, field="content", label=_("内容"), low=CONTENT_MIN, high=KEYED_CONTENT_MAX
    )
    contact_name = (contact_name or "").strip()
    if len(contact_name) > 30:
        raise ApplicationError("name_too_long", _("姓名不能超过 30 个字。"), field="contact_name")
    postal_address = (postal_address or "").strip()
    if len(postal_address) > POSTAL_ADDRESS_MAX:
        raise ApplicationError(
            "address_too_long",
            _("通信地址不能超过 %(n)d 个字。") % {"n": POSTAL_ADDRESS_MAX},
            field="postal_address",
        )
    area = (area or "").strip()
    if len(area) > 100:
        raise ApplicationError("area_too_long", _("地点不能超过 100 个字。"), field="area")
    mobile = normalize_mobile(mobile) if (mobile or "").strip() else ""
    if (mobile or postal_address or contact_name) and not consent:
        raise ApplicationError(
            "consent_required",
            _("留存群众的姓名、手机或地址须经本人同意；未同意的，请不填联系方式。"),
            field="consent",
        )
    if unit_id and not OrgUnit.objects.filter(scope_q(actor, prefix=""), pk=unit_id).exists():
        raise ApplicationError("invalid_unit", _("只能交给本单位及下级单位办理。"), field="unit")
    return _opinion_create(
        kind=kind,
        content=content,
        area=area,
        unit=opinion_route(unit_id=unit_id, area=area),
        requested=bool(unit_id),
        case=case,
        contact_name=contact_name,
        mobile=mobile,
        postal_address=postal_address,
        consent=consent,
        photos=(),
        paper=opinion_photos_check(paper),
        channel=channel,
        received_note=_("线下录入：%(channel)s") % {"channel": OpinionChannel(channel).label},
        submitted_at=received_at,
        now=now,
        entered_by=actor,
        # Whoever left any contact (with consent) may be called or written back.
        anonymous=not (contact_name or mobile or postal_address),
    )
