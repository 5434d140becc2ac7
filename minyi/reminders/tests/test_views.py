"""Staff pages (overview, sends with delivery status, templates) and the citizen's opt-out
page (one-time code, per kind or all)."""

import re

import pytest
from django.urls import reverse

from minyi.core.errors import ApplicationError
from minyi.core.pii import lookup_hash
from minyi.integrations.sms.models import OutboundSms, OutboundStatus, SmsPurpose
from minyi.orgs.choices import Role
from minyi.orgs.tests.factories import UserFactory
from minyi.reminders.models import ReminderKind, ReminderOptOut, ReminderTemplate
from minyi.reminders.sending import reminders_send_due, template_save
from minyi.reminders.tests.factories import MORNING, make_item, make_template

MOBILE = "13800001111"


@pytest.mark.django_db
def test_overview_and_sends_show_delivery_masked(client, world, django_assert_max_num_queries):
    make_template(leads="7")
    for i in range(3):
        make_item(world.station_a2, external_id=f"o{i}", due_in=7, mobile=f"1380000111{i}")
    make_item(world.station_a1, external_id="sib", due_in=7, label="浙A·***S1")
    reminders_send_due(now=MORNING)
    first = OutboundSms.objects.order_by("pk").first()
    OutboundSms.objects.filter(pk=first.pk).update(status=OutboundStatus.DELIVERED)
    client.force_login(world.user("a2", Role.UNIT_LEADER))
    with django_assert_max_num_queries(12):
        html = client.get(reverse("reminders:item_list")).content.decode()
    assert "138****1110" in html and "13800001110" not in html
    assert "浙A·***S1" not in html  # the sibling's item
    row = re.search(r'data-kind="vehicle_inspection">(.*?)</tr>', html).group(1)
    assert re.findall(r'class="num">(\d+)<', row) == ["3", "2", "0", "1", "0", "0"]
    with django_assert_max_num_queries(12):
        html = client.get(reverse("reminders:send_list")).content.decode()
    assert html.count('data-delivery="delivered"') == 1
    assert html.count('data-delivery="queued"') == 2
    assert "浙A·***S1" not in html


@pytest.mark.django_db
def test_templates_are_checked_on_save(client, world):
    client.force_login(world.user("city", Role.SUPERVISOR))
    url = reverse("reminders:template_edit", args=["vehicle_inspection"])
    bad = client.post(url, {"text": "{signature}您的{plate}将到期", "lead_days": "30,7"})
    assert bad.status_code == 400
    html = bad.content.decode()
    assert "未知的占位符" in html and "{plate}" in html
    missing = client.post(url, {"text": "{signature}请办理{item}", "lead_days": "30，x"})
    html = missing.content.decode()
    assert "必须包含占位符" in html and "提前天数“x”无效" in html
    assert not ReminderTemplate.objects.exists()
    ok = client.post(
        url, {"text": "{signature}您的{item}于{due}到期", "lead_days": "7, 30 ,7", "active": "on"}
    )
    assert ok.status_code == 302
    template = ReminderTemplate.objects.get()
    assert template.lead_days == "30,7" and template.active


@pytest.mark.django_db
@pytest.mark.parametrize("unit_key", ["a", "a2"])
def test_only_the_city_bureau_edits_the_city_wide_templates(client, world, unit_key):
    # Given a template the city set, and a district's or a station's supervisor
    make_template(leads="30,7")
    client.force_login(world.user(unit_key, Role.SUPERVISOR))
    url = reverse("reminders:template_edit", args=["vehicle_inspection"])
    # When they open the list, then the edit page, then post a change
    listed = client.get(reverse("reminders:template_list"))
    opened = client.get(url)
    posted = client.post(url, {"text": "{signature}{item}{due}", "lead_days": "1", "active": "on"})
    # Then they read the templates, are told plainly they may not edit, and nothing changes
    assert listed.status_code == 200
    assert 'data-testid="templates-read-only"' in listed.content.decode()
    assert url not in listed.content.decode()
    for response in (opened, posted):
        assert response.status_code == 403
        assert "只有市局的管理员可以修改" in response.content.decode()
    assert ReminderTemplate.objects.get().lead_days == "30,7"
    # And the service refuses them too, whatever page calls it
    with pytest.raises(ApplicationError) as refused:
        template_save(actor=world.user(unit_key, Role.SUPERVISOR), template=make_template())
    assert (refused.value.code, refused.value.status) == ("template_city_only", 403)


@pytest.mark.django_db
def test_the_city_bureau_and_a_superuser_edit_templates(client, world):
    url = reverse("reminders:template_edit", args=["vehicle_inspection"])
    client.force_login(world.user("city", Role.SUPERVISOR))
    listed = client.get(reverse("reminders:template_list")).content.decode()
    assert url in listed and 'data-testid="templates-read-only"' not in listed
    assert client.get(url).status_code == 200
    assert client.post(url, {"text": "{item}于{due}到期", "lead_days": "7"}).status_code == 302
    assert ReminderTemplate.objects.get().lead_days == "7"
    # The operator's superuser (no unit; its pages sit behind a second factor) may too
    root = UserFactory(username="root", is_superuser=True, role="", unit=None)
    template = ReminderTemplate.objects.get()
    template.lead_days = "15"
    assert template_save(actor=root, template=template).lead_days == "15"


def _code(mobile=MOBILE) -> str:
    sms = OutboundSms.objects.filter(
        purpose=SmsPurpose.OTP, to_mobile_hash=lookup_hash("mobile", mobile)
    ).latest("id")
    return re.search(r"\d{6}", sms.body).group(0)


@pytest.mark.django_db
def test_a_citizen_opts_out_of_one_kind_then_all_and_back(client, world):
    url = reverse("reminders_public:opt_out")
    assert client.get(url).status_code == 200
    client.post(url, {"mobile": MOBILE, "action": "send_code"})
    response = client.post(
        url, {"mobile": MOBILE, "code": _code(), "kind": "vehicle_inspection", "action": "stop"}
    )
    assert response.status_code == 302
    key = lookup_hash("mobile", MOBILE)
    assert set(ReminderOptOut.objects.filter(mobile_hash=key).values_list("kind", flat=True)) == {
        ReminderKind.VEHICLE_INSPECTION
    }
    html = client.get(url).content.decode()
    assert "138****1111" in html and 'data-kind="vehicle_inspection" data-stopped="1"' in html
    assert 'data-kind="id_expiry" data-stopped="0"' in html
    # The proven session stops all kinds without a second code, and takes them back
    assert client.post(url, {"action": "stop", "kind": "all"}).status_code == 302
    assert ReminderOptOut.objects.filter(mobile_hash=key, kind="").exists()
    client.post(url, {"action": "resume", "kind": "all"})
    assert not ReminderOptOut.objects.filter(mobile_hash=key, kind="").exists()
    client.post(url, {"action": "forget"})
    assert "138****1111" not in client.get(url).content.decode()


@pytest.mark.django_db
def test_a_wrong_code_opts_nobody_out(client, world):
    url = reverse("reminders_public:opt_out")
    client.post(url, {"mobile": MOBILE, "action": "send_code"})
    wrong = "000000" if _code() != "000000" else "111111"
    response = client.post(url, {"mobile": MOBILE, "code": wrong, "action": "stop"})
    assert response.status_code == 200
    assert not ReminderOptOut.objects.exists()
