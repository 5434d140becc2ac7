"""Permission-matrix cases for insight. The tagger is city-wide configuration without unit
data, so there is no marker; test_views.py checks that no reason text ever shows. The text
pages' marker is words of an opinion at station a2, which a sibling must never see."""

from django.urls import reverse

from minyi.console.tests.matrix import Case
from minyi.insight.models import TaggedText
from minyi.orgs.roles import Perm

WORDS = "甲二所门口车棚太窄"


def tagged_a2(world) -> TaggedText:
    """An opinion at station a2, tagged by the worker's pass."""
    from minyi.insight.services import texts_tag_pending
    from minyi.opinions.tests.factories import make_opinion

    found = TaggedText.objects.filter(unit=world.station_a2, source="opinion").first()
    if found is None:
        make_opinion(world, content=f"{WORDS}，停车位太少，电动车停不下，希望改一改。")
        texts_tag_pending()
        found = TaggedText.objects.get(unit=world.station_a2, source="opinion")
    return found


def _marker(world) -> str:
    tagged_a2(world)
    return WORDS


def _a2(world) -> str:
    return f"?unit={world.station_a2.pk}"


CASES = {
    "insight:tagger": Case(Perm.TAGGER_VIEW, lambda w: reverse("insight:tagger"), None),
    # GET is the confirmation page; the POST that trains is tested in test_views.py.
    "insight:tagger_train": Case(Perm.TAGGER_VIEW, lambda w: reverse("insight:tagger_train"), None),
    "insight:suggest": Case(
        Perm.CALLBACK_WORK,
        lambda w: reverse("insight:suggest"),
        None,
        method="post",
    ),
    "insight:reasons": Case(
        Perm.DASHBOARD_VIEW, lambda w: reverse("insight:reasons") + _a2(w), _marker, detail=True
    ),
    # Topics are judged on whole weeks, so today's text is in neither: test_topics.py shows
    # a flagged topic and its texts to the owner and none to a sibling district.
    "insight:topics": Case(
        Perm.DASHBOARD_VIEW, lambda w: reverse("insight:topics") + _a2(w), None, detail=True
    ),
    "insight:topic_detail": Case(
        Perm.DASHBOARD_VIEW,
        lambda w: reverse("insight:topic_detail") + _a2(w) + "&kind=tag&key=facilities",
        None,
        detail=True,
    ),
    "insight:review": Case(Perm.TEXT_CONFIRM, lambda w: reverse("insight:review"), _marker),
    "insight:review_text": Case(
        Perm.TEXT_CONFIRM,
        lambda w: reverse("insight:review_text", args=[tagged_a2(w).pk]),
        _marker,
        detail=True,
    ),
    # The owner is sent on to the text; a sibling back to its own (empty) queue.
    "insight:review_object": Case(
        Perm.TEXT_CONFIRM,
        lambda w: reverse("insight:review_object", args=["opinion", tagged_a2(w).object_id]),
        None,
        owner_status=302,
        sibling_status=302,
    ),
}
