"""The reports pages: a user lists and downloads the reports of their own subtree only (a
district never sees another district's or the city's), every download is audited, and a
leader's request to (re)generate a month goes to the task worker. The schedule: last month's
reports on the first working day, each made once."""

from datetime import date

import pytest
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from minyi.core.models import AuditAction, AuditEvent, CalendarOverride
from minyi.orgs.choices import Role
from minyi.reports.models import MonthlyReport
from minyi.reports.services import first_working_day, monthly_reports_due
from minyi.reports.tasks import monthly_report_generate_task
from minyi.reports.tests.factories import MONTH, NOW, month_data, stored_report

TASK = "minyi.reports.tasks.monthly_report_generate_task"


@pytest.fixture
def reports(world):
    return {
        "city": stored_report(world.city),
        "a": stored_report(world.district_a),
        "b": stored_report(world.district_b),
    }


@pytest.mark.django_db
def test_a_district_lists_its_own_reports_only(client, world, reports):
    client.force_login(world.user("a", Role.SUPERVISOR))
    page = client.get(reverse("reports:report_list")).content.decode()
    assert reverse("reports:report_pdf", args=[reports["a"].pk]) in page
    assert reverse("reports:report_pdf", args=[reports["b"].pk]) not in page
    assert reverse("reports:report_pdf", args=[reports["city"].pk]) not in page
    assert world.district_b.name not in page
    client.force_login(world.user("city", Role.SUPERVISOR))
    page = client.get(reverse("reports:report_list")).content.decode()
    assert all(reverse("reports:report_xlsx", args=[r.pk]) in page for r in reports.values())


@pytest.mark.django_db
def test_downloads_are_scoped_audited_and_not_cached(client, world, reports):
    user = world.user("a", Role.UNIT_LEADER)
    client.force_login(user)
    response = client.get(reverse("reports:report_pdf", args=[reports["a"].pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert "no-store" in response["Cache-Control"]
    assert "attachment" in response["Content-Disposition"]
    event = AuditEvent.objects.get(action=AuditAction.EXPORT, actor=user)
    assert event.detail == {"report": reports["a"].pk, "month": "2026-10", "format": "pdf"}
    xlsx = client.get(reverse("reports:report_xlsx", args=[reports["a"].pk]))
    assert xlsx.status_code == 200 and "spreadsheetml" in xlsx["Content-Type"]
    for other in (reports["b"], reports["city"]):
        assert client.get(reverse("reports:report_pdf", args=[other.pk])).status_code == 404
        assert client.get(reverse("reports:report_xlsx", args=[other.pk])).status_code == 404


@pytest.mark.django_db
def test_a_leader_asks_for_a_month_and_the_worker_makes_it(client, world):
    month_data(world)
    leader = world.user("a", Role.SUPERVISOR)
    client.force_login(leader)
    url = reverse("reports:generate", args=[world.district_a.pk])
    response = client.post(url, {"month": "2026-10"})
    assert response.status_code == 302
    queued = DBTaskResult.objects.get(task_path=TASK)
    kwargs = queued.args_kwargs["kwargs"]
    assert kwargs == {"unit_id": world.district_a.pk, "month": "2026-10-01", "actor_id": leader.pk}
    assert monthly_report_generate_task.call(**kwargs)["generated"] is True
    report = MonthlyReport.objects.get(unit=world.district_a, month=MONTH)
    assert report.generated_by == leader and bytes(report.pdf).startswith(b"%PDF")
    # Asked again: the same row, made again.
    assert monthly_report_generate_task.call(**kwargs)["report"] == report.pk


@pytest.mark.django_db
def test_generation_is_refused_outside_the_subtree_for_an_open_month_and_without_the_right(
    client, world
):
    client.force_login(world.user("a", Role.SUPERVISOR))
    other = reverse("reports:generate", args=[world.district_b.pk])
    assert client.post(other, {"month": "2026-10"}).status_code == 404
    mine = reverse("reports:generate", args=[world.district_a.pk])
    this_month = f"{timezone.localdate():%Y-%m}"
    assert client.post(mine, {"month": this_month}).status_code == 400
    assert client.post(mine, {"month": "garbage"}).status_code == 400
    assert client.get(mine).status_code == 405
    client.force_login(world.user("a", Role.EVALUATOR))  # may see the dashboard, not generate
    assert client.post(mine, {"month": "2026-10"}).status_code == 403
    assert not DBTaskResult.objects.filter(task_path=TASK).exists()


@pytest.mark.django_db
def test_the_first_working_day_follows_chinas_calendar_and_the_overrides():
    assert first_working_day(date(2026, 8, 1)) == date(2026, 8, 3)  # Saturday the 1st
    CalendarOverride.objects.create(day=date(2026, 8, 3), is_workday=False)
    assert first_working_day(date(2026, 8, 1)) == date(2026, 8, 4)
    assert first_working_day(date(2026, 10, 1)) > date(2026, 10, 3)  # the National Day week


@pytest.mark.django_db
def test_the_schedule_makes_last_months_reports_once_from_the_first_working_day(world):
    sunday = timezone.make_aware(timezone.datetime(2026, 11, 1, 8, 0))
    assert monthly_reports_due(now=sunday) == {"month": "2026-10", "due": False, "generated": []}
    early = timezone.make_aware(timezone.datetime(2026, 11, 2, 5, 30))  # the day, too early
    assert monthly_reports_due(now=early)["due"] is False
    assert not MonthlyReport.objects.exists()
    done = monthly_reports_due(now=NOW)
    bureaus = {world.city.pk, world.district_a.pk, world.district_b.pk}
    assert done["due"] and set(done["generated"]) == bureaus
    assert set(MonthlyReport.objects.values_list("unit_id", flat=True)) == bureaus
    assert set(MonthlyReport.objects.values_list("month", flat=True)) == {MONTH}
    stamps = dict(MonthlyReport.objects.values_list("unit_id", "generated_at"))
    # The next day's run (and any later one) finds them made and makes nothing again.
    assert monthly_reports_due(now=NOW + timezone.timedelta(days=1))["generated"] == []
    assert dict(MonthlyReport.objects.values_list("unit_id", "generated_at")) == stamps
