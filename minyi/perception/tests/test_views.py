import io

import pytest
from django.urls import reverse
from django.utils import timezone

from minyi.callbacks.models import Callback
from minyi.integrations.sms.models import InboundSms
from minyi.integrations.sms.services import inbound_receive
from minyi.orgs.choices import Role
from minyi.perception.models import ServiceEvent, Survey, SurveyStatus
from minyi.perception.services.replies import reply_record_sms
from minyi.perception.tests.test_surveys import MOBILE, _sent_survey

pytestmark = pytest.mark.django_db


def test_h5_survey_answers_once(client, world, btypes, daytime):
    survey = _sent_survey(world)
    url = f"/s/{survey.token}"
    page = client.get(url).content.decode()
    assert "请您评价本次服务" in page and world.station_a1.name in page
    response = client.post(url, {"rating": "5", "comment": "等了两个小时"})
    assert response.status_code == 302
    survey.refresh_from_db()
    assert (survey.status, survey.rating, survey.answered_via) == ("answered", 5, "h5")
    assert Callback.objects.filter(survey=survey).exists()
    # The link is single-use: it now thanks the citizen and cannot change the answer.
    again = client.post(url, {"rating": "1"})
    assert "感谢您的评价" in again.content.decode()
    assert Survey.objects.get(pk=survey.pk).rating == 5


def test_h5_without_a_choice_keeps_the_comment(client, world, btypes, daytime):
    survey = _sent_survey(world)
    page = client.post(f"/s/{survey.token}", {"comment": "窗口人员很耐心"}).content.decode()
    assert "请选择一项评价" in page
    assert "窗口人员很耐心" in page


@pytest.mark.parametrize(
    ("status", "text"),
    [
        (SurveyStatus.EXPIRED, "评价已截止"),
        (SurveyStatus.CANCELLED, "评价已关闭"),
    ],
)
def test_h5_closed_links_say_so_kindly(client, world, btypes, daytime, status, text):
    survey = _sent_survey(world)
    Survey.objects.filter(pk=survey.pk).update(status=status)
    assert text in client.get(f"/s/{survey.token}").content.decode()


def test_h5_unknown_token(client, db):
    response = client.get("/s/nonsense")
    assert response.status_code == 404
    assert "链接无效" in response.content.decode()


def test_h5_works_without_javascript_and_fits_a_phone(client, world, btypes, daytime):
    page = client.get(f"/s/{_sent_survey(world).token}").content.decode()
    assert "<script" not in page
    assert 'name="viewport"' in page


def test_inbox_shows_masked_text_and_can_be_marked_read(client, world, btypes, daytime):
    inbound, _ = inbound_receive(
        gateway="t", gateway_message_id="1", sender=MOBILE, text="我的电话13812345678，请回电"
    )
    ServiceEvent.objects.none()
    reply_record_sms(inbound_id=inbound.pk)
    client.force_login(world.user("city", Role.EVALUATOR))
    page = client.get(reverse("inbox:inbox")).content.decode()
    assert "138****5678" in page and "13812345678" not in page
    assert "138****1111" in page
    client.post(reverse("inbox:inbox_mark_read", args=[inbound.pk]))
    assert InboundSms.objects.get().status == "reviewed"


def test_callback_queue_is_ordered_and_marks_overdue(client, world, btypes, daytime):
    _sent_survey(world, "jcj_110")
    reply_record_sms(
        inbound_id=inbound_receive(gateway="t", gateway_message_id="x", sender=MOBILE, text="5")[
            0
        ].pk
    )
    Callback.objects.update(due_at=timezone.now() - timezone.timedelta(hours=1))
    client.force_login(world.user("city", Role.EVALUATOR))
    page = client.get(reverse("callbacks:callback_list")).content.decode()
    assert "已超时" in page and "110接处警" in page


def test_csv_import_reports_each_bad_line_and_stores_nothing(client, world, btypes):
    client.force_login(world.user("a", Role.EVALUATOR))
    now = timezone.localtime().strftime("%Y-%m-%d %H:%M")
    csv_text = (
        "source,external_id,business_type,unit,officers,citizen_mobile,occurred_at\n"
        f"window,W1,hukou,{world.station_a1.code},,13800002222,{now}\n"
        f"window,W2,hukou,{world.station_b1.code},,13800002223,{now}\n"
        f"window,W3,hukou,{world.station_a2.code},,13800002224,yesterday\n"
    )
    upload = io.BytesIO(csv_text.encode())
    upload.name = "events.csv"
    page = client.post(reverse("perception:event_import"), {"file": upload}).content.decode()
    assert "unit_out_of_scope</" not in page  # people read the message, not the code
    assert "不在授权范围内" in page
    assert "时间格式不正确" in page
    assert not ServiceEvent.objects.exists()


def test_csv_import_reports_each_line(client, world, btypes):
    client.force_login(world.user("a", Role.EVALUATOR))
    now = timezone.localtime().strftime("%Y-%m-%d %H:%M")
    csv_text = (
        "source,external_id,business_type,unit,officers,citizen_mobile,occurred_at\n"
        f"window,W1,hukou,{world.station_a1.code},,13800002222,{now}\n"
        f"window,W1,hukou,{world.station_a1.code},,13800002222,{now}\n"
    )
    upload = io.BytesIO(csv_text.encode())
    upload.name = "events.csv"
    page = client.post(reverse("perception:event_import"), {"file": upload}).content.decode()
    assert "已导入" in page and "重复，已跳过" in page
    assert ServiceEvent.objects.get().external_id == "W1"


def test_csv_with_wrong_columns_is_refused(client, world, btypes):
    client.force_login(world.user("a", Role.EVALUATOR))
    upload = io.BytesIO(b"a,b\n1,2\n")
    upload.name = "x.csv"
    page = client.post(reverse("perception:event_import"), {"file": upload}).content.decode()
    assert "缺少列" in page


def test_marking_an_inbox_message_read_is_audited(client, world, btypes):
    from minyi.core.models import AuditEvent

    inbound, _ = inbound_receive(gateway="t", gateway_message_id="r", sender=MOBILE, text="?")
    reply_record_sms(inbound_id=inbound.pk)
    client.force_login(world.user("city", Role.EVALUATOR))
    client.post(reverse("inbox:inbox_mark_read", args=[inbound.pk]))
    assert AuditEvent.objects.filter(object_id=str(inbound.pk), detail__reviewed=True).exists()
    # A second click finds nothing left to review.
    assert client.post(reverse("inbox:inbox_mark_read", args=[inbound.pk])).status_code == 404


def test_h5_answer_works_without_cookies(world, btypes, daytime):
    from django.test import Client

    survey = _sent_survey(world)
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(f"/s/{survey.token}", {"rating": "2"}).status_code == 302
    assert Survey.objects.get(pk=survey.pk).rating == 2
