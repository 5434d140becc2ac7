"""Paper ballots (票选表): double keying, the mismatch queue and its resolution, and the
pages (issue 15, item 3)."""

import threading

import pytest
from django.db import connection
from django.urls import reverse

from minyi.core.errors import ApplicationError, PermissionDenied
from minyi.core.models import AuditEvent
from minyi.core.pii import id_number_checksum, lookup_hash
from minyi.orgs.choices import Role
from minyi.votes.ballots import ballot_cast
from minyi.votes.chain import chain_verify
from minyi.votes.keys import id_key
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

    def test_the_queue_is_the_clerks_and_shows_both_entries_masked(self, client, world, clerks):
        campaign = make_campaign(world)
        _key(clerks[0], campaign)
        _key(clerks[1], campaign, mobile="13900139000")
        url = reverse("votes:paper_queue", args=[campaign.pk])
        client.force_login(clerks[0])
        html = client.get(url).content.decode()
        assert "138****8000" in html and "139****9000" in html
        assert MOBILE not in html
        # Masked mobiles beside choices: not for every viewer of the campaign.
        client.force_login(world.user("a2", Role.UNIT_LEADER))
        assert client.get(url).status_code == 403

    def test_the_supervisor_walks_the_mismatches_from_sheet_to_sheet(self, client, world, clerks):
        campaign = make_campaign(world)
        for serial in ("M-1", "M-2"):
            _key(clerks[0], campaign, serial=serial)
            _key(clerks[1], campaign, serial=serial, mobile="13900139000")
        first, second = PaperSheet.objects.filter(campaign=campaign).order_by("serial")
        client.force_login(world.user("a2", Role.SUPERVISOR))
        following = reverse("votes:paper_resolve", args=[campaign.pk, 0])
        assert client.get(following).url == reverse(
            "votes:paper_resolve", args=[campaign.pk, first.pk]
        )
        html = client.get(client.get(following).url).content.decode()
        assert "138****8000" in html and "139****9000" in html and MOBILE not in html
        assert 'data-testid="waiting-sheets"' in html and "M-2" in html
        url = reverse("votes:paper_resolve", args=[campaign.pk, first.pk])
        response = client.post(url, {"mobile": MOBILE, "choices": ["1", "2"]})
        assert response.url == following
        assert PaperSheet.objects.get(pk=first.pk).status == SheetStatus.COUNTED
        assert client.get(following).url.endswith(f"/{second.pk}/resolve/")
        url = reverse("votes:paper_resolve", args=[campaign.pk, second.pk])
        client.post(url, {"mobile": "", "unreadable": "on", "choices": ["1", "2"]})
        assert 'data-testid="no-mismatch"' in client.get(following).content.decode()
        # A clerk keys, but does not settle a mismatch.
        client.force_login(clerks[0])
        assert client.get(following).status_code == 403
        assert client.post(url, {"mobile": MOBILE, "choices": ["1"]}).status_code == 403

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


def _id_number(body17: str = "33050219800101123") -> str:
    return body17 + id_number_checksum(body17)


ID_NUMBER = _id_number()


def _key_id(clerk, campaign, serial="ID-1", mobile=MOBILE, id_number=ID_NUMBER, **kwargs):
    return sheet_key(
        clerk,
        campaign,
        serial=serial,
        mobile=mobile,
        unreadable=False,
        choices=[1, 2],
        id_number=id_number,
        **kwargs,
    )


@pytest.mark.django_db
class TestIdNumber:
    """A campaign that requires an ID number (身份证号) on every ballot: the sheet's ID number is
    keyed twice like the mobile, compared, and cast with the ballot."""

    def test_two_matching_keyings_count_the_sheet_with_its_id_number(self, world, clerks):
        campaign = make_campaign(world, require_id_number=True)
        _key_id(clerks[0], campaign)
        sheet = _key_id(clerks[1], campaign, id_number=f" {ID_NUMBER.lower()} ")
        assert sheet.status == SheetStatus.COUNTED
        ballot = Ballot.objects.get(campaign=campaign)
        assert ballot.id_key == id_key(campaign, ID_NUMBER)
        entry = PaperEntry.objects.filter(sheet=sheet).first()
        assert entry.id_number == ID_NUMBER  # normalised, decrypted on read
        assert entry.id_number_hash == lookup_hash("id", ID_NUMBER)
        with connection.cursor() as cursor:
            cursor.execute("SELECT id_number FROM votes_paperentry WHERE sheet_id = %s", [sheet.pk])
            assert all(ID_NUMBER not in row[0] for row in cursor.fetchall())
        assert ID_NUMBER not in str(list(AuditEvent.objects.values_list("detail", flat=True)))

    def test_different_id_numbers_go_to_the_queue(self, world, clerks):
        campaign = make_campaign(world, require_id_number=True)
        _key_id(clerks[0], campaign)
        sheet = _key_id(clerks[1], campaign, id_number=_id_number("33050219800101124"))
        assert sheet.status == SheetStatus.MISMATCH
        sheet = sheet_resolve(
            world.user("a2", Role.SUPERVISOR),
            sheet,
            mobile=MOBILE,
            unreadable=False,
            id_number=ID_NUMBER,
            choices=[1, 2],
        )
        assert sheet.status == SheetStatus.COUNTED
        assert Ballot.objects.get(campaign=campaign).id_key == id_key(campaign, ID_NUMBER)

    def test_an_unreadable_id_number_is_an_invalid_ballot(self, world, clerks):
        campaign = make_campaign(world, require_id_number=True)
        _key_id(clerks[0], campaign, id_number="", id_unreadable=True)
        sheet = _key_id(clerks[1], campaign, id_number="", id_unreadable=True)
        assert sheet.status == SheetStatus.REJECTED
        assert not Ballot.objects.filter(campaign=campaign).exists()
        assert Rejection.objects.get(sheet=sheet).reason == RejectReason.UNREADABLE_ID
        assert chain_verify(campaign).ok

    def test_one_unreadable_against_one_read_is_a_mismatch(self, world, clerks):
        campaign = make_campaign(world, require_id_number=True)
        _key_id(clerks[0], campaign, id_number="", id_unreadable=True)
        assert _key_id(clerks[1], campaign).status == SheetStatus.MISMATCH

    def test_a_missing_or_invalid_id_number_is_a_keying_error(self, world, clerks):
        campaign = make_campaign(world, require_id_number=True)
        for typed, code in (
            ("", "id_number_required"),
            (ID_NUMBER[:-1] + "0", "invalid_id_number"),
        ):
            with pytest.raises(ApplicationError) as err:
                _key_id(clerks[0], campaign, id_number=typed)
            assert (err.value.code, err.value.field) == (code, "id_number")
        assert not PaperEntry.objects.filter(sheet__campaign=campaign).exists()

    def test_the_same_id_number_on_a_second_sheet_is_rejected(self, world, clerks):
        campaign = make_campaign(world, require_id_number=True)
        _key_id(clerks[0], campaign, serial="A")
        _key_id(clerks[1], campaign, serial="A")
        _key_id(clerks[0], campaign, serial="B", mobile="13900139000")
        sheet = _key_id(clerks[1], campaign, serial="B", mobile="13900139000")
        assert sheet.status == SheetStatus.REJECTED
        assert Rejection.objects.get(sheet=sheet).reason == RejectReason.DUPLICATE_ID

    def test_a_campaign_without_id_numbers_ignores_them(self, world, clerks):
        campaign = make_campaign(world)
        _key_id(clerks[0], campaign, id_number="not an id")
        sheet = _key_id(clerks[1], campaign, id_number="")
        assert sheet.status == SheetStatus.COUNTED
        assert not PaperEntry.objects.filter(sheet=sheet).exclude(id_number_hash="").exists()

    def test_the_pages_ask_for_the_id_number_only_when_required(self, client, world, clerks):
        plain = make_campaign(world)
        campaign = make_campaign(world, require_id_number=True)
        client.force_login(clerks[0])
        plain_html = client.get(reverse("votes:paper_key", args=[plain.pk])).content.decode()
        assert 'name="id_number"' not in plain_html
        url = reverse("votes:paper_key", args=[campaign.pk])
        assert 'name="id_unreadable"' in client.get(url).content.decode()
        data = {"serial": "P-1", "mobile": MOBILE, "choices": ["1"]}
        response = client.post(url, data)
        assert response.status_code == 422
        assert 'data-testid="error-id_number"' in response.content.decode()
        assert client.post(url, data | {"id_number": ID_NUMBER}).status_code == 302
        client.force_login(_another_clerk(world, "clerk-id-2"))
        response = client.post(url, data | {"id_number": _id_number("33050219800101124")})
        assert response.status_code == 302
        sheet = PaperSheet.objects.get(campaign=campaign, serial="P-1")
        assert sheet.status == SheetStatus.MISMATCH
        client.force_login(world.user("a2", Role.SUPERVISOR))
        resolve = reverse("votes:paper_resolve", args=[campaign.pk, sheet.pk])
        html = client.get(resolve).content.decode()
        assert "3305**********" in html and ID_NUMBER not in html
        client.post(resolve, {"mobile": MOBILE, "id_unreadable": "on", "choices": ["1"]})
        sheet.refresh_from_db()
        assert sheet.status == SheetStatus.REJECTED
