"""Offline intake (线下录入): staff key in an opinion from a letter, a 恳谈会, a phone call…; it
enters the same flow, is answered by SMS, by a printed letter or (without any contact) only
archived; reply rates per channel. Services, pages and the subtree each reader sees."""

from datetime import datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from minyi.core.errors import ApplicationError, NotFound, PermissionDenied
from minyi.core.models import AuditAction, AuditEvent, AuditOutcome
from minyi.core.pii import lookup_hash
from minyi.integrations.sms.models import OutboundSms
from minyi.opinions.models import Opinion, OpinionChannel, OpinionKind, OpinionStatus, ReplyBy
from minyi.opinions.selectors import channel_rates_visible_to, opinion_list_visible_to
from minyi.opinions.services.handling import opinion_answer, opinion_contact_reveal, opinion_rate
from minyi.opinions.services.intake import opinion_key_in
from minyi.opinions.services.letters import QUOTE_MAX, letter_quote, opinion_letter_print
from minyi.opinions.services.sweep import opinions_sweep
from minyi.opinions.tests.factories import make_opinion, png_upload
from minyi.opinions.tests.permission_cases import LETTER_ADDRESS, letter_a2
from minyi.orgs.choices import Role

pytestmark = pytest.mark.django_db
C = OpinionChannel
TZ = timezone.get_current_timezone()
# A fixed Wednesday mid-morning: the tests never depend on the hour they run at.
NOW = datetime(2026, 11, 18, 10, 30, tzinfo=TZ)
CONTENT = "来信反映：甲二村菜市场门口早上车辆乱停，老人过马路很危险。"
ANSWER = "已在菜市场门口施划禁停标线，早高峰安排辅警疏导，感谢您的来信。"
MOBILE = "13900004321"


def _sms_to(mobile):
    return OutboundSms.objects.filter(to_mobile_hash=lookup_hash("mobile", mobile))


def _key_in(world, **kw):
    kw.setdefault("actor", world.user("a2", Role.UNIT_LEADER))
    kw.setdefault("channel", C.MAILBOX)
    kw.setdefault("kind", OpinionKind.SUGGESTION)
    kw.setdefault("content", CONTENT)
    kw.setdefault("unit_id", world.station_a2.pk)
    kw.setdefault("now", NOW)
    kw.setdefault("received_at", NOW - timedelta(hours=2))
    return opinion_key_in(**kw)


# --- Services ------------------------------------------------------------------------------


def test_received_time_in_the_future_is_refused(world):
    with pytest.raises(ApplicationError) as exc:
        _key_in(world, received_at=NOW + timedelta(hours=1))
    assert exc.value.code == "received_in_future" and exc.value.field == "received_at"
    assert not Opinion.objects.exists()


@pytest.mark.parametrize(
    "contact", [{"mobile": MOBILE}, {"postal_address": LETTER_ADDRESS}, {"contact_name": "钱"}]
)
def test_any_contact_needs_consent(world, contact):
    with pytest.raises(ApplicationError) as exc:
        _key_in(world, **contact)
    assert exc.value.code == "consent_required" and exc.value.field == "consent"
    assert "同意" in str(exc.value.message)


def test_online_channels_cannot_be_keyed_in(world):
    for channel in (C.H5, C.SMS, "fax"):
        with pytest.raises(ApplicationError) as exc:
            _key_in(world, channel=channel)
        assert exc.value.code == "invalid_channel"


def test_a_unit_outside_the_subtree_is_refused(world):
    with pytest.raises(ApplicationError) as exc:
        _key_in(world, unit_id=world.station_a1.pk)
    assert exc.value.code == "invalid_unit"


def test_only_roles_that_key_in_may(world):
    with pytest.raises(ApplicationError) as exc:
        _key_in(world, actor=world.user("a2", Role.ADMIN))
    assert exc.value.code == "forbidden"


def test_no_contact_is_kept_archived_and_never_texted(world):
    # Given an unsigned note from the mailbox, keyed in without any contact
    opinion = _key_in(world, paper=[png_upload("letter.png")])

    # Then it is an ordinary opinion at the station, with its deadline, to be answered…
    assert opinion.reply_by == ReplyBy.NONE and opinion.anonymous
    assert opinion.mobile == "" and opinion.mobile_hash == ""
    assert opinion.status == OpinionStatus.RECEIVED and opinion.unit == world.station_a2
    assert opinion.channel == C.MAILBOX and opinion.entered_by == world.user("a2", Role.UNIT_LEADER)
    assert opinion.submitted_at == NOW - timedelta(hours=2)
    assert opinion.photos.get().paper
    # …but no SMS, neither the acknowledgement nor the answer
    opinion_answer(actor=world.user("a2", Role.UNIT_LEADER), opinion=opinion, text=ANSWER, now=NOW)
    assert not OutboundSms.objects.exists()
    # And nobody can rate it by an empty mobile
    with pytest.raises(NotFound):
        opinion_rate(opinion=opinion, mobile="", rating=1, now=NOW)


def test_an_address_only_is_answered_by_letter(world):
    opinion = _key_in(world, contact_name="赵大爷", postal_address=LETTER_ADDRESS, consent=True)
    assert opinion.reply_by == ReplyBy.LETTER and not opinion.anonymous and opinion.consent
    assert Opinion.objects.get(pk=opinion.pk).postal_address == LETTER_ADDRESS
    assert not OutboundSms.objects.exists()


def test_a_mobile_gets_the_acknowledgement_and_the_answer_by_sms(world):
    opinion = _key_in(world, channel=C.PHONE, mobile=MOBILE, consent=True)
    assert opinion.reply_by == ReplyBy.SMS and not opinion.anonymous
    assert opinion.number in _sms_to(MOBILE).get().body

    opinion_answer(actor=world.user("a2", Role.UNIT_LEADER), opinion=opinion, text=ANSWER, now=NOW)
    answer_sms = _sms_to(MOBILE).latest("id")
    assert opinion.number in answer_sms.body and "已答复" in answer_sms.body
    # And the citizen rates it like any other, which closes it
    closed = opinion_rate(opinion=opinion, mobile=MOBILE, rating=2, now=NOW)
    assert closed.status == OpinionStatus.CLOSED


def test_contact_reveal_shows_the_address(world):
    opinion = _key_in(world, contact_name="赵大爷", postal_address=LETTER_ADDRESS, consent=True)
    revealed = opinion_contact_reveal(actor=world.user("a2", Role.UNIT_LEADER), opinion=opinion)
    assert revealed == {"name": "赵大爷", "mobile": "", "address": LETTER_ADDRESS}


def test_the_letter_is_printed_once_answered_audited_and_recorded(world):
    leader = world.user("a2", Role.UNIT_LEADER)
    opinion = _key_in(world, contact_name="赵大爷", postal_address=LETTER_ADDRESS, consent=True)

    # Not before it is answered (and the refusal is audited too)
    with pytest.raises(ApplicationError) as exc:
        opinion_letter_print(actor=leader, opinion=opinion, now=NOW)
    assert exc.value.code == "not_answered"
    assert AuditEvent.objects.filter(
        action=AuditAction.PII_REVEAL, outcome=AuditOutcome.DENIED
    ).exists()

    opinion = opinion_answer(actor=leader, opinion=opinion, text=ANSWER, now=NOW)
    assert opinion_list_visible_to(leader, status="letter_due").get() == opinion
    letter = opinion_letter_print(actor=leader, opinion=opinion, now=NOW)
    assert (letter.name, letter.address, letter.number) == (
        "赵大爷",
        LETTER_ADDRESS,
        opinion.number,
    )
    assert letter.answer == ANSWER and letter.question == CONTENT and letter.first_print
    assert letter.unit == world.station_a2.name
    opinion.refresh_from_db()
    assert opinion.letter_printed_at == NOW
    assert not opinion_list_visible_to(leader, status="letter_due").exists()
    assert [e.note for e in opinion.history.all()].count("已打印书面回函") == 1

    # A second printing is audited again but keeps the first time
    again = opinion_letter_print(actor=leader, opinion=opinion, now=NOW + timedelta(hours=1))
    assert not again.first_print
    opinion.refresh_from_db()
    assert opinion.letter_printed_at == NOW
    assert (
        AuditEvent.objects.filter(
            action=AuditAction.PII_REVEAL, outcome=AuditOutcome.SUCCESS
        ).count()
        == 2
    )


def test_no_letter_for_an_sms_opinion_nor_for_a_sibling_or_an_evaluator(world):
    sms_one = _key_in(world, mobile=MOBILE, consent=True)
    opinion_answer(actor=world.user("a2", Role.UNIT_LEADER), opinion=sms_one, text=ANSWER)
    with pytest.raises(ApplicationError) as exc:
        opinion_letter_print(actor=world.user("a2", Role.UNIT_LEADER), opinion=sms_one)
    assert exc.value.code == "not_a_letter"
    letter = letter_a2(world)
    with pytest.raises(NotFound):
        opinion_letter_print(actor=world.user("a1", Role.UNIT_LEADER), opinion=letter)
    with pytest.raises(PermissionDenied):
        opinion_letter_print(actor=world.user("city", Role.EVALUATOR), opinion=letter)


def test_a_long_question_is_shortened_in_the_letter():
    assert len(letter_quote("很" * 1000)) == QUOTE_MAX
    assert letter_quote("第一行\n第二行") == "第一行 第二行"


def test_sweep_reminds_and_closes_opinions_without_a_mobile(world):
    opinion = _key_in(world)
    Opinion.objects.filter(pk=opinion.pk).update(deadline=NOW.date() - timedelta(days=3))
    counts = opinions_sweep(now=NOW)
    assert counts["escalated"] == 1
    assert not OutboundSms.objects.exists()


# --- Reply rates per channel -----------------------------------------------------------------


def _period():
    return NOW - timedelta(days=30), NOW + timedelta(days=1)


def test_channel_rates_count_each_channel_and_the_total(world):
    leader = world.user("a2", Role.UNIT_LEADER)
    # Given a letter answered on time, a phone call answered and rated satisfied,
    # an unsigned plaza-day note still open past its deadline, and an online complaint
    letter = _key_in(world, contact_name="赵", postal_address=LETTER_ADDRESS, consent=True)
    opinion_answer(actor=leader, opinion=letter, text=ANSWER, now=NOW)
    call = _key_in(world, channel=C.PHONE, mobile=MOBILE, consent=True)
    opinion_answer(actor=leader, opinion=call, text=ANSWER, now=NOW)
    opinion_rate(opinion=call, mobile=MOBILE, rating=1, now=NOW)
    note = _key_in(world, channel=C.PLAZA_DAY)
    Opinion.objects.filter(pk=note.pk).update(deadline=timezone.localdate() - timedelta(days=1))
    make_opinion(world, now=NOW - timedelta(days=1))
    # And one at the sibling station, which a2 must not count
    make_opinion(world, unit=world.station_a1, now=NOW - timedelta(days=1))

    rates = {
        r.channel: r for r in channel_rates_visible_to(leader, start=_period()[0], end=_period()[1])
    }

    assert set(rates) == {*C.values, ""}
    assert (rates[C.MAILBOX].received, rates[C.MAILBOX].answered) == (1, 1)
    assert rates[C.MAILBOX].on_time == 1 and rates[C.MAILBOX].letters_due == 1
    assert rates[C.PHONE].rated == 1 and rates[C.PHONE].satisfied_share == 1
    assert rates[C.PLAZA_DAY].overdue_open == 1 and rates[C.PLAZA_DAY].reply_rate == 0
    assert rates[C.H5].received == 1 and rates[C.RADIO].reply_rate is None
    assert rates[""].received == 4 and rates[""].answered == 2 and rates[""].reply_rate == 0.5


# --- Pages -----------------------------------------------------------------------------------


def _form(world, **overrides):
    data = {
        "channel": C.MAILBOX,
        "kind": OpinionKind.SUGGESTION,
        "received_at": (timezone.localtime() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "content": CONTENT,
        "contact_name": "",
        "mobile": "",
        "postal_address": "",
        "area": "",
        "unit": str(world.station_a2.pk),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_key_in_page_keys_in_a_letter_with_paper_and_mobile(client, world):
    client.force_login(world.user("a2", Role.UNIT_LEADER))
    page = client.get(reverse("opinions:opinion_key_in"))
    assert page.status_code == 200
    assert "邮递箱来信" in page.content.decode() and 'value="h5"' not in page.content.decode()
    assert "不会发送短信答复" in page.content.decode()

    response = client.post(
        reverse("opinions:opinion_key_in"),
        _form(world, mobile=MOBILE, contact_name="孙阿姨", consent="on", paper=png_upload()),
        follow=True,
    )

    opinion = Opinion.objects.get()
    assert response.redirect_chain[-1][0] == reverse("opinions:opinion_detail", args=[opinion.pk])
    body = response.content.decode()
    assert "已短信告知群众" in body and "邮递箱来信" in body and "短信答复" in body
    assert 'data-testid="paper-photo"' in body
    assert opinion.photos.get().paper and opinion.reply_by == ReplyBy.SMS


def test_key_in_page_refuses_with_chinese_messages_keeping_what_was_typed(client, world):
    client.force_login(world.user("a2", Role.UNIT_LEADER))
    future = (timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        reverse("opinions:opinion_key_in"),
        _form(
            world, mobile=MOBILE, received_at=future, channel=C.H5, unit=str(world.station_a1.pk)
        ),
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "收到时间不能晚于现在" in body
    assert "须经本人同意" in body
    assert "请选择受理渠道" in body
    assert "只能交给本单位及下级单位办理" in body
    assert CONTENT in body and MOBILE in body
    assert not Opinion.objects.exists()


def test_key_in_without_contact_says_no_sms_will_be_sent(client, world):
    client.force_login(world.user("a2", Role.UNIT_LEADER))
    response = client.post(reverse("opinions:opinion_key_in"), _form(world), follow=True)
    body = response.content.decode()
    assert "不会发送短信答复" in body and "答复仅存档" in body
    assert Opinion.objects.get().reply_by == ReplyBy.NONE


def test_key_in_routed_outside_the_subtree_goes_back_to_the_list(client, world):
    # A station clerk leaves the unit blank and names no community: the centre routes it
    client.force_login(world.user("a2", Role.UNIT_LEADER))
    response = client.post(reverse("opinions:opinion_key_in"), _form(world, unit=""))
    assert response.status_code == 302 and response.url == reverse("opinions:opinion_list")
    assert Opinion.objects.get().unit == world.city


def test_list_filters_by_channel_and_flags_letters_to_print(client, world):
    letter_a2(world)
    make_opinion(world, content="网上留言：希望延长户籍窗口办理时间。")
    client.force_login(world.user("a2", Role.UNIT_LEADER))
    page = client.get(reverse("opinions:opinion_list"), {"status": "all", "channel": C.MAILBOX})
    body = page.content.decode()
    assert "录入线下诉求" in body and 'data-testid="letter-due"' in body
    assert body.count("邮递箱来信") >= 2  # the filter's option and the row
    assert Opinion.objects.filter(channel=C.H5).get().number not in body
    tab = client.get(reverse("opinions:opinion_list"), {"status": "letter_due"})
    assert letter_a2(world).number in tab.content.decode()


def test_detail_of_a_letter_offers_printing_then_the_pdf(client, world):
    opinion = letter_a2(world)
    client.force_login(world.user("a2", Role.UNIT_LEADER))
    body = client.get(reverse("opinions:opinion_detail", args=[opinion.pk])).content.decode()
    assert "待打印回函" in body and 'data-testid="print-letter"' in body
    assert LETTER_ADDRESS not in body  # the address only in the letter and the audited reveal

    response = client.post(reverse("opinions:opinion_letter", args=[opinion.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF") and "no-store" in response["Cache-Control"]
    body = client.get(reverse("opinions:opinion_detail", args=[opinion.pk])).content.decode()
    assert 'data-testid="letter-printed"' in body and 'data-testid="letter-due"' not in body


def test_letter_of_an_unanswered_opinion_is_refused_and_audited(client, world):
    opinion = _key_in(world, contact_name="赵", postal_address=LETTER_ADDRESS, consent=True)
    client.force_login(world.user("a2", Role.UNIT_LEADER))
    response = client.post(reverse("opinions:opinion_letter", args=[opinion.pk]))
    assert response.status_code == 409 and "答复后才能打印回函" in response.content.decode()
    assert AuditEvent.objects.filter(
        action=AuditAction.PII_REVEAL, outcome=AuditOutcome.DENIED
    ).exists()


def test_detail_of_an_opinion_without_contact_says_archived(client, world):
    opinion = _key_in(world)
    client.force_login(world.user("a2", Role.UNIT_LEADER))
    body = client.get(reverse("opinions:opinion_detail", args=[opinion.pk])).content.decode()
    assert 'data-testid="reply-archived"' in body and "答复仅存档" in body


def test_channel_rates_page_and_export_are_scoped_and_audited(client, world):
    letter_a2(world)
    make_opinion(world)  # online, still open
    client.force_login(world.user("a2", Role.UNIT_LEADER))
    page = client.get(reverse("opinions:channel_rates"))
    body = page.content.decode()
    assert "100% 答复" in body and "统计范围：甲二派出所" in body
    rows = {r.channel: r for r in page.context["rates"]}
    assert rows[C.MAILBOX].reply_rate == 1 and rows[C.H5].reply_rate == 0
    assert "0.0%" in body and "未达 100%" in body and "100.0%" in body

    export = client.get(reverse("opinions:channel_rates_export"))
    assert export["Content-Type"] == "text/csv"
    text = export.content.decode("utf-8-sig")
    assert "邮递箱来信,1,1,1,0,1,100.0%,0," in text and "网上留言,1,0,0,0,0,0.0%,0," in text
    event = AuditEvent.objects.get(action=AuditAction.EXPORT)
    assert event.detail["table"] == "opinion_channel_rates"

    # The sibling station counts nothing of a2's
    client.force_login(world.user("a1", Role.UNIT_LEADER))
    text = client.get(reverse("opinions:channel_rates_export")).content.decode("utf-8-sig")
    assert "邮递箱来信,0,0,0,0,0,,0," in text


def test_channel_rates_period_is_checked(client, world):
    client.force_login(world.user("a2", Role.UNIT_LEADER))
    page = client.get(
        reverse("opinions:channel_rates"), {"start": "2026-05-01", "end": "2026-04-01"}
    )
    assert "结束日期不能早于开始日期" in page.content.decode()
    page = client.get(
        reverse("opinions:channel_rates"), {"start": "2026-04-01", "end": "2026-04-30"}
    )
    assert "收到时间 2026-04-01 至 2026-04-30" in page.content.decode()
