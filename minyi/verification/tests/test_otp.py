"""The verified mobile (一次性短信验证码): the rules of docs/security.md, with the real services,
the real database and the SMS outbox; time moves through `now=`.

Issue: "a one-time 6-digit SMS code, valid 10 minutes, single use, bound to its purpose; at most
1 code a minute and 5 an hour per mobile and limits per address; after 5 wrong codes the mobile
is locked for a growing time." Abuse tests: code guessing is locked out; a flood of code
requests is limited per mobile and per address.
"""

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from minyi.core.errors import ApplicationError
from minyi.core.pii import lookup_hash
from minyi.integrations.sms.models import OutboundSms, OutboundStatus, SmsPurpose
from minyi.verification.models import OtpChallenge, OtpLock, OtpPurpose, ThrottleHit
from minyi.verification.services import (
    otp_redact_sent,
    otp_request,
    otp_verify,
    session_mark_verified,
    session_verified_mobile,
    throttle_hit,
    throttle_purge,
)

pytestmark = pytest.mark.django_db

MOBILE = "13800138000"
OTHER = "13900139000"
SUBMIT = OtpPurpose.OPINION_SUBMIT
LOOKUP = OtpPurpose.OPINION_LOOKUP
CASE = OtpPurpose.CASE_LOOKUP
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def t0():
    return timezone.now().replace(microsecond=0)


def send(mobile=MOBILE, purpose=SUBMIT, *, at, ip="203.0.113.7", subject="") -> str:
    """Ask for a code and read it from the SMS the citizen got."""
    otp_request(mobile=mobile, purpose=purpose, ip=ip, subject=subject, now=at)
    body = OutboundSms.objects.filter(purpose=SmsPurpose.OTP).latest("id").body
    return re.search(r"(?<![0-9])([0-9]{6})(?![0-9])", body).group(1)


def refused(fn, **kwargs) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        fn(**kwargs)
    return caught.value


def verify(code, mobile=MOBILE, purpose=SUBMIT, *, at, subject=""):
    return otp_verify(mobile=mobile, purpose=purpose, code=code, subject=subject, now=at)


def verify_refused(code, mobile=MOBILE, purpose=SUBMIT, *, at, subject="") -> ApplicationError:
    return refused(otp_verify, mobile=mobile, purpose=purpose, code=code, subject=subject, now=at)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def assert_chinese(error: ApplicationError) -> None:
    assert CJK.search(str(error.message)), error.message


# --- Sending ----------------------------------------------------------------------------


def test_a_code_is_six_digits_sent_by_sms_and_stored_only_as_a_keyed_hash(t0):
    # When a citizen asks for a code
    challenge = otp_request(mobile="+86 138-0013-8000", purpose=SUBMIT, ip="203.0.113.7", now=t0)

    # Then one SMS with 6 digits goes to the (normalised) mobile, saying what it is for
    sms = OutboundSms.objects.get(purpose=SmsPurpose.OTP)
    assert sms.to_mobile == MOBILE
    assert sms.status == OutboundStatus.QUEUED
    code = re.search(r"验证码 ([0-9]{6})，", sms.body).group(1)
    assert "提交留言" in sms.body and "10 分钟内有效" in sms.body
    # And the database keeps neither the code nor the mobile in clear
    challenge.refresh_from_db()
    assert code not in challenge.code_hash and MOBILE not in challenge.mobile_hash
    assert challenge.mobile_hash == lookup_hash("mobile", MOBILE)
    assert len(challenge.code_hash) <= 64  # fits the column on PostgreSQL
    assert challenge.expires_at == t0 + timedelta(minutes=10)
    assert challenge.ip == "203.0.113.7"


def test_codes_differ_between_requests(t0):
    codes = {send(f"1380013{i:04d}", at=t0) for i in range(20)}
    assert len(codes) > 15  # 20 draws from a million: a repeat is rare, many repeats a bug


def test_a_second_code_within_a_minute_is_refused_and_allowed_after_it(t0):
    # Given a code sent just now
    send(at=t0)
    # When the citizen asks again 30 seconds later
    error = refused(
        otp_request, mobile=MOBILE, purpose=SUBMIT, ip="203.0.113.7", now=t0 + timedelta(seconds=30)
    )
    # Then it is refused with 429 and told how long to wait, and no second SMS goes out
    assert (error.code, error.status) == ("rate_limited", 429)
    assert "30 秒后" in str(error.message)
    assert OutboundSms.objects.filter(purpose=SmsPurpose.OTP).count() == 1
    # And a minute after the first one, a new code is sent (for any purpose of that mobile)
    send(purpose=LOOKUP, at=t0 + timedelta(seconds=61))
    assert OtpChallenge.objects.count() == 2


def test_the_sixth_code_in_an_hour_is_refused(t0):
    # Given five codes to one mobile, a minute and a bit apart
    for i in range(5):
        send(at=t0 + timedelta(seconds=61 * i))
    # When a sixth is asked for (still within the hour of the first)
    error = refused(
        otp_request,
        mobile=MOBILE,
        purpose=SUBMIT,
        ip="198.51.100.1",
        now=t0 + timedelta(minutes=30),
    )
    # Then it is refused, even from another address, and the citizen is told when to retry
    assert (error.code, error.status) == ("rate_limited", 429)
    assert "1 小时内获取验证码次数已达上限" in str(error.message)
    assert "30 分钟后" in str(error.message)
    assert OtpChallenge.objects.count() == 5
    # And once the first code is an hour old, one more may be sent
    send(at=t0 + timedelta(hours=1, seconds=1))


@override_settings(OTP_PER_IP_HOUR=3, OTP_PER_IP_DAY=5)
def test_one_address_asking_codes_for_many_mobiles_is_limited_per_hour_and_per_day(t0):
    ip = "198.51.100.23"
    # Given three codes for three mobiles from one address
    for i in range(3):
        send(f"1370000000{i}", at=t0, ip=ip)
    # When a fourth mobile is tried from the same address
    error = refused(otp_request, mobile="13700000003", purpose=SUBMIT, ip=ip, now=t0)
    # Then it is refused (429) and nothing is sent or counted
    assert (error.code, error.status) == ("rate_limited", 429)
    assert "操作过于频繁" in str(error.message) and "60 分钟后" in str(error.message)
    assert OtpChallenge.objects.filter(ip=ip).count() == 3
    # And another address is not affected
    send("13700000003", at=t0, ip="198.51.100.24")
    # When the hour has passed, two more go through, then the day's limit (5) stops the address
    later = t0 + timedelta(hours=1, minutes=1)
    send("13700000004", at=later, ip=ip)
    send("13700000005", at=later, ip=ip)
    error = refused(otp_request, mobile="13700000006", purpose=SUBMIT, ip=ip, now=later)
    assert error.code == "rate_limited"
    assert "小时后" in str(error.message)  # the day window: hours, not 1,380 minutes


def test_a_code_refused_for_the_mobile_does_not_use_up_the_address_allowance(t0):
    send(at=t0, ip="198.51.100.9")
    refused(otp_request, mobile=MOBILE, purpose=SUBMIT, ip="198.51.100.9", now=t0)
    assert OtpChallenge.objects.filter(ip="198.51.100.9").count() == 1


@override_settings(OTP_PER_IP_HOUR=2)
def test_a_forged_address_is_not_stored_as_an_address_but_still_throttles(t0):
    challenge = otp_request(mobile=MOBILE, purpose=SUBMIT, ip="unknown, 1.2.3.4", now=t0)
    assert challenge.ip is None
    # Missing and malformed addresses are limited together, whatever the junk says
    send("13700000001", at=t0, ip="")
    error = refused(otp_request, mobile="13700000002", purpose=SUBMIT, ip="1.2.3.4, x", now=t0)
    assert error.code == "rate_limited"
    send("13700000002", at=t0, ip="198.51.100.9")


def test_an_unknown_purpose_or_a_bad_mobile_is_refused_clearly(t0):
    error = refused(otp_request, mobile=MOBILE, purpose="vote_admin", now=t0)
    assert error.code == "invalid_purpose"
    error = refused(otp_request, mobile="12345", purpose=SUBMIT, now=t0)
    assert error.code == "invalid_mobile"
    assert_chinese(error)
    assert not OutboundSms.objects.exists()


def test_requests_without_an_address_are_limited_together(t0):
    # Given a request whose address is unknown (a proxy that drops it)
    throttle_hit(scope="case_lookup", key="", limits=[(1, timedelta(hours=1))], now=t0)
    # Then a second one from another unknown address is refused: unknown is not unlimited
    error = refused(
        throttle_hit, scope="case_lookup", key="", limits=[(1, timedelta(hours=1))], now=t0
    )
    assert error.code == "rate_limited"
    assert ThrottleHit.objects.get().key == "unknown"


# --- Checking ----------------------------------------------------------------------------


def test_the_right_code_passes_once_and_a_replay_is_refused(t0):
    code = send(at=t0)
    # When the citizen enters it (full-width digits and spaces forgiven)
    fullwidth = code.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert verify(f" {fullwidth[:3]} {fullwidth[3:]} ", at=t0 + timedelta(minutes=2)) == MOBILE
    assert OtpChallenge.objects.get().used_at == t0 + timedelta(minutes=2)
    # When the same code is entered again
    error = verify_refused(code, at=t0 + timedelta(minutes=3))
    # Then it is refused: used once
    assert error.code == "otp_used" and error.field == "code"
    assert "已使用过" in str(error.message)


def test_an_expired_code_is_refused_after_ten_minutes(t0):
    code = send(at=t0)
    error = verify_refused(code, at=t0 + timedelta(minutes=11))
    assert error.code == "otp_expired"
    assert "已过期" in str(error.message) and "10 分钟" in str(error.message)
    # And an expired code is not a guess: nothing counted
    assert OtpLock.objects.get().failures == 0


def test_a_code_just_inside_its_ten_minutes_passes(t0):
    code = send(at=t0)
    assert verify(code, at=t0 + timedelta(minutes=9, seconds=59)) == MOBILE


def test_a_code_for_one_purpose_is_refused_for_another(t0):
    # Given a code asked for to submit an opinion
    code = send(purpose=SUBMIT, at=t0)
    # When it is used to look up opinions
    error = verify_refused(code, purpose=LOOKUP, at=t0 + timedelta(minutes=1))
    # Then it is refused, and it still works for its own purpose
    assert error.code == "otp_missing"
    assert "请先获取验证码" in str(error.message)
    assert verify(code, purpose=SUBMIT, at=t0 + timedelta(minutes=1)) == MOBILE


def test_a_code_for_one_case_party_is_refused_for_another(t0):
    # Given a code sent for party 1's case lookup, and one for party 2 to the same mobile later
    code_1 = send(purpose=CASE, subject="party:1", at=t0)
    code_2 = send(purpose=CASE, subject="party:2", at=t0 + timedelta(minutes=2))
    assert code_1 != code_2  # two random codes: equal once in a million runs
    # When party 1's code is entered for party 2
    error = verify_refused(code_1, purpose=CASE, subject="party:2", at=t0 + timedelta(minutes=3))
    # Then it is refused (a wrong code for party 2)
    assert error.code == "otp_wrong"
    # When a code is entered for a party none was sent for
    error = verify_refused(code_1, purpose=CASE, subject="party:3", at=t0 + timedelta(minutes=3))
    assert error.code == "otp_missing"
    # And each code opens its own party only
    assert verify(code_1, purpose=CASE, subject="party:1", at=t0 + timedelta(minutes=4)) == MOBILE
    assert verify(code_2, purpose=CASE, subject="party:2", at=t0 + timedelta(minutes=4)) == MOBILE


def test_a_newer_code_supersedes_the_older_one(t0):
    # Given two codes to the same mobile for the same purpose, a minute apart
    older = send(at=t0)
    newer = send(at=t0 + timedelta(minutes=1, seconds=5))
    assert older != newer  # two random codes: equal once in a million runs
    # When the older one is entered
    error = verify_refused(older, at=t0 + timedelta(minutes=2))
    # Then it is refused with a message saying why, and it is not counted as a guess
    assert error.code == "otp_superseded"
    assert "最新" in str(error.message)
    assert OtpLock.objects.get().failures == 0
    # And the newer one works
    assert verify(newer, at=t0 + timedelta(minutes=2)) == MOBILE


def test_a_code_that_is_not_six_digits_is_refused_without_counting(t0):
    send(at=t0)
    for typed in ["", "12345", "1234567", "12a456"]:
        error = verify_refused(typed, at=t0)
        assert error.code == "invalid_code" and error.field == "code"
        assert "6 位数字" in str(error.message)
    assert OtpLock.objects.get().failures == 0


# --- Guessing ----------------------------------------------------------------------------


def _guess_five_times(code, at) -> list[ApplicationError]:
    return [verify_refused(wrong(code), at=at + timedelta(seconds=i)) for i in range(5)]


def test_five_wrong_codes_lock_the_mobile_even_for_the_right_code(t0):
    code = send(at=t0)
    # When five wrong codes are entered
    errors = _guess_five_times(code, t0)
    # Then the first four say how many tries are left, the fifth locks (429)
    assert [e.code for e in errors] == ["otp_wrong"] * 4 + ["otp_locked"]
    assert [str(e.message) for e in errors[:4]] == [
        f"验证码不正确，还可以再试 {n} 次。" for n in (4, 3, 2, 1)
    ]
    assert errors[4].status == 429
    assert "已锁定" in str(errors[4].message) and "15 分钟后" in str(errors[4].message)
    # And while locked even the right code is refused, and it is not used up by the refusal
    error = verify_refused(code, at=t0 + timedelta(minutes=1))
    assert (error.code, error.status) == ("otp_locked", 429)
    assert OtpChallenge.objects.get().used_at is None
    assert OtpChallenge.objects.get().failed_attempts == 5


def test_a_locked_mobile_cannot_ask_for_a_new_code(t0):
    code = send(at=t0)
    _guess_five_times(code, t0)
    error = refused(
        otp_request, mobile=MOBILE, purpose=LOOKUP, ip="192.0.2.1", now=t0 + timedelta(minutes=5)
    )
    assert (error.code, error.status) == ("otp_locked", 429)
    assert OutboundSms.objects.filter(purpose=SmsPurpose.OTP).count() == 1


def test_each_lock_lasts_twice_as_long_as_the_one_before_up_to_a_day(t0):
    # Given a mobile guessed at again and again, each time as soon as its lock ends
    expected = [15, 30, 60, 120, 240, 480, 960, 1440, 1440]
    at = t0
    for minutes in expected:
        code = send(at=at)
        errors = _guess_five_times(code, at)
        locked_at = at + timedelta(seconds=4)
        assert errors[-1].code == "otp_locked"
        lock = OtpLock.objects.get()
        # Then the lock lasts 15, 30, 60 minutes … and never more than a day
        assert lock.locked_until == locked_at + timedelta(minutes=minutes)
        # And it holds until its last second, for codes and code requests alike
        just_before = lock.locked_until - timedelta(seconds=1)
        assert verify_refused(code, at=just_before).code == "otp_locked"
        assert refused(otp_request, mobile=MOBILE, purpose=SUBMIT, now=just_before).code == (
            "otp_locked"
        )
        at = lock.locked_until
    assert "24 小时后" in str(errors[-1].message)


def test_a_day_without_trouble_after_the_last_lock_forgives_the_earlier_locks(t0):
    # Given a mobile locked twice (15, then 30 minutes)
    code = send(at=t0)
    _guess_five_times(code, t0)
    at = OtpLock.objects.get().locked_until
    code = send(at=at)
    _guess_five_times(code, at)
    assert OtpLock.objects.get().locks == 2
    # When a day passes after the second lock ends, and five wrong codes come again
    at = OtpLock.objects.get().locked_until + timedelta(days=1, minutes=1)
    code = send(at=at)
    errors = _guess_five_times(code, at)
    # Then the new lock is the first again: 15 minutes
    assert "15 分钟后" in str(errors[-1].message)


def test_a_success_resets_the_count_of_wrong_codes(t0):
    # Given four wrong codes, then the right one
    code = send(at=t0)
    for i in range(4):
        verify_refused(wrong(code), at=t0 + timedelta(seconds=i))
    assert verify(code, at=t0 + timedelta(seconds=10)) == MOBILE
    assert OtpLock.objects.get().failures == 0
    # When a new code is asked for and four wrong ones are entered again
    code = send(at=t0 + timedelta(minutes=2))
    errors = [verify_refused(wrong(code), at=t0 + timedelta(minutes=3)) for _ in range(4)]
    # Then the mobile is not locked (the earlier four were forgiven), the fifth locks it
    assert [e.code for e in errors] == ["otp_wrong"] * 4
    assert verify_refused(wrong(code), at=t0 + timedelta(minutes=3)).code == "otp_locked"


def test_wrong_codes_count_per_mobile_across_purposes_and_new_codes(t0):
    # Given three wrong codes for one purpose, and two for another with a fresh code
    code = send(purpose=SUBMIT, at=t0)
    for _ in range(3):
        verify_refused(wrong(code), purpose=SUBMIT, at=t0)
    code = send(purpose=LOOKUP, at=t0 + timedelta(minutes=2))
    errors = [
        verify_refused(wrong(code), purpose=LOOKUP, at=t0 + timedelta(minutes=2)) for _ in range(2)
    ]
    # Then asking for a new code did not start the count again: the mobile is locked
    assert [e.code for e in errors] == ["otp_wrong", "otp_locked"]
    # And another mobile is not affected
    other_code = send(OTHER, at=t0 + timedelta(minutes=3))
    assert verify(other_code, OTHER, at=t0 + timedelta(minutes=3)) == OTHER


def test_every_refusal_has_a_clear_chinese_message(t0):
    code = send(at=t0)
    errors = [
        refused(otp_request, mobile=MOBILE, purpose=SUBMIT, now=t0),
        verify_refused("12", at=t0),
        verify_refused(code, purpose=LOOKUP, at=t0),
        verify_refused(wrong(code), at=t0),
        verify_refused(code, at=t0 + timedelta(minutes=11)),
    ]
    code = send(at=t0 + timedelta(minutes=12))
    verify(code, at=t0 + timedelta(minutes=12))
    errors.append(verify_refused(code, at=t0 + timedelta(minutes=12)))
    assert [e.code for e in errors] == [
        "rate_limited",
        "invalid_code",
        "otp_missing",
        "otp_wrong",
        "otp_expired",
        "otp_used",
    ]
    for error in errors:
        assert_chinese(error)
        assert error.as_dict()["message"] == str(error.message)


def test_otp_verify_refuses_to_run_inside_a_callers_transaction(t0):
    """A caller's rollback would un-count wrong codes; the durable block makes that a loud
    programming error instead. Pages and the API do not wrap requests in a transaction."""
    code = send(at=t0)
    assert not any(db.get("ATOMIC_REQUESTS") for db in settings.DATABASES.values())
    with pytest.raises(RuntimeError), transaction.atomic():
        verify(wrong(code), at=t0)
    assert OtpLock.objects.get().failures == 0
    # Outside any transaction of the caller's it counts
    verify_refused(wrong(code), at=t0)
    assert OtpLock.objects.get().failures == 1


# --- The proven mobile in the session -----------------------------------------------------


def test_the_session_remembers_a_proven_mobile_encrypted_for_its_purpose_and_30_minutes(t0, client):
    session = client.session
    session_mark_verified(session, purpose=CASE, mobile=MOBILE, subject="party:1", now=t0)
    assert MOBILE not in str(session["minyi_verified"])
    assert session_verified_mobile(session, purpose=CASE, subject="party:1", now=t0) == MOBILE
    assert session_verified_mobile(session, purpose=CASE, subject="party:2", now=t0) == ""
    assert session_verified_mobile(session, purpose=SUBMIT, now=t0) == ""
    later = t0 + timedelta(minutes=31)
    assert session_verified_mobile(session, purpose=CASE, subject="party:1", now=later) == ""


# --- Housekeeping ------------------------------------------------------------------------


def test_throttle_purge_forgets_rows_older_than_a_day_and_keeps_fresh_ones(t0):
    # Given hits, codes and a failure record from two days ago, and fresh ones
    old = t0 - timedelta(days=2)
    throttle_hit(scope="case_lookup", key="192.0.2.1", limits=[], now=old)
    throttle_hit(scope="case_lookup", key="192.0.2.1", limits=[], now=t0)
    old_code = send(OTHER, at=old, ip="")
    verify_refused(wrong(old_code), OTHER, at=old)
    fresh_code = send(at=t0, ip="")
    verify_refused(wrong(fresh_code), at=t0)
    # When the worker purges
    deleted = throttle_purge(now=t0)
    # Then only the old rows went (a hit, a code and a failure record)
    assert deleted == 3
    assert list(ThrottleHit.objects.values_list("at", flat=True)) == [t0]
    assert OtpChallenge.objects.get().mobile_hash == lookup_hash("mobile", MOBILE)
    assert OtpLock.objects.get().mobile_hash == lookup_hash("mobile", MOBILE)
    # And the fresh code still works
    assert verify(fresh_code, at=t0) == MOBILE


def test_throttle_purge_keeps_a_recent_lock(t0):
    # Given a mobile locked 23 hours ago at its 8th lock (a day long): still locked
    OtpLock.objects.create(
        mobile_hash=lookup_hash("mobile", MOBILE),
        locks=8,
        locked_until=t0 + timedelta(hours=1),
        updated_at=t0 - timedelta(hours=23),
    )
    assert throttle_purge(now=t0 + timedelta(hours=2)) == 0
    assert OtpLock.objects.exists()


def test_otp_redact_sent_blanks_old_codes_and_leaves_fresh_and_unsent_ones():
    now = timezone.now()
    # Given three code SMS: one sent long ago, one sent just now, one still queued
    old_code = send(at=now)
    old = OutboundSms.objects.latest("id")
    fresh_code = send(OTHER, at=now)
    fresh = OutboundSms.objects.latest("id")
    queued_code = send("13700137000", at=now)
    queued = OutboundSms.objects.latest("id")
    OutboundSms.objects.filter(pk=old.pk).update(
        created_at=now - timedelta(minutes=11), status=OutboundStatus.DELIVERED
    )
    OutboundSms.objects.filter(pk=fresh.pk).update(status=OutboundStatus.SENT)
    OutboundSms.objects.filter(pk=queued.pk).update(created_at=now - timedelta(minutes=30))
    survey = OutboundSms.objects.create(
        to_mobile=MOBILE,
        to_mobile_hash=lookup_hash("mobile", MOBILE),
        body="请回复 1-5 评价，编号 123456",
        purpose=SmsPurpose.SURVEY,
        status=OutboundStatus.SENT,
        created_at=now - timedelta(days=1),
    )

    # When the worker redacts
    assert otp_redact_sent(now=now) == 1

    # Then the old code is gone from the outbox, the rest of the text stays
    old.refresh_from_db()
    assert old_code not in old.body and "验证码 ******，" in old.body
    assert old.body.startswith(settings.SMS_SIGNATURE) and "10 分钟内有效" in old.body
    # And the fresh and the still-queued codes and other messages are untouched
    assert fresh_code in OutboundSms.objects.get(pk=fresh.pk).body
    assert queued_code in OutboundSms.objects.get(pk=queued.pk).body
    assert "123456" in OutboundSms.objects.get(pk=survey.pk).body
    # And a second run has nothing left to do; a later one catches the fresh code
    assert otp_redact_sent(now=now) == 0
    assert otp_redact_sent(now=now + timedelta(minutes=11)) == 1
    assert fresh_code not in OutboundSms.objects.get(pk=fresh.pk).body


@pytest.mark.parametrize("mobile", ["1381234000١", "١٣٨٠٠١٣٨٠٠٠", "१३८००१३८०००", "13800138००0"])
def test_a_mobile_in_another_scripts_digits_gets_no_code(t0, mobile):
    # Issue 12: "1381234000١" got a code "sent"; only ASCII (or full-width) digits are a mobile
    error = refused(otp_request, mobile=mobile, purpose=SUBMIT, now=t0)
    assert error.code == "invalid_mobile"
    assert_chinese(error)
    assert not OutboundSms.objects.exists() and not OtpChallenge.objects.exists()
    send("１３８００１３８０００", at=t0)  # full-width is how a Chinese keyboard may type it
    assert OtpChallenge.objects.get().mobile_hash == lookup_hash("mobile", MOBILE)
