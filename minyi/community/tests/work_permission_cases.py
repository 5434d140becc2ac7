"""Permission-matrix cases: community officers' work (责任清单, 走访, 安全提醒). The owner is
station a2's community 甲二社区 with its officer's entry on the responsibility list, a visit
and a draft notice; a sibling station's staff must neither list nor open any of them."""

from datetime import date

from django.urls import reverse

from minyi.community.access import COMMUNITY_WORK
from minyi.console.tests.matrix import Case

COMMUNITY = "甲二社区"
VISIT_NOTE = "甲二社区走访情况标记"
NOTICE_TITLE = "甲二社区防盗提醒"


def _community(world):
    from minyi.community.models import GridArea
    from minyi.community.tests.factories import make_grid

    return GridArea.objects.filter(code="C-A2").first() or make_grid(world)["a2"]


def _post(world):
    from minyi.community.models import CommunityOfficer

    area = _community(world)
    return CommunityOfficer.objects.get_or_create(
        area=area,
        officer=world.officers["a2"],
        defaults={"duties": "甲二社区责任一\n责任二", "published": True},
    )[0]


def _visit(world):
    from minyi.community.models import Visit, VisitTopic

    area = _community(world)
    return Visit.objects.filter(area=area).first() or Visit.objects.create(
        area=area,
        community=area,
        officer=world.officers["a2"],
        visited_on=date(2026, 11, 3),
        topic=VisitTopic.SAFETY,
        note=VISIT_NOTE,
        follow_up="回访一次",
    )


def _notice(world):
    from minyi.community.models import NoticeKind, SafetyNotice

    area = _community(world)
    return SafetyNotice.objects.filter(area=area).first() or SafetyNotice.objects.create(
        area=area, kind=NoticeKind.ALERT, title=NOTICE_TITLE, body="请锁好门窗。"
    )


def _community_marker(world):
    _community(world)
    return COMMUNITY


def _post_marker(world):
    _post(world)
    return "甲二社区责任一"


def _visit_marker(world):
    _visit(world)
    return VISIT_NOTE


def _notice_marker(world):
    _notice(world)
    return NOTICE_TITLE


def _url(name, get):
    return lambda w: reverse(f"community:{name}", args=[get(w).pk])


WORK_CASES = {
    "community:duty_list": Case(
        COMMUNITY_WORK, lambda w: reverse("community:duty_list"), _post_marker
    ),
    "community:duty_new": Case(
        COMMUNITY_WORK, _url("duty_new", _community), _community_marker, detail=True
    ),
    "community:duty_edit": Case(
        COMMUNITY_WORK, _url("duty_edit", _post), _post_marker, detail=True
    ),
    # Removed, back to the list.
    "community:duty_delete": Case(
        COMMUNITY_WORK,
        _url("duty_delete", _post),
        _post_marker,
        method="post",
        detail=True,
        owner_status=302,
    ),
    "community:visit_list": Case(
        COMMUNITY_WORK, lambda w: reverse("community:visit_list"), _visit_marker
    ),
    # The empty form; its list of areas is the user's own.
    "community:visit_new": Case(
        COMMUNITY_WORK, lambda w: reverse("community:visit_new"), _community_marker
    ),
    "community:visit_coverage": Case(
        COMMUNITY_WORK, lambda w: reverse("community:visit_coverage"), _community_marker
    ),
    "community:visit_edit": Case(
        COMMUNITY_WORK, _url("visit_edit", _visit), _visit_marker, detail=True
    ),
    "community:visit_delete": Case(
        COMMUNITY_WORK,
        _url("visit_delete", _visit),
        _visit_marker,
        method="post",
        detail=True,
        owner_status=302,
    ),
    "community:visit_done": Case(
        COMMUNITY_WORK,
        _url("visit_done", _visit),
        _visit_marker,
        method="post",
        detail=True,
        owner_status=302,
    ),
    "community:notice_list": Case(
        COMMUNITY_WORK, lambda w: reverse("community:notice_list"), _notice_marker
    ),
    "community:notice_new": Case(
        COMMUNITY_WORK, lambda w: reverse("community:notice_new"), _community_marker
    ),
    "community:notice_detail": Case(
        COMMUNITY_WORK, _url("notice_detail", _notice), _notice_marker, detail=True
    ),
    # Sent (to no subscriber), back to the notice.
    "community:notice_send": Case(
        COMMUNITY_WORK,
        _url("notice_send", _notice),
        _notice_marker,
        method="post",
        detail=True,
        owner_status=302,
    ),
}
