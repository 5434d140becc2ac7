"""Permission-matrix cases: campaign pages of votes. The owner is a campaign organised by
station a2 (open, five options); a sibling station's staff must neither list it nor open it."""

from django.urls import reverse

from minyi.console.tests.matrix import Case
from minyi.votes.access import VOTE_MANAGE, VOTE_VIEW

TITLE = "甲二所惠民实事票选"


def _campaign(world):
    from minyi.votes.models import Campaign
    from minyi.votes.tests.factories import make_campaign

    return Campaign.objects.filter(unit=world.station_a2).first() or make_campaign(
        world, title=TITLE
    )


def _marker(world):
    _campaign(world)
    return TITLE


def _photo(world):
    from django.core.files.base import ContentFile

    from minyi.opinions.tests.factories import png_bytes
    from minyi.votes.models import OptionPhoto

    option = _campaign(world).options.get(number=1)
    photo = OptionPhoto.objects.filter(option=option).first()
    if photo is None:
        photo = OptionPhoto(option=option, content_type="image/png")
        photo.file.save("p.png", ContentFile(png_bytes()), save=True)
    return photo


def _url(name):
    return lambda w: reverse(f"votes:{name}", args=[_campaign(w).pk])


CAMPAIGN_CASES = {
    "votes:campaign_list": Case(VOTE_VIEW, lambda w: reverse("votes:campaign_list"), _marker),
    # The empty form: no unit's data.
    "votes:campaign_new": Case(VOTE_MANAGE, lambda w: reverse("votes:campaign_new"), None),
    "votes:campaign_detail": Case(VOTE_VIEW, _url("campaign_detail"), _marker, detail=True),
    # An open campaign's settings no longer change: refused with the error page (409).
    "votes:campaign_edit": Case(
        VOTE_MANAGE, _url("campaign_edit"), _marker, detail=True, owner_status=409
    ),
    # An empty option on an open campaign: the page again with the form's errors (400).
    "votes:option_new": Case(
        VOTE_MANAGE, _url("option_new"), _marker, method="post", detail=True, owner_status=400
    ),
    # An open campaign's options stay: refused with the page (409).
    "votes:option_delete": Case(
        VOTE_MANAGE,
        lambda w: reverse(
            "votes:option_delete", args=[_campaign(w).pk, _campaign(w).options.get(number=2).pk]
        ),
        _marker,
        method="post",
        detail=True,
        owner_status=409,
    ),
    "votes:option_photo": Case(
        VOTE_VIEW,
        lambda w: reverse("votes:option_photo", args=[_campaign(w).pk, _photo(w).pk]),
        None,
        detail=True,
    ),
    # Already open: refused with the page (409).
    "votes:campaign_open": Case(
        VOTE_MANAGE, _url("campaign_open"), _marker, method="post", detail=True, owner_status=409
    ),
    # Closing early is the organiser's move: done, back to the page.
    "votes:campaign_close": Case(
        VOTE_MANAGE, _url("campaign_close"), _marker, method="post", detail=True, owner_status=302
    ),
    # Not closed yet: refused with the page (409).
    "votes:campaign_publish": Case(
        VOTE_MANAGE,
        _url("campaign_publish"),
        _marker,
        method="post",
        detail=True,
        owner_status=409,
    ),
    "votes:campaign_export": Case(VOTE_VIEW, _url("campaign_export"), None, detail=True),
}
