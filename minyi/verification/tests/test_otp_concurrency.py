"""One-time codes under concurrent use: a code is accepted once even when two checks of it
race, concurrent wrong codes are all counted, and two code requests at once send one code.

Runs on SQLite (IMMEDIATE transactions serialise the writers) and on PostgreSQL (the mobile's
`OtpLock` row lock, the challenge's row lock and the conditional "mark used" UPDATE do). The
PostgreSQL-only tests pause one caller inside its transaction, at the point where the race would
bite, and check that the other one waits and then gets the right answer.
"""

import re
import threading
import time
from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from minyi.core.errors import ApplicationError
from minyi.integrations.sms.models import OutboundSms, SmsPurpose
from minyi.verification import services
from minyi.verification.models import OtpChallenge, OtpLock, OtpPurpose
from minyi.verification.services import otp_request, otp_verify
from minyi.workorders.tests.factories import pause_after, wait_until_blocked

pytestmark = pytest.mark.django_db(transaction=True)

MOBILE = "13800138000"
PURPOSE = OtpPurpose.CASE_LOOKUP
SUBJECT = "party:1"
CALLERS = 8
on_postgresql = pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="row locks: PostgreSQL only"
)


def _send(now) -> str:
    otp_request(mobile=MOBILE, purpose=PURPOSE, subject=SUBJECT, ip="203.0.113.7", now=now)
    body = OutboundSms.objects.filter(purpose=SmsPurpose.OTP).latest("id").body
    return re.search(r"(?<![0-9])([0-9]{6})(?![0-9])", body).group(1)


def _retrying(fn, **kwargs):
    """SQLite answers "database is locked" when a writer waits longer than its busy timeout;
    a loaded test machine can get there. Each call is one transaction that changed nothing
    when it failed, so it is safe to try again; PostgreSQL never needs this."""
    for attempt in range(50):
        try:
            return fn(**kwargs)
        except OperationalError as exc:
            if "locked" not in str(exc) or attempt == 49:
                raise
            time.sleep(0.05)
    return None


def _outcome(fn, **kwargs):
    try:
        return _retrying(fn, **kwargs)
    except ApplicationError as exc:
        return exc.code
    finally:
        connection.close()


def _verify(code, now):
    return otp_verify(mobile=MOBILE, purpose=PURPOSE, code=code, subject=SUBJECT, now=now)


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def _all_at_once(n, fn, **kwargs) -> list:
    results, start = [None] * n, threading.Barrier(n)

    def work(i):
        start.wait()
        results[i] = _outcome(fn, **kwargs)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_many_checks_of_one_code_at_once_accept_it_once():
    # Given a code sent to a case party
    now = timezone.now()
    code = _send(now)
    # When eight tabs submit it at the same moment
    results = _all_at_once(
        CALLERS,
        otp_verify,
        mobile=MOBILE,
        purpose=PURPOSE,
        code=code,
        subject=SUBJECT,
        now=now + timedelta(minutes=1),
    )
    # Then exactly one is let in, every other one is told the code is used
    assert sorted(results) == [MOBILE] + ["otp_used"] * (CALLERS - 1)
    assert OtpChallenge.objects.get().used_at is not None


def test_many_wrong_codes_at_once_are_all_counted_and_lock_the_mobile():
    # Given a code, and a guesser firing eight wrong codes in parallel
    now = timezone.now()
    code = _send(now)
    results = _all_at_once(
        CALLERS,
        otp_verify,
        mobile=MOBILE,
        purpose=PURPOSE,
        code=_wrong(code),
        subject=SUBJECT,
        now=now,
    )
    # Then no failure was lost: four "wrong", the fifth locked, the rest refused as locked
    assert sorted(results) == sorted(["otp_wrong"] * 4 + ["otp_locked"] * (CALLERS - 4))
    lock = OtpLock.objects.get()
    assert lock.locks == 1 and lock.locked_until == now + timedelta(minutes=15)
    assert OtpChallenge.objects.get().failed_attempts == 5


def test_many_code_requests_at_once_send_one_code():
    # When eight requests for a code to one mobile arrive at the same moment
    results = _all_at_once(
        CALLERS,
        otp_request,
        mobile=MOBILE,
        purpose=PURPOSE,
        subject=SUBJECT,
        ip="203.0.113.7",
        now=timezone.now(),
    )
    # Then one code is sent, the others are refused as too frequent
    assert results.count("rate_limited") == CALLERS - 1
    assert OtpChallenge.objects.count() == 1
    assert OutboundSms.objects.filter(purpose=SmsPurpose.OTP).count() == 1


def test_a_wrong_code_stays_counted_when_the_caller_fails_afterwards():
    """No request-wide transaction (ATOMIC_REQUESTS is off): the failure is committed before
    otp_verify raises, whatever the caller does next."""
    now = timezone.now()
    code = _send(now)

    def view_that_fails_after_the_check():
        try:
            _verify(_wrong(code), now)
        except ApplicationError:
            raise ValueError("the page broke afterwards") from None

    with pytest.raises(ValueError):
        view_that_fails_after_the_check()
    assert OtpLock.objects.get().failures == 1


@on_postgresql
def test_a_second_check_while_the_first_is_using_the_code_waits_and_is_refused(monkeypatch):
    # Given A's check has marked the code used and not yet committed
    now = timezone.now()
    code = _send(now)
    reached, release = pause_after(monkeypatch, services, "_use", "tab-a")
    outcome = {}

    def check(name):
        outcome[name] = _outcome(_verify, code=code, now=now)

    thread_a = threading.Thread(target=check, args=("a",), name="tab-a")
    thread_b = threading.Thread(target=check, args=("b",), name="tab-b")
    thread_a.start()
    try:
        assert reached.wait(timeout=30)
        # When B checks the same code and has to wait for A's locks
        thread_b.start()
        wait_until_blocked(thread_b)
    finally:
        release.set()
        thread_a.join()
        thread_b.join()

    # Then A is let in and B is told the code is used
    assert outcome == {"a": MOBILE, "b": "otp_used"}


@on_postgresql
def test_a_wrong_code_while_another_is_being_counted_waits_and_both_count(monkeypatch):
    # Given A's wrong code is counted and not yet committed
    now = timezone.now()
    code = _send(now)
    reached, release = pause_after(monkeypatch, services, "_count_failure", "guess-a")
    outcome = {}

    def guess(name):
        outcome[name] = _outcome(_verify, code=_wrong(code), now=now)

    thread_a = threading.Thread(target=guess, args=("a",), name="guess-a")
    thread_b = threading.Thread(target=guess, args=("b",), name="guess-b")
    thread_a.start()
    try:
        assert reached.wait(timeout=30)
        # When B's wrong code arrives meanwhile
        thread_b.start()
        wait_until_blocked(thread_b)
    finally:
        release.set()
        thread_a.join()
        thread_b.join()

    # Then both are counted (no lost update): three tries are left
    assert outcome == {"a": "otp_wrong", "b": "otp_wrong"}
    assert OtpLock.objects.get().failures == 2


@on_postgresql
def test_a_code_request_while_another_is_sending_waits_and_is_refused(monkeypatch):
    # Given A's request for the first code to a new mobile holds the mobile's row
    now = timezone.now()
    reached, release = pause_after(monkeypatch, services, "_lock_row", "request-a")
    outcome = {}

    def ask(name):
        outcome[name] = _outcome(
            otp_request, mobile=MOBILE, purpose=PURPOSE, subject=SUBJECT, ip="", now=now
        )

    thread_a = threading.Thread(target=ask, args=("a",), name="request-a")
    thread_b = threading.Thread(target=ask, args=("b",), name="request-b")
    thread_a.start()
    try:
        assert reached.wait(timeout=30)
        # When B asks for a code to the same mobile meanwhile
        thread_b.start()
        wait_until_blocked(thread_b)
    finally:
        release.set()
        thread_a.join()
        thread_b.join()

    # Then one code is sent and B is told to wait a minute
    assert isinstance(outcome["a"], OtpChallenge)
    assert outcome["b"] == "rate_limited"
    assert OutboundSms.objects.filter(purpose=SmsPurpose.OTP).count() == 1
