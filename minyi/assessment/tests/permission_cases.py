"""Permission-matrix cases for the assessment pages (collected by
minyi/console/tests/test_permission_matrix.py). The owner is station a2: a rule, a peer group,
an assessment ranking a2, a business figure and an uploaded file of a2; a sibling station's
staff must neither list them nor open them."""

from datetime import date
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from minyi.assessment.access import ASSESSMENT_APPROVE, ASSESSMENT_MANAGE, ASSESSMENT_VIEW
from minyi.console.tests.matrix import Case

GROUP = "甲二测试组"
LABEL = "甲二所测试考评"
FILENAME = "甲二所业务指标.csv"


def _rule(world):
    from minyi.assessment.models import AssessmentRule
    from minyi.orgs.models import PeerGroup

    rule = AssessmentRule.objects.filter(owner=world.station_a2).first()
    if rule is None:
        group = PeerGroup.objects.create(owner=world.station_a2, name=GROUP)
        rule = AssessmentRule.objects.create(
            owner=world.station_a2, year=2026, version=1, public_weight=Decimal("0.6")
        )
        rule.peer_groups.set([group])
    return rule


def _group(world):
    from minyi.orgs.models import PeerGroup

    _rule(world)
    return PeerGroup.objects.get(owner=world.station_a2)


def _assessment(world):
    from minyi.assessment.models import Assessment, AssessmentResult

    rule = _rule(world)
    assessment = Assessment.objects.filter(rule=rule).first()
    if assessment is None:
        assessment = Assessment.objects.create(
            rule=rule, label=LABEL, period_start=date(2026, 1, 1), period_end=date(2026, 6, 30)
        )
        AssessmentResult.objects.create(
            assessment=assessment, unit=world.station_a2, peer_group=_group(world)
        )
    return assessment


def _import(world):
    from minyi.assessment.figures import KIND_FIGURES
    from minyi.core.imports import import_file_store
    from minyi.core.models import ImportFile
    from minyi.orgs.choices import Role

    record = ImportFile.objects.filter(kind=KIND_FIGURES, unit=world.station_a2).first()
    if record is None:
        body = "单位代码,指标,起始日期,截止日期,分子,分母\nTA02,破案率,2026-01-01,2026-06-30,4,9\n"
        record = import_file_store(
            actor=world.user("a2", Role.ADMIN),
            kind=KIND_FIGURES,
            unit=world.station_a2,
            upload=SimpleUploadedFile(FILENAME, body.encode()),
        )
    return record


def _figure_marker(world):
    from minyi.assessment.tests.factories import figure

    figure(world.station_a2, s=4, n=9)
    return world.station_a2.display_name


def _marker(make, text):
    def marker(world):
        make(world)
        return text

    return marker


CASES = {
    "assessment:assessment_list": Case(
        ASSESSMENT_VIEW,
        lambda w: reverse("assessment:assessment_list"),
        _marker(_assessment, LABEL),
    ),
    "assessment:assessment_detail": Case(
        ASSESSMENT_VIEW,
        lambda w: reverse("assessment:assessment_detail", args=[_assessment(w).pk]),
        _marker(_assessment, LABEL),
        detail=True,
    ),
    "assessment:assessment_run": Case(
        ASSESSMENT_MANAGE, lambda w: reverse("assessment:assessment_run"), None
    ),
    "assessment:assessment_approve": Case(
        ASSESSMENT_APPROVE,
        lambda w: reverse("assessment:assessment_approve", args=[_assessment(w).pk]),
        None,
        method="post",
        detail=True,
        owner_status=302,
    ),
    "assessment:assessment_publish": Case(
        ASSESSMENT_APPROVE,
        lambda w: reverse("assessment:assessment_publish", args=[_assessment(w).pk]),
        None,
        method="post",
        detail=True,
        owner_status=302,
    ),
    "assessment:rule_list": Case(
        ASSESSMENT_VIEW, lambda w: reverse("assessment:rule_list"), _marker(_rule, GROUP)
    ),
    "assessment:rule_create": Case(
        ASSESSMENT_MANAGE, lambda w: reverse("assessment:rule_create"), None
    ),
    "assessment:rule_edit": Case(
        ASSESSMENT_MANAGE,
        lambda w: reverse("assessment:rule_edit", args=[_rule(w).pk]),
        _marker(_rule, GROUP),
        detail=True,
    ),
    "assessment:rule_activate": Case(
        ASSESSMENT_MANAGE,
        lambda w: reverse("assessment:rule_activate", args=[_rule(w).pk]),
        None,
        method="post",
        detail=True,
        owner_status=302,
    ),
    "assessment:peer_group_list": Case(
        ASSESSMENT_VIEW, lambda w: reverse("assessment:peer_group_list"), _marker(_group, GROUP)
    ),
    "assessment:peer_group_create": Case(
        ASSESSMENT_MANAGE, lambda w: reverse("assessment:peer_group_create"), None
    ),
    "assessment:peer_group_edit": Case(
        ASSESSMENT_MANAGE,
        lambda w: reverse("assessment:peer_group_edit", args=[_group(w).pk]),
        _marker(_group, GROUP),
        detail=True,
    ),
    "assessment:figure_list": Case(
        ASSESSMENT_VIEW, lambda w: reverse("assessment:figure_list"), _figure_marker
    ),
    "assessment:figure_import": Case(
        ASSESSMENT_MANAGE,
        lambda w: reverse("assessment:figure_import"),
        _marker(_import, FILENAME),
    ),
    "assessment:figure_import_detail": Case(
        ASSESSMENT_VIEW,
        lambda w: reverse("assessment:figure_import_detail", args=[_import(w).pk]),
        _marker(_import, FILENAME),
        detail=True,
    ),
    "assessment:figure_import_progress": Case(
        ASSESSMENT_VIEW,
        lambda w: reverse("assessment:figure_import_progress", args=[_import(w).pk]),
        None,
        detail=True,
    ),
    "assessment:figure_import_confirm": Case(
        ASSESSMENT_MANAGE,
        lambda w: reverse("assessment:figure_import_confirm", args=[_import(w).pk]),
        None,
        method="post",
        detail=True,
        owner_status=302,
    ),
    "assessment:figure_compute": Case(
        ASSESSMENT_MANAGE, lambda w: reverse("assessment:figure_compute"), None
    ),
}
