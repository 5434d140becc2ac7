"""The retention purge with a frozen clock: nothing younger than its period touched, everything
older blanked, redacted or deleted, the figures unchanged, a processing record per holding."""

from collections import Counter
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone

from minyi.core.models import AuditAction, AuditEvent
from minyi.core.periods import period_parse
from minyi.core.pii import mobile_hash
from minyi.dashboards.figures.satisfaction import satisfaction_trend_for
from minyi.dashboards.rollups import dashboard_rollups_refresh
from minyi.dashboards.tests.factories import city_supervisor
from minyi.integrations.sms.models import OutboundStatus
from minyi.opinions.models import OpinionPhoto
from minyi.perception.models import ServiceEvent, Survey
from minyi.perception.services.daily import rollup_add_many, rollup_key
from minyi.privacy.models import ProcessingRecord, PurgeState
from minyi.privacy.registry import HOLDINGS, REDACTED
from minyi.privacy.services import personal_data_purge
from minyi.privacy.tasks import personal_data_purge_task
from minyi.privacy.tests.factories import (
    PERIOD,
    aged_inbound,
    aged_opinion,
    aged_outbound,
    aged_survey,
)

pytestmark = pytest.mark.django_db


def _audit(at):
    event = AuditEvent(action=AuditAction.LOGIN, actor_username="someone", at=at)
    event.save()
    return event


def test_older_rows_pseudonymised_younger_untouched(world, btypes, periods, now):
    # Given a citizen's survey, SMS both ways, an opinion with a photo and audit rows, each
    # once just past its period and once just inside it
    old_s = aged_survey(
        world.station_a2, btypes["hukou"], now=now, days=PERIOD + 1, comment="旧留言"
    )
    new_s = aged_survey(
        world.station_a2,
        btypes["hukou"],
        now=now,
        days=PERIOD - 1,
        comment="新留言",
        mobile="13900003333",
    )
    old_in = aged_inbound(now=now, days=PERIOD + 1, text="旧短信")
    new_in = aged_inbound(now=now, days=PERIOD - 1, text="新短信")
    old_out = aged_outbound(now=now, days=PERIOD + 1, body="张三您好，旧")
    queued = aged_outbound(
        now=now, days=PERIOD + 1, body="张三您好，待发", status=OutboundStatus.QUEUED
    )
    new_out = aged_outbound(now=now, days=PERIOD - 1, body="张三您好，新")
    old_op = aged_opinion(world, now=now, days=PERIOD + 1, content="旧意见：路灯不亮", photo=True)
    new_op = aged_opinion(world, now=now, days=PERIOD - 1, content="新意见：路灯不亮", photo=True)
    old_file = OpinionPhoto.objects.get(opinion=old_op).file.name
    new_file = OpinionPhoto.objects.get(opinion=new_op).file.name
    old_audit = _audit(now - timedelta(days=184))
    new_audit = _audit(now - timedelta(days=182))

    # When the purge runs
    results = personal_data_purge(now=now, job="test")

    # Then what is past its period is gone or pseudonymised
    old_s.refresh_from_db()
    assert old_s.comment == REDACTED and old_s.rating == 2
    event = ServiceEvent.objects.get(pk=old_s.event_id)
    assert event.citizen_mobile == "" and event.citizen_mobile_hash == mobile_hash("13900001111")
    old_in.refresh_from_db()
    assert (old_in.from_mobile, old_in.text) == ("", REDACTED)
    assert old_in.from_mobile_hash == mobile_hash("13900001111")
    old_out.refresh_from_db()
    assert (old_out.to_mobile, old_out.body) == ("", REDACTED)
    old_op.refresh_from_db()
    assert (old_op.mobile, old_op.contact_name, old_op.content) == ("", "", REDACTED)
    assert OpinionPhoto.objects.get(opinion=old_op).file.name == ""
    assert not default_storage.exists(old_file)
    assert not AuditEvent.objects.filter(pk=old_audit.pk).exists()
    # And nothing younger than its period (nor a message still to be sent) is touched
    new_s.refresh_from_db()
    assert new_s.comment == "新留言"
    assert ServiceEvent.objects.get(pk=new_s.event_id).citizen_mobile == "13900003333"
    new_in.refresh_from_db()
    assert (new_in.from_mobile, new_in.text) == ("13900001111", "新短信")
    new_out.refresh_from_db()
    assert (new_out.to_mobile, new_out.body) == ("13900001111", "张三您好，新")
    queued.refresh_from_db()
    assert (queued.to_mobile, queued.body) == ("13900001111", "张三您好，待发")
    new_op.refresh_from_db()
    assert (new_op.mobile, new_op.content) == ("13900001111", "新意见：路灯不亮")
    assert default_storage.exists(new_file)
    assert AuditEvent.objects.filter(pk=new_audit.pk).exists()

    # And each holding has its processing record, with the rows it changed
    records = {r.holding: r for r in ProcessingRecord.objects.all()}
    assert len(records) == len(HOLDINGS) + 2 == len(results)
    assert records["text:perception.Survey"].rows_affected == 1
    assert records["text:perception.Survey"].period_days == PERIOD
    assert records["text:perception.Survey"].cutoff == now - timedelta(days=PERIOD)
    assert records["media:opinions.OpinionPhoto"].rows_affected == 1
    assert records["audit:core.AuditEvent"].rows_affected == 1
    assert records["audit:core.AuditEvent"].job == "test"


def test_second_run_reads_only_the_new_expiries(world, btypes, periods, now):
    aged_survey(world.station_a2, btypes["hukou"], now=now, days=PERIOD + 5, comment="旧留言")
    personal_data_purge(now=now, job="test")
    assert PurgeState.objects.get(holding="text:perception.Survey").cutoff == now - timedelta(
        days=PERIOD
    )

    later = now + timedelta(days=1)
    s = aged_survey(world.station_a2, btypes["hukou"], now=later, days=PERIOD + 1, comment="x")
    ProcessingRecord.objects.all().delete()
    personal_data_purge(now=later, job="test")

    assert ProcessingRecord.objects.get(holding="text:perception.Survey").rows_affected == 1
    s.refresh_from_db()
    assert s.comment == REDACTED


def test_dry_run_changes_nothing_and_records_nothing(world, btypes, periods, now):
    old_s = aged_survey(
        world.station_a2, btypes["hukou"], now=now, days=PERIOD + 1, comment="旧留言"
    )

    results = personal_data_purge(now=now, dry_run=True, job="test")

    assert {r.holding: r.rows for r in results}["text:perception.Survey"] == 1
    old_s.refresh_from_db()
    assert old_s.comment == "旧留言"
    assert not ProcessingRecord.objects.exists() and not PurgeState.objects.exists()


def test_old_processing_records_deleted_after_three_years(periods, now):
    kept = dict(category="text", holding="x", action="redact", period_days=1, rows_affected=0)
    old = ProcessingRecord.objects.create(
        at=now - timedelta(days=1096), cutoff=now, job="t", **kept
    )
    young = ProcessingRecord.objects.create(
        at=now - timedelta(days=1094), cutoff=now, job="t", **kept
    )

    personal_data_purge(now=now, job="test")

    assert not ProcessingRecord.objects.filter(pk=old.pk).exists()
    assert ProcessingRecord.objects.filter(pk=young.pk).exists()


@pytest.mark.parametrize("mode", ["live", "rolled"])
def test_satisfaction_figure_unchanged_by_the_purge(world, btypes, periods, now, mode):
    # Given answers for station a2 in the last 60 days, half of them past the text and mobile
    # periods, read live or from the rollups
    for days, rating in [(45, 1), (40, 2), (35, 4), (31, 5), (20, 2), (10, 3), (5, 4)]:
        s = aged_survey(
            world.station_a2, btypes["hukou"], now=now, days=days, rating=rating, comment="留言"
        )
        # What perception adds to its daily rollup as the rating comes in.
        counts = Counter({(rollup_key(s.event), f"rating_{rating}"): 1})
        rollup_add_many(counts, "events", "surveys_sent", "replies")
    if mode == "rolled":
        dashboard_rollups_refresh(now=now + timedelta(days=15))
    user = city_supervisor(world)

    def figure():
        trend = satisfaction_trend_for(user, world.station_a2, period=period_parse("90"))
        return trend["total"], [(p["start"], p["s"], p["n"]) for p in trend["points"]]

    before = figure()
    assert before[0]["n"] == 7 and before[0]["s"] == 4

    # When the purge blanks their numbers and redacts their comments
    personal_data_purge(now=now, job="test")
    assert Survey.objects.filter(comment="").count() == 0
    assert ServiceEvent.objects.exclude(citizen_mobile="").count() == 3

    # Then the satisfaction figure is the same
    assert figure() == before


def test_command_dry_run_and_now(world, btypes, periods, now, capsys):
    aged_survey(world.station_a2, btypes["hukou"], now=now, days=PERIOD + 1, comment="旧留言")

    call_command("purge_personal_data", "--dry-run", "--now", now.isoformat())
    out = capsys.readouterr().out
    assert "text:perception.Survey" in out and "would change" in out
    assert "旧留言" not in out and "13900001111" not in out
    assert not ProcessingRecord.objects.exists()

    call_command("purge_personal_data", "--now", now.isoformat())
    assert ProcessingRecord.objects.filter(job="manage.py purge_personal_data").exists()
    assert Survey.objects.get().comment == REDACTED


def test_worker_task_purges_and_records_the_job(world, btypes, periods):
    s = aged_survey(
        world.station_a2, btypes["hukou"], now=timezone.now(), days=PERIOD + 2, comment="旧"
    )

    assert personal_data_purge_task.call()["purged_rows"] >= 1

    s.refresh_from_db()
    assert s.comment == REDACTED
    assert ProcessingRecord.objects.filter(job="worker:privacy_purge").count() == len(HOLDINGS) + 2
