"""The work-order pages driven through the test client, as a unit leader, a supervisor and a
sibling station would use them."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from minyi.core.models import AuditAction, AuditEvent
from minyi.orgs.choices import Role
from minyi.workorders.models import Evidence, WorkOrder, WorkOrderStatus
from minyi.workorders.tests.views_data import (
    FEEDBACK,
    PNG,
    at_fault_order,
    fed_back_order,
    order_in_audit,
    order_with_appeal,
    png,
)

pytestmark = pytest.mark.django_db
S = WorkOrderStatus


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def _detail(order):
    return reverse("workorders:order_detail", args=[order.pk])


def _as(client, world, unit_key, role):
    client.force_login(world.user(unit_key, role))
    return client


def _status(order):
    return WorkOrder.objects.get(pk=order.pk).status


# --- The unit leader's round: accept, feed back with evidence, see the history --------------


def test_unit_leader_accepts_feeds_back_and_sees_the_history(client, world):
    # Given an order dispatched to station a2
    order = at_fault_order(world)
    leader = _as(client, world, "a2", Role.UNIT_LEADER)
    page = leader.get(_detail(order)).content.decode()
    # The citizen's words are shown masked, and only the accept action is offered
    assert "138****5678" in page and "13812345678" not in page
    assert 'data-testid="accept-form"' in page and 'data-testid="feedback-form"' not in page

    # When the leader signs for it
    response = leader.post(reverse("workorders:order_accept", args=[order.pk]), follow=True)
    # Then it is accepted and the page says so, now offering the feedback form
    assert _status(order) == S.ACCEPTED
    page = response.content.decode()
    assert "已签收，请按期整改并反馈" in page
    assert 'enctype="multipart/form-data"' in page
    assert 'accept="image/jpeg,image/png,application/pdf"' in page
    assert "autofocus" in page

    # When the leader reports the rectification with a photo
    response = leader.post(
        reverse("workorders:order_feedback", args=[order.pk]),
        {"feedback_text": FEEDBACK, "evidence": [png("现场整改.png")]},
    )
    # Then it waits for the citizen's 追评, with the evidence kept
    assert response.status_code == 302 and response.url == _detail(order)
    assert _status(order) == S.FEEDBACK
    evidence = Evidence.objects.get(order=order)
    assert (evidence.original_name, evidence.content_type) == ("现场整改.png", "image/png")

    # And the history tells who moved it from what to what
    page = leader.get(_detail(order)).content.decode()
    history = page[page.index('data-testid="order-history"') :]
    assert "已派发 → 已签收" in history
    assert "已签收 → 已反馈待追评" in history
    assert world.user("a2", Role.UNIT_LEADER).full_name in history
    assert reverse("workorders:evidence_download", args=[order.pk, evidence.pk]) in page
    assert "现场整改.png" in page


def test_evidence_downloads_as_an_audited_attachment(client, world):
    order = fed_back_order(world, files=[png("现场整改.png")])
    evidence = order.evidence.get()
    response = _as(client, world, "a", Role.SUPERVISOR).get(
        reverse("workorders:evidence_download", args=[order.pk, evidence.pk])
    )
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PNG
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    audit = AuditEvent.objects.get(action=AuditAction.EXPORT)
    assert audit.actor == world.user("a", Role.SUPERVISOR)
    assert audit.object_id == str(evidence.pk) and audit.detail["order"] == order.pk


def test_evidence_of_another_order_is_not_found(client, world):
    # An evidence id under the wrong order's address is not served, even inside the subtree.
    order = fed_back_order(world, files=[png()])
    other = at_fault_order(world)
    response = _as(client, world, "a2", Role.UNIT_LEADER).get(
        reverse("workorders:evidence_download", args=[other.pk, order.evidence.get().pk])
    )
    assert response.status_code == 404


# --- Siblings see nothing ------------------------------------------------------------------


def test_sibling_station_gets_404_on_the_order_its_actions_and_evidence(client, world):
    # Given an order of station a2 with evidence
    order = fed_back_order(world, files=[png()])
    evidence = order.evidence.get()
    sibling = _as(client, world, "a1", Role.UNIT_LEADER)
    # When the leader of sibling station a1 tries every address
    gets = [
        _detail(order),
        reverse("workorders:evidence_download", args=[order.pk, evidence.pk]),
    ]
    posts = {
        "order_accept": {},
        "order_feedback": {"feedback_text": FEEDBACK},
        "appeal_file": {"reason": "群众所述与事实不符，有执法记录仪视频为证。"},
    }
    # Then each is not found, and nothing changed
    for url in gets:
        assert sibling.get(url).status_code == 404, url
    for name, data in posts.items():
        response = sibling.post(reverse(f"workorders:{name}", args=[order.pk]), data)
        assert response.status_code == 404, name
    assert _status(order) == S.FEEDBACK
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()
    # Nor does the list show it
    listing = sibling.get(reverse("workorders:order_list")).content.decode()
    assert order.number not in listing


def test_an_evaluator_sees_the_order_without_actions(client, world):
    order = at_fault_order(world)
    page = _as(client, world, "city", Role.EVALUATOR).get(_detail(order)).content.decode()
    assert order.number in page
    assert 'data-testid="no-actions"' in page
    assert 'data-testid="accept-form"' not in page
    # The callback page is the evaluator's own centre's, so it is linked
    assert reverse("callbacks:callback_detail", args=[order.callback_id]) in page


# --- Refusals keep the input and say why ---------------------------------------------------


def _accepted(world):
    from minyi.workorders.services import workorder_accept

    return workorder_accept(actor=world.user("a2", Role.UNIT_LEADER), order=at_fault_order(world))


def test_too_large_evidence_is_refused_with_the_text_kept(client, world, settings):
    # Given evidence files limited to 1 KB
    settings.EVIDENCE_MAX_BYTES = 1024
    order = _accepted(world)
    # When the leader sends a 2 KB photo
    response = _as(client, world, "a2", Role.UNIT_LEADER).post(
        reverse("workorders:order_feedback", args=[order.pk]),
        {"feedback_text": FEEDBACK, "evidence": [png("大照片.png", size=2048)]},
    )
    # Then the page says so in Chinese, keeps what was typed, and nothing changed
    assert response.status_code == 400
    page = response.content.decode()
    assert "文件“大照片.png”超过" in page
    assert FEEDBACK in page
    assert _status(order) == S.ACCEPTED
    assert not Evidence.objects.exists()


def test_an_exe_is_refused(client, world):
    order = _accepted(world)
    exe = SimpleUploadedFile("整改.exe", b"MZ\x90\x00" + b"\x00" * 64, "application/x-msdownload")
    response = _as(client, world, "a2", Role.UNIT_LEADER).post(
        reverse("workorders:order_feedback", args=[order.pk]),
        {"feedback_text": FEEDBACK, "evidence": [exe]},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "文件“整改.exe”不是 JPG、PNG 或 PDF" in page
    assert FEEDBACK in page
    assert _status(order) == S.ACCEPTED
    assert not Evidence.objects.exists()


def test_a_request_over_the_upload_limit_is_refused_before_the_files_are_read(
    client, world, settings
):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 4096
    order = _accepted(world)
    response = _as(client, world, "a2", Role.UNIT_LEADER).post(
        reverse("workorders:order_feedback", args=[order.pk]),
        {"feedback_text": FEEDBACK, "evidence": [png(size=8000)]},
    )
    assert response.status_code == 413
    page = response.content.decode()
    assert "上传内容过大" in page and FEEDBACK in page
    assert _status(order) == S.ACCEPTED
    assert not Evidence.objects.exists()


def test_a_short_feedback_is_refused_on_its_field(client, world):
    order = _accepted(world)
    response = _as(client, world, "a2", Role.UNIT_LEADER).post(
        reverse("workorders:order_feedback", args=[order.pk]), {"feedback_text": "已整改"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert 'data-testid="error-feedback_text"' in page and "至少10个字" in page
    assert _status(order) == S.ACCEPTED


# --- The centre's audit: close, return, twice ----------------------------------------------


def test_district_supervisor_closes_and_closing_twice_says_it_is_closed(client, world):
    # Given an order the citizen rated satisfied after rectification
    order = order_in_audit(world)
    supervisor = _as(client, world, "a", Role.SUPERVISOR)
    page = supervisor.get(_detail(order)).content.decode()
    assert 'data-testid="close-form"' in page and 'data-testid="return-form"' in page
    # When the supervisor of district a closes it
    response = supervisor.post(
        reverse("workorders:order_close", args=[order.pk]), {"note": "整改到位"}, follow=True
    )
    # Then it is closed as truly resolved
    assert "工单已审核办结" in response.content.decode()
    order.refresh_from_db()
    assert (order.status, order.resolved) == (S.CLOSED, True)
    # When they (or a second tab) close it again
    again = supervisor.post(reverse("workorders:order_close", args=[order.pk]), {"note": ""})
    # Then the page explains, with a conflict status, and the first closing stands
    assert again.status_code == 409
    page = again.content.decode()
    assert 'data-testid="action-error"' in page and "该工单已办结" in page
    assert WorkOrder.objects.get(pk=order.pk).closed_at == order.closed_at


def test_a_return_needs_its_reason(client, world):
    order = order_in_audit(world)
    supervisor = _as(client, world, "a", Role.SUPERVISOR)
    response = supervisor.post(reverse("workorders:order_return", args=[order.pk]), {"note": " "})
    assert response.status_code == 400
    assert "请写明退回原因" in response.content.decode()
    assert _status(order) == S.AUDIT
    response = supervisor.post(
        reverse("workorders:order_return", args=[order.pk]), {"note": "整改照片与问题无关"}
    )
    assert response.status_code == 302
    assert _status(order) == S.RETURNED


# --- Appeals --------------------------------------------------------------------------------


def test_unit_files_an_appeal_within_its_deadline(client, world):
    order = at_fault_order(world)
    leader = _as(client, world, "a2", Role.UNIT_LEADER)
    page = leader.get(_detail(order)).content.decode()
    assert 'data-testid="appeal-deadline"' in page and "申诉期限" in page
    short = leader.post(reverse("workorders:appeal_file", args=[order.pk]), {"reason": "不服"})
    assert short.status_code == 400 and "至少10个字" in short.content.decode()
    response = leader.post(
        reverse("workorders:appeal_file", args=[order.pk]),
        {"reason": "群众所述与事实不符，有执法记录仪视频为证。"},
        follow=True,
    )
    page = response.content.decode()
    assert "申诉已提交" in page and 'data-testid="appeal"' in page
    assert 'data-testid="appeal-form"' not in page  # once per order


def test_appeals_are_listed_and_decided_only_a_tier_above(client, world):
    # Given station a2 appealed its order
    order = order_with_appeal(world)
    # The supervisors of a2 itself and of district b do not have it in their list
    for key in ("a2", "b"):
        listing = _as(client, world, key, Role.SUPERVISOR).get(reverse("workorders:appeal_list"))
        assert order.number not in listing.content.decode(), key
    # a2's own supervisor sees the order but may not decide, and is refused if they try
    own = _as(client, world, "a2", Role.SUPERVISOR)
    assert 'data-testid="decide-form"' not in own.get(_detail(order)).content.decode()
    refused = own.post(
        reverse("workorders:appeal_decide", args=[order.pk]),
        {"decision": "uphold", "note": "同意"},
    )
    assert refused.status_code == 403 and "申诉须由上级单位复核" in refused.content.decode()
    # District a's supervisor has it in the list and decides it
    district = _as(client, world, "a", Role.SUPERVISOR)
    assert order.number in district.get(reverse("workorders:appeal_list")).content.decode()
    assert 'data-testid="decide-form"' in district.get(_detail(order)).content.decode()
    empty = district.post(reverse("workorders:appeal_decide", args=[order.pk]), {})
    assert empty.status_code == 400 and "请选择复核结论" in empty.content.decode()
    response = district.post(
        reverse("workorders:appeal_decide", args=[order.pk]),
        {"decision": "uphold", "note": "视频显示民警处置规范"},
        follow=True,
    )
    page = response.content.decode()
    assert "申诉复核意见已保存" in page and "申诉成立" in page
    assert _status(order) == S.CANCELLED


# --- The list -------------------------------------------------------------------------------


def test_the_list_query_count_does_not_grow_with_rows(client, world, django_assert_max_num_queries):
    orders = [at_fault_order(world) for _ in range(12)]
    WorkOrder.objects.filter(pk=orders[0].pk).update(escalated_to=world.district_a)
    supervisor = _as(client, world, "city", Role.SUPERVISOR)
    # Session, user and unit, the bell, tab counts, page count, rows, filter choices, session
    # save: about 12 whatever the number of rows; one query per row would add 12.
    with django_assert_max_num_queries(14):
        response = supervisor.get(reverse("workorders:order_list"))
    page = response.content.decode()
    assert all(o.number in page for o in orders)


def test_an_overdue_order_is_shown_red_and_first(client, world):
    # Given two orders, the later-made one past its deadline and escalated
    on_time = at_fault_order(world)
    late = at_fault_order(world)
    WorkOrder.objects.filter(pk=late.pk).update(
        deadline=timezone.localdate() - timedelta(days=2), escalated_to=world.district_a
    )
    leader = _as(client, world, "a2", Role.UNIT_LEADER)
    page = leader.get(reverse("workorders:order_list")).content.decode()
    # Then it comes first, in a red row with the badges
    rows = page[page.index('data-testid="order-list"') :]
    assert rows.index(late.number) < rows.index(on_time.number)
    assert 'class="overdue" data-testid="overdue-row"' in rows
    row = rows[rows.index('data-testid="overdue-row"') : rows.index(on_time.number)]
    assert late.number in row and "超期" in row and "已升级至 甲区分局" in row
    assert 'class="deadline late"' in row
    # And the overdue tab counts and lists only it
    overdue = leader.get(reverse("workorders:order_list"), {"status": "overdue"}).content.decode()
    listed = overdue[overdue.index('data-testid="order-list"') :]
    assert late.number in listed and on_time.number not in listed
    detail = leader.get(_detail(late)).content.decode()
    assert 'data-testid="overdue"' in detail


def test_tabs_and_filters(client, world):
    accepted = _accepted(world)
    dispatched = at_fault_order(world)
    other_unit = at_fault_order(world, unit=world.station_a1)
    supervisor = _as(client, world, "a", Role.SUPERVISOR)
    url = reverse("workorders:order_list")
    page = supervisor.get(url, {"status": "dispatched"}).content.decode()
    listed = page[page.index('data-testid="order-list"') :]
    assert dispatched.number in listed and other_unit.number in listed
    assert accepted.number not in listed
    assert "待签收 <span" in page
    page = supervisor.get(url, {"unit": world.station_a1.pk}).content.decode()
    listed = page[page.index('data-testid="order-list"') :]
    assert other_unit.number in listed and dispatched.number not in listed
    # A unit outside the subtree (or nonsense) is ignored, never an error or a leak
    for junk in (world.station_b1.pk, "x"):
        assert supervisor.get(url, {"unit": junk}).status_code == 200


def test_after_the_appeal_window_the_form_is_gone_and_a_post_is_refused(client, world):
    order = at_fault_order(world)
    WorkOrder.objects.filter(pk=order.pk).update(dispatched_at=timezone.now() - timedelta(days=30))
    leader = _as(client, world, "a2", Role.UNIT_LEADER)
    page = leader.get(_detail(order)).content.decode()
    assert 'data-testid="appeal-form"' not in page and 'data-testid="appeal-expired"' in page
    response = leader.post(
        reverse("workorders:appeal_file", args=[order.pk]),
        {"reason": "群众所述与事实不符，有执法记录仪视频为证。"},
    )
    assert response.status_code == 409
    assert "已超过申诉期限" in response.content.decode()
