"""Poll staff pages: who sees what (anonymous, evaluator, a sibling unit's staff, within the
subtree), creating a wave, the import pages (upload, preview, confirm, progress, outcome) and
the estimates table."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from minyi.cases.tests.factories import login
from minyi.core.imports import table_read
from minyi.core.models import ImportFile, ImportStatus
from minyi.orgs.choices import Role
from minyi.polls.imports import RESPONDENT_COLUMNS, respondents_import
from minyi.polls.models import Poll, PollEstimate, PollRespondent
from minyi.polls.services import poll_weigh
from minyi.polls.tests.factories import add_margins, csv_bytes, make_poll, respondent_rows

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _tasks_run_at_once(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def _upload(client, poll, data: bytes):
    return client.post(
        reverse("polls:poll_upload", args=[poll.pk]),
        {"file": SimpleUploadedFile("样本.csv", data, content_type="text/csv")},
    )


def _weighed_poll(world, unit=None, counts=None):
    poll = make_poll(world, unit=unit or world.city)
    rows = respondent_rows(counts or {"TA01": 30, "TA02": 20})
    table = table_read(csv_bytes(rows), columns=RESPONDENT_COLUMNS)
    respondents_import(actor=world.user("city", Role.ADMIN), poll=poll, table=table)
    add_margins(world.station_a1)
    poll_weigh(poll=poll)
    return poll


# --- Permissions and scope ---------------------------------------------------------------------


def test_anonymous_is_sent_to_login_and_evaluators_are_refused(client, world):
    poll = make_poll(world)
    for name, args in [
        ("polls:poll_list", []),
        ("polls:poll_detail", [poll.pk]),
        ("polls:margin_list", []),
    ]:
        assert client.get(reverse(name, args=args)).status_code == 302
    login(client, world.user("city", Role.EVALUATOR))
    for name, args in [
        ("polls:poll_list", []),
        ("polls:poll_detail", [poll.pk]),
        ("polls:import_list", []),
    ]:
        assert client.get(reverse(name, args=args)).status_code == 403


def test_a_sibling_units_staff_see_nothing_of_the_poll(client, world):
    # Given a wave of district a, with respondents of its two stations
    poll = _weighed_poll(world, unit=world.district_a)
    record = ImportFile.objects.create(
        kind="poll_respondents",
        unit=world.district_a,
        uploaded_by=world.user("a", Role.ADMIN),
        filename="a.csv",
        file="x",
        sha256="0" * 64,
        size=1,
        target={"poll": poll.pk},
        status=ImportStatus.DONE,
    )
    # When district b's supervisor and station b1's leader look
    for user in (world.user("b", Role.SUPERVISOR), world.user("b1", Role.UNIT_LEADER)):
        client.force_login(user)
        listing = client.get(reverse("polls:poll_list")).content.decode()
        assert poll.title not in listing
        assert client.get(reverse("polls:poll_detail", args=[poll.pk])).status_code == 404
        assert client.get(reverse("polls:import_detail", args=[record.pk])).status_code == 404
        assert "a.csv" not in client.get(reverse("polls:import_list")).content.decode()
    # And within the district everything is there
    client.force_login(world.user("a", Role.SUPERVISOR))
    assert poll.title in client.get(reverse("polls:poll_list")).content.decode()
    assert client.get(reverse("polls:import_detail", args=[record.pk])).status_code == 200


def test_a_station_sees_the_citys_wave_but_only_its_own_figures(client, world):
    poll = _weighed_poll(world)
    client.force_login(world.user("a1", Role.UNIT_LEADER))
    page = client.get(reverse("polls:poll_detail", args=[poll.pk]))
    text = page.content.decode()
    assert page.status_code == 200
    assert 'data-unit="TA01"' in text and 'data-unit="TA02"' not in text


def test_only_administrators_create_polls_and_upload(client, world):
    poll = make_poll(world)
    client.force_login(world.user("city", Role.SUPERVISOR))
    assert client.get(reverse("polls:poll_new")).status_code == 403
    assert _upload(client, poll, b"x").status_code == 403
    assert client.post(reverse("polls:poll_recompute", args=[poll.pk])).status_code == 403
    assert not ImportFile.objects.exists()


# --- Creating a poll -------------------------------------------------------------------------


def test_an_administrator_creates_a_wave(client, world):
    login(client, world.user("city", Role.ADMIN))
    form = {
        "title": "2026年第2轮民意测评",
        "unit": world.city.pk,
        "year": 2026,
        "wave": 2,
        "fielded_from": "2026-06-01",
        "fielded_to": "2026-06-20",
        "pollster": "某调查公司",
    }
    response = client.post(reverse("polls:poll_new"), form)
    poll = Poll.objects.get()
    assert response.status_code == 302 and poll.unit == world.city and poll.source == "imported"
    # The same wave again, and dates in the wrong order, are refused on their fields
    again = client.post(reverse("polls:poll_new"), form).content.decode()
    assert "测试市公安局 2026 年第 2 轮测评已存在。" in again
    backwards = client.post(
        reverse("polls:poll_new"), form | {"wave": 3, "fielded_to": "2026-05-01"}
    )
    assert (
        backwards.status_code == 400
        and "调查结束日期不能早于开始日期。" in backwards.content.decode()
    )
    assert Poll.objects.count() == 1


def test_a_district_administrator_cannot_create_a_wave_for_the_city(client, world):
    login(client, world.user("a", Role.ADMIN))
    response = client.post(
        reverse("polls:poll_new"),
        {
            "title": "x",
            "unit": world.city.pk,
            "year": 2026,
            "wave": 1,
            "fielded_from": "2026-06-01",
            "fielded_to": "2026-06-20",
        },
    )
    assert response.status_code == 400 and not Poll.objects.exists()


# --- Importing through the pages ---------------------------------------------------------------


def test_upload_preview_confirm_and_result(client, world):
    admin = world.user("city", Role.ADMIN)
    login(client, admin)
    poll = make_poll(world)
    # Upload: the file is kept and the preview shown
    response = _upload(client, poll, csv_bytes(respondent_rows({"TA01": 25})))
    record = ImportFile.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "polls:import_detail", args=[record.pk]
    )
    preview = client.get(response["Location"]).content.decode()
    assert 'data-testid="import-preview"' in preview and "共 25 行数据" in preview
    assert 'data-testid="import-confirm"' in preview and not PollRespondent.objects.exists()
    # Confirm: the task runs (at once here) and the page shows the outcome
    done = client.post(reverse("polls:import_confirm", args=[record.pk]))
    assert done.status_code == 302
    record.refresh_from_db()
    assert record.status == ImportStatus.DONE and PollRespondent.objects.count() == 25
    result = client.get(reverse("polls:import_detail", args=[record.pk])).content.decode()
    assert "已导入 25 行。" in result
    # The poll's estimates and the imports tab
    detail = client.get(reverse("polls:poll_detail", args=[poll.pk])).content.decode()
    assert 'data-unit="TA01"' in detail and "样本不足（n_eff < 100），不排名" in detail
    assert "未加权：缺少人口结构" in detail
    imports = client.get(
        reverse("polls:poll_detail", args=[poll.pk]), {"tab": "imports"}
    ).content.decode()
    assert "样本.csv" in imports and record.sha256[:12] in imports


def test_a_bad_file_shows_every_error_with_row_and_column_and_stores_nothing(client, world):
    login(client, world.user("city", Role.ADMIN))
    poll = make_poll(world)
    rows = respondent_rows({"TA01": 25})
    rows[22][2] = "十八岁"
    _upload(client, poll, csv_bytes(rows))
    record = ImportFile.objects.get()
    client.post(reverse("polls:import_confirm", args=[record.pk]))
    text = client.get(reverse("polls:import_detail", args=[record.pk])).content.decode()
    assert "文件中有 1 处错误，整个文件都没有导入。" in text
    assert "<td>24</td><td>年龄段</td><td>“十八岁”不是有效的年龄段" in text
    assert not PollRespondent.objects.exists()


def test_a_file_missing_columns_is_refused_on_the_preview(client, world):
    login(client, world.user("city", Role.ADMIN))
    poll = make_poll(world)
    _upload(client, poll, "单位代码,样本编号\nTA01,R1\n".encode())
    record = ImportFile.objects.get()
    text = client.get(reverse("polls:import_detail", args=[record.pk])).content.decode()
    assert "缺少列：age_band（年龄段）" in text and 'data-testid="import-confirm"' not in text
    assert client.post(reverse("polls:import_confirm", args=[record.pk])).status_code == 409


def test_the_progress_partial_polls_while_running_and_stops_when_done(client, world):
    login(client, world.user("city", Role.ADMIN))
    poll = make_poll(world)
    _upload(client, poll, csv_bytes(respondent_rows({"TA01": 3})))
    record = ImportFile.objects.get()
    ImportFile.objects.filter(pk=record.pk).update(
        status=ImportStatus.RUNNING, stage="check", rows_done=500, rows_total=1200
    )
    url = reverse("polls:import_progress", args=[record.pk])
    running = client.get(url).content.decode()
    assert f'hx-get="{url}"' in running and 'max="1200" value="500"' in running
    ImportFile.objects.filter(pk=record.pk).update(status=ImportStatus.DONE, result={"rows": 3})
    finished = client.get(url).content.decode()
    assert "hx-get" not in finished and "已导入 3 行。" in finished


def test_recompute_rewrites_the_estimates(client, world):
    poll = _weighed_poll(world)
    PollEstimate.objects.all().delete()
    login(client, world.user("city", Role.ADMIN))
    response = client.post(reverse("polls:poll_recompute", args=[poll.pk]))
    assert response.status_code == 302 and PollEstimate.objects.filter(poll=poll).count() == 10


def test_margins_page_lists_and_imports_margins(client, world):
    login(client, world.user("city", Role.ADMIN))
    data = "单位代码,年度,维度,类别,人数\nTA01,2026,性别,男,5100\nTA01,2026,性别,女,4900\n".encode()
    response = client.post(
        reverse("polls:margin_upload"), {"file": SimpleUploadedFile("m.csv", data)}
    )
    record = ImportFile.objects.get(kind="poll_margins")
    assert response.status_code == 302
    client.post(reverse("polls:import_confirm", args=[record.pk]))
    text = client.get(reverse("polls:margin_list")).content.decode()
    assert "甲一派出所" in text and "10000" in text
    # A sibling district sees none of it
    client.force_login(world.user("b", Role.SUPERVISOR))
    assert "甲一派出所" not in client.get(reverse("polls:margin_list")).content.decode()
