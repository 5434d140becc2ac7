"""Every citizen text tagged (issue 20): each source indexed once, bad input never an error,
confirmations counted and audited, the rollup kept equal to a recount, and pages scoped."""

from collections import Counter
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from minyi.core.errors import ApplicationError, NotFound
from minyi.core.models import AuditAction, AuditEvent
from minyi.insight import tagging
from minyi.insight.models import TaggedText, TextSource, TopicWeek
from minyi.insight.selectors import confirmed_examples, quote_of, text_reasons_for
from minyi.insight.services import (
    terms_expire,
    text_confirm,
    texts_retag,
    texts_tag_pending,
)
from minyi.insight.tests.conftest import login
from minyi.insight.tests.factories import confirmed_callbacks
from minyi.meetings.models import MeetingQuestion
from minyi.meetings.tests.factories import make_meeting
from minyi.opinions.models import Opinion
from minyi.opinions.tests.factories import make_opinion
from minyi.orgs.choices import Role
from minyi.polls.models import PollRespondent
from minyi.polls.tests.factories import make_poll

pytestmark = pytest.mark.django_db

LETTER = (
    "尊敬的领导：您好！我叫张某，家住城南某小区，今年六十多岁了。"
    + "去年我家装修的时候和邻居闹过一些矛盾，后来也都过去了。" * 40
    + "今年三月我家店里被盗，报案后派出所一直不立案，民警说等通知，到现在也没有人告诉我进度。"
    + "孩子在外地工作，平时家里就我和老伴两个人。" * 40
    + "恳请领导过问此事。此致敬礼！"
)


def _respondent(poll, unit, ref, comment):
    return PollRespondent.objects.create(
        poll=poll,
        unit=unit,
        respondent_ref=ref,
        age_band="30-44",
        sex="m",
        residence="registered",
        comment=comment,
        answered_on=timezone.localdate() - timedelta(days=2),
    )


@pytest.fixture
def texts(world):
    """One text of each source in 甲二派出所, and a few that must not be tagged."""
    confirmed_callbacks(world.station_a2, [("窗口民警态度很差，还让我明天再来", ["attitude"])])
    opinion = make_opinion(world, content="派出所门口停车太难，希望划几个车位。")
    letter = make_opinion(world, content="一封很长的信，内容见下。")
    Opinion.objects.filter(pk=letter.pk).update(content=LETTER)
    meeting_q = make_opinion(world, content="小区里电动车乱停，晚上充电很危险。", channel="meeting")
    MeetingQuestion.objects.create(
        meeting=make_meeting(world.station_a2),
        opinion=meeting_q,
        summary="电动车充电",
        asked_at=timezone.now(),
        order=1,
    )
    tip = make_opinion(world, kind="tip", content="某出租屋里经常有人聚集赌博，请查一查。")
    poll = make_poll(world)
    _respondent(poll, world.station_a2, "P1", "希望晚上多巡逻，路灯也该修了")
    _respondent(poll, world.station_a2, "P2", "😀😀😀")
    _respondent(poll, world.station_a2, "P3", "13812345678")
    _respondent(poll, world.station_a2, "P4", "")
    return {"opinion": opinion, "letter": letter, "meeting": meeting_q, "tip": tip}


def test_every_source_is_tagged_once_and_tips_never(world, texts):
    first = texts_tag_pending()
    second = texts_tag_pending(full=True)
    assert second == {}
    by_source = Counter(TaggedText.objects.values_list("source", flat=True))
    assert by_source == {
        TextSource.CALLBACK: 1,
        TextSource.OPINION: 2,  # the short one and the letter
        TextSource.MEETING: 1,
        TextSource.POLL: 1,  # emoji, a mobile alone and an empty comment have nothing to tag
    }
    assert sum(first.values()) == 4  # the callback was tagged by its factory already
    assert not TaggedText.objects.filter(object_id=texts["tip"].pk, source="opinion").exists()


def test_a_callbacks_confirmed_tags_are_copied_and_ranked(world, texts):
    texts_tag_pending()
    callback = TaggedText.objects.get(source=TextSource.CALLBACK)
    assert callback.confirmed == ["attitude"] and callback.confirmed_at is not None
    assert callback.suggested[0] == "attitude" and len(callback.suggested) <= 2


def test_a_long_letter_finds_its_one_sentence_of_complaint(world, texts):
    texts_tag_pending()
    letter = TaggedText.objects.get(source=TextSource.OPINION, object_id=texts["letter"].pk)
    assert letter.length == len(LETTER) > 1500
    assert set(letter.suggested) == {"outcome", "explanation"}


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "😀🙏👍",
        "13812345678",
        "１３８１２３４５６７８",
        "幺三八一二三四五六七八",
        "。。。！！",
    ],
)
def test_bad_input_is_nothing_never_an_error(text):
    assert tagging.tag_text(text, use_active=False) == tagging.EMPTY
    assert tagging.suggest_tags(text) == []


def test_a_20000_character_letter_is_tagged_without_error():
    letter = ("今天天气很好，我们去公园散步。" * 1400)[:20_000]
    result = tagging.tag_text(letter, use_active=False)
    assert result.tags == ["other"]
    longer = tagging.tag_text("民警态度很差。" + "啊" * 30_000, use_active=False)
    assert longer.tags == ["attitude"]


def test_no_number_is_ever_a_term():
    text = "我的手机13812345678，身份证330602199001011234，车牌浙D12345，跑了三趟，幺三八一二三四"
    terms = tagging.tag_text(text, use_active=False).terms
    assert terms and not any(ch.isdigit() for t in terms for ch in t)
    assert not any(set(t) & set("零〇一二三四五六七八九十两幺") for t in terms)


def test_the_rollup_equals_a_recount(world, texts):
    texts_tag_pending()
    admin = world.user("a2", Role.UNIT_LEADER)
    row = TaggedText.objects.get(source=TextSource.MEETING)
    text_confirm(actor=admin, tagged=row, tags=["facilities", "conduct"])
    recount = Counter()
    for t in TaggedText.objects.all():
        week = t.day - timedelta(days=t.day.weekday())
        for tag in t.suggested:  # confirmations do not move emerging topics' counts
            recount[(t.unit_id, week, "tag", tag)] += 1
        for term in t.terms:
            recount[(t.unit_id, week, "term", term)] += 1
    stored = Counter(
        {
            (r.unit_id, r.week, r.kind, r.key): r.n
            for r in TopicWeek.objects.all()
            if r.n  # a tag confirmed away leaves a zero row
        }
    )
    assert stored == recount


def test_confirming_is_validated_scoped_and_audited(world, texts):
    texts_tag_pending()
    row = TaggedText.objects.get(source=TextSource.OPINION, object_id=texts["opinion"].pk)
    leader = world.user("a2", Role.UNIT_LEADER)
    for tags, code in [
        ([], "tags_required"),
        (["bogus"], "tags_unknown"),
        (["attitude", "attitude"], "tags_repeated"),
        (["attitude", "conduct", "outcome"], "tags_too_many"),
        (["other", "attitude"], "tags_other_alone"),
    ]:
        with pytest.raises(ApplicationError) as refused:
            text_confirm(actor=leader, tagged=row, tags=tags)
        assert refused.value.code == code
    with pytest.raises(NotFound):
        text_confirm(actor=world.user("b1", Role.UNIT_LEADER), tagged=row, tags=["facilities"])
    confirmed = text_confirm(actor=leader, tagged=row, tags=["facilities"])
    assert confirmed.confirmed == ["facilities"] and confirmed.confirmed_by == leader
    event = AuditEvent.objects.get(action=AuditAction.CHANGE, object_id=str(row.pk))
    assert event.detail["confirmed"] == ["facilities"] and "停车" not in str(event.detail)


def test_confirmed_texts_of_every_source_are_training_data(world, texts):
    texts_tag_pending()
    leader = world.user("a2", Role.UNIT_LEADER)
    poll = TaggedText.objects.get(source=TextSource.POLL)
    text_confirm(actor=leader, tagged=poll, tags=["facilities"])
    examples = confirmed_examples()
    assert ("希望晚上多巡逻，路灯也该修了", ["facilities"], "poll") in examples
    assert {source for _t, _tags, source in examples} == {"callback", "poll"}


def test_reasons_count_every_text_and_a_sibling_sees_none(world, texts):
    texts_tag_pending()
    today = timezone.localdate()
    leader = world.user("a2", Role.UNIT_LEADER)
    figure = text_reasons_for(leader, world.station_a2, start=today - timedelta(days=30), end=today)
    assert figure["total"] == TaggedText.objects.count() == 5
    by_tag = {r["tag"]: r for r in figure["rows"]}
    assert by_tag["attitude"]["n"] >= 1 and by_tag["attitude"]["primary"] >= 1
    assert sum(r["n"] for r in figure["by_source"]) == 5
    sibling = world.user("b1", Role.UNIT_LEADER)
    with pytest.raises(NotFound):
        text_reasons_for(sibling, world.station_a2, start=today - timedelta(days=30), end=today)
    own = text_reasons_for(sibling, world.station_b1, start=today - timedelta(days=30), end=today)
    assert own["total"] == 0 and own["quotes"] == {}


def test_pages_show_reasons_topics_and_review_in_scope(client, world, texts):
    texts_tag_pending()
    leader = login(client, world.user("a2", Role.UNIT_LEADER))
    page = leader.get(reverse("insight:reasons")).content.decode()
    assert "停车" in page or "态度" in page
    assert "13812345678" not in page
    assert leader.get(reverse("insight:topics")).status_code == 200
    queue = leader.get(reverse("insight:review")).content.decode()
    row = TaggedText.objects.get(source=TextSource.MEETING)
    assert f'data-pk="{row.pk}"' in queue
    response = leader.post(
        reverse("insight:review_text", args=[row.pk]), {"primary": "facilities", "secondary": ""}
    )
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.confirmed == ["facilities"]
    bad = leader.post(
        reverse("insight:review_text", args=[row.pk]),
        {"primary": "facilities", "secondary": "facilities"},
    )
    assert bad.status_code == 400 and "不能相同" in bad.content.decode()


def test_a_sibling_unit_sees_nothing(client, world, texts):
    texts_tag_pending()
    sibling = login(client, world.user("b1", Role.UNIT_LEADER))
    row = TaggedText.objects.get(source=TextSource.MEETING)
    assert sibling.get(reverse("insight:review_text", args=[row.pk])).status_code == 404
    queue = sibling.get(reverse("insight:review")).content.decode()
    assert "data-pk=" not in queue
    other = sibling.get(reverse("insight:reasons") + f"?unit={world.station_a2.pk}")
    assert other.status_code == 404
    mine = sibling.get(reverse("insight:reasons")).content.decode()
    assert "停车" not in mine and "电动车" not in mine


def test_terms_go_when_the_texts_retention_ends(world, texts, settings):
    texts_tag_pending()
    with_terms = [t.pk for t in TaggedText.objects.all() if t.terms]
    assert with_terms
    settings.RETENTION_DAYS = {**settings.RETENTION_DAYS, "text": 1}
    later = timezone.now() + timedelta(days=3)
    assert terms_expire(now=later) == TaggedText.objects.count()
    assert all(t.terms == [] and t.tags for t in TaggedText.objects.all())
    assert terms_expire(now=later) == 0  # from where it stopped


def test_a_handler_goes_from_the_opinion_to_its_reasons(client, world, texts):
    leader = login(client, world.user("a2", Role.UNIT_LEADER))
    opinion_page = reverse("opinions:opinion_detail", args=[texts["opinion"].pk])
    link = reverse("insight:review_object", args=["opinion", texts["opinion"].pk])
    assert link in leader.get(opinion_page).content.decode()
    # Not tagged yet: back to the queue with a word why
    assert leader.get(link).url == reverse("insight:review")
    texts_tag_pending()
    tagged = TaggedText.objects.get(source="opinion", object_id=texts["opinion"].pk)
    assert leader.get(link).url == reverse("insight:review_text", args=[tagged.pk])
    tip_page = reverse("opinions:opinion_detail", args=[texts["tip"].pk])
    assert "核对原因标签" not in leader.get(tip_page).content.decode()


def test_a_new_model_suggests_again_for_unconfirmed_texts(world, texts):
    texts_tag_pending()
    row = TaggedText.objects.get(source=TextSource.OPINION, object_id=texts["opinion"].pk)
    # Given a text an older model (v99) read otherwise, and now the rules suggest
    TaggedText.objects.filter(pk=row.pk).update(suggested=["other"], tagger_version=99)
    TopicWeek.objects.filter(kind="tag").delete()
    for t in TaggedText.objects.all():
        week = t.day - timedelta(days=t.day.weekday())
        for tag in t.suggested:
            TopicWeek.objects.update_or_create(
                unit=t.unit, week=week, kind="tag", key=tag, defaults={"n": 1}
            )
    changed = texts_retag(since=timezone.localdate() - timedelta(days=30))
    row.refresh_from_db()
    # Then its suggestion is the tagger's again and the weekly counts follow
    assert changed >= 1 and row.suggested == ["facilities"]
    week = row.day - timedelta(days=row.day.weekday())
    assert TopicWeek.objects.get(unit=row.unit, week=week, kind="tag", key="other").n == 0
    assert texts_retag(since=timezone.localdate() - timedelta(days=30)) == 0


def test_a_transferred_opinion_takes_its_text_along(client, world, texts):
    texts_tag_pending()
    row = TaggedText.objects.get(source=TextSource.OPINION, object_id=texts["opinion"].pk)
    week = row.day - timedelta(days=row.day.weekday())
    terms = list(row.terms)
    # When the centre transfers the opinion to 乙一派出所 (转办)
    Opinion.objects.filter(pk=texts["opinion"].pk).update(unit=world.station_b1)
    texts_tag_pending()
    # Then its text is 乙一's, counted there and no longer at 甲二
    row.refresh_from_db()
    assert row.unit == world.station_b1
    for term in terms:
        assert TopicWeek.objects.get(unit=world.station_b1, week=week, key=term).n == 1
        assert TopicWeek.objects.get(unit=world.station_a2, week=week, key=term).n == 0
    a2 = login(client, world.user("a2", Role.UNIT_LEADER))
    assert a2.get(reverse("insight:review_text", args=[row.pk])).status_code == 404


@pytest.mark.parametrize(
    "query",
    [{"unit": "²"}, {"period": "²"}, {"period": "9999-99"}, {"as_of": "0001-01-05"}, {"unit": "x"}],
)
def test_odd_parameters_never_break_a_page(client, world, query):
    leader = login(client, world.user("a2", Role.UNIT_LEADER))
    for name in ("insight:reasons", "insight:topics"):
        assert leader.get(reverse(name), query).status_code in (200, 404)


def test_a_quote_is_masked_before_it_is_cut():
    text = "我" * 75 + "身份证号330102199001011234，电话13812345678，念给你听幺三八一二三四五六七八"
    quote = quote_of(text)
    assert len(quote) <= 90
    assert "3301021990" not in quote and "138123" not in quote
    assert "幺三八一二三四五六七八" not in quote_of("电话幺三八一二三四五六七八\x0b出警慢")
    assert "\x0b" not in quote_of("没人管\x0b出警慢")
