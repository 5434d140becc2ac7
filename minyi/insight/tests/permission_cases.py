"""Permission-matrix cases for insight. The tagger is city-wide configuration without unit
data, so there is no marker; test_views.py checks that no reason text ever shows."""

from django.urls import reverse

from minyi.console.tests.matrix import Case
from minyi.orgs.roles import Perm

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
}
