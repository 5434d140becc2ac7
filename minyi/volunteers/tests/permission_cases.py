"""Permission-matrix cases: volunteers (群防群治). The owner is station a2 with its volunteer
甲二志愿者, its partner 甲二保安公司 and its activity 甲二巡逻活动 (begun, so attendance can be
recorded); a sibling station's staff must neither list nor open any of them."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from minyi.console.tests.matrix import Case
from minyi.orgs.roles import Perm

VIEW, MANAGE = Perm.VOLUNTEER_VIEW, Perm.VOLUNTEER_MANAGE
VOLUNTEER = "甲二志愿者"
PARTNER = "甲二保安公司"
ACTIVITY = "甲二巡逻活动"


def _organisation(world):
    from minyi.volunteers.models import PartnerOrganisation
    from minyi.volunteers.tests.factories import make_organisation

    return PartnerOrganisation.objects.filter(
        unit=world.station_a2, name=PARTNER
    ).first() or make_organisation(world.station_a2, name=PARTNER)


def _volunteer(world):
    from minyi.volunteers.models import Volunteer
    from minyi.volunteers.tests.factories import make_volunteer

    found = [v for v in Volunteer.objects.filter(unit=world.station_a2) if v.name == VOLUNTEER]
    return (
        found[0]
        if found
        else make_volunteer(world.station_a2, name=VOLUNTEER, organisation=_organisation(world))
    )


def _activity(world):
    from minyi.volunteers.models import Activity
    from minyi.volunteers.tests.factories import make_activity, make_signup

    activity = Activity.objects.filter(unit=world.station_a2, title=ACTIVITY).first()
    if activity is None:
        activity = make_activity(
            world.station_a2, title=ACTIVITY, starts_at=timezone.now() - timedelta(hours=1)
        )
        make_signup(activity, _volunteer(world))
    return activity


def _volunteer_marker(world):
    _volunteer(world)
    return VOLUNTEER


def _partner_marker(world):
    _organisation(world)
    return PARTNER


def _activity_marker(world):
    _activity(world)
    return ACTIVITY


def _withdrawn(world):
    from minyi.volunteers.models import Volunteer, VolunteerStatus

    volunteer = _volunteer(world)
    Volunteer.objects.filter(pk=volunteer.pk).update(status=VolunteerStatus.WITHDRAWN)
    return volunteer


def _url(name, get):
    return lambda w: reverse(f"volunteers:{name}", args=[get(w).pk])


def _post(permission, name, get, marker):
    return Case(permission, _url(name, get), marker, method="post", detail=True, owner_status=302)


CASES = {
    "volunteers:volunteer_list": Case(
        VIEW, lambda w: reverse("volunteers:volunteer_list"), _volunteer_marker
    ),
    "volunteers:volunteer_new": Case(
        MANAGE, lambda w: reverse("volunteers:volunteer_new"), _partner_marker
    ),
    "volunteers:volunteer_export": Case(
        MANAGE, lambda w: reverse("volunteers:volunteer_export"), _volunteer_marker
    ),
    "volunteers:volunteer_edit": Case(
        MANAGE, _url("volunteer_edit", _volunteer), _volunteer_marker, detail=True
    ),
    # The number in full (the marker is the name: the reveal shows only the number).
    "volunteers:volunteer_reveal": Case(
        MANAGE, _url("volunteer_reveal", _volunteer), None, method="post", detail=True
    ),
    "volunteers:volunteer_withdraw": _post(
        MANAGE, "volunteer_withdraw", _volunteer, _volunteer_marker
    ),
    "volunteers:volunteer_erase": _post(MANAGE, "volunteer_erase", _withdrawn, _volunteer_marker),
    "volunteers:organisation_list": Case(
        VIEW, lambda w: reverse("volunteers:organisation_list"), _partner_marker
    ),
    "volunteers:organisation_new": Case(
        MANAGE, lambda w: reverse("volunteers:organisation_new"), None
    ),
    "volunteers:organisation_edit": Case(
        MANAGE, _url("organisation_edit", _organisation), _partner_marker, detail=True
    ),
    "volunteers:activity_list": Case(
        VIEW, lambda w: reverse("volunteers:activity_list") + "?when=all", _activity_marker
    ),
    "volunteers:activity_new": Case(MANAGE, lambda w: reverse("volunteers:activity_new"), None),
    "volunteers:activity_detail": Case(
        VIEW, _url("activity_detail", _activity), _activity_marker, detail=True
    ),
    "volunteers:activity_edit": Case(
        MANAGE, _url("activity_edit", _activity), _activity_marker, detail=True
    ),
    # An empty choice: refused with the message, on the owner's page.
    "volunteers:activity_signup": Case(
        MANAGE,
        _url("activity_signup", _activity),
        _activity_marker,
        method="post",
        detail=True,
        owner_status=400,
    ),
    "volunteers:activity_attendance": _post(
        MANAGE, "activity_attendance", _activity, _activity_marker
    ),
    "volunteers:activity_status": _post(MANAGE, "activity_status", _activity, _activity_marker),
    "volunteers:recognition": Case(VIEW, lambda w: reverse("volunteers:recognition"), None),
}
