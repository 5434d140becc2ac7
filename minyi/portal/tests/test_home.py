"""The citizen portal's front page: one tile per citizen service, each of which opens."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

SERVICES = [
    "portal:opinion_new",
    "portal:opinion_track",
    "portal:case_lookup",
    "directory:search",
    "portal:opinion_wall",
]


def test_the_front_page_leads_to_every_citizen_service(client):
    page = client.get(reverse("portal:home"))
    assert page.status_code == 200
    html = page.content.decode()
    for name in SERVICES:
        url = reverse(name)
        assert f'href="{url}"' in html, name
        assert client.get(url).status_code == 200, name
