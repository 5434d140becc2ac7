"""Paper ballots (票选表): double keying, the mismatch queue and its resolution, and the
pages (issue 15, item 3)."""

import threading

import pytest
from django.db import connection
from django.urls import reverse

from minyi.core.errors import ApplicationError, PermissionDenied
from minyi.core.models import AuditEvent
from minyi.core.pii import lookup_hash
from minyi.orgs.choices import Role
from minyi.votes.ballots import ballot_cast
from minyi.votes.chain import chain_verify
from minyi.votes.models import (
    Ballot,
    CampaignStatus,
    Channel,
    PaperEntry,
    PaperSheet,
    Rejection,
    RejectReason,
    SheetStatus,
)
from minyi.votes.paper import sheet_key, sheet_resolve
from minyi.votes.tests.factories import make_campaign

MOBILE = "13800138000"


@pytest.fixture
def clerks(world):
    return world.user("a2", Role.EVALUATOR), world.user("a2", Role.ADMIN)


def _key(clerk, campaign, serial="HZ-0001", mobile=MOBILE, unreadable=False, choices=(1, 2)):
    return sheet_key(
        clerk,
        campaign,
        serial=serial,
        mobile=mobile,
        unreadable=unreadable,
        choices=list(choices),
    )


def _another_clerk(world, username):
    model = world.user("a2", Role.EVALUATOR).__class__
    return model.objects.create(username=username, unit=world.station_a2, role=Role.EVALUATOR)


@pytest.mark.django_db
class TestDoubleKeying:
    def test_first_entry_leaves_the_sheet_pending_and_casts_nothing(self, world, clerks):
        campaign = make_campaign(world)
        sheet = _key(clerks[0], campaign)
        assert sheet.status == SheetStatus.PENDING
        assert not Ballot.objects.filter(campaign=campaign).exists()

    def test_matching_second_entry_casts_one_paper_ballot(self, world, clerks):
        campaign = make_campaign(world)
        _key(clerks[0], campaign)
        sheet = _key(clerks[1], campaign, mobile="138 0013 8000")  # spelled differently
        assert sheet.status == SheetStatus.COUNTED
        ballot = Ballot.objects.get(campaign=campaign)
        assert (ballot.channel, ballot.sheet_id, ballot.chosen_numbers()) == (
            Channel.PAPER,
            sheet.pk,
            [1, 2],
        )
        assert chain_verify(campaign).ok

    def test_the_same_clerk_cannot_key_a_sheet_twice(self, world, clerks):
        campaign = make_campaign(world)
        _key(clerks[0], campaign)
        with pytest.raises(ApplicationError) as err:
            _key(clerks[0], campaign)
        assert err.value.code == "same_clerk"
        assert "另一名录入员" in str(err.value.message)
        assert PaperEntry.objects.count() == 1

    def test_a_counted_sheet_is_one_ballot_however_often_it_is_keyed(self, world, clerks):
        campaign = make_campaign(world)
        _key(clerks[0], campaign)
        _key(clerks[1], campaign)
        third = _another_clerk(world, "clerk3")
        with pytest.raises(ApplicationError) as err:
            _key(third, campaign)
        assert err.value.code == "sheet_done"
        assert Ballot.objects.filter(campaign=campaign).count() == 1

    def test_mismatch_goes_to_the_queue(self, world, clerks):
        campaign = make_campaign(world)
        _key(clerks[0], campaign)
        sheet = _key(clerks[1], campaign, choices=(1, 3))
        assert sheet.status == SheetStatus.MISMATCH
        assert not Ballot.objects.filter(campaign=campaign).exists()

    def test_mobile_mismatch_goes_to_the_queue(self, world, clerks):
        campaign = make_campaign(world)
        _key(clerks[0], campaign)
        assert _key(clerks[1], campaign, mobile="13800138001").status == SheetStatus.MISMATCH

    def test_unreadable_on_both_entries_is_a_recorded_rejection(self, world, clerks):
        campaign = make_campaign(world)
        _key(clerks[0], campaign, mobile="", unreadable=True)
        sheet = _key(clerks[1], campaign, mobile="1380013", unreadable=True)
        assert sheet.status == SheetStatus.REJECTED
        rejection = Rejection.objects.get(campaign=campaign)
        assert (rejection.reason, rejection.sheet_id, rejection.channel) == (
            RejectReason.UNREADABLE_MOBILE,
            sheet.pk,
            Channel.PAPER,
        )
        assert chain_verify(campaign).ok

    def test_too_many_marks_is_an_invalid_ballot(self, world, clerks):
        campaign = make_campaign(world, max_choices=2)
        _key(clerks[0], campaign, choices=(1, 2, 3))
        sheet = _key(clerks[1], campaign, choices=(1, 2, 3))
        assert sheet.status == SheetStatus.REJECTED
        assert Rejection.objects.get(campaign=campaign).reason == RejectReason.INVALID_CHOICES
        assert not Ballot.objects.filter(campaign=campaign).exists()

    def test_a_blank_sheet_is_an_invalid_ballot(self, world, clerks):
        campaign = make_campaign(world)
        _key(clerks[0], campaign, choices=())
        assert _key(clerks[1], campaign, choices=()).status == SheetStatus.REJECTED
        assert Rejection.objects.get(campaign=campaign).reason == RejectReason.INVALID_CHOICES

    def test_a_voter_who_voted_online_first_is_rejected_on_paper(self, world, clerks):
        campaign = make_campaign(world)
        ballot_cast(campaign, mobile=MOBILE, choices=[3])
        _key(clerks[0], campaign)
        sheet = _key(clerks[1], campaign)
        assert sheet.status == SheetStatus.REJECTED
        assert Ballot.objects.get(campaign=campaign).channel == Channel.ONLINE
        rejection = Rejection.objects.get(campaign=campaign)
        assert (rejection.reason, rejection.sheet_id) == (RejectReason.DUPLICATE_VOTER, sheet.pk)

    def test_an_invalid_mobile_is_refused_at_keying(self, world, clerks):
        campaign = make_campaign(world)
        with pytest.raises(ApplicationError) as err:
            _key(clerks[0], campaign, mobile="1380013800")  # ten digits
        assert (err.value.code, err.value.field) == ("invalid_mobile", "mobile")
        assert "无法辨认" in str(err.value.message)
        assert not PaperSheet.objects.exists()

    @pytest.mark.parametrize("serial", ["", "HZ 0001 漏", "X" * 21, "-1"])
    def test_a_bad_serial_is_refused(self, world, clerks, serial):
        campaign = make_campaign(world)
        with pytest.raises(ApplicationError) as err:
            _key(clerks[0], campaign, serial=serial)
        assert (err.value.code, err.value.field) == ("invalid_serial", "serial")

    def test_an_option_not_on_the_sheet_is_a_keying_error(self, world, clerks):
        campaign = make_campaign(world, options=5)
        with pytest.raises(ApplicationError) as err:
            _key(clerks[0], campaign, choices=(6,))
        assert err.value.field == "choices"

    def test_the_mobile_is_never_stored_in_clear(self, world, clerks):
        campaign = make_campaign(world)
        sheet = _key(clerks[0], campaign)
        with connection.cursor() as cursor:
            cursor.execute("SELECT mobile, mobile_hash FROM votes_paperentry")
            raw, hashed = cursor.fetchone()
        assert MOBILE not in raw
        assert hashed == lookup_hash("mobile", MOBILE)
        assert MOBILE not in str(AuditEvent.objects.filter(object_id=str(sheet.pk)).values())

    def test_a_role_without_keying_is_refused(self, world):
        campaign = make_campaign(world)
        with pytest.raises(PermissionDenied):
            _key(world.user("a2", Role.SUPERVISOR), campaign)

    def test_a_sibling_stations_clerk_cannot_key(self, world):
        campaign = make_campaign(world)
        with pytest.raises(ApplicationError) as err:
            _key(world.user("a1", Role.EVALUATOR), campaign)
        assert err.value.code == "not_found"

    def test_closed_campaign_still_takes_paper_but_published_does_not(self, world, clerks):
        campaign = make_campaign(world, status=CampaignStatus.CLOSED)
        _key(clerks[0], campaign)
        assert _key(clerks[1], campaign).status == SheetStatus.COUNTED
        published = make_campaign(world, status=CampaignStatus.PUBLISHED)
        with pytest.raises(ApplicationError) as err:
            _key(clerks[0], published)
        assert err.value.code == "campaign_not_keyable"


@pytest.mark.django_db
class TestResolution:
    def _mismatch(self, world, clerks, **kw):
        campaign = make_campaign(world, **kw)
        _key(clerks[0], campaign)
        sheet = _key(clerks[1], campaign, choices=(1, 3))
        assert sheet.status == SheetStatus.MISMATCH
        return campaign, sheet

    def test_the_third_keying_decides(self, world, clerks):
        campaign, sheet = self._mismatch(world, clerks)
        supervisor = world.user("a2", Role.SUPERVISOR)
        sheet = sheet_resolve(supervisor, sheet, mobile=MOBILE, unreadable=False, choices=[1, 3])
        assert sheet.status == SheetStatus.COUNTED
        assert sheet.resolved_by == supervisor
        assert Ballot.objects.get(campaign=campaign).chosen_numbers() == [1, 3]
        assert PaperEntry.objects.filter(sheet=sheet, resolution=True).count() == 1

    def test_resolution_to_unreadable_rejects(self, world, clerks):
        campaign, sheet = self._mismatch(world, clerks)
        sheet = sheet_resolve(
            world.user("a2", Role.SUPERVISOR), sheet, mobile="", unreadable=True, choices=[1]
        )
        assert sheet.status == SheetStatus.REJECTED
        assert Rejection.objects.get(campaign=campaign).reason == RejectReason.UNREADABLE_MOBILE

    def test_only_a_mismatch_can_be_resolved_and_only_once(self, world, clerks):
        campaign, sheet = self._mismatch(world, clerks)
        supervisor = world.user("a2", Role.SUPERVISOR)
        sheet_resolve(supervisor, sheet, mobile=MOBILE, unreadable=False, choices=[1])
        with pytest.raises(ApplicationError) as err:
            sheet_resolve(supervisor, sheet, mobile=MOBILE, unreadable=False, choices=[2])
        assert err.value.code == "sheet_not_mismatch"
        assert Ballot.objects.filter(campaign=campaign).count() == 1

    def test_a_clerk_cannot_resolve(self, world, clerks):
        _campaign, sheet = self._mismatch(world, clerks)
        with pytest.raises(PermissionDenied):
            sheet_resolve(clerks[0], sheet, mobile=MOBILE, unreadable=False, choices=[1])

    def test_a_mismatched_sheet_cannot_be_keyed_again(self, world, clerks):
        campaign, _sheet = self._mismatch(world, clerks)
        other = _another_clerk(world, "clerk4")
        with pytest.raises(ApplicationError) as err:
            _key(other, campaign)
        assert err.value.code == "sheet_in_queue"


@pytest.mark.django_db
class TestPages:
    def test_keying_through_the_page(self, client, world, clerks):
        campaign = make_campaign(world)
        url = reverse("votes:paper_key", args=[campaign.pk])
        data = {"serial": "hz-0009", "mobile": MOBILE, "choices": ["1", "2"]}
        client.force_login(clerks[0])
        response = client.post(url, data, follow=True)
        assert "第一次录入完成" in response.content.decode()
        client.force_login(_another_clerk(world, "clerk5"))
        response = client.post(url, data, follow=True)
        assert "已计票" in response.content.decode()
        assert PaperSheet.objects.get(campaign=campaign).serial == "HZ-0009"

    def test_the_page_puts_a_bad_mobile_on_its_field(self, client, world, clerks):
        campaign = make_campaign(world)
        client.force_login(clerks[0])
        response = client.post(
            reverse("votes:paper_key", args=[campaign.pk]),
            {"serial": "A1", "mobile": "12345", "choices": ["1"]},
        )
        assert response.status_code == 422
        assert 'data-testid="error-mobile"' in response.content.decode()

    def test_the_queue_shows_both_entries_masked_and_the_resolve_form(self, client, world, clerks):
        campaign = make_campaign(world)
        _key(clerks[0], campaign)
        sheet = _key(clerks[1], campaign, mobile="13900139000")
        client.force_login(world.user("a2", Role.SUPERVISOR))
        html = client.get(reverse("votes:paper_queue", args=[campaign.pk])).content.decode()
        assert "138****8000" in html and "139****9000" in html
        assert MOBILE not in html
        url = reverse("votes:paper_resolve", args=[campaign.pk, sheet.pk])
        response = client.post(url, {"mobile": MOBILE, "choices": ["1", "2"]})
        assert response.status_code == 302
        assert PaperSheet.objects.get(pk=sheet.pk).status == SheetStatus.COUNTED

    def test_rejections_log_filters(self, client, world, clerks):
        campaign = make_campaign(world)
        _key(clerks[0], campaign, serial="U-1", mobile="", unreadable=True)
        _key(clerks[1], campaign, serial="U-1", mobile="", unreadable=True)
        _key(clerks[0], campaign, serial="B-1", choices=())
        _key(clerks[1], campaign, serial="B-1", choices=())
        client.force_login(world.user("a2", Role.UNIT_LEADER))
        url = reverse("votes:rejection_list", args=[campaign.pk])
        html = client.get(url).content.decode()
        assert "U-1" in html and "B-1" in html
        html = client.get(url, {"reason": RejectReason.UNREADABLE_MOBILE}).content.decode()
        assert "U-1" in html and "B-1" not in html


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="row locks: PostgreSQL only")
def test_two_clerks_keying_at_the_same_moment_make_one_ballot(world, clerks):
    """Both clerks key the same new sheet at once: one entry becomes the first, the other the
    second, and the sheet is one ballot (repeated to give the race a chance)."""
    for round_ in range(5):
        campaign = make_campaign(world)
        serial = f"R-{round_}"
        results, start = [None, None], threading.Barrier(2)

        def work(i, serial=serial, campaign=campaign, results=results, start=start):
            try:
                start.wait()
                results[i] = _key(clerks[i], campaign, serial=serial).status
            except ApplicationError as exc:
                results[i] = exc.code
            finally:
                connection.close()

        threads = [threading.Thread(target=work, args=(i,)) for i in (0, 1)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(results) == [SheetStatus.COUNTED, SheetStatus.PENDING]
        assert Ballot.objects.filter(campaign=campaign).count() == 1
        assert PaperEntry.objects.filter(sheet__campaign=campaign).count() == 2
        assert chain_verify(campaign).ok
