"""Polls collected in Minyi (平台短信测评): sampling, invitations, the anonymous questionnaire
and the staff page (issue 14, "collection in Minyi")."""

import threading
from datetime import date, datetime, time, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY

from minyi.core.errors import ApplicationError, NotFound, PermissionDenied
from minyi.core.imports import table_read
from minyi.core.pii import lookup_hash
from minyi.integrations.sms.models import OptOut, OutboundSms, SmsPurpose
from minyi.orgs.choices import Role, UnitKind
from minyi.orgs.tests.factories import unit
from minyi.perception.tests.factories import make_event
from minyi.polls import collection
from minyi.polls.collection import (
    LIST_COLUMNS,
    poll_answer,
    poll_collection_close,
    poll_collection_progress,
    poll_invitations_dispatch_due,
    poll_invitations_remind_and_expire,
    poll_optout,
    polls_sample,
    polls_sample_from_list,
)
from minyi.polls.models import (
    InvitationStatus,
    Poll,
    PollEstimate,
    PollInvitation,
    PollQuota,
    PollRespondent,
    PollSource,
    PollStatus,
    PopulationMargin,
)
from minyi.workorders.tests.factories import pause_after, wait_until_blocked

DAY = timezone.localdate() - timedelta(days=1)
ANSWERS = {
    "saw_police": True,
    "attitude": True,
    "familiarity": False,
    "satisfaction": True,
    "safety": True,
    "age_band": "30-44",
    "sex": "f",
    "residence": "floating",
    "comment": "",
}
FORM = {
    "saw_police": "1",
    "attitude": "1",
    "familiarity": "0",
    "satisfaction": "1",
    "safety": "0",
    "age_band": "18-29",
    "sex": "m",
    "residence": "registered",
    "comment": "夜里路灯太暗",
}


def at(hour: int, minute: int = 0, *, days: int = 0) -> datetime:
    """A local time on the test's day (yesterday, so events before it are in the past)."""
    return timezone.make_aware(datetime.combine(DAY + timedelta(days=days), time(hour, minute)))


def make_poll(world, **extra) -> Poll:
    fields = dict(
        title="2026年第4季度民意测评",
        year=DAY.year,
        wave=4,
        source=PollSource.COLLECTED,
        unit=world.city,
        fielded_from=DAY - timedelta(days=5),
        fielded_to=DAY + timedelta(days=30),
    )
    fields.update(extra)
    return Poll.objects.create(**fields)


def admin(world, key="city"):
    return world.user(key, Role.ADMIN)


def login(client, user):
    client.force_login(user)
    if user.needs_second_factor:
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = user.totpdevice_set.get().persistent_id
        session.save()
    return client


def events(unit_, mobiles, business_type="hukou", days_ago=3):
    for mobile in mobiles:
        make_event(unit_, business_type, mobile=mobile, occurred_at=at(10) - timedelta(days_ago))


def sent_invitations(world, btypes, n=1, unit_key="a1", now=None):
    """A poll with `n` invitations of one station, all sent."""
    station = getattr(world, f"station_{unit_key}")
    events(station, [f"1370000{i:04d}" for i in range(n)])
    poll = make_poll(world)
    polls_sample(
        poll=poll,
        actor=admin(world),
        unit_targets={station.pk: n},
        source="events",
        now=now or at(10),
    )
    # Exactly n invitations: the oversampling drew n / rate, capped by the n numbers there.
    assert PollInvitation.objects.filter(poll=poll).count() == n
    poll_invitations_dispatch_due(now=now or at(10))
    return poll, list(PollInvitation.objects.filter(poll=poll).order_by("pk"))


# --- Sampling -----------------------------------------------------------------------------


def test_sampling_draws_from_the_units_subtree_only(world, btypes, settings):
    settings.POLL_RESPONSE_RATE = 1.0
    # Given contacts in 甲一所, in a post under it, in its sibling 甲二所 and in 乙一所
    post = unit(world.station_a1, "甲一所警务室", "TA011", UnitKind.SPECIAL_UNIT)
    events(world.station_a1, ["13700000001", "13700000002", "13700000002"])
    events(post, ["13700000003"])
    events(world.station_a2, ["13700000004"])
    events(world.station_b1, ["13700000005"])
    poll = make_poll(world)

    # When 甲一所 asks for more completes than it has contacts
    result = polls_sample(
        poll=poll,
        actor=admin(world),
        unit_targets={world.station_a1.pk: 10},
        source="events",
        now=at(10),
    )

    # Then its three distinct numbers (its post's included) are invited, once each, and no
    # one from a sibling unit
    invited = {i.mobile for i in PollInvitation.objects.filter(poll=poll)}
    assert invited == {"13700000001", "13700000002", "13700000003"}
    assert result["units"][world.station_a1.pk] == {
        "target": 10,
        "frame": 3,
        "invited": 3,
        "short": True,
    }
    invitation = PollInvitation.objects.filter(poll=poll).first()
    assert invitation.unit_id == world.station_a1.pk
    assert invitation.mobile_hash == lookup_hash("mobile", invitation.mobile)
    assert len(invitation.token) >= 16
    poll.refresh_from_db()
    assert poll.status == PollStatus.COLLECTING


def test_sampling_skips_opted_out_sensitive_stale_and_already_invited(world, btypes, settings):
    settings.POLL_RESPONSE_RATE = 1.0
    events(world.station_a1, ["13700000001", "13700000002"])
    events(world.station_a1, ["13700000003"], business_type="domestic_violence")
    events(world.station_a1, ["13700000004"], days_ago=settings.POLL_SAMPLE_DAYS + 5)
    OptOut.objects.create(mobile_hash=lookup_hash("mobile", "13700000002"), source="sms")
    # The same person is a contact of 甲二所 as well.
    events(world.station_a2, ["13700000001", "13700000005"])
    poll = make_poll(world)

    polls_sample(
        poll=poll,
        actor=admin(world),
        unit_targets={world.station_a1.pk: 5, world.station_a2.pk: 5},
        source="events",
        now=at(10),
    )

    rows = set(PollInvitation.objects.filter(poll=poll).values_list("unit", "mobile_hash"))
    by_hash = {h: u for u, h in rows}
    # Opted out, sensitive-only and stale numbers are never drawn; 13700000001 once only.
    assert set(by_hash) == {lookup_hash("mobile", m) for m in ("13700000001", "13700000005")}
    assert len(rows) == 2

    # Sampling again (a top-up) invites nobody twice
    polls_sample(
        poll=poll,
        actor=admin(world),
        unit_targets={world.station_a1.pk: 8},
        source="events",
        now=at(11),
    )
    assert PollInvitation.objects.filter(poll=poll).count() == 2


def test_sampling_oversamples_and_sets_stratum_quotas(world, btypes, settings):
    settings.POLL_RESPONSE_RATE = 0.4
    events(world.station_a1, [f"1370000{i:04d}" for i in range(20)])
    for category, population in (("m", 600), ("f", 400)):
        PopulationMargin.objects.create(
            unit=world.station_a1,
            year=DAY.year,
            dimension="sex",
            category=category,
            population=population,
        )
    poll = make_poll(world)

    polls_sample(
        poll=poll,
        actor=admin(world),
        unit_targets={world.station_a1.pk: 5},
        source="events",
        now=at(10),
    )

    # 5 completes at a 40% response rate: 13 invitations (ceil 12.5)
    assert PollInvitation.objects.filter(poll=poll).count() == 13
    quotas = {(q.dimension, q.category): q.target for q in PollQuota.objects.filter(poll=poll)}
    assert quotas == {("", ""): 5, ("sex", "m"): 3, ("sex", "f"): 2}


def test_sampling_is_for_administrators_within_their_subtree(world, btypes):
    events(world.station_a1, ["13700000001"])
    poll = make_poll(world)
    targets = {world.station_a1.pk: 5}
    with pytest.raises(PermissionDenied):
        polls_sample(
            poll=poll,
            actor=world.user("a1", Role.UNIT_LEADER),
            unit_targets=targets,
            source="events",
        )
    # 乙区's administrator cannot sample 甲一所 (not in their subtree)
    with pytest.raises(NotFound):
        polls_sample(poll=poll, actor=admin(world, "b"), unit_targets=targets, source="events")
    # A poll of 乙区 does not exist for 甲区's administrator
    poll_b = make_poll(world, unit=world.district_b, wave=3)
    with pytest.raises(NotFound):
        polls_sample(
            poll=poll_b,
            actor=admin(world, "a"),
            unit_targets={world.station_b1.pk: 5},
            source="events",
        )
    assert not PollInvitation.objects.exists()


def test_sampling_refuses_closed_polls_and_empty_targets(world, btypes):
    poll = make_poll(world)
    with pytest.raises(ApplicationError) as exc:
        polls_sample(
            poll=poll, actor=admin(world), unit_targets={world.station_a1.pk: 0}, source="events"
        )
    assert exc.value.code == "no_targets"
    Poll.objects.filter(pk=poll.pk).update(status=PollStatus.CLOSED)
    with pytest.raises(ApplicationError) as exc:
        polls_sample(
            poll=poll, actor=admin(world), unit_targets={world.station_a1.pk: 5}, source="events"
        )
    assert exc.value.code == "poll_closed"


def test_sampling_from_an_imported_list(world, settings):
    settings.POLL_RESPONSE_RATE = 1.0
    poll = make_poll(world)
    data = "单位代码,手机号\nTA01,13700000001\nTA01,+86 137 0000 0002\nTA02,13700000003\n"
    table = table_read(data.encode(), columns=LIST_COLUMNS)

    report, result = polls_sample_from_list(
        poll=poll,
        actor=admin(world),
        table=table,
        unit_targets={world.station_a1.pk: 5, world.station_a2.pk: 5},
        now=at(10),
    )

    assert report.stored
    assert result["invited"] == 3
    rows = set(PollInvitation.objects.filter(poll=poll).values_list("unit", "sample_source"))
    assert rows == {(world.station_a1.pk, "list"), (world.station_a2.pk, "list")}
    assert "13700000002" in {i.mobile for i in PollInvitation.objects.all()}


def test_bad_list_rows_are_refused_precisely_and_nothing_is_drawn(world):
    poll = make_poll(world)
    data = (
        "单位代码,手机号\n"
        "TA01,13700000001\n"  # 2: good
        "TA01,1370000\n"  # 3: too short
        "ZZ99,13700000002\n"  # 4: no such unit
        "TB01,13700000003\n"  # 5: 乙一所, outside 甲区's administrator's subtree
        "TA01,13700000001\n"  # 6: the same number as row 2
        "TA02,13700000004\n"  # 7: 甲二所 has no target
        ",13700000005\n"  # 8: no unit
    )
    table = table_read(data.encode(), columns=LIST_COLUMNS)

    report, result = polls_sample_from_list(
        poll=poll,
        actor=admin(world, "a"),
        table=table,
        unit_targets={world.station_a1.pk: 5},
    )

    assert result is None
    got = [(e.row, e.header, e.code) for e in report.errors]
    assert got == [
        (3, "手机号", "invalid_mobile"),
        (4, "单位代码", "unknown_unit"),
        (5, "单位代码", "unit_out_of_scope"),
        (6, "手机号", "duplicate_mobile"),
        (7, "单位代码", "unit_without_target"),
        (8, "单位代码", "unit_required"),
    ]
    messages = {e.row: e.message for e in report.errors}
    assert messages[4] == "单位代码“ZZ99”不存在。"
    assert messages[6] == "手机号与第 2 行重复。"
    assert "甲二派出所" in messages[7]
    assert not PollInvitation.objects.exists()
    assert not PollQuota.objects.exists()


# --- Sending: quiet hours, one reminder, expiry, quotas, opt-out --------------------------------


def test_invitations_wait_for_the_end_of_quiet_hours(world, btypes, settings):
    settings.POLL_RESPONSE_RATE = 1.0
    events(world.station_a1, ["13700000001"])
    poll = make_poll(world)

    # Given a sample drawn at 22:30
    polls_sample(
        poll=poll,
        actor=admin(world),
        unit_targets={world.station_a1.pk: 1},
        source="events",
        now=at(22, 30),
    )
    invitation = PollInvitation.objects.get(poll=poll)
    # Then it is due the next morning at the end of the quiet hours
    assert invitation.send_at == at(settings.SURVEY_QUIET_END, days=1)

    # And a sweep at night (even one that thinks it is due) sends nothing
    assert poll_invitations_dispatch_due(now=at(23, 30)) == {"sent": 0, "cancelled": 0}
    assert poll_invitations_dispatch_due(now=at(5, days=1)) == {"sent": 0, "cancelled": 0}
    assert not OutboundSms.objects.exists()

    # When the morning comes, it goes out
    assert poll_invitations_dispatch_due(now=at(8, 5, days=1))["sent"] == 1
    sms = OutboundSms.objects.get()
    invitation.refresh_from_db()
    assert sms.purpose == SmsPurpose.POLL
    assert sms.to_mobile == "13700000001"
    assert sms.body == (
        f"{settings.SMS_SIGNATURE}您好，测试市公安局正在开展民意测评，诚邀您用1分钟填写匿名问卷："
        f"{settings.PUBLIC_BASE_URL}/q/{invitation.token} 回复TD退订"
    )
    assert invitation.status == InvitationStatus.SENT


def test_exactly_one_reminder_then_expiry(world, btypes, settings):
    settings.POLL_RESPONSE_RATE = 1.0
    settings.POLL_REMINDER_HOURS = 48
    settings.POLL_EXPIRY_DAYS = 7
    _poll, [invitation] = sent_invitations(world, btypes, 1)

    # Not yet due
    assert poll_invitations_remind_and_expire(now=at(10, days=1))["reminded"] == 0
    # Due at night: waits
    assert poll_invitations_remind_and_expire(now=at(23, days=2))["reminded"] == 0
    # Due by day: one reminder
    assert poll_invitations_remind_and_expire(now=at(10, days=2))["reminded"] == 1
    # Never a second one
    assert poll_invitations_remind_and_expire(now=at(10, days=4))["reminded"] == 0
    assert poll_invitations_remind_and_expire(now=at(10, days=6))["reminded"] == 0
    assert OutboundSms.objects.filter(purpose=SmsPurpose.POLL).count() == 2
    reminder = OutboundSms.objects.latest("id")
    assert "本提醒仅发送一次" in reminder.body and invitation.token in reminder.body

    # After M days the link expires
    assert poll_invitations_remind_and_expire(now=at(10, days=7))["expired"] == 1
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.EXPIRED


def test_no_reminder_after_answer_or_opt_out(world, btypes, settings):
    settings.POLL_RESPONSE_RATE = 1.0
    poll, [answered, opted, open_] = sent_invitations(world, btypes, 3)
    PollQuota.objects.filter(poll=poll, dimension="").update(target=10)
    poll_answer(token=answered.token, answers=ANSWERS, now=at(11))
    OptOut.objects.create(mobile_hash=opted.mobile_hash, source="sms")

    result = poll_invitations_remind_and_expire(now=at(12, days=2))

    assert result["reminded"] == 1
    assert OutboundSms.objects.latest("id").to_mobile_hash == open_.mobile_hash


def test_opted_out_numbers_are_cancelled_not_sent(world, btypes, settings):
    settings.POLL_RESPONSE_RATE = 1.0
    events(world.station_a1, ["13700000001", "13700000002"])
    poll = make_poll(world)
    polls_sample(
        poll=poll,
        actor=admin(world),
        unit_targets={world.station_a1.pk: 2},
        source="events",
        now=at(9),
    )
    # Given one number replies TD between sampling and sending
    OptOut.objects.create(mobile_hash=lookup_hash("mobile", "13700000002"), source="sms")

    assert poll_invitations_dispatch_due(now=at(10)) == {"sent": 1, "cancelled": 1}

    assert [m.to_mobile for m in OutboundSms.objects.all()] == ["13700000001"]
    opted = PollInvitation.objects.get(mobile_hash=lookup_hash("mobile", "13700000002"))
    assert opted.status == InvitationStatus.CANCELLED


def test_a_full_quota_stops_the_units_invitations(world, btypes, settings):
    settings.POLL_RESPONSE_RATE = 0.25
    events(world.station_a1, [f"1370000{i:04d}" for i in range(8)])
    events(world.station_a2, [f"1380000{i:04d}" for i in range(8)])
    poll = make_poll(world)
    polls_sample(
        poll=poll,
        actor=admin(world),
        unit_targets={world.station_a1.pk: 1, world.station_a2.pk: 1},
        source="events",
        now=at(9),
    )
    # Given one invitation of each station out (the rest still scheduled)
    first_a1 = PollInvitation.objects.filter(unit=world.station_a1).order_by("pk").first()
    first_a2 = PollInvitation.objects.filter(unit=world.station_a2).order_by("pk").first()
    PollInvitation.objects.exclude(pk__in=[first_a1.pk, first_a2.pk]).update(send_at=at(15))
    poll_invitations_dispatch_due(now=at(10))

    # When 甲一所's one needed questionnaire comes in
    poll_answer(token=first_a1.token, answers=ANSWERS, now=at(11))

    # Then its scheduled invitations are cancelled at once, and 甲二所's are still sent
    a1 = PollInvitation.objects.filter(unit=world.station_a1)
    assert set(a1.values_list("status", flat=True)) == {"answered", "cancelled"}
    assert poll_invitations_dispatch_due(now=at(15))["sent"] == 3
    assert not PollInvitation.objects.filter(status="scheduled").exists()

    # And a quota reached by other means (e.g. raised answers) also stops the sweep
    PollInvitation.objects.filter(unit=world.station_a2, status="sent").update(
        status="scheduled", send_at=at(16)
    )
    PollRespondent.objects.create(
        poll=poll, unit=world.station_a2, respondent_ref="X1", answered_on=DAY, **_strata()
    )
    assert poll_invitations_dispatch_due(now=at(16)) == {"sent": 0, "cancelled": 4}


def _strata():
    return {"age_band": "45-59", "sex": "m", "residence": "registered"}


# --- The questionnaire --------------------------------------------------------------------


def test_questionnaire_validates_in_chinese(world, btypes, client, daytime):
    _poll, [invitation] = sent_invitations(world, btypes, 1, now=timezone.now())
    url = reverse("questionnaire", args=[invitation.token])

    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "近一个月您在居住地附近见过巡逻民警吗？" in html
    assert "您知道您所在社区的社区民警是谁吗？" in html
    assert "http://" not in html.replace(f"{invitation.token}", "")  # no external assets

    page = client.post(url, {**FORM, "safety": "", "sex": "x", "comment": "长" * 501})
    assert page.status_code == 200
    errors = page.context["form"].errors
    assert errors["safety"] == ["请回答这一题。"]
    assert errors["sex"] == ["请选择一项。"]
    assert errors["comment"] == ["意见建议不能超过 500 字。"]
    assert not PollRespondent.objects.exists()
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.SENT


def test_questionnaire_is_single_use_and_thanks(world, btypes, client, daytime):
    poll, [invitation] = sent_invitations(world, btypes, 1, now=timezone.now())
    url = reverse("questionnaire", args=[invitation.token])

    page = client.post(url, FORM)
    assert page.status_code == 302
    page = client.get(url)
    assert "感谢您的参与" in page.content.decode()

    # A second submit changes nothing and shows the closed page
    page = client.post(url, {**FORM, "safety": "1"})
    assert page.status_code == 200
    assert page.context["reason"] == "answered"
    respondent = PollRespondent.objects.get()
    assert (respondent.poll_id, respondent.unit_id) == (poll.pk, world.station_a1.pk)
    assert (respondent.saw_police, respondent.familiarity, respondent.safety) == (
        True,
        False,
        False,
    )
    assert respondent.comment == "夜里路灯太暗"
    assert (respondent.age_band, respondent.sex, respondent.residence) == (
        "18-29",
        "m",
        "registered",
    )


def test_closed_links_show_a_clear_page_never_an_error(world, btypes, client, daytime):
    poll, [expired, cancelled, scheduled] = sent_invitations(world, btypes, 3)
    PollInvitation.objects.filter(pk=expired.pk).update(expires_at=timezone.now())
    PollInvitation.objects.filter(pk=cancelled.pk).update(status="cancelled")
    PollInvitation.objects.filter(pk=scheduled.pk).update(status="scheduled", sent_at=None)

    for token, status, reason in (
        (expired.token, 200, "expired"),
        (cancelled.token, 200, "cancelled"),
        (scheduled.token, 404, "unknown"),
        ("no-such-token", 404, "unknown"),
        ("x" * 300, 404, "unknown"),
        ("%00", 404, "unknown"),
    ):
        for method in (client.get, client.post):
            page = method(f"/q/{token}", FORM) if method == client.post else method(f"/q/{token}")
            assert (page.status_code, page.context["reason"]) == (status, reason), token
    assert not PollRespondent.objects.exists()

    # A poll closed by staff closes its links
    fresh = PollInvitation.objects.create(
        poll=poll,
        unit=world.station_a1,
        sample_source="list",
        mobile="13900000009",
        mobile_hash=lookup_hash("mobile", "13900000009"),
        token="fresh-token",
        status="sent",
        send_at=timezone.now(),
        expires_at=timezone.now() + timedelta(days=3),
    )
    poll_collection_close(poll=poll, actor=admin(world))
    page = client.post(f"/q/{fresh.token}", FORM)
    assert page.context["reason"] == "expired"
    assert not PollRespondent.objects.exists()


def test_no_link_between_respondent_and_invitation(world, btypes, daytime):
    # The schema: a respondent row has nothing that points at an invitation or a person.
    fields = {f.name for f in PollRespondent._meta.get_fields()}
    assert not any(
        getattr(f, "related_model", None) is PollInvitation
        for f in PollRespondent._meta.get_fields()
    )
    assert not any(
        getattr(f, "related_model", None) is PollRespondent
        for f in PollInvitation._meta.get_fields()
    )
    assert fields.isdisjoint({"invitation", "token", "mobile", "mobile_hash", "answered_at"})
    assert PollRespondent._meta.get_field("answered_on").get_internal_type() == "DateField"

    # The rows: nothing of the invitation is in the respondent, and the times match no better
    # than the day.
    _poll, [invitation] = sent_invitations(world, btypes, 1, now=timezone.now())
    respondent = poll_answer(token=invitation.token, answers=ANSWERS)
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.ANSWERED
    local = timezone.localtime(invitation.answered_at)
    assert (local.hour, local.minute, local.second) == (0, 0, 0)
    assert local.date() == respondent.answered_on
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT * FROM {PollRespondent._meta.db_table} WHERE id = %s",  # noqa: S608
            [respondent.pk],
        )
        stored = " ".join(str(v) for v in cursor.fetchone())
    for secret in (invitation.token, invitation.mobile_hash, invitation.mobile):
        assert secret not in stored and secret not in respondent.respondent_ref


def test_opt_out_from_the_page(world, btypes, client, daytime):
    _poll, [invitation] = sent_invitations(world, btypes, 1, now=timezone.now())
    # The same person is invited in another wave too, not yet sent.
    other = PollInvitation.objects.create(
        poll=make_poll(world, wave=3),
        unit=world.station_a1,
        sample_source="list",
        mobile=invitation.mobile,
        mobile_hash=invitation.mobile_hash,
        token="other-wave",
        send_at=timezone.now(),
    )

    page = client.post(f"/q/{invitation.token}", {"action": "optout"})

    assert page.context["reason"] == "optout"
    assert "已退订" in page.content.decode()
    assert OptOut.objects.filter(mobile_hash=invitation.mobile_hash, source="h5").exists()
    assert set(
        PollInvitation.objects.filter(pk__in=[invitation.pk, other.pk]).values_list(
            "status", flat=True
        )
    ) == {"cancelled"}
    assert poll_invitations_remind_and_expire(now=timezone.now() + timedelta(days=3)) == {
        "expired": 0,
        "reminded": 0,
    }
    assert not poll_optout(token="nothing")


on_postgresql = pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="row locks: PostgreSQL only"
)


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_concurrent_double_submit_stores_one_answer(world, btypes, monkeypatch, daytime):
    # Given one sent invitation, and a first submit paused inside its transaction, after it
    # claimed the invitation
    _poll, [invitation] = sent_invitations(world, btypes, 1, now=timezone.now())
    reached, release = pause_after(monkeypatch, collection, "_cancel_scheduled_if_full", "one")
    outcome = {}

    def submit(name):
        try:
            poll_answer(token=invitation.token, answers=ANSWERS)
            outcome[name] = "stored"
        except ApplicationError as exc:
            outcome[name] = exc.code
        finally:
            connection.close()

    one = threading.Thread(target=submit, args=("one",), name="one")
    two = threading.Thread(target=submit, args=("two",), name="two")
    one.start()
    try:
        assert reached.wait(timeout=30)
        # When the second submit arrives meanwhile (it waits on the row lock)
        two.start()
        wait_until_blocked(two)
    finally:
        release.set()
        one.join()
        two.join()

    # Then one answer is stored and the other submit is refused
    assert outcome == {"one": "stored", "two": "invitation_closed"}
    assert PollRespondent.objects.count() == 1


# --- Staff page ---------------------------------------------------------------------------


def test_staff_page_scoping_and_roles(world, btypes, client, daytime):
    poll, [invitation] = sent_invitations(world, btypes, 1, now=timezone.now())
    events(world.station_b1, ["13600000001"])
    poll_answer(token=invitation.token, answers=ANSWERS)
    url = reverse("polls:collection_detail", args=[poll.pk])

    # Anonymous: to the login page
    assert client.get(url).status_code == 302

    # 甲一所's leader sees its row, read-only, with the anonymity statement
    login(client, world.user("a1", Role.UNIT_LEADER))
    page = client.get(url)
    html = page.content.decode()
    assert page.status_code == 200
    assert [r["unit"] for r in page.context["rows"]] == [world.station_a1]
    assert page.context["rows"][0]["answered"] == 1
    assert "答卷匿名：工作人员无法查看单个答卷对应的手机号" in html
    assert not page.context["can_manage"] and 'data-testid="sample-form"' not in html
    assert invitation.mobile not in html and invitation.token not in html

    # 乙一所 (a sibling branch) sees none of 甲一所's figures
    login(client, world.user("b1", Role.SUPERVISOR))
    page = client.get(url)
    assert page.status_code == 200 and page.context["rows"] == []
    # … and a poll of 甲区 does not exist for it
    poll_a = make_poll(world, unit=world.district_a, wave=2)
    assert client.get(reverse("polls:collection_detail", args=[poll_a.pk])).status_code == 404
    # … nor may its administrator sample or close it
    login(client, admin(world, "b1"))
    for name in ("polls:collection_sample", "polls:collection_close"):
        assert client.post(reverse(name, args=[poll_a.pk])).status_code == 404

    # A supervisor cannot sample or close
    login(client, world.user("city", Role.SUPERVISOR))
    sample_url = reverse("polls:collection_sample", args=[poll.pk])
    assert client.post(sample_url, {"source": "events"}).status_code == 403
    assert client.post(reverse("polls:collection_close", args=[poll.pk])).status_code == 403
    assert PollInvitation.objects.count() == 1


def test_admin_samples_watches_and_closes(world, btypes, client, daytime, settings):
    settings.POLL_RESPONSE_RATE = 1.0
    events(world.station_a1, ["13700000001", "13700000002"])
    events(world.station_b1, ["13600000001"])
    poll = make_poll(world)
    login(client, admin(world, "a"))
    sample_url = reverse("polls:collection_sample", args=[poll.pk])

    # The form offers only 甲区's stations; a bad target is refused in Chinese
    page = client.get(reverse("polls:collection_detail", args=[poll.pk]))
    assert [u.pk for u in page.context["form"].units] == [
        world.station_a1.pk,
        world.station_a2.pk,
    ]
    page = client.post(sample_url, {"source": "events", f"unit_{world.station_a1.pk}": "-1"})
    assert page.status_code == 400
    assert page.context["form"].errors[f"unit_{world.station_a1.pk}"] == ["不能小于 0。"]
    page = client.post(sample_url, {"source": "events"})
    assert page.context["form"].non_field_errors() == ["请至少为一个单位填写目标样本量。"]
    page = client.post(sample_url, {"source": "list", f"unit_{world.station_a1.pk}": "2"})
    assert page.context["form"].errors["file"] == ["选择“导入名单”时请上传名单文件。"]
    # 乙一所's field is not on the form: a forged one is ignored
    page = client.post(
        sample_url,
        {"source": "events", f"unit_{world.station_b1.pk}": "5", f"unit_{world.station_a1.pk}": ""},
    )
    assert page.status_code == 400
    assert not PollInvitation.objects.exists()

    # When the administrator samples 甲一所
    page = client.post(sample_url, {"source": "events", f"unit_{world.station_a1.pk}": "2"})
    assert page.status_code == 302
    [row] = poll_collection_progress(admin(world, "a"), poll)
    assert (row["target"], row["invited"], row["scheduled"], row["answered"]) == (2, 2, 2, 0)

    # One is sent and answered
    poll_invitations_dispatch_due(limit=1)
    poll_answer(token=PollInvitation.objects.get(status="sent").token, answers=ANSWERS)

    # And closes the collection: the scheduled invitations are cancelled
    page = client.post(reverse("polls:collection_close", args=[poll.pk]))
    assert page.status_code == 403  # 甲区's admin does not hold the city's poll
    login(client, admin(world, "city"))
    page = client.post(reverse("polls:collection_close", args=[poll.pk]))
    assert page.status_code == 302
    poll.refresh_from_db()
    assert poll.status == PollStatus.CLOSED
    assert set(PollInvitation.objects.values_list("status", flat=True)) == {
        "answered",
        "cancelled",
    }
    # … and the poll is weighted (poll_weigh) at once
    assert poll.weighted_at is not None
    assert PollEstimate.objects.filter(poll=poll, unit=world.station_a1).count() == 5


def test_list_upload_errors_show_on_the_page(world, client, daytime):
    poll = make_poll(world)
    login(client, admin(world, "a"))
    upload = _upload("单位代码,手机号\nTA01,1234\n")
    page = client.post(
        reverse("polls:collection_sample", args=[poll.pk]),
        {"source": "list", f"unit_{world.station_a1.pk}": "3", "file": upload},
    )
    assert page.status_code == 400
    html = page.content.decode()
    assert "手机号码格式不正确" in html and 'data-code="invalid_mobile"' in html
    assert not PollInvitation.objects.exists()


def _upload(text: str):
    return SimpleUploadedFile("名单.csv", text.encode(), content_type="text/csv")


def test_sampling_after_the_fieldwork_is_refused(world):
    # The poll's dates bound sampling: after the fieldwork ends nothing is drawn.
    poll = make_poll(world, fielded_from=date(2020, 1, 1), fielded_to=date(2020, 3, 31))
    with pytest.raises(ApplicationError) as exc:
        polls_sample(
            poll=poll, actor=admin(world), unit_targets={world.station_a1.pk: 5}, source="events"
        )
    assert exc.value.code == "poll_ended"


def test_progress_reads_a_fixed_number_of_queries(world, btypes, settings):
    settings.POLL_RESPONSE_RATE = 1.0
    events(world.station_a1, ["13700000001"])
    events(world.station_a2, ["13700000002"])
    events(world.station_b1, ["13700000003"])
    poll = make_poll(world)
    actor = admin(world)
    polls_sample(
        poll=poll, actor=actor, unit_targets={world.station_a1.pk: 1}, source="events", now=at(9)
    )
    one = _queries(actor, poll)
    polls_sample(
        poll=poll,
        actor=actor,
        unit_targets={world.station_a2.pk: 1, world.station_b1.pk: 1},
        source="events",
        now=at(9),
    )
    assert _queries(actor, poll) == one == 4


def _queries(actor, poll) -> int:
    with CaptureQueriesContext(connection) as captured:
        rows = poll_collection_progress(actor, poll)
    assert rows
    return len(captured)
