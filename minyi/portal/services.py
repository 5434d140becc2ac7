"""The verified mobile (手机验证) and the throttles that keep it from being abused.

`otp_request` sends a 6-digit code; `otp_verify` checks it. Both refuse with an
ApplicationError whose code the API and pages show. Call `otp_verify` outside any atomic block
of the caller's: a wrong code is counted in its own transaction, and a caller's rollback must
not un-count it.
"""

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from minyi.core.errors import ApplicationError
from minyi.core.pii import decrypt, encrypt, lookup_hash, normalize_mobile
from minyi.integrations.sms.models import SmsPurpose
from minyi.integrations.sms.services import sms_enqueue
from minyi.portal.models import CardScanDaily, OtpChallenge, OtpLock, OtpPurpose, ThrottleHit

CODE_DIGITS = 6
SESSION_KEY = "minyi_verified"


def _code_hash(challenge_salt: str, code: str) -> str:
    key = settings.PII_HASH_KEY.encode()
    return hmac.new(key, f"otp:{challenge_salt}:{code}".encode(), hashlib.sha256).hexdigest()


def _minutes(delta: timedelta) -> int:
    return max(1, int((delta.total_seconds() + 59) // 60))


def _rate_limited(message) -> ApplicationError:
    return ApplicationError("rate_limited", message, status=429)


def throttle_hit(*, scope: str, key: str, limits, now=None) -> None:
    """Count one request of `scope` from `key` (an address), or refuse if any (count, window)
    in `limits` is already reached. Refused requests are not counted."""
    if not key:
        return
    now = now or timezone.now()
    for count, window in limits:
        recent = ThrottleHit.objects.filter(scope=scope, key=key, at__gt=now - window).count()
        if recent >= count:
            raise _rate_limited(
                _("操作过于频繁，请 %(minutes)d 分钟后再试。") % {"minutes": _minutes(window)}
            )
    ThrottleHit.objects.create(scope=scope, key=key, at=now)


def throttle_purge(*, now=None) -> int:
    """Forget hits older than the longest window (a day)."""
    now = now or timezone.now()
    deleted, _rows = ThrottleHit.objects.filter(at__lt=now - timedelta(days=1)).delete()
    OtpChallenge.objects.filter(created_at__lt=now - timedelta(days=1)).delete()
    return deleted


def _lock_error(lock: OtpLock, now) -> ApplicationError:
    return ApplicationError(
        "otp_locked",
        _("验证码错误次数过多，该手机号已锁定，请 %(minutes)d 分钟后再试。")
        % {"minutes": _minutes(lock.locked_until - now)},
        field="code",
        status=429,
    )


def _check_lock(mobile_hash: str, now) -> None:
    lock = OtpLock.objects.filter(mobile_hash=mobile_hash).first()
    if lock and lock.locked_until and lock.locked_until > now:
        raise _lock_error(lock, now)


def otp_request(*, mobile: str, purpose: str, ip: str = "", subject: str = "", now=None):
    """Send a code to `mobile` for `purpose`. At most one a minute and five an hour per mobile,
    and MINYI_OTP_PER_IP_HOUR / _DAY per address; a locked mobile gets none."""
    now = now or timezone.now()
    if purpose not in OtpPurpose.values:
        raise ApplicationError("invalid_purpose", _("验证码用途不正确。"))
    mobile = normalize_mobile(mobile)
    mobile_hash = lookup_hash("mobile", mobile)
    _check_lock(mobile_hash, now)
    sent = OtpChallenge.objects.filter(mobile_hash=mobile_hash)
    if sent.filter(created_at__gt=now - timedelta(minutes=1)).exists():
        raise _rate_limited(_("验证码已发送，请 1 分钟后再重新获取。"))
    if sent.filter(created_at__gt=now - timedelta(hours=1)).count() >= settings.OTP_PER_MOBILE_HOUR:
        raise _rate_limited(_("该手机号 1 小时内获取验证码次数已达上限，请稍后再试。"))
    throttle_hit(
        scope="otp_ip",
        key=ip,
        limits=[
            (settings.OTP_PER_IP_HOUR, timedelta(hours=1)),
            (settings.OTP_PER_IP_DAY, timedelta(days=1)),
        ],
        now=now,
    )
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    salt = secrets.token_hex(8)
    with transaction.atomic():
        challenge = OtpChallenge.objects.create(
            mobile_hash=mobile_hash,
            purpose=purpose,
            subject=subject,
            code_hash=f"{salt}${_code_hash(salt, code)}",
            ip=ip or None,
            created_at=now,
            expires_at=now + timedelta(minutes=settings.OTP_TTL_MINUTES),
        )
        sms_enqueue(
            mobile=mobile,
            body=_(
                "%(sig)s验证码 %(code)s，用于%(purpose)s，%(ttl)d 分钟内有效。"
                "请勿告诉他人；如非本人操作，请忽略。"
            )
            % {
                "sig": settings.SMS_SIGNATURE,
                "code": code,
                "purpose": OtpPurpose(purpose).label,
                "ttl": settings.OTP_TTL_MINUTES,
            },
            purpose=SmsPurpose.OTP,
            not_before=now,
        )
    return challenge


def _count_failure(mobile_hash: str, now) -> OtpLock:
    lock, _created = OtpLock.objects.select_for_update().get_or_create(mobile_hash=mobile_hash)
    if lock.locks and lock.locked_until and now - lock.locked_until > timedelta(days=1):
        lock.locks = 0  # a day of good behaviour after the last lock forgives the past ones
    lock.failures += 1
    if lock.failures >= settings.OTP_MAX_FAILURES:
        minutes = min(settings.OTP_LOCK_MINUTES * 2**lock.locks, 24 * 60)
        lock.locked_until = now + timedelta(minutes=minutes)
        lock.locks += 1
        lock.failures = 0
    lock.updated_at = now
    lock.save()
    return lock


def otp_verify(*, mobile: str, purpose: str, code: str, subject: str = "", now=None) -> str:
    """Check `code` for (`mobile`, `purpose`, `subject`); returns the normalised mobile. The
    newest code only; used once; wrong codes count towards the lock."""
    now = now or timezone.now()
    mobile = normalize_mobile(mobile)
    mobile_hash = lookup_hash("mobile", mobile)
    code = (code or "").strip()
    if not (len(code) == CODE_DIGITS and code.isdigit()):
        raise ApplicationError("invalid_code", _("请输入短信中的 6 位数字验证码。"), field="code")
    error = None
    with transaction.atomic():
        lock = OtpLock.objects.select_for_update().filter(mobile_hash=mobile_hash).first()
        if lock and lock.locked_until and lock.locked_until > now:
            raise _lock_error(lock, now)
        challenge = (
            OtpChallenge.objects.select_for_update()
            .filter(mobile_hash=mobile_hash, purpose=purpose, subject=subject)
            .order_by("-created_at", "-id")
            .first()
        )
        if challenge is None:
            error = ApplicationError("otp_missing", _("请先获取验证码。"), field="code", status=400)
        elif challenge.used_at is not None:
            error = ApplicationError("otp_used", _("该验证码已使用过，请重新获取。"), field="code")
        elif challenge.expires_at <= now:
            error = ApplicationError("otp_expired", _("验证码已过期，请重新获取。"), field="code")
        else:
            salt, digest = challenge.code_hash.split("$", 1)
            if hmac.compare_digest(digest, _code_hash(salt, code)):
                challenge.used_at = now
                challenge.save(update_fields=["used_at"])
                OtpLock.objects.filter(mobile_hash=mobile_hash).update(failures=0)
                return mobile
            challenge.failed_attempts += 1
            challenge.save(update_fields=["failed_attempts"])
            lock = _count_failure(mobile_hash, now)
            if lock.locked_until and lock.locked_until > now:
                error = _lock_error(lock, now)
            else:
                left = settings.OTP_MAX_FAILURES - lock.failures
                error = ApplicationError(
                    "otp_wrong",
                    ngettext(
                        "验证码不正确，还可以再试 %(n)d 次。",
                        "验证码不正确，还可以再试 %(n)d 次。",
                        left,
                    )
                    % {"n": left},
                    field="code",
                )
    raise error


# --- The verified mobile in the citizen's session ------------------------------------------


def session_mark_verified(session, *, purpose: str, mobile: str, subject: str = "", now=None):
    """Remember in the (server-side) session that this browser proved `mobile` for `purpose`.
    The number is kept encrypted, like every stored mobile."""
    now = now or timezone.now()
    verified = dict(session.get(SESSION_KEY, {}))
    verified[purpose] = {"m": encrypt(mobile), "s": subject, "at": now.timestamp()}
    session[SESSION_KEY] = verified
    session.cycle_key()


def session_verified_mobile(session, *, purpose: str, subject: str = "", now=None) -> str:
    """The mobile this session proved for `purpose` (and `subject`) within
    MINYI_OTP_SESSION_MINUTES, or ""."""
    now = now or timezone.now()
    entry = session.get(SESSION_KEY, {}).get(purpose)
    if not entry or entry.get("s", "") != subject:
        return ""
    if now.timestamp() - entry["at"] > settings.OTP_SESSION_MINUTES * 60:
        return ""
    return decrypt(entry["m"])


def session_forget(session, *, purpose: str) -> None:
    verified = dict(session.get(SESSION_KEY, {}))
    if verified.pop(purpose, None) is not None:
        session[SESSION_KEY] = verified


# --- Officer directory ----------------------------------------------------------------------


def card_scan_record(*, unit_id: int, officer_id: int | None = None, now=None) -> None:
    """Count one QR scan of an officer's (or, with no officer, a station's) card today."""
    day = timezone.localdate(now or timezone.now())
    rows = CardScanDaily.objects.filter(officer_id=officer_id, unit_id=unit_id, day=day)
    if rows.update(scans=F("scans") + 1):
        return
    try:
        with transaction.atomic():
            CardScanDaily.objects.create(officer_id=officer_id, unit_id=unit_id, day=day, scans=1)
    except IntegrityError:  # another scan created today's row first
        rows.update(scans=F("scans") + 1)
