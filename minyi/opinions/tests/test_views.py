"""Staff opinion pages through the test client: the queue, one opinion and each action, the
audited contact reveal, photos and the reward list. The tipster's identity must never be on a
unit leader's page."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from minyi.core.models import AuditAction, AuditEvent, AuditOutcome
from minyi.core.pii import mask_mobile
from minyi.opinions.models import (
    Opinion,
    OpinionKind,
    OpinionStatus,
    RewardStatus,
    TipReward,
    TipVerdict,
)
from minyi.opinions.services.handling import opinion_answer, opinion_tip_verdict
from minyi.opinions.services.rewards import reward_propose
from minyi.opinions.tests.factories import make_opinion, png_upload
from minyi.opinions.tests.permission_cases import (
    TIPSTER,
    TIPSTER_MOBILE,
    approved_tip_a2,
    rewarded_tip_a2,
    tip_a2,
    verified_tip_a2,
    wall_suggestion_a2,
)
from minyi.orgs.choices import Role

pytestmark = pytest.mark.django_db
S = OpinionStatus
ANSWER = "您反映的路灯问题已联系街道修复，并增加夜间巡逻。"


def _login(client, world, key="a2", role=Role.UNIT_LEADER):
    client.force_login(world.user(key, role))
    return client


def _detail(pk):
    return reverse("opinions:opinion_detail", args=[pk])


def _overdue(opinion, days=3):
    Opinion.objects.filter(pk=opinion.pk).update(
        deadline=timezone.localdate() - timedelta(days=days)
    )


# --- The queue -------------------------------------------------------------------------------


def test_queue_lists_overdue_first_with_counts_and_only_the_subtree(client, world):
    # Given a fresh complaint, an overdue suggestion and an answered one at a2, one at a1
    fresh = make_opinion(world)
    late = make_opinion(world, kind=OpinionKind.SUGGESTION)
    _overdue(late)
    done = make_opinion(world, kind=OpinionKind.CONSULTATION)
    opinion_answer(actor=world.user("a2", Role.UNIT_LEADER), opinion=done, text=ANSWER)
    other = make_opinion(world, unit=world.station_a1)

    response = _login(client, world).get(reverse("opinions:opinion_list"), {"status": "all"})

    html = response.content.decode()
    assert response.status_code == 200
    assert html.index(late.number) < html.index(fresh.number) < html.index(done.number)
    assert other.number not in html
    assert 'data-testid="overdue-row"' in html
    counts = {t["value"]: t["count"] for t in response.context["tabs"]}
    assert counts == {
        "open": 2,
        "all": 3,
        S.RECEIVED: 2,
        S.ACCEPTED: 0,
        S.ANSWERED: 1,
        S.CLOSED: 0,
        "overdue": 1,
        "letter_due": 0,
    }

    # And the queue opens on what is still to answer, most urgent first
    default = client.get(reverse("opinions:opinion_list"))
    assert [o.pk for o in default.context["page"]] == [late.pk, fresh.pk]


def test_queue_tabs_and_kind_filter(client, world):
    complaint = make_opinion(world)
    tip = make_opinion(world, kind=OpinionKind.TIP)
    late = make_opinion(world)
    _overdue(late)
    _login(client, world)

    by_kind = client.get(reverse("opinions:opinion_list"), {"kind": OpinionKind.TIP})
    assert [o.pk for o in by_kind.context["page"]] == [tip.pk]
    overdue = client.get(reverse("opinions:opinion_list"), {"status": "overdue"})
    assert [o.pk for o in overdue.context["page"]] == [late.pk]
    assert complaint.number not in overdue.content.decode()


def test_queue_marks_a_provisional_deadline(client, world):
    opinion = make_opinion(world)
    Opinion.objects.filter(pk=opinion.pk).update(deadline_provisional=True)
    html = _login(client, world).get(reverse("opinions:opinion_list")).content.decode()
    assert "暂定" in html


def test_queue_query_count_does_not_grow_with_rows(client, world, django_assert_max_num_queries):
    for _ in range(3):
        make_opinion(world)
    _login(client, world)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(reverse("opinions:opinion_list"))
    for _ in range(12):
        make_opinion(world, unit=world.station_a2, kind=OpinionKind.SUGGESTION)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("opinions:opinion_list"))


# --- One opinion -----------------------------------------------------------------------------


def test_named_complaint_shows_the_masked_mobile_and_a_reveal_button(client, world):
    opinion = make_opinion(world, contact_name="王投诉", mobile="13700004321")
    html = _login(client, world).get(_detail(opinion.pk)).content.decode()
    assert "王投诉" in html and mask_mobile("13700004321") in html
    assert "13700004321" not in html
    assert 'data-testid="reveal-contact"' in html
    assert 'data-testid="accept-form"' in html and 'data-testid="answer-form"' in html


def test_anonymous_author_is_shown_as_anonymous_without_a_button(client, world):
    opinion = make_opinion(world, anonymous=True, mobile="13700004322")
    html = _login(client, world, "a2", Role.SUPERVISOR).get(_detail(opinion.pk)).content.decode()
    assert "匿名" in html and "reveal-" not in html
    assert mask_mobile("13700004322") not in html


def test_contact_reveal_shows_the_number_uncached_and_audited(client, world):
    opinion = make_opinion(world, contact_name="王投诉", mobile="13700004321")
    response = _login(client, world).post(reverse("opinions:opinion_contact", args=[opinion.pk]))
    assert response.status_code == 200
    assert "13700004321" in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert AuditEvent.objects.filter(
        action=AuditAction.PII_REVEAL, object_id=str(opinion.pk), outcome=AuditOutcome.SUCCESS
    ).exists()


@pytest.mark.parametrize("role", [Role.UNIT_LEADER, Role.EVALUATOR])
def test_a_unit_leaders_page_never_shows_the_tipster(client, world, role):
    # Given a named tip at station a2
    tip = tip_a2(world)
    _login(client, world, "a2", role)

    # When a unit leader (or evaluator) opens the queue and the tip
    pages = [
        client.get(reverse("opinions:opinion_list")).content.decode(),
        client.get(_detail(tip.pk)).content.decode(),
    ]

    # Then neither the name nor the mobile, masked or not, is anywhere on them
    for html in pages:
        assert TIPSTER not in html
        assert TIPSTER_MOBILE not in html and mask_mobile(TIPSTER_MOBILE) not in html
    assert "举报人信息已保护" in pages[1]
    assert "reveal-tipster" not in pages[1]
    # And asking anyway is refused, without the identity, and audited
    refused = client.post(reverse("opinions:opinion_contact", args=[tip.pk]))
    assert refused.status_code == 403
    assert TIPSTER not in refused.content.decode()
    assert AuditEvent.objects.filter(
        action=AuditAction.PII_REVEAL, object_id=str(tip.pk), outcome=AuditOutcome.DENIED
    ).exists()


def test_a_supervisor_reveals_the_tipster_on_purpose(client, world):
    tip = tip_a2(world)
    _login(client, world, "a", Role.SUPERVISOR)
    html = client.get(_detail(tip.pk)).content.decode()
    assert TIPSTER not in html and "reveal-tipster" in html
    revealed = client.post(reverse("opinions:opinion_contact", args=[tip.pk]))
    assert revealed.status_code == 200
    assert TIPSTER in revealed.content.decode() and TIPSTER_MOBILE in revealed.content.decode()
    assert "no-store" in revealed["Cache-Control"]


def test_history_shows_each_step(client, world):
    opinion = make_opinion(world)
    opinion_answer(actor=world.user("a2", Role.UNIT_LEADER), opinion=opinion, text=ANSWER)
    response = _login(client, world).get(_detail(opinion.pk))
    history = response.context["history"]
    assert [e.to_status for e in history] == [S.RECEIVED, S.ACCEPTED, S.ANSWERED]
    html = response.content.decode()
    assert "待签收 → 办理中" in html and "群众提交" in html


def test_photo_is_streamed_scoped_and_audited(client, world):
    opinion = make_opinion(world, kind=OpinionKind.SUGGESTION, photos=[png_upload()])
    photo = opinion.photos.get()
    url = reverse("opinions:opinion_photo", args=[opinion.pk, photo.pk])
    _login(client, world)
    assert url in client.get(_detail(opinion.pk)).content.decode()

    response = client.get(url)

    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT, object_id=str(photo.pk)).exists()
    assert _login(client, world, "a1").get(url).status_code == 404


# --- Actions ---------------------------------------------------------------------------------


def test_accept_then_answer_through_the_page(client, world):
    opinion = make_opinion(world)
    _login(client, world)

    accepted = client.post(reverse("opinions:opinion_accept", args=[opinion.pk]), follow=True)
    assert accepted.redirect_chain[-1][0] == _detail(opinion.pk)
    assert "已签收" in accepted.content.decode()

    answered = client.post(
        reverse("opinions:opinion_answer", args=[opinion.pk]), {"answer": ANSWER}
    )
    assert answered.status_code == 302
    opinion.refresh_from_db()
    assert opinion.status == S.ANSWERED and opinion.answer == ANSWER


def test_a_refused_answer_keeps_the_text_and_shows_why(client, world):
    opinion = make_opinion(world)
    response = _login(client, world).post(
        reverse("opinions:opinion_answer", args=[opinion.pk]), {"answer": "已处理好"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "已处理好</textarea>" in html
    assert "答复内容至少 10 个字" in html
    opinion.refresh_from_db()
    assert opinion.status == S.RECEIVED


def test_transfer_through_the_page(client, world):
    opinion = make_opinion(world, unit=world.district_a)
    _login(client, world, "a", Role.SUPERVISOR)
    page = client.get(_detail(opinion.pk))
    units = list(page.context["forms"]["transfer"].fields["unit"].queryset)
    assert world.station_a2 in units and world.station_b1 not in units
    assert world.district_a not in units  # where it is now

    response = client.post(
        reverse("opinions:opinion_transfer", args=[opinion.pk]),
        {"unit": world.station_a2.pk, "note": "属甲二所辖区"},
    )

    assert response.status_code == 302
    opinion.refresh_from_db()
    assert opinion.unit == world.station_a2


def test_transfer_outside_the_subtree_is_refused_on_the_page(client, world):
    opinion = make_opinion(world, unit=world.district_a)
    response = _login(client, world, "a", Role.SUPERVISOR).post(
        reverse("opinions:opinion_transfer", args=[opinion.pk]),
        {"unit": world.station_b1.pk, "note": "转乙一所"},
    )
    assert response.status_code == 400
    assert "只能转办给本单位及下级单位" in response.content.decode()


def test_tip_verdict_reward_approval_and_payment_through_the_pages(client, world):
    # Given a tip at station a2
    tip = tip_a2(world)
    leader = _login(client, world)

    # The leader verifies it and proposes a reward
    assert (
        leader.post(
            reverse("opinions:opinion_verdict", args=[tip.pk]),
            {"verdict": TipVerdict.VERIFIED, "note": "经查属实，查获赃车三辆。"},
        ).status_code
        == 302
    )
    assert (
        leader.post(
            reverse("opinions:reward_propose", args=[tip.pk]),
            {"amount": "500", "reason": "线索属实，协助查获赃车。"},
        ).status_code
        == 302
    )
    # a2's own supervisor has no approval form, and a decision from them is refused
    a2_sup = _login(client, world, "a2", Role.SUPERVISOR)
    assert 'data-testid="decide-form"' not in a2_sup.get(_detail(tip.pk)).content.decode()
    refused = a2_sup.post(reverse("opinions:reward_decide", args=[tip.pk]), {"decision": "approve"})
    assert refused.status_code == 403 and "奖励须由上级单位审批" in refused.content.decode()

    # District a's supervisor sees it waiting and approves it
    district = _login(client, world, "a", Role.SUPERVISOR)
    listed = district.get(reverse("opinions:reward_list")).content.decode()
    assert tip.number in listed
    assert (
        district.post(
            reverse("opinions:reward_decide", args=[tip.pk]),
            {"decision": "approve", "note": "同意"},
        ).status_code
        == 302
    )

    # The leader records the payment
    paid = _login(client, world).post(
        reverse("opinions:reward_pay", args=[tip.pk]), {"reference": "CW-2025-001"}, follow=True
    )
    html = paid.content.decode()
    assert "已发放" in html and "CW-2025-001" in html
    assert TipReward.objects.get(opinion=tip).status == RewardStatus.PAID


def test_reward_proposal_without_verification_is_not_offered(client, world):
    tip = tip_a2(world)
    html = _login(client, world).get(_detail(tip.pk)).content.decode()
    assert 'data-testid="verdict-form"' in html
    assert 'data-testid="propose-form"' not in html
    verified_tip_a2(world)
    html = client.get(_detail(tip.pk)).content.decode()
    assert 'data-testid="verdict-form"' not in html
    assert 'data-testid="propose-form"' in html


def test_a_refused_reward_amount_keeps_the_reason(client, world):
    tip = verified_tip_a2(world)
    response = _login(client, world).post(
        reverse("opinions:reward_propose", args=[tip.pk]),
        {"amount": "abc", "reason": "线索属实，协助查获赃车。"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "线索属实，协助查获赃车。</textarea>" in html and "奖励金额应为" in html


def test_reward_list_shows_the_tier_its_work(client, world):
    proposed = rewarded_tip_a2(world)
    # District a approves a2's rewards; a2's own supervisor does not see a2's proposals
    district = _login(client, world, "a", Role.SUPERVISOR).get(reverse("opinions:reward_list"))
    assert proposed.number in district.content.decode()
    own = _login(client, world, "a2", Role.SUPERVISOR).get(reverse("opinions:reward_list"))
    assert proposed.number not in own.content.decode()
    # Once approved, it waits for payment and shows to both
    approved_tip_a2(world)
    own = client.get(reverse("opinions:reward_list"))
    assert proposed.number in own.content.decode()
    assert "已批准待发放" in own.content.decode()


def test_a_district_proposal_is_offered_to_the_city_not_the_district(client, world):
    # Given district a's leader verified station a2's tip and proposed the reward
    district_leader = world.user("a", Role.UNIT_LEADER)
    tip = opinion_tip_verdict(
        actor=district_leader, opinion=tip_a2(world), verdict=TipVerdict.VERIFIED, note="经查属实。"
    )
    reward_propose(actor=district_leader, opinion=tip, amount="500", reason="线索属实，协助破案。")

    # Then the district's supervisor has neither the form nor the list entry, and is refused
    district = _login(client, world, "a", Role.SUPERVISOR)
    assert 'data-testid="decide-form"' not in district.get(_detail(tip.pk)).content.decode()
    assert tip.number not in district.get(reverse("opinions:reward_list")).content.decode()
    refused = district.post(
        reverse("opinions:reward_decide", args=[tip.pk]), {"decision": "approve"}
    )
    assert refused.status_code == 403 and "奖励须由上级单位审批" in refused.content.decode()

    # And the city's supervisor has both and approves it
    city = _login(client, world, "city", Role.SUPERVISOR)
    assert 'data-testid="decide-form"' in city.get(_detail(tip.pk)).content.decode()
    assert tip.number in city.get(reverse("opinions:reward_list")).content.decode()
    done = city.post(reverse("opinions:reward_decide", args=[tip.pk]), {"decision": "approve"})
    assert done.status_code == 302
    assert TipReward.objects.get(opinion=tip).status == RewardStatus.APPROVED


def test_free_text_area_is_masked_on_the_queue_and_the_page(client, world):
    opinion = make_opinion(world, area="幸福小区3幢 13912345678 家门口")
    leader = _login(client, world)
    for html in (
        leader.get(reverse("opinions:opinion_list")).content.decode(),
        leader.get(_detail(opinion.pk)).content.decode(),
    ):
        assert "13912345678" not in html
        assert "幸福小区3幢 139****5678 家门口" in html


# --- The public wall -----------------------------------------------------------------------------


def test_the_centre_takes_a_suggestion_off_the_wall_through_the_page(client, world):
    # Given an answered suggestion its author agreed to show on the wall
    opinion = opinion_answer(
        actor=world.user("a2", Role.UNIT_LEADER), opinion=wall_suggestion_a2(world), text=ANSWER
    )
    wall = reverse("portal:opinion_wall")
    assert opinion.content in client.get(wall).content.decode()
    url = reverse("opinions:opinion_wall_toggle", args=[opinion.pk])
    sup = _login(client, world, "a2", Role.SUPERVISOR)
    page = sup.get(_detail(opinion.pk)).content.decode()
    assert 'data-testid="wall-hide"' in page

    # A take-down without a reason is refused, on the page, with the form kept
    refused = sup.post(url, {"hide": "1", "reason": ""})
    assert refused.status_code == 400
    assert 'data-testid="error-reason"' in refused.content.decode()
    assert Opinion.objects.get(pk=opinion.pk).wall_hidden is False

    # When the supervisor takes it down with a reason
    response = sup.post(url, {"hide": "1", "reason": "内容涉及他人隐私"}, follow=True)

    # Then the page says so and offers to restore it, the history shows it, the wall drops it
    html = response.content.decode()
    assert "已从民意墙撤下" in html and 'data-testid="wall-restore"' in html
    assert "民意墙：撤下 内容涉及他人隐私" in html
    assert opinion.content not in client.get(wall).content.decode()

    # When it is restored, it is back on the wall
    assert _login(client, world, "a2", Role.SUPERVISOR).post(url, {"hide": "0"}).status_code == 302
    assert opinion.content in client.get(wall).content.decode()


def test_the_wall_button_is_only_for_the_centre_and_consented_suggestions(client, world):
    consented = wall_suggestion_a2(world)
    leader_page = _login(client, world).get(_detail(consented.pk)).content.decode()
    assert 'data-testid="wall-form"' not in leader_page
    sup = _login(client, world, "a2", Role.SUPERVISOR)
    assert 'data-testid="wall-form"' in sup.get(_detail(consented.pk)).content.decode()
    for other in (make_opinion(world, kind=OpinionKind.SUGGESTION), tip_a2(world)):
        assert 'data-testid="wall-form"' not in sup.get(_detail(other.pk)).content.decode()
    # A post for an opinion not on the wall is refused with the reason shown
    refused = sup.post(
        reverse("opinions:opinion_wall_toggle", args=[tip_a2(world).pk]),
        {"hide": "1", "reason": "不宜公开"},
    )
    assert refused.status_code == 409 and "不在民意墙展示" in refused.content.decode()
