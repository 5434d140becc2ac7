"""A red warning opens an accountability case (问责), the same kind the assessment opens: a
supervisor of a higher tier, once per warning, with the warning's figures as evidence."""

import pytest
from django.urls import reverse

from minyi.accountability.models import AccountabilityCase, CaseTrigger, Decision
from minyi.accountability.services import case_decide
from minyi.core.errors import ApplicationError, NotFound, PermissionDenied
from minyi.orgs.choices import Role
from minyi.warnings.models import WarningColour
from minyi.warnings.services import warning_case_open
from minyi.warnings.tests.factories import make_warning

pytestmark = pytest.mark.django_db


def test_supervisor_above_opens_a_case_from_an_officers_red_warning(world):
    warning = make_warning(officer=world.officers["a2"])
    case = warning_case_open(actor=world.user("a", Role.SUPERVISOR), warning=warning)
    assert case.unit == world.station_a2
    assert case.trigger == CaseTrigger.WARNING
    assert case.key == f"warning:{warning.pk}"
    assert case.leader == world.user("a2", Role.UNIT_LEADER)
    assert case.rule_version == warning.rule_version
    assert case.source["warning"] == warning.pk
    assert case.evidence["warning"] == warning.evidence  # the warning's evidence as it stood
    (figure,) = case.evidence["figures"]
    assert figure["value"] == pytest.approx(0.1125) and figure["n"] == 80
    assert figure["low"] < 0.1125 < figure["high"]  # Wilson interval of 9/80
    assert case.evidence["reasons"] == [{"label": "attitude", "count": 1}]
    assert case.history.get().actor == world.user("a", Role.SUPERVISOR)
    # Shaoxing's 执法过错 liability is recorded as the case's decision.
    case = case_decide(
        actor=world.user("city", Role.SUPERVISOR),
        case=case,
        decision=Decision.LIABILITY,
        reason="认定执法过错",
    )
    assert case.get_decision_display() == "执法过错责任追究"


def test_a_warning_opens_one_case_only(world):
    warning = make_warning(unit=world.station_a2)
    warning_case_open(actor=world.user("a", Role.SUPERVISOR), warning=warning)
    with pytest.raises(ApplicationError) as exc:
        warning_case_open(actor=world.user("city", Role.SUPERVISOR), warning=warning)
    assert exc.value.code == "case_exists"
    assert AccountabilityCase.objects.count() == 1


def test_only_red_warnings_and_only_a_higher_tier(world):
    orange = make_warning(officer=world.officers["a2"], colour=WarningColour.ORANGE)
    with pytest.raises(ApplicationError) as exc:
        warning_case_open(actor=world.user("a", Role.SUPERVISOR), warning=orange)
    assert exc.value.code == "warning_not_red"
    red = make_warning(unit=world.station_a2)
    with pytest.raises(ApplicationError) as exc:
        warning_case_open(actor=world.user("a2", Role.SUPERVISOR), warning=red)
    assert exc.value.code == "higher_tier_required"
    with pytest.raises(NotFound):
        warning_case_open(actor=world.user("b", Role.SUPERVISOR), warning=red)
    with pytest.raises(PermissionDenied):
        warning_case_open(actor=world.user("a2", Role.UNIT_LEADER), warning=red)
    assert not AccountabilityCase.objects.exists()


def test_the_warning_page_offers_the_button_then_links_the_case(client, world):
    warning = make_warning(officer=world.officers["a2"])
    url = reverse("warnings:warning_detail", args=[warning.pk])
    client.force_login(world.user("a2", Role.UNIT_LEADER))
    assert "启动问责" not in client.get(url).content.decode()
    client.force_login(world.user("a", Role.SUPERVISOR))
    html = client.get(url).content.decode()
    assert reverse("warnings:warning_case_open", args=[warning.pk]) in html
    response = client.post(reverse("warnings:warning_case_open", args=[warning.pk]))
    case = AccountabilityCase.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("accountability:case_detail", args=[case.pk])
    html = client.get(url).content.decode()
    assert reverse("accountability:case_detail", args=[case.pk]) in html
    # Again: refused with the reason on the warning's page.
    response = client.post(reverse("warnings:warning_case_open", args=[warning.pk]))
    assert response.status_code == 409
    assert "该预警已启动问责。" in response.content.decode()
    # The case page shows the warning's figure with its interval and sample.
    html = client.get(reverse("accountability:case_detail", args=[case.pk])).content.decode()
    assert "11.2%" in html and "80" in html


def test_a_units_red_warning_gives_its_satisfaction_with_interval(world):
    evidence = {"evaluated": True, "answered": 200, "satisfied": 150, "target": 0.9, "rate": 0.75}
    warning = make_warning(unit=world.station_a2, evidence=evidence, statistic=-3.4)
    case = warning_case_open(actor=world.user("city", Role.SUPERVISOR), warning=warning)
    (figure,) = case.evidence["figures"]
    assert figure["value"] == 0.75 and figure["n"] == 200
    assert figure["low"] == pytest.approx(0.6857, abs=1e-4)  # Wilson 95% for 150/200, by hand
    assert figure["high"] == pytest.approx(0.8049, abs=1e-4)
    assert "-3.40" in figure["note"]
