"""Regressions found in review: each of these lost, leaked or double-sent something once."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from minyi.integrations.sms.models import InboundSms, OutboundSms, OutboundStatus
from minyi.integrations.sms.services import inbound_receive, outbox_claim, sms_enqueue
from minyi.orgs.choices import Role
from minyi.perception.models import SurveyReply, SurveyStatus
from minyi.perception.services.ingest import events_ingest
from minyi.perception.services.replies import reply_record_sms, survey_answer_h5
from minyi.perception.services.surveys import surveys_remind_and_expire
from minyi.perception.tests.factories import make_event
from minyi.perception.tests.test_surveys import MOBILE, _sent_survey, _sms

pytestmark = pytest.mark.django_db


def test_opt_out_withdraws_a_reminder_already_queued(world, btypes, daytime, settings):
    _sent_survey(world)
    later = timezone.now() + timedelta(hours=settings.SURVEY_REMINDER_HOURS, minutes=1)
    surveys_remind_and_expire(now=later)
    reminder = OutboundSms.objects.get(purpose="reminder")
    _sms(MOBILE, "TD")
    assert OutboundSms.objects.get(pk=reminder.pk).status == OutboundStatus.FAILED


def test_inbox_message_goes_to_the_unit_being_answered_not_the_latest_contact(
    world, btypes, daytime
):
    _sent_survey(world, unit=world.station_a1)
    make_event(world.station_b1)  # a later contact in another district
    _sms(MOBILE, "甲一所民警让我跑了三趟，请问怎么办")
    assert InboundSms.objects.get().unit == world.station_a1


def test_h5_comment_is_kept_when_the_survey_closed_meanwhile(world, btypes, daytime):
    survey = _sent_survey(world)
    _sms(MOBILE, "1")
    with pytest.raises(Exception, match="已完成或已关闭"):
        survey_answer_h5(token=survey.token, rating=5, comment="其实很不满意")
    kept = SurveyReply.objects.get(channel="h5")
    assert (kept.comment, kept.counted) == ("其实很不满意", False)


def test_out_of_scope_key_cannot_probe_another_units_events(world, btypes):
    event = make_event(world.station_b1)
    [result] = events_ingest(
        items=[
            {
                "source": event.source,
                "external_id": event.external_id,
                "business_type": "hukou",
                "unit": world.station_b1.code,
                "officers": [],
                "citizen_mobile": "",
                "occurred_at": timezone.now(),
            }
        ],
        scope_unit=world.district_a,
    )
    assert (result.status, result.code, result.id) == ("rejected", "unit_out_of_scope", None)


def test_a_stations_key_cannot_attribute_to_a_sibling_stations_officer(world, btypes):
    [result] = events_ingest(
        items=[
            {
                "source": "w",
                "external_id": "1",
                "business_type": "hukou",
                "unit": world.station_a1.code,
                "officers": [world.officers["a2"].police_number],
                "citizen_mobile": "",
                "occurred_at": timezone.now(),
            }
        ],
        scope_unit=world.station_a1,
    )
    assert result.code == "unknown_officer"


def test_survey_messages_wait_at_night(world, btypes, settings):
    survey_sms = sms_enqueue(mobile=MOBILE, body="x", purpose="survey")
    notice = sms_enqueue(mobile=MOBILE, body="y", purpose="notification")
    night = timezone.localtime().replace(hour=23)
    assert outbox_claim(now=night) == [notice.pk]
    morning = (night + timedelta(days=1)).replace(hour=9)
    assert outbox_claim(now=morning) == [survey_sms.pk]


def test_broken_template_cannot_be_saved_and_never_stops_sending(world, btypes, daytime):
    hukou = btypes["hukou"]
    for bad in ["{unit.x} {link}", "{unit:>999999} {link}", "no link {unit}", "{oops} {link}"]:
        hukou.survey_template = bad
        with pytest.raises(ValidationError):
            hukou.clean()
    hukou.survey_template = "{unit.x} {link}"
    hukou.save()  # bypassing the form: sending still works, with the default text
    survey = _sent_survey(world)
    assert survey.status == SurveyStatus.SENT
    assert "TD退订" in OutboundSms.objects.get(survey=survey).body


def test_citizen_cannot_reach_a_survey_of_another_number(world, btypes, daytime):
    _sent_survey(world, mobile="13800001111")
    inbound, _ = inbound_receive(
        gateway="t", gateway_message_id="z", sender="13800002222", text="5"
    )
    assert reply_record_sms(inbound_id=inbound.pk) == "no_open_survey"


def test_api_rejects_implausible_dates_per_item(client, world, btypes):
    from minyi.orgs.services import apikey_create

    _, key = apikey_create(actor=world.user("a", Role.ADMIN), name="k", unit=world.district_a)
    body = {
        "events": [
            {
                "source": "s",
                "external_id": "1",
                "business_type": "hukou",
                "unit": world.station_a1.code,
                "occurred_at": "0001-01-01T00:00:00+14:00",
            }
        ]
    }
    response = client.post(
        "/api/v1/events", body, content_type="application/json", HTTP_X_API_KEY=key
    )
    assert response.status_code == 422
    assert response.json()["items"][0]["code"] == "invalid_item"


def test_csv_short_rows_and_long_fields_are_rejected_lines(client, world, btypes):
    import io

    from django.urls import reverse

    client.force_login(world.user("a", Role.EVALUATOR))
    now = timezone.localtime().strftime("%Y-%m-%d %H:%M")
    csv_text = (
        "source,external_id,business_type,unit,officers,citizen_mobile,occurred_at\n"
        "short,row\n"
        f"{'x' * 60},W9,hukou,{world.station_a1.code},,,{now}\n"
    )
    upload = io.BytesIO(csv_text.encode())
    upload.name = "e.csv"
    response = client.post(reverse("perception:event_import"), {"file": upload})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-code="cell_count"' in page and "2 处错误" in page
    assert "不能超过 40 个字符" in page  # the problem in words, not pydantic's English


def test_duplicate_of_an_event_stored_for_another_scope_reveals_nothing(world, btypes):
    event = make_event(world.station_b1)
    [result] = events_ingest(
        items=[
            {
                "source": event.source,
                "external_id": event.external_id,
                "business_type": "hukou",
                "unit": world.station_a1.code,
                "officers": [],
                "citizen_mobile": "",
                "occurred_at": timezone.now(),
            }
        ],
        scope_unit=world.district_a,
    )
    assert (result.status, result.code, result.id) == ("rejected", "unit_out_of_scope", None)
