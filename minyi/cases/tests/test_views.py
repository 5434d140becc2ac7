"""Staff case pages: list with search, detail with masked parties, scope."""

import pytest
from django.urls import reverse

from minyi.cases.tests.factories import PARTY_ID, PARTY_MOBILE, login, make_case
from minyi.opinions.services import opinion_submit
from minyi.orgs.choices import Role

pytestmark = pytest.mark.django_db


def test_list_shows_scope_badges_and_searches(client, world):
    make_case(world, number="A-OPEN-1")
    make_case(world, number="A-SECRET-2", confidential=True)
    make_case(world, number="B-OTHER-3", unit=world.station_b1)
    login(client, world.user("a", Role.SUPERVISOR))
    text = client.get(reverse("cases:case_list")).content.decode()
    assert "A-OPEN-1" in text and "A-SECRET-2" in text and "B-OTHER-3" not in text
    assert 'data-testid="badge-confidential"' in text
    found = client.get(reverse("cases:case_list"), {"number": "open"}).content.decode()
    assert "A-OPEN-1" in found and "A-SECRET-2" not in found


def test_detail_masks_parties_and_lists_complaints(client, world):
    case = make_case(world)
    complaint = opinion_submit(
        kind="complaint",
        content="民警一直没有联系我",
        mobile=PARTY_MOBILE,
        contact_name="王小明",
        unit_id=world.district_a.pk,
        case=case,
    )
    login(client, world.user("a2", Role.UNIT_LEADER))
    response = client.get(reverse("cases:case_detail", args=[case.pk]))
    text = response.content.decode()
    assert response.status_code == 200
    assert "王小明" in text and "3306**********003X" in text and "138****5678" in text
    assert PARTY_ID not in text and PARTY_MOBILE not in text
    assert complaint.number in text
    assert "立案" in text and "已立案侦查" in text


def test_detail_of_another_subtree_is_404(client, world):
    case = make_case(world)
    login(client, world.user("b", Role.SUPERVISOR))
    assert client.get(reverse("cases:case_detail", args=[case.pk])).status_code == 404


def test_role_without_case_view_is_refused(client, world):
    login(client, world.user("a2", Role.EVALUATOR))
    assert client.get(reverse("cases:case_list")).status_code == 403
