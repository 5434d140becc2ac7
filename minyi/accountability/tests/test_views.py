"""The accountability pages through the test client: scoping of the list, the case page's
evidence and forms by role, the reply and the decision, and masking of free text."""

import pytest
from django.urls import reverse

from minyi.accountability.models import CaseStatus, Decision
from minyi.accountability.services import case_reply
from minyi.accountability.tests.factories import open_case
from minyi.orgs.choices import Role

pytestmark = pytest.mark.django_db


def _as(client, world, unit_key, role):
    client.force_login(world.user(unit_key, role))
    return client


def _list(client):
    return client.get(reverse("accountability:case_list") + "?status=all")


def test_list_is_scoped_by_role_and_subtree(client, world):
    a2 = open_case(world.station_a2)
    b1 = open_case(world.station_b1)
    detail_a2 = reverse("accountability:case_detail", args=[a2.pk])
    detail_b1 = reverse("accountability:case_detail", args=[b1.pk])

    def listed(unit_key, role) -> tuple[bool, bool]:
        client.force_login(world.user(unit_key, role))
        html = _list(client).content.decode()
        return detail_a2 in html, detail_b1 in html

    # The city supervisor sees both; a district supervisor its own station's only.
    assert listed("city", Role.SUPERVISOR) == (True, True)
    assert listed("a", Role.SUPERVISOR) == (True, False)
    assert listed("b", Role.SUPERVISOR) == (False, True)
    # The station's leader sees its own case; the sibling station's leader sees nothing.
    assert listed("a2", Role.UNIT_LEADER) == (True, False)
    assert listed("a1", Role.UNIT_LEADER) == (False, False)
    assert client.get(detail_a2).status_code == 404
    # A sibling station's supervisor neither.
    assert listed("a1", Role.SUPERVISOR) == (False, False)
    assert client.get(detail_a2).status_code == 404
    # A district's leader does not see its stations' cases (a leader sees their unit's).
    assert listed("a", Role.UNIT_LEADER) == (False, False)
    assert client.get(detail_a2).status_code == 404
    # An evaluator has no accountability pages at all.
    client.force_login(world.user("city", Role.EVALUATOR))
    assert _list(client).status_code == 403
    assert client.get(detail_a2).status_code == 403


def test_case_page_shows_evidence_masked_and_raw_last_for_reference(client, world):
    case = open_case(world.station_a2)
    html = (
        _as(client, world, "a", Role.SUPERVISOR)
        .get(reverse("accountability:case_detail", args=[case.pk]))
        .content.decode()
    )
    assert "满意度 2026 第1轮" in html
    assert "71.2%" in html and "66.4%–75.6%" in html  # the figure with its interval
    assert "400" in html and "352" in html  # n and n_eff beside it
    assert "55–60 / 60" in html  # the rank interval among 60 peers
    assert "仅供参考" in html and "2026上半年" in html
    assert "13812345678" not in html and "138****5678" in html


def test_leader_sees_only_the_reply_form_and_supervisor_above_only_the_decision(client, world):
    case = open_case(world.station_a2)
    url = reverse("accountability:case_detail", args=[case.pk])
    html = _as(client, world, "a2", Role.UNIT_LEADER).get(url).content.decode()
    assert 'data-testid="reply-form"' in html and 'data-testid="decide-form"' not in html
    html = _as(client, world, "a", Role.SUPERVISOR).get(url).content.decode()
    assert 'data-testid="reply-form"' not in html and 'data-testid="decide-form"' in html
    # The station's own supervisor reads the case but is no higher tier: no form.
    html = _as(client, world, "a2", Role.SUPERVISOR).get(url).content.decode()
    assert 'data-testid="reply-form"' not in html and 'data-testid="decide-form"' not in html


def test_reply_and_decision_through_the_pages(client, world):
    case = open_case(world.station_a2)
    detail = reverse("accountability:case_detail", args=[case.pk])
    _as(client, world, "a2", Role.UNIT_LEADER)
    response = client.post(reverse("accountability:case_reply", args=[case.pk]), {"text": ""})
    assert response.status_code == 400
    assert "请填写书面说明。" in response.content.decode()
    response = client.post(
        reverse("accountability:case_reply", args=[case.pk]),
        {"text": "已整改，联系人 13900001111"},
    )
    assert response.status_code == 302 and response.url == detail
    _as(client, world, "a", Role.SUPERVISOR)
    response = client.post(
        reverse("accountability:case_decide", args=[case.pk]), {"decision": "", "reason": "x"}
    )
    assert response.status_code == 400
    assert "请选择处理决定。" in response.content.decode()
    response = client.post(
        reverse("accountability:case_decide", args=[case.pk]),
        {"decision": Decision.REASSIGN, "reason": ""},
    )
    assert response.status_code == 400
    assert "请填写决定理由。" in response.content.decode()
    response = client.post(
        reverse("accountability:case_decide", args=[case.pk]),
        {"decision": Decision.REASSIGN, "reason": "调整岗位"},
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.DECIDED
    html = client.get(detail).content.decode()
    assert "139****1111" in html and "13900001111" not in html
    assert "调整岗位" in html


def test_a_refused_reply_shows_the_reason(client, world):
    case = open_case(world.station_a2)
    case_reply(actor=world.user("a2", Role.UNIT_LEADER), case=case, text="已说明")
    response = _as(client, world, "a2", Role.UNIT_LEADER).post(
        reverse("accountability:case_reply", args=[case.pk]), {"text": "再说明"}
    )
    assert response.status_code == 409
    assert "书面说明已提交，不能重复提交。" in response.content.decode()


def test_case_page_lays_out_the_assessment_gates_evidence(client, world):
    # The shape minyi.assessment.compute.accountability_open stores.
    result = {
        "assessment": 7,
        "label": "2026上半年",
        "peer_group": "全市派出所",
        "composite": [-1.234, -1.61, -0.85],
        "rank": {"raw": 60, "median": 58.0, "interval": [54, 60]},
        "p_last": 0.41,
        "p_bottom3": 0.86,
        "z_adjusted": -2.7,
        "n_eff": 331.2,
        "raw_last": True,
        "indicators": {
            "satisfaction": {
                "label": "满意度",
                "value": 0.6821,
                "low": 0.6301,
                "high": 0.7299,
                "n": 402,
                "n_eff": 331.2,
                "weight": 0.3,
            }
        },
    }
    case = open_case(
        world.station_a2,
        evidence={
            "results": [result, {**result, "label": "2026下半年", "raw_last": False}],
            "callback_reasons": [{"tag": "attitude", "count": 12}],
            "opinions": {"complaint": 4},
        },
    )
    html = (
        _as(client, world, "a", Role.SUPERVISOR)
        .get(reverse("accountability:case_detail", args=[case.pk]))
        .content.decode()
    )
    assert "2026上半年 · 综合得分" in html and "-1.23" in html and "-1.61–-0.85" in html
    assert "2026上半年 · 名次（中位）" in html and "54–60" in html
    assert "P(末三位) 0.86" in html
    assert "2026上半年 · 满意度" in html and "68.2%" in html and "63.0%–73.0%" in html
    assert "402" in html and "331" in html
    assert "态度：12" in html  # the reason tag in Chinese
    assert "仅供参考" in html and "第 60 名" in html
    assert "complaint" in html  # the rest of the evidence, as stored
