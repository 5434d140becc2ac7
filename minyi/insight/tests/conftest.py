import pytest
from django_otp import DEVICE_ID_SESSION_KEY

from minyi.insight import tagging
from minyi.orgs.choices import Role


@pytest.fixture(autouse=True)
def _fresh_tagger_cache():
    """The active model is cached per process; each test starts (and leaves) it empty."""
    tagging.clear_cache()
    yield
    tagging.clear_cache()


def login(client, user):
    client.force_login(user)
    if user.needs_second_factor:
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = user.totpdevice_set.get().persistent_id
        session.save()
    return client


@pytest.fixture
def admin_client(client, world):
    return login(client, world.user("city", Role.ADMIN))


@pytest.fixture
def immediate_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
