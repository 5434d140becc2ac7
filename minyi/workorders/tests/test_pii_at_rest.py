"""Staff free text on work orders (feedback, history notes, appeals and their decisions) is
stored encrypted like the citizen's own text, and shown masked (issue 12, item 3)."""

import pytest
from django.test import Client
from django.urls import reverse

from minyi.cases.tests.factories import login
from minyi.core.tests.at_rest import NOTE, NUMBER, assert_encrypted
from minyi.orgs.choices import Role
from minyi.workorders.models import WorkOrderEvent
from minyi.workorders.services import appeal_decide, appeal_file, workorder_feedback
from minyi.workorders.tests.factories import open_centres

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _setup(world, btypes):
    open_centres(world)


def test_feedback_notes_and_appeals_are_encrypted_at_rest_and_masked(
    world, order, accepted, leader
):
    # Given a unit that wrote the citizen's number in its feedback, and an appeal and its
    # decision that quote it
    order = workorder_feedback(actor=leader, order=accepted, text=NOTE)
    appeal = appeal_file(actor=leader, order=order, reason=NOTE)
    appeal = appeal_decide(
        actor=world.user("a", Role.SUPERVISOR), appeal=appeal, uphold=False, note=NOTE
    )
    # Then the database holds none of it in clear
    assert_encrypted(order, "feedback_text")
    assert_encrypted(appeal, "reason")
    assert_encrypted(appeal, "decision_note")
    event = WorkOrderEvent.objects.filter(order=order, to_status="feedback").latest("id")
    assert_encrypted(event, "note")
    # And the order's page shows it masked only
    page = login(Client(), leader).get(reverse("workorders:order_detail", args=[order.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert NUMBER not in html and "137****0000" in html
