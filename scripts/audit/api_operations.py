"""Schemathesis over every operation of the JSON API, on a live server on loopback.

Every operation in /api/openapi.json gets MINYI_AUDIT_EXAMPLES generated requests (default
25, derandomised: the same requests each run), sent with an API key of district A and the
session of district A's supervisor, and three checks: no 5xx, the answer conforms to the
schema, its status code is documented. Unlike minyi/core/tests/test_api_schema.py it does not
stop at the first failure: it counts every example and every failure for the figures.

Not named test_*.py: `make test` does not collect it; scripts/audit/run.py names it.
"""

import os

import pytest
import schemathesis
from audit_plugin import AUDIT
from django.test import Client
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from minyi.orgs.choices import Role
from minyi.orgs.services import apikey_create
from minyi.orgs.tests.factories import make_world
from minyi.perception.tests.factories import business_types

CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]
EXAMPLES = int(os.environ.get("MINYI_AUDIT_EXAMPLES", "25"))

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def credentials(live_server):
    world = make_world()
    business_types()
    _, key = apikey_create(actor=world.user("a", Role.ADMIN), name="audit", unit=world.district_a)
    client = Client()
    client.force_login(world.user("a", Role.SUPERVISOR))
    return {"X-API-Key": key, "Cookie": f"sessionid={client.cookies['sessionid'].value}"}


def _run(operation, credentials, base_url) -> list[str]:
    failures: dict[str, str] = {}  # one line per distinct failure

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def check(case):
        AUDIT.examples += 1
        response = case.call(headers=credentials, base_url=base_url)
        AUDIT.api_statuses[response.status_code] += 1
        if response.status_code >= 500:
            AUDIT.server_errors += 1
        # Every failure is recorded; none stops the run (no shrinking: the first line says it)
        try:
            case.validate_response(response, checks=CHECKS, headers=credentials)
        except Exception as exc:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            failures.setdefault(
                f"{type(exc).__name__}: {first_line}",
                f"{operation.label} → {response.status_code}: {first_line}",
            )

    check()
    return list(failures.values())


def test_every_api_operation(live_server, credentials):
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/openapi.json")
    failures = []
    for result in schema.get_all_operations():
        AUDIT.operations += 1
        if not (operation := result.ok()):
            AUDIT.operations_unloadable += 1
            failures.append(f"cannot generate requests: {result.err()}")
            continue
        failures += _run(operation, credentials, live_server.url)
    AUDIT.api_failures += failures
    assert AUDIT.operations >= 2, "the schema lists no operations"
    assert not failures, "\n".join(failures)
