"""跑多次 into rectification: rules refer repeat contacts to a callback or a work order."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from minyi.callbacks.models import CallbackKind, CallbackStatus
from minyi.callbacks.selectors import callback_list_visible_to
from minyi.core.errors import ApplicationError
from minyi.core.pii import lookup_hash
from minyi.dashboards.models import (
    FillState,
    NoRoute,
    RepeatAction,
    RepeatReferral,
    RepeatRule,
)
from minyi.dashboards.repeat_rules import (
    CURSOR,
    repeat_referrals_sweep,
    repeat_referrals_visible_to,
    repeat_rule_save,
)
from minyi.dashboards.rollups import repeat_contacts_fill
from minyi.dashboards.tests.factories import at, days_ago, event, survey
from minyi.integrations.sms.models import OptOut
from minyi.notifications.models import Notification, NotificationKind
from minyi.orgs.choices import Role
from minyi.workorders.models import WorkOrderStatus

pytestmark = pytest.mark.django_db
MOBILE = "13900001234"


def _admin(world):
    return world.user("city", Role.ADMIN)


def _rule(world, *, action=RepeatAction.CALLBACK, trips=3, days=30, business_type=None, unit=None):
    return repeat_rule_save(
        actor=_admin(world),
        unit=unit or world.city,
        business_type=business_type,
        min_trips=trips,
        window_days=days,
        action=action,
    )


def _sweep() -> int:
    """Find the repeats (the rollup) and refer them, as the worker does."""
    now = timezone.now()
    repeat_contacts_fill(now=now + timedelta(minutes=10))
    return repeat_referrals_sweep(now)


def _trip(unit, business_type, days: int, *, surveyed=True, mobile=MOBILE):
    when = at(days_ago(days))
    if surveyed:
        return survey(unit, business_type, rating=2, occurred_at=when, mobile=mobile).event
    return event(unit, business_type, mobile=mobile, occurred_at=when)


def test_fires_at_n_trips_not_at_n_minus_one(world, btypes):
    hukou = btypes["hukou"]
    _rule(world, trips=3)
    _trip(world.station_a1, hukou, 20)
    _trip(world.station_a1, hukou, 10)

    assert _sweep() == 0

    _trip(world.station_a2, hukou, 2)
    assert _sweep() == 1
    referral = RepeatReferral.objects.get()
    assert (referral.trips, referral.unit, referral.business_type) == (3, world.station_a2, hukou)
    assert referral.mobile_masked and MOBILE not in referral.mobile_masked


def test_referred_once_per_pair_and_window(world, btypes):
    hukou = btypes["hukou"]
    _rule(world, trips=3)
    for days in (20, 10, 2):
        _trip(world.station_a1, hukou, days)
    assert _sweep() == 1

    # Given the sweep runs again, and again from the start (as after a rollup rebuild)
    assert _sweep() == 0
    FillState.objects.filter(name=CURSOR).update(last_id=0)
    assert repeat_referrals_sweep(timezone.now()) == 0
    # A fourth trip in the same weeks is not a new window: the trips referred are spent
    _trip(world.station_a1, hukou, 1)
    assert _sweep() == 0
    assert RepeatReferral.objects.count() == 1
    assert callback_count(world) == 1


def callback_count(world):
    return callback_list_visible_to(_admin(world), kind=CallbackKind.REPEAT).count()


def test_callback_on_newest_survey_in_centre_queue(world, btypes):
    hukou = btypes["hukou"]
    _rule(world, trips=3)
    _trip(world.station_a1, hukou, 20)
    newest = _trip(world.station_a1, hukou, 10)
    _trip(world.station_a2, hukou, 2, surveyed=False)  # within the cool-off: no survey

    _sweep()

    referral = RepeatReferral.objects.select_related("callback").get()
    callback = referral.callback
    assert (callback.kind, callback.status) == (CallbackKind.REPEAT, CallbackStatus.OPEN)
    assert callback.survey.event_id == newest.pk
    assert callback.unit == world.station_a2  # the unit of the latest trip
    assert callback.centre == world.city
    evaluator = world.user("city", Role.EVALUATOR)
    assert list(callback_list_visible_to(evaluator)) == [callback]
    assert referral.no_route == "" and referral.work_order is None


def test_work_order_rule_dispatches_to_unit_of_latest_trip(world, btypes):
    hukou = btypes["hukou"]
    _rule(world, action=RepeatAction.WORK_ORDER, business_type=hukou, trips=2, days=15)
    _trip(world.station_a1, hukou, 12)
    _trip(world.station_a2, hukou, 3)

    assert _sweep() == 1

    referral = RepeatReferral.objects.select_related("work_order", "callback").get()
    order = referral.work_order
    assert order.unit == world.station_a2 and order.status == WorkOrderStatus.DISPATCHED
    assert "跑多次" in order.problem and order.tags == ["multiple_trips"]
    # The callback carries the order and its 追评; nobody phoned, so no completion counted
    assert referral.callback.status == CallbackStatus.DONE
    assert referral.callback.completed_at is None
    leader = world.user("a2", Role.UNIT_LEADER)
    assert Notification.objects.filter(
        recipient=leader, kind=NotificationKind.ORDER_ARRIVED
    ).exists()


def test_no_survey_pair_is_not_called_and_reason_recorded(world, btypes):
    hukou = btypes["hukou"]
    _rule(world, trips=2)
    _rule(world, action=RepeatAction.WORK_ORDER, trips=2)
    _trip(world.station_a2, hukou, 9, surveyed=False)
    _trip(world.station_a2, hukou, 3, surveyed=False)

    assert _sweep() == 2

    assert not callback_list_visible_to(_admin(world), status="").exists()
    referrals = RepeatReferral.objects.order_by("action")
    assert [r.no_route for r in referrals] == [NoRoute.NO_SURVEY] * 2
    by_action = {r.action: r for r in referrals}
    assert by_action[RepeatAction.WORK_ORDER].unit_notified
    assert not by_action[RepeatAction.CALLBACK].unit_notified
    assert Notification.objects.filter(
        recipient=world.user("a2", Role.UNIT_LEADER), kind=NotificationKind.WARNING
    ).exists()


def test_opted_out_citizen_is_not_called(world, btypes):
    OptOut.objects.create(mobile_hash=lookup_hash("mobile", MOBILE), source="sms")
    _rule(world, trips=2)
    _trip(world.station_a2, btypes["hukou"], 9)
    _trip(world.station_a2, btypes["hukou"], 3)

    _sweep()

    referral = RepeatReferral.objects.get()
    assert referral.no_route == NoRoute.OPTED_OUT and referral.callback is None


def test_business_type_filter(world, btypes):
    _rule(world, trips=2, business_type=btypes["jcj_110"])
    _trip(world.station_a1, btypes["hukou"], 9)
    _trip(world.station_a1, btypes["hukou"], 3)

    assert _sweep() == 0

    _trip(world.station_a1, btypes["jcj_110"], 8, mobile="13900005678")
    _trip(world.station_a1, btypes["jcj_110"], 2, mobile="13900005678")
    assert _sweep() == 1
    assert RepeatReferral.objects.get().business_type == btypes["jcj_110"]


def test_rule_of_a_subtree_and_scoped_referrals(world, btypes):
    hukou = btypes["hukou"]
    _rule(world, trips=2, unit=world.district_b)
    _trip(world.station_a2, hukou, 9)
    _trip(world.station_a2, hukou, 3)
    assert _sweep() == 0  # district b's rule does not cover station a2

    _rule(world, trips=2, unit=world.district_a)
    FillState.objects.filter(name=CURSOR).update(last_id=0)
    assert repeat_referrals_sweep(timezone.now()) == 1

    owner = world.user("a2", Role.UNIT_LEADER)
    sibling = world.user("a1", Role.UNIT_LEADER)
    assert repeat_referrals_visible_to(owner).count() == 1
    assert repeat_referrals_visible_to(sibling).count() == 0


def test_stale_repeats_are_not_referred(world, btypes):
    """A first sweep over old history does not phone about trips of long ago."""
    _rule(world, trips=2, days=10)
    _trip(world.station_a2, btypes["hukou"], 40)
    _trip(world.station_a2, btypes["hukou"], 35)

    assert _sweep() == 0


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"min_trips": 1}, "min_trips"),
        ({"window_days": 31}, "window_days"),
        ({"window_days": 0}, "window_days"),
    ],
)
def test_rule_validation(world, btypes, fields, code):
    values = {"min_trips": 3, "window_days": 30} | fields
    with pytest.raises(ApplicationError) as exc:
        repeat_rule_save(
            actor=_admin(world),
            unit=world.city,
            business_type=None,
            action=RepeatAction.CALLBACK,
            **values,
        )
    assert exc.value.code == code


def test_rule_outside_own_subtree_refused(world):
    supervisor = world.user("a", Role.SUPERVISOR)
    with pytest.raises(ApplicationError) as exc:
        repeat_rule_save(
            actor=supervisor,
            unit=world.district_b,
            business_type=None,
            min_trips=3,
            window_days=30,
            action=RepeatAction.CALLBACK,
        )
    assert exc.value.code == "unit_out_of_scope"


def test_rules_page_creates_and_edits(client, world, btypes):
    client.force_login(world.user("city", Role.SUPERVISOR))
    url = reverse("dashboards:repeat_rules")
    data = {
        "unit": world.city.pk,
        "business_type": btypes["hukou"].pk,
        "min_trips": 3,
        "window_days": 30,
        "action": RepeatAction.WORK_ORDER,
        "active": "on",
    }
    assert client.post(url, data).status_code == 302
    rule = RepeatRule.objects.get()
    assert (rule.min_trips, rule.version) == (3, 1)

    response = client.post(f"{url}?rule={rule.pk}", data | {"min_trips": 1})
    assert response.status_code == 400
    assert "至少为 2 次" in response.content.decode()
    assert client.post(f"{url}?rule={rule.pk}", data | {"min_trips": 4}).status_code == 302
    rule.refresh_from_db()
    assert (rule.min_trips, rule.version) == (4, 2)


def test_referrals_page_lists_with_link(client, world, btypes):
    _rule(world, trips=2)
    _trip(world.station_a2, btypes["hukou"], 9)
    _trip(world.station_a2, btypes["hukou"], 3)
    _sweep()
    client.force_login(world.user("city", Role.SUPERVISOR))

    page = client.get(reverse("dashboards:repeat_referrals")).content.decode()

    referral = RepeatReferral.objects.get()
    assert referral.mobile_masked in page and MOBILE not in page
    assert reverse("callbacks:callback_detail", args=[referral.callback_id]) in page
    no_route = client.get(reverse("dashboards:repeat_referrals"), {"route": "no_route"})
    assert referral.mobile_masked not in no_route.content.decode()


def test_repeat_callback_page_shows_the_reason(client, world, btypes):
    _rule(world, trips=2)
    _trip(world.station_a2, btypes["hukou"], 9)
    _trip(world.station_a2, btypes["hukou"], 3)
    _sweep()
    callback = RepeatReferral.objects.get().callback
    client.force_login(world.user("city", Role.EVALUATOR))

    page = client.get(reverse("callbacks:callback_detail", args=[callback.pk])).content.decode()

    assert "跑多次回访" in page and "第 2 次办理" in page


def test_reached_repeat_callback_at_fault_dispatches_an_order(world, btypes):
    """跑多次回访 is recorded like a first callback: police at fault → a work order."""
    from minyi.callbacks.models import Attribution, CallOutcome
    from minyi.callbacks.services import callback_claim, callback_record

    _rule(world, trips=2)
    _trip(world.station_a1, btypes["hukou"], 9)
    _trip(world.station_a2, btypes["hukou"], 3)
    _sweep()
    evaluator = world.user("city", Role.EVALUATOR)
    callback = callback_claim(actor=evaluator, callback=RepeatReferral.objects.get().callback)

    done = callback_record(
        actor=evaluator,
        callback=callback,
        outcome=CallOutcome.REACHED,
        reason_text="户口迁移材料清单没有一次告知，来回跑了两趟",
        tags=["multiple_trips", "explanation"],
        attribution=Attribution.AT_FAULT,
    )

    order = done.work_order_created
    assert order.unit == world.station_a2 and order.status == WorkOrderStatus.DISPATCHED
    # The referrals page shows the callback's finding
    client_page = repeat_referrals_visible_to(_admin(world)).get()
    assert client_page.callback.attribution == Attribution.AT_FAULT


def test_referrals_page_query_count_is_fixed(client, world, btypes):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _rule(world, trips=2)
    _rule(world, action=RepeatAction.WORK_ORDER, trips=2)
    client.force_login(world.user("city", Role.SUPERVISOR))
    url = reverse("dashboards:repeat_referrals")
    counts = []
    for i in range(2):
        mobile = f"1390000900{i}"
        _trip(world.station_a2, btypes["hukou"], 9, mobile=mobile)
        _trip(world.station_a2, btypes["hukou"], 3, mobile=mobile)
        _sweep()
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        counts.append(len(queries))
    assert RepeatReferral.objects.count() == 4
    assert counts[0] == counts[1]


def test_rules_page_refuses_a_rule_of_another_subtree(client, world):
    rule = _rule(world, unit=world.district_b)
    client.force_login(world.user("a", Role.SUPERVISOR))
    url = reverse("dashboards:repeat_rules")

    assert client.get(url, {"rule": rule.pk}).status_code == 404
    assert client.get(url, {"rule": "x"}).status_code == 404
    assert client.get(url).status_code == 200


def test_open_unsatisfied_callback_is_joined_not_doubled(world, btypes):
    from minyi.callbacks.services import callback_open

    _rule(world, trips=2)
    _trip(world.station_a2, btypes["hukou"], 9, surveyed=False)
    rated = survey(
        world.station_a2, btypes["hukou"], rating=4, occurred_at=at(days_ago(3)), mobile=MOBILE
    )
    first = callback_open(survey=rated)

    _sweep()

    assert RepeatReferral.objects.get().callback == first
    assert any(e.note.startswith("跑多次") for e in first.history.all())
    assert not callback_list_visible_to(_admin(world), kind=CallbackKind.REPEAT).exists()
