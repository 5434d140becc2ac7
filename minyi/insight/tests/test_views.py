"""The tagger page, its train button and the workbench's suggestion fragment."""

import pytest
from django.urls import reverse

from minyi.core.models import AuditAction, AuditEvent
from minyi.demo.reasons import demo_reasons
from minyi.insight.models import TaggerModel
from minyi.insight.services import tagger_train
from minyi.insight.tests.conftest import login
from minyi.insight.tests.factories import confirmed_callbacks, learnable_reasons
from minyi.orgs.choices import Role

pytestmark = pytest.mark.django_db

SECRET_REASON = "甲二所民警在窗口说了一句很特别的话"


@pytest.fixture
def trained(world):
    confirmed_callbacks(
        world.station_a2, [*demo_reasons(), *learnable_reasons(), (SECRET_REASON, ["attitude"])]
    )
    return tagger_train(actor=world.user("city", Role.ADMIN))


def test_page_shows_the_active_model_and_its_figures(admin_client, trained):
    response = admin_client.get(reverse("insight:tagger"))
    assert response.status_code == 200
    html = response.content.decode()
    assert f"v{trained.version}" in html
    assert 'data-testid="tagger-metrics"' in html
    for tag in ("attitude", "response_speed", "other", "micro", "macro"):
        assert f'data-tag="{tag}"' in html
    micro = trained.metrics["model"]["micro"]["f1"]
    assert f"{micro * 100:.1f}%" in html
    rules = trained.metrics["rules"]["micro"]["f1"]
    assert f"{rules * 100:.1f}%" in html
    assert "出警速度" in html and "模型" in html
    assert 'data-testid="tagger-history"' in html


def test_page_never_shows_a_citizens_words(admin_client, trained):
    html = admin_client.get(reverse("insight:tagger")).content.decode()
    assert SECRET_REASON not in html
    assert "很特别" not in html
    for text, _tags in demo_reasons()[:50]:
        assert text not in html


def test_page_without_a_model_says_the_rules_are_used(admin_client):
    html = admin_client.get(reverse("insight:tagger")).content.decode()
    assert 'data-testid="tagger-none"' in html
    assert 'data-testid="tagger-metrics"' not in html


def test_a_model_not_activated_is_shown_with_its_reason(admin_client, world):
    confirmed_callbacks(world.station_a2, demo_reasons()[:40])
    tagger_train()
    html = admin_client.get(reverse("insight:tagger")).content.decode()
    assert 'data-testid="tagger-none"' in html
    assert "v1" in html and "未启用" in html


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.EVALUATOR, Role.UNIT_LEADER])
def test_page_and_button_are_refused_to_other_roles(client, world, role):
    login(client, world.user("a2", role))
    assert client.get(reverse("insight:tagger")).status_code == 403
    assert client.post(reverse("insight:tagger_train")).status_code == 403
    assert not TaggerModel.objects.exists()


def test_train_button_trains_and_comes_back_with_a_message(admin_client, world, immediate_tasks):
    # Given confirmed callbacks and no model
    confirmed_callbacks(world.station_a2, demo_reasons() + learnable_reasons())
    # When the administrator presses 重新训练
    response = admin_client.post(reverse("insight:tagger_train"), follow=True)
    # Then they are back on the page with a message, and a new active version exists
    assert response.redirect_chain == [(reverse("insight:tagger"), 302)]
    assert "已提交重新训练" in response.content.decode()
    model = TaggerModel.objects.get()
    assert model.is_active and model.trained_by == world.user("city", Role.ADMIN)
    assert AuditEvent.objects.filter(action=AuditAction.CREATE, object_id=str(model.pk)).exists()
    assert 'data-testid="tagger-metrics"' in response.content.decode()


def test_train_button_needs_csrf(world):
    from django.test import Client

    client = login(Client(enforce_csrf_checks=True), world.user("city", Role.ADMIN))
    assert client.post(reverse("insight:tagger_train")).status_code == 403


def test_train_link_asks_for_confirmation_first(admin_client):
    response = admin_client.get(reverse("insight:tagger_train"))
    assert response.status_code == 200
    assert "重新训练原因标签模型" in response.content.decode()
    assert not TaggerModel.objects.exists()


def _boxes(html):
    import re

    boxes = re.findall(r'<input type="checkbox" name="tags" value="(\w+)"[^>]*?( checked)?>', html)
    return [v for v, _ in boxes], [v for v, checked in boxes if checked]


def test_suggest_fragment_checks_the_suggested_tags(client, world):
    login(client, world.user("a2", Role.EVALUATOR))
    response = client.post(reverse("insight:suggest"), {"text": "民警态度很差，让我明天再来"})
    assert response.status_code == 200
    html = response.content.decode()
    every, checked = _boxes(html)
    assert every == [
        "attitude", "efficiency", "multiple_trips", "conduct", "outcome",
        "response_speed", "integrity", "explanation", "facilities", "other",
    ]  # fmt: skip
    assert checked == ["attitude", "multiple_trips"]
    assert '<input type="hidden" name="suggested_tags" value="attitude">' in html
    assert "<html" not in html  # a fragment for htmx


def test_suggest_reads_the_workbench_textarea_by_its_name(client, world):
    login(client, world.user("a2", Role.EVALUATOR))
    html = client.post(reverse("insight:suggest"), {"reason_text": "出警太慢"}).content.decode()
    assert _boxes(html)[1] == ["response_speed"]


def test_suggest_keeps_tags_checked_by_hand_and_drops_stale_suggestions(client, world):
    login(client, world.user("a2", Role.EVALUATOR))
    # Given the evaluator checked 廉洁 by hand, and 态度 had been suggested for earlier text
    data = {
        "reason_text": "排队太久",
        "current": "1",
        "tags": ["integrity", "attitude"],
        "suggested_tags": ["attitude"],
    }
    html = client.post(reverse("insight:suggest"), data).content.decode()
    # Then the hand-checked tag stays, the stale suggestion goes, the new one is checked
    assert _boxes(html)[1] == ["efficiency", "integrity"]


def test_suggest_for_empty_or_unclear_text(client, world):
    login(client, world.user("a2", Role.EVALUATOR))
    assert _boxes(client.post(reverse("insight:suggest"), {"text": ""}).content.decode())[1] == []
    # The citizen's words never travel in a URL
    assert client.get(reverse("insight:suggest"), {"text": "态度差"}).status_code == 405
    unclear = client.post(reverse("insight:suggest"), {"text": "不满意"}).content.decode()
    assert _boxes(unclear)[1] == ["other"]


def test_suggest_uses_the_active_model(client, world, trained):
    from minyi.insight.tagging import active_model

    login(client, world.user("a2", Role.EVALUATOR))
    text = "民警说话阴阳怪气，还让我跑了三趟"
    html = client.post(reverse("insight:suggest"), {"text": text}).content.decode()
    assert _boxes(html)[1] == active_model().predict(text)


def test_suggest_is_refused_without_callback_work(client, world):
    login(client, world.user("a2", Role.SUPERVISOR))
    assert client.post(reverse("insight:suggest"), {"text": "态度差"}).status_code == 403


def test_page_reports_each_source_and_says_when_there_are_too_few(admin_client, trained):
    # The callbacks' held-out part is judged; every other source has no confirmed text yet
    html = admin_client.get(reverse("insight:tagger")).content.decode()
    assert 'data-testid="tagger-sources"' in html
    for source in ("callback", "survey", "opinion", "case", "poll", "meeting"):
        assert f'data-source="{source}"' in html
    assert html.count("尚无确认样本") == 5
    # A tag with fewer than 20 held-out examples gets no rate, only the words
    rows = trained.metrics["model"]["tags"]
    few = [t for t, m in rows.items() if m["support"] < 20]
    assert few and html.count('data-testid="too-few"') == len(few)
    assert "样本太少，无法判断" in html and 'data-testid="tagger-primary"' in html
