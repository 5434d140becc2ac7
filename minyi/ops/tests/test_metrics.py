"""/metrics: the values of a small world, read from the database when scraped, and who may
scrape (a bearer token when one is set; else a scraper on this machine only)."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult, get_date_max
from prometheus_client.parser import text_string_to_metric_families

from minyi.callbacks.models import Callback, CallbackStatus
from minyi.integrations.sms.models import InboundSms, InboundStatus, OutboundSms, OutboundStatus
from minyi.integrations.sms.services import inbound_receive, sms_enqueue
from minyi.ops import metrics
from minyi.ops.metrics import exported_names, metrics_text
from minyi.ops.tests.test_health import _unreachable
from minyi.perception.models import ServiceEvent
from minyi.perception.tests.factories import make_event
from minyi.workorders.models import WorkOrder, WorkOrderStatus
from minyi.workorders.tests.factories import at_fault_order, open_centres, unsatisfied_survey

pytestmark = pytest.mark.django_db
TASK = "minyi.perception.tasks.surveys_dispatch_task"


def _samples(text: bytes) -> dict[tuple, float]:
    return {
        (sample.name, *sorted(sample.labels.values())): sample.value
        for family in text_string_to_metric_families(text.decode())
        for sample in family.samples
    }


def _message(status, *, attempts=1, not_before=None, now):
    message = sms_enqueue(mobile="13800001111", body="您好", purpose="survey", not_before=now)
    OutboundSms.objects.filter(pk=message.pk).update(
        status=status, attempts=attempts, not_before=not_before or now
    )


def _task(status, *, now, run_after=None, started=None, finished=None, workers=()):
    row = DBTaskResult.objects.create(
        task_path=TASK,
        args_kwargs={"args": [], "kwargs": {}},
        backend_name="default",
        status=status,
        run_after=run_after or get_date_max(),
        started_at=started,
        finished_at=finished,
        worker_ids=list(workers),
    )
    DBTaskResult.objects.filter(pk=row.pk).update(enqueued_at=now - timedelta(seconds=40))


def test_the_values_of_a_small_world(world, btypes, daytime):
    now = timezone.now()
    # Given an overdue callback beside one done, and an overdue work order
    open_centres(world)
    unsatisfied_survey(world)
    order = at_fault_order(world)
    Callback.objects.filter(pk=order.callback_id).update(status=CallbackStatus.DONE)
    late = Callback.objects.exclude(pk=order.callback_id).get()
    Callback.objects.filter(pk=late.pk).update(due_at=now - timedelta(hours=1))
    WorkOrder.objects.filter(pk=order.pk).update(
        status=WorkOrderStatus.ACCEPTED, deadline=timezone.localdate(now) - timedelta(days=2)
    )
    # … an outbox, the messages the factories wrote gone: 3 queued (one due 10 minutes ago,
    # one not yet due), 1 sending, 1 sent after 2 attempts, 1 delivered, 2 failed (one after
    # 3 attempts)
    OutboundSms.objects.all().delete()
    _message(OutboundStatus.QUEUED, now=now, not_before=now - timedelta(minutes=10))
    _message(OutboundStatus.QUEUED, now=now)
    _message(OutboundStatus.QUEUED, now=now, not_before=now + timedelta(hours=1))
    _message(OutboundStatus.SENDING, now=now)
    _message(OutboundStatus.SENT, attempts=2, now=now)
    _message(OutboundStatus.DELIVERED, now=now)
    _message(OutboundStatus.FAILED, now=now)
    _message(OutboundStatus.FAILED, attempts=3, now=now)
    # … a task queue: 2 ready, 1 ready for later, 1 running for 30 s, and finished runs of
    # two workers 20 s and 200 s ago (a third worker's, two hours ago, is out of the window)
    _task(TaskResultStatus.READY, now=now)
    _task(TaskResultStatus.READY, now=now, run_after=now - timedelta(seconds=5))
    _task(TaskResultStatus.READY, now=now, run_after=now + timedelta(minutes=5))
    _task(TaskResultStatus.RUNNING, now=now, started=now - timedelta(seconds=30), workers=["w1"])
    _task(
        TaskResultStatus.SUCCESSFUL, now=now, finished=now - timedelta(seconds=20), workers=["w1"]
    )
    _task(TaskResultStatus.FAILED, now=now, finished=now - timedelta(seconds=200), workers=["w2"])
    _task(TaskResultStatus.SUCCESSFUL, now=now, finished=now - timedelta(hours=2), workers=["w3"])
    # … inbound replies: 2 not read yet, 1 for a person
    for n in range(3):
        inbound_receive(gateway="t", gateway_message_id=f"m{n}", sender="13800001111", text="1")
    InboundSms.objects.filter(gateway_message_id="m2").update(status=InboundStatus.NEEDS_REVIEW)
    # … and events: the factories' received now, one received 10 minutes ago
    make_event(world.station_a1, "hukou")
    ServiceEvent.objects.filter(pk=make_event(world.station_a1, "hukou").pk).update(
        received_at=now - timedelta(minutes=10)
    )
    events_now = ServiceEvent.objects.filter(received_at__gt=now - timedelta(minutes=5)).count()

    # When scraped
    values = _samples(metrics_text(now=now))

    # Then
    assert values[("minyi_outbox_messages", "queued")] == 3
    assert values[("minyi_outbox_messages", "sending")] == 1
    assert values[("minyi_outbox_messages", "unknown")] == 0
    assert values[("minyi_outbox_messages", "failed")] == 2
    assert values[("minyi_outbox_oldest_queued_age_seconds",)] == pytest.approx(600)
    assert values[("minyi_sms_sent_total",)] == 2
    assert values[("minyi_sms_failed_total",)] == 2
    assert values[("minyi_sms_retried_total",)] == 2
    assert values[("minyi_tasks_ready", TASK)] == 2
    assert values[("minyi_tasks_ready_oldest_age_seconds",)] == pytest.approx(40)
    assert values[("minyi_tasks_running", TASK)] == 1
    assert values[("minyi_tasks_running_oldest_age_seconds",)] == pytest.approx(30)
    assert values[("minyi_worker_last_finished_age_seconds", "w1")] == pytest.approx(20)
    assert values[("minyi_worker_last_finished_age_seconds", "w2")] == pytest.approx(200)
    assert ("minyi_worker_last_finished_age_seconds", "w3") not in values
    assert values[("minyi_tasks_last_finished_age_seconds",)] == pytest.approx(20)
    assert values[("minyi_callbacks_overdue",)] == 1
    assert values[("minyi_workorders_overdue",)] == 1
    assert values[("minyi_inbound_messages", "received")] == 2
    assert values[("minyi_inbound_messages", "needs_review")] == 1
    assert values[("minyi_events_received_last_5m",)] == events_now
    assert ServiceEvent.objects.count() == events_now + 1
    assert values[("minyi_database_up", "default")] == 1
    assert values[("minyi_database_size_bytes",)] > 0
    # Every series written is one the alert rules may name, and no more
    assert {name for name, *_labels in values} == exported_names() - {
        "minyi_database_replica_lag_seconds",  # no replica here
        "minyi_tls_certificate_expiry_timestamp_seconds",  # no certificate configured
    }


def test_at_night_messages_waiting_for_morning_are_not_a_backlog(db, settings):
    night = timezone.localtime().replace(hour=23, minute=0)
    settings.SURVEY_QUIET_START, settings.SURVEY_QUIET_END = 21, 8
    _message(OutboundStatus.QUEUED, now=night - timedelta(hours=2))  # a survey: waits
    assert _samples(metrics_text(now=night))[("minyi_outbox_oldest_queued_age_seconds",)] == 0
    code = sms_enqueue(mobile="13800001111", body="验证码", purpose="otp", not_before=night)
    OutboundSms.objects.filter(pk=code.pk).update(not_before=night - timedelta(minutes=3))
    values = _samples(metrics_text(now=night))
    assert values[("minyi_outbox_oldest_queued_age_seconds",)] == pytest.approx(180)


def test_an_empty_database_reads_zeros(db):
    values = _samples(metrics_text())
    assert values[("minyi_outbox_messages", "queued")] == 0
    assert values[("minyi_tasks_ready_oldest_age_seconds",)] == 0
    assert ("minyi_tasks_last_finished_age_seconds",) not in values


def test_the_certificate_expiry_is_read_from_the_pem_file(db, settings, tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "minyi.example")])
    expires = timezone.now().replace(microsecond=0) + timedelta(days=20)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(timezone.now() - timedelta(days=1))
        .not_valid_after(expires)
        .sign(key, hashes.SHA256())
    )
    path = tmp_path / "cert.pem"
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    settings.TLS_CERT_FILE = str(path)
    values = _samples(metrics_text())
    assert values[("minyi_tls_certificate_expiry_timestamp_seconds",)] == expires.timestamp()


# --- Who may scrape -------------------------------------------------------------------------


def test_with_a_token_a_scrape_without_it_is_refused_with_a_clear_message(db, settings):
    settings.METRICS_TOKEN = "s3cret-token"
    for headers in ({}, {"HTTP_AUTHORIZATION": "Basic czNjcmV0"}):
        response = Client().get("/metrics", **headers)
        assert response.status_code == 401
        assert response["Content-Type"].startswith("text/plain")
        assert "Authorization: Bearer" in response.content.decode()
        assert response["WWW-Authenticate"].startswith("Bearer")
    wrong = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-tokeN")
    assert wrong.status_code == 401 and "wrong" in wrong.content.decode()


def test_with_a_token_a_scrape_with_it_is_answered_from_anywhere(db, settings):
    settings.METRICS_TOKEN = "s3cret-token"
    response = Client(REMOTE_ADDR="10.8.0.7").get(
        "/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token"
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    assert b'minyi_outbox_messages{status="queued"} 0.0' in response.content


def test_without_a_token_only_a_local_scraper_is_answered(db, settings):
    settings.METRICS_TOKEN = ""
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="::1").get("/metrics").status_code == 200
    for refused in (
        Client(REMOTE_ADDR="10.8.0.7").get("/metrics"),
        # Through nginx the peer is loopback, but the request came from elsewhere
        Client(REMOTE_ADDR="127.0.0.1").get("/metrics", HTTP_X_FORWARDED_FOR="203.0.113.9"),
    ):
        assert refused.status_code == 403
        assert "MINYI_METRICS_TOKEN" in refused.content.decode()


def test_with_the_database_down_the_scrape_still_says_so(db, monkeypatch, tmp_path):
    wrapper = _unreachable(tmp_path)
    monkeypatch.setattr(metrics, "connections", {"default": wrapper})
    try:
        values = _samples(metrics_text())
    finally:
        wrapper.close()
    assert values == {("minyi_database_up", "default"): 0, ("minyi_database_capacity_bytes",): 0}
