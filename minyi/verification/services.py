"""The verified mobile (手机验证) and the throttles that keep it from being abused.

`otp_request` sends a 6-digit code; `otp_verify` checks it. Both refuse with an
ApplicationError whose code the API and pages show. docs/security.md ("Verified mobile") has
the rules and the settings.

Concurrency: every request and every check for one mobile first locks that mobile's `OtpLock`
row (created on first use), so on PostgreSQL they run one at a time per mobile; on SQLite every
write transaction already does (IMMEDIATE). Using a code is also a conditional UPDATE (`used_at
IS NULL`), so a code is accepted once even if the row locks were ever lost.

Call `otp_verify` outside any atomic block of the caller's: a wrong code is counted in its own
transaction, and a caller's rollback must not un-count it. Its block is `durable`, so calling it
inside another transaction fails loudly instead of silently forgetting failures.
"""

import base64
import hashlib
import hmac
import ipaddress
import re
import secrets
import unicodedata
from datetime import UTC, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Min, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from minyi.core.errors import ApplicationError
from minyi.core.pii import decrypt, encrypt, lookup_hash, mask_mobile, normalize_mobile
from minyi.integrations.sms.models import OutboundSms, OutboundStatus, SmsPurpose
from minyi.integrations.sms.services import sms_enqueue
from minyi.verification.models import OtpChallenge, OtpLock, OtpPurpose, ThrottleHit

CODE_DIGITS = 6
SESSION_KEY = "minyi_verified"
# The longest lock, and how long after its last lock (or last wrong code) a mobile's record
# is forgiven.
MAX_LOCK = timedelta(days=1)
FORGIVE_AFTER = timedelta(days=1)
_CODE_IN_TEXT = re.compile(rf"(?<![0-9])[0-9]{{{CODE_DIGITS}}}(?![0-9])")
REDACTED_CODE = "*" * CODE_DIGITS


def _code_hash(challenge_salt: str, code: str) -> str:
    """Keyed hash of a code: 43 characters (base64 of HMAC-SHA256), so that "salt$hash" fits
    the 64-character column."""
    key = settings.PII_HASH_KEY.encode()
    digest = hmac.new(key, f"otp:{challenge_salt}:{code}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _code_matches(challenge: OtpChallenge, code: str) -> bool:
    salt, _sep, digest = challenge.code_hash.partition("$")
    return hmac.compare_digest(digest.encode(), _code_hash(salt, code).encode())


def _minutes(delta: timedelta) -> int:
    return max(1, int((delta.total_seconds() + 59) // 60))


def _wait_text(delta: timedelta) -> str:
    """ "12 分钟" or, from two hours on, "3 小时" (rounded up)."""
    minutes = _minutes(delta)
    if minutes < 120:
        return _("%(minutes)d 分钟") % {"minutes": minutes}
    return _("%(hours)d 小时") % {"hours": (minutes + 59) // 60}


def _rate_limited(message) -> ApplicationError:
    return ApplicationError("rate_limited", message, status=429)


def _valid_ip(ip: str) -> str | None:
    """The address for the challenge's `ip` column, or None: a proxy may write junk."""
    try:
        return str(ipaddress.ip_address((ip or "").strip()))
    except ValueError:
        return None


def throttle_hit(*, scope: str, key: str, limits, now=None) -> None:
    """Count one request of `scope` from `key` (an address), or refuse if any (count, window)
    in `limits` is already reached. Refused requests are not counted. Requests whose address
    is unknown (a misconfigured proxy, a unix socket) share one key: they are limited
    together rather than not at all. All windows are counted in one statement."""
    key = (key or "unknown")[:64]
    now = now or timezone.now()
    if limits:
        recent = ThrottleHit.objects.filter(
            scope=scope, key=key, at__gt=now - max(window for _count, window in limits)
        )
        counts = recent.aggregate(
            **{
                f"n{i}": Count("pk", filter=Q(at__gt=now - window))
                for i, (_count, window) in enumerate(limits)
            }
        )
        for i, (count, window) in enumerate(limits):
            if counts[f"n{i}"] >= count:
                oldest = recent.filter(at__gt=now - window).aggregate(oldest=Min("at"))["oldest"]
                raise _rate_limited(
                    _("操作过于频繁，请 %(wait)s后再试。")
                    % {"wait": _wait_text((oldest or now) + window - now)}
                )
    ThrottleHit.objects.create(scope=scope, key=key, at=now)


def first_today(*, scope: str, key: str, now=None) -> bool:
    """True the first time `key` is seen for `scope` on this local day, False after. The key
    is kept only as a hash (it may hold an address), for a day."""
    now = now or timezone.now()
    digest = hashlib.sha256(f"{scope}|{key}".encode()).hexdigest()[:64]
    midnight = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    if ThrottleHit.objects.filter(scope=scope, key=digest, at__gte=midnight).exists():
        return False
    ThrottleHit.objects.create(scope=scope, key=digest, at=now)
    return True


def throttle_purge(*, now=None) -> int:
    """Forget what no limit looks at any more: throttle hits and codes older than a day (the
    longest window), and mobiles' failure records a day after their last wrong code and their
    last lock. Returns how many rows went."""
    now = now or timezone.now()
    cutoff = now - FORGIVE_AFTER
    hits, _rows = ThrottleHit.objects.filter(at__lt=cutoff).delete()
    codes, _rows = OtpChallenge.objects.filter(created_at__lt=cutoff).delete()
    locks, _rows = (
        OtpLock.objects.filter(updated_at__lt=cutoff)
        .exclude(locked_until__gte=cutoff)  # NULL passes: never locked
        .delete()
    )
    return hits + codes + locks


def otp_redact_sent(now=None) -> int:
    """Blank the code ("******") in code SMS older than a code lives, once the gateway is done
    with them (sent, delivered or failed): the outbox is the only place a code is kept in
    clear. Queued and in-flight messages are left for a later run, because they may still be
    (re)sent. Run by the worker; returns how many messages were changed."""
    now = now or timezone.now()
    stale = OutboundSms.objects.filter(
        purpose=SmsPurpose.OTP,
        created_at__lt=now - timedelta(minutes=settings.OTP_TTL_MINUTES),
        status__in=[OutboundStatus.SENT, OutboundStatus.DELIVERED, OutboundStatus.FAILED],
        body__regex=rf"[0-9]{{{CODE_DIGITS}}}",
    )
    changed = 0
    for pk, body in stale.values_list("pk", "body").iterator(chunk_size=500):
        redacted = _CODE_IN_TEXT.sub(REDACTED_CODE, body)
        if redacted != body:
            changed += OutboundSms.objects.filter(pk=pk, body=body).update(body=redacted)
    return changed


def _lock_row(mobile_hash: str, now) -> OtpLock:
    """The mobile's failure record, locked for this transaction (created on first use): it
    serialises code requests and checks for one mobile. Failures and locks a day old are
    forgiven here.

    One statement, an upsert whose (no-op) update takes the row lock on PostgreSQL, instead of
    get_or_create's SELECT … FOR UPDATE, savepoint, INSERT (a first-time voter's code request
    is the common case in a vote). SQLite's write transaction serialises anyway."""
    updated_at = OtpLock._meta.get_field("updated_at").get_db_prep_value(now, connection)
    upsert = OtpLock.objects.raw(
        "INSERT INTO portal_otplock (mobile_hash, failures, locks, locked_until, updated_at) "
        "VALUES (%s, 0, 0, NULL, %s) ON CONFLICT (mobile_hash) "
        "DO UPDATE SET failures = portal_otplock.failures "
        "RETURNING id, mobile_hash, failures, locks, locked_until, updated_at",
        [mobile_hash, updated_at],
    )
    lock = next(iter(upsert))
    quiet_since = max(lock.updated_at, lock.locked_until or lock.updated_at)
    if (lock.failures or lock.locks) and now - quiet_since > FORGIVE_AFTER:
        lock.failures = 0
        lock.locks = 0
        lock.save(update_fields=["failures", "locks"])
    return lock


def _commit_lazily() -> None:
    """On PostgreSQL, let this transaction's commit return before its WAL reaches the disk
    (`synchronous_commit = off`, this transaction only). For codes and their failure counts
    only: a crash may forget the last fraction of a second of them (a code to ask again, a
    wrong guess uncounted), never a ballot or a case, whose own commits stay synchronous and
    flush the WAL written before them."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _is_locked(lock: OtpLock, now) -> bool:
    return bool(lock.locked_until and lock.locked_until > now)


def _lock_error(lock: OtpLock, now) -> ApplicationError:
    return ApplicationError(
        "otp_locked",
        _("验证码错误次数过多，该手机号已锁定，请 %(wait)s后再试。")
        % {"wait": _wait_text(lock.locked_until - now)},
        field="code",
        status=429,
    )


def _cooling_down(latest: OtpChallenge, *, mobile: str, purpose: str, subject: str, now):
    """The refusal of a second code within a minute. The limit is per mobile, whichever
    browser asks: a second device (or a second tab) that never saw the first code is told
    plainly where the code went and whether it would work here, not left waiting for an SMS
    that is not coming."""
    seconds = max(1, int((latest.created_at + timedelta(minutes=1) - now).total_seconds() + 0.999))
    values = {"mobile": mask_mobile(mobile), "seconds": seconds}
    if latest.purpose == purpose and latest.subject == subject:
        message = _(
            "不到 1 分钟前已向 %(mobile)s 发送过验证码（每个手机号每分钟只能获取一次）。"
            "请使用该短信中的验证码，或 %(seconds)d 秒后再重新获取。"
        )
    else:
        message = _(
            "不到 1 分钟前已向 %(mobile)s 发送过用于其他业务的验证码，不能用于本次操作"
            "（每个手机号每分钟只能获取一次）。请 %(seconds)d 秒后再获取。"
        )
    return _rate_limited(message % values)


# Everything the code limits need, in one statement (FILTER works on PostgreSQL and SQLite):
# the ORM's filtered aggregates cost several times the statement itself on this hot path.
_LIMITS_SQL = """
SELECT COUNT(*) FILTER (WHERE mobile_hash = %(mobile)s AND created_at > %(minute)s),
       COUNT(*) FILTER (WHERE mobile_hash = %(mobile)s AND created_at > %(hour)s),
       MIN(created_at) FILTER (WHERE mobile_hash = %(mobile)s AND created_at > %(hour)s),
       COUNT(*) FILTER (WHERE {address} AND created_at > %(hour)s),
       MIN(created_at) FILTER (WHERE {address} AND created_at > %(hour)s),
       COUNT(*) FILTER (WHERE {address}),
       MIN(created_at) FILTER (WHERE {address})
  FROM portal_otpchallenge
 WHERE created_at > %(day)s AND (mobile_hash = %(mobile)s OR {address})
"""


def _as_datetime(value):
    """MIN() of a timestamp comes back as text (UTC) on SQLite."""
    if isinstance(value, str):
        return parse_datetime(value).replace(tzinfo=UTC)
    return value


def _check_limits(mobile_hash: str, *, ip, mobile: str, purpose: str, subject: str, now):
    """Refuse a code the mobile or the address may not have yet: one a minute and
    MINYI_OTP_PER_MOBILE_HOUR an hour per mobile; MINYI_OTP_PER_IP_HOUR and _DAY per address.
    The codes themselves are the count (each holds its address; requests whose address is
    missing or malformed share the NULL one, limited together)."""
    hour, day = now - timedelta(hours=1), now - timedelta(days=1)
    at = OtpChallenge._meta.get_field("created_at")
    params = {
        "mobile": mobile_hash,
        "ip": ip,
        **{
            name: at.get_db_prep_value(when, connection)
            for name, when in (("minute", now - timedelta(minutes=1)), ("hour", hour), ("day", day))
        },
    }
    sql = _LIMITS_SQL.format(address="ip = %(ip)s" if ip else "ip IS NULL")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    minute, mobile_hour, mobile_oldest, address_hour, hour_oldest, address_day, day_oldest = [
        _as_datetime(value) for value in row
    ]
    if minute:
        latest = OtpChallenge.objects.filter(mobile_hash=mobile_hash).latest("created_at", "id")
        raise _cooling_down(latest, mobile=mobile, purpose=purpose, subject=subject, now=now)
    if mobile_hour >= settings.OTP_PER_MOBILE_HOUR:
        raise _rate_limited(
            _("该手机号 1 小时内获取验证码次数已达上限，请 %(wait)s后再试。")
            % {"wait": _wait_text(mobile_oldest + timedelta(hours=1) - now)}
        )
    address_windows = (
        (settings.OTP_PER_IP_HOUR, hour, address_hour, hour_oldest),
        (settings.OTP_PER_IP_DAY, day, address_day, day_oldest),
    )
    for limit, since, count, oldest in address_windows:
        if count >= limit:
            raise _rate_limited(
                _("操作过于频繁，请 %(wait)s后再试。") % {"wait": _wait_text(oldest - since)}
            )


def otp_request(*, mobile: str, purpose: str, ip: str = "", subject: str = "", now=None):
    """Send a code to `mobile` for `purpose` (and `subject`, e.g. one case party). At most one a
    minute and MINYI_OTP_PER_MOBILE_HOUR an hour per mobile, and MINYI_OTP_PER_IP_HOUR / _DAY
    per address; a locked mobile gets none. A new code replaces the mobile's earlier ones for
    the same purpose and subject."""
    now = now or timezone.now()
    if purpose not in OtpPurpose.values:
        raise ApplicationError("invalid_purpose", _("验证码用途不正确。"))
    mobile = normalize_mobile(mobile)
    mobile_hash = lookup_hash("mobile", mobile)
    with transaction.atomic():
        _commit_lazily()
        lock = _lock_row(mobile_hash, now)
        if _is_locked(lock, now):
            raise _lock_error(lock, now)
        _check_limits(
            mobile_hash, ip=_valid_ip(ip), mobile=mobile, purpose=purpose, subject=subject, now=now
        )
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        salt = secrets.token_hex(8)
        challenge = OtpChallenge.objects.create(
            mobile_hash=mobile_hash,
            purpose=purpose,
            subject=subject,
            code_hash=f"{salt}${_code_hash(salt, code)}",
            ip=_valid_ip(ip),
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


def _count_failure(lock: OtpLock, now) -> None:
    """One more wrong code for the (row-locked) mobile; the 5th in a row locks it, each lock
    twice as long as the one before (15, 30, 60 min …), at most a day."""
    lock.failures += 1
    if lock.failures >= settings.OTP_MAX_FAILURES:
        minutes = settings.OTP_LOCK_MINUTES * 2 ** min(lock.locks, 16)
        lock.locked_until = now + min(timedelta(minutes=minutes), MAX_LOCK)
        lock.locks = min(lock.locks + 1, 100)
        lock.failures = 0
    lock.updated_at = now
    lock.save(update_fields=["failures", "locks", "locked_until", "updated_at"])


def _use(challenge: OtpChallenge, now) -> bool:
    """Mark the code used, if it still is unused: True for the one caller that did."""
    return bool(
        OtpChallenge.objects.filter(pk=challenge.pk, used_at__isnull=True).update(used_at=now)
    )


def _clean_code(code) -> str:
    """What the citizen typed, as ASCII digits: full-width digits and spaces are forgiven."""
    text = unicodedata.normalize("NFKC", str(code or ""))
    return re.sub(r"\s", "", text)


def otp_verify(*, mobile: str, purpose: str, code: str, subject: str = "", now=None) -> str:
    """Check `code` for (`mobile`, `purpose`, `subject`); returns the normalised mobile. Only
    the newest code counts; it works once and for MINYI_OTP_TTL_MINUTES; wrong codes count
    towards the mobile's lock, in a transaction of their own that commits before the refusal
    is raised."""
    now = now or timezone.now()
    mobile = normalize_mobile(mobile)
    mobile_hash = lookup_hash("mobile", mobile)
    code = _clean_code(code)
    if not re.fullmatch(rf"[0-9]{{{CODE_DIGITS}}}", code):
        raise ApplicationError("invalid_code", _("请输入短信中的 6 位数字验证码。"), field="code")
    with transaction.atomic(durable=True):
        _commit_lazily()
        lock = _lock_row(mobile_hash, now)
        if _is_locked(lock, now):
            raise _lock_error(lock, now)
        codes = OtpChallenge.objects.filter(
            mobile_hash=mobile_hash, purpose=purpose, subject=subject
        ).order_by("-created_at", "-id")
        challenge = codes.select_for_update().first()
        if challenge is None:
            error = ApplicationError("otp_missing", _("请先获取验证码。"), field="code")
        elif challenge.used_at is not None:
            error = ApplicationError(
                "otp_used", _("该验证码已使用过，请重新获取验证码。"), field="code"
            )
        elif challenge.expires_at <= now:
            error = ApplicationError(
                "otp_expired",
                _("验证码已过期（%(ttl)d 分钟内有效），请重新获取。")
                % {"ttl": settings.OTP_TTL_MINUTES},
                field="code",
            )
        elif _code_matches(challenge, code):
            if _use(challenge, now):
                if lock.failures:
                    OtpLock.objects.filter(pk=lock.pk).update(failures=0, updated_at=now)
                return mobile
            error = ApplicationError(
                "otp_used", _("该验证码已使用过，请重新获取验证码。"), field="code"
            )
        elif any(_code_matches(older, code) for older in codes[1 : settings.OTP_PER_MOBILE_HOUR]):
            # The citizen holds a real, earlier code: not a guess, so not counted.
            error = ApplicationError(
                "otp_superseded",
                _("该验证码已失效：您后来又获取过验证码，请输入最新一条短信中的验证码。"),
                field="code",
            )
        else:
            OtpChallenge.objects.filter(pk=challenge.pk).update(
                failed_attempts=F("failed_attempts") + 1
            )
            _count_failure(lock, now)
            if _is_locked(lock, now):
                error = _lock_error(lock, now)
            else:
                left = settings.OTP_MAX_FAILURES - lock.failures
                error = ApplicationError(
                    "otp_wrong",
                    _("验证码不正确，还可以再试 %(n)d 次。") % {"n": left},
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
