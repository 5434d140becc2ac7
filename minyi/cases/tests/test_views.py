"""Staff case pages: list with search, detail with masked parties, scope."""

import pytest
from django.urls import reverse

from minyi.cases.selectors import case_complaints
from minyi.cases.tests.factories import PARTY_ID, PARTY_MOBILE, login, make_case
from minyi.opinions.services.intake import opinion_submit
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


def test_detail_masks_parties(client, world):
    case = make_case(world)
    login(client, world.user("a2", Role.UNIT_LEADER))
    response = client.get(reverse("cases:case_detail", args=[case.pk]))
    text = response.content.decode()
    assert response.status_code == 200
    assert "王小明" in text and "3306**********003X" in text and "138****5678" in text
    assert PARTY_ID not in text and PARTY_MOBILE not in text
    assert "立案" in text and "已立案侦查" in text


def test_a_complaint_handled_above_the_station_is_not_shown_to_it(client, world):
    # Given a party's complaint about station a2's case, handled by district a (督察)
    case = make_case(world)
    complaint = opinion_submit(
        kind="complaint",
        content="民警一直没有联系我",
        mobile=PARTY_MOBILE,
        contact_name="王小明",
        unit_id=world.district_a.pk,
        case=case,
    )
    # When the station's leader opens the case (the parties' names are on it)
    login(client, world.user("a2", Role.UNIT_LEADER))
    station = client.get(reverse("cases:case_detail", args=[case.pk])).content.decode()
    # Then the complaint is not listed
    assert "王小明" in station and complaint.number not in station and "暂无投诉" in station
    # And the district, which handles it, sees it next to the case
    client.logout()
    login(client, world.user("a", Role.SUPERVISOR))
    district = client.get(reverse("cases:case_detail", args=[case.pk])).content.decode()
    assert complaint.number in district


def test_case_complaints_are_scoped_to_the_reader(world):
    case = make_case(world)
    complaint = opinion_submit(
        kind="complaint",
        content="民警一直没有联系我",
        mobile=PARTY_MOBILE,
        contact_name="王小明",
        unit_id=world.district_a.pk,
        case=case,
    )
    station = world.user("a2", Role.UNIT_LEADER)
    assert list(case_complaints(station, case)) == []
    assert list(case_complaints(world.user("a", Role.SUPERVISOR), case)) == [complaint]
    assert list(case_complaints(world.user("b", Role.SUPERVISOR), case)) == []


def test_detail_of_another_subtree_is_404(client, world):
    case = make_case(world)
    login(client, world.user("b", Role.SUPERVISOR))
    assert client.get(reverse("cases:case_detail", args=[case.pk])).status_code == 404


def test_role_without_case_view_is_refused(client, world):
    login(client, world.user("a2", Role.EVALUATOR))
    assert client.get(reverse("cases:case_list")).status_code == 403


def test_the_opinion_page_names_the_case_of_a_named_complaint_only(client, world):
    # Given a (named) complaint about a case, and an anonymous one stored before case
    # complaints lost the anonymous option
    case = make_case(world)
    named = opinion_submit(
        kind="complaint",
        content="民警一直没有联系我",
        mobile=PARTY_MOBILE,
        contact_name="王小明",
        unit_id=world.district_a.pk,
        case=case,
    )
    legacy = opinion_submit(
        kind="complaint",
        content="民警态度不好，不解释",
        mobile=PARTY_MOBILE,
        anonymous=True,
        unit_id=world.district_a.pk,
        case=case,
    )
    login(client, world.user("a", Role.SUPERVISOR))
    # Then the district handling them sees the case on the named one only
    page = client.get(reverse("opinions:opinion_detail", args=[named.pk])).content.decode()
    assert 'data-testid="linked-case"' in page and case.number in page
    page = client.get(reverse("opinions:opinion_detail", args=[legacy.pk])).content.decode()
    assert 'data-testid="linked-case"' not in page and case.number not in page
