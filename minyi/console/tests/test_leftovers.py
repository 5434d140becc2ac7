"""What a newcomer tripped over (issue 12, item 15): an empty sign-in that said nothing, raw
codes and "---------" on screen, English technical error pages in the demo, Django's length
messages, the TOTP page naming apps one cannot get in China, and no favicon."""

import pytest
from django import forms
from django.apps import apps
from django.http import Http404
from django.test import RequestFactory
from django.urls import reverse

from minyi.console.middleware import DemoErrorPagesMiddleware
from minyi.core.templatetags.minyi import code_label
from minyi.orgs.choices import Role
from minyi.orgs.forms import StaffLoginForm
from minyi.orgs.models import Officer, User

pytestmark = pytest.mark.django_db


def test_an_empty_sign_in_says_what_is_missing(client):
    response = client.post(reverse("login"), {"username": "", "password": ""})

    page = response.content.decode()
    assert response.status_code == 200
    assert "请输入用户名。" in page and "请输入密码。" in page
    assert 'aria-invalid="true"' in page
    assert isinstance(response.context["form"], StaffLoginForm)


def test_a_missing_password_alone_is_named(client, world):
    user = world.user("a1", Role.UNIT_LEADER)
    page = client.post(reverse("login"), {"username": user.username, "password": ""})
    html = page.content.decode()
    assert "请输入密码。" in html and "请输入用户名。" not in html


def test_length_errors_are_in_the_projects_words():
    class Form(forms.Form):
        text = forms.CharField(max_length=200)
        short = forms.CharField(min_length=5, required=False)

    form = Form({"text": "字" * 230, "short": "太短"})

    assert not form.is_valid()
    assert form.errors["text"] == ["最多 200 字，当前 230 字。"]
    assert form.errors["short"] == ["至少 5 字，当前 2 字。"]


def test_selects_start_with_a_prompt_not_dashes():
    class OfficerForm(forms.Form):
        officer = forms.ModelChoiceField(queryset=Officer.objects.none())

    class UserForm(forms.ModelForm):
        class Meta:
            model = User
            fields = ["role"]

    assert next(iter(OfficerForm().fields["officer"].choices))[1] == "请选择…"
    assert UserForm().fields["role"].choices[0] == ("", "请选择…")
    assert "---------" not in str(UserForm())


def test_system_configuration_shows_chinese_names(world):
    assert str(apps.get_app_config("core").verbose_name) == "基础数据"
    admin = world.user("city", Role.ADMIN)
    admin.full_name = "徐家倩"
    assert admin.get_short_name() == "徐家倩"  # the admin greets by name, not "CITY_ADMIN"


def test_codes_are_shown_by_their_chinese_labels():
    assert code_label("sms", "channel") == "短信"
    assert code_label("h5", "channel") == "网页"
    assert code_label("duplicate", "import_status") == "重复，已跳过"
    assert code_label("something-new", "channel") == "something-new"  # never hidden


class TestDemoErrorPages:
    @pytest.fixture(autouse=True)
    def _demo_with_debug(self, settings):
        settings.DEBUG = True
        settings.DEMO_MODE = True

    def test_a_missing_page_is_the_chinese_404(self, client):
        response = client.get("/no-such-page/")

        page = response.content.decode()
        assert response.status_code == 404
        assert "未找到" in page
        assert "URLconf" not in page  # not Django's technical page

    def test_a_crash_is_the_chinese_500_and_is_logged(self, caplog):
        request = RequestFactory().get("/perception/callbacks/")
        middleware = DemoErrorPagesMiddleware(lambda r: None)

        response = middleware.process_exception(request, RuntimeError("boom"))

        assert response.status_code == 500
        assert "服务器错误" in response.content.decode()
        assert "Traceback" not in response.content.decode()
        assert any("Internal Server Error" in r.getMessage() for r in caplog.records)

    def test_a_raised_404_in_a_view_is_the_chinese_404(self, world):
        request = RequestFactory().get("/workorders/999999/")
        request.user = world.user("a1", Role.UNIT_LEADER)
        response = DemoErrorPagesMiddleware(lambda r: None).process_exception(request, Http404())
        assert response.status_code == 404 and "未找到" in response.content.decode()

    def test_the_api_keeps_its_json(self, client):
        response = client.get("/api/v1/no-such-endpoint")
        assert response["Content-Type"].startswith("application/json")

    def test_outside_the_demo_django_behaves_as_usual(self, settings):
        settings.DEMO_MODE = False
        request = RequestFactory().get("/x/")
        assert (
            DemoErrorPagesMiddleware(lambda r: None).process_exception(request, Http404()) is None
        )


def test_the_totp_page_names_apps_available_in_china_and_hides_the_menu(client, world):
    admin = world.user("a1", Role.ADMIN)
    admin.totpdevice_set.all().delete()
    client.force_login(admin)

    page = client.get(reverse("second_factor")).content.decode()

    for app in ("腾讯身份验证器", "阿里云", "Microsoft Authenticator", "FreeOTP"):
        assert app in page
    assert "Google Authenticator" not in page
    assert 'id="sidebar"' not in page
    assert 'data-testid="bell"' not in page
    assert reverse("console:officer_list") not in page


def test_every_console_page_has_a_favicon(client, world):
    client.force_login(world.user("a1", Role.UNIT_LEADER))
    page = client.get(reverse("console:home")).content.decode()
    assert 'rel="icon"' in page and "favicon.svg" in page
    login = client.get(reverse("login"))
    assert login.status_code in (200, 302)


def test_after_a_callback_the_order_number_is_a_link(world, btypes, daytime):
    from minyi.callbacks.views import _done_summary
    from minyi.workorders.tests.factories import at_fault_order, open_centres

    open_centres(world)
    order = at_fault_order(world)

    summary = str(_done_summary(order.callback))

    assert f'href="{reverse("workorders:order_detail", args=[order.pk])}"' in summary
    assert order.number in summary


def test_system_configuration_pages_greet_by_name_in_chinese(client, world):
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    admin = world.user("city", Role.ADMIN)
    admin.full_name = "徐家倩"
    admin.save()
    device = TOTPDevice.objects.filter(user=admin).first() or TOTPDevice.objects.create(
        user=admin, name="default", confirmed=True
    )
    client.force_login(admin)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id  # the second factor is done
    session.save()

    index = client.get("/admin/").content.decode()
    add_user = client.get("/admin/orgs/user/add/").content.decode()

    assert "基础数据" in index and "Core" not in index
    assert "徐家倩" in index and admin.username not in index
    assert "admin.css" in index  # Chinese captions are not upper-cased
    assert "---------" not in add_user
