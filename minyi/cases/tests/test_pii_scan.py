"""A party's ID number and mobile never appear unmasked: not in an API answer, not in a staff
or citizen page, not in the CSV import result, not in the log (every logger at DEBUG, SQL
included) and not in the audit rows."""

import json
import logging
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.forms.models import model_to_dict
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from minyi.cases.imports import CSV_COLUMNS
from minyi.cases.models import Case
from minyi.cases.tests.factories import PARTY_ID, PARTY_MOBILE, case_data, login, otp_code
from minyi.core.models import AuditEvent
from minyi.orgs.choices import Role
from minyi.orgs.services import apikey_create

pytestmark = pytest.mark.django_db

# The raw numbers in every spelling a leak could take.
FORBIDDEN = (PARTY_ID, PARTY_ID.lower(), PARTY_MOBILE)


def _leaks(text: str) -> list[str]:
    return [value for value in FORBIDDEN if value in text]


@pytest.fixture
def sql_logged():
    """Log every SQL statement with its parameters (DEBUG is off in tests)."""
    before = connection.force_debug_cursor
    connection.force_debug_cursor = True
    yield
    connection.force_debug_cursor = before


def test_id_number_and_mobile_never_appear_unmasked(world, caplog, sql_logged):
    caplog.set_level(logging.DEBUG)
    logging.getLogger("django.db.backends").setLevel(logging.DEBUG)
    seen: list[tuple[str, str]] = []  # (where, text)

    def look(where, response):
        seen.append((where, response.content.decode("utf-8", "replace")))
        return response

    # --- The API: create, update, a step, and refusals that name the party's field
    key = apikey_create(actor=world.user("city", Role.ADMIN), name="案件系统", unit=world.city)[1]
    api = Client(HTTP_X_API_KEY=key)
    data = case_data(world)
    data["parties"][0]["id_number"] = PARTY_ID.lower()  # as some systems send it
    for where, body in [
        ("api create", data),
        ("api update", case_data(world, case_type="诈骗")),
        ("api bad mobile", case_data(world, parties=[{**data["parties"][0], "mobile": "1381234"}])),
        ("api bad type", case_data(world, parties=[{**data["parties"][0], "mobile": 13812345678}])),
    ]:
        look(where, api.post("/api/v1/cases", json.dumps(body), content_type="application/json"))
    step = {"stage": "investigating", "occurred_at": timezone.now().isoformat(), "external_id": "i"}
    look(
        "api progress",
        api.post("/api/v1/cases/A2026110001/progress", step, content_type="application/json"),
    )
    case = Case.objects.get()
    assert case.parties.get().id_number == PARTY_ID

    # --- The citizen's pages: a refusal, the code step, the timeline, the complaint
    citizen = Client()
    look("lookup page", citizen.get("/c/cases/"))
    look(
        "lookup refused",
        citizen.post("/c/cases/", {"step": "start", "number": "NOPE", "id_number": PARTY_ID}),
    )
    citizen.post("/c/cases/", {"step": "start", "number": case.number, "id_number": PARTY_ID})
    look("code step", citizen.get("/c/cases/"))
    look("code wrong", citizen.post("/c/cases/", {"step": "code", "code": "99999"}))
    citizen.post("/c/cases/", {"step": "code", "code": otp_code()})
    look("progress", citizen.get("/c/cases/progress/"))
    look("complain", citizen.get("/c/cases/complain/"))
    done = citizen.post("/c/cases/complain/", {"content": f"我的手机{PARTY_MOBILE}一直没人联系"})
    look("complaint done", citizen.get(done.url))

    # --- Staff pages, as every role of the owning station, its district and the city
    for unit_key in ("a2", "a", "city"):
        for role in Role.values:
            staff = login(Client(), world.user(unit_key, role))
            look(f"list {unit_key} {role}", staff.get(reverse("cases:case_list")))
            look(
                f"detail {unit_key} {role}",
                staff.get(reverse("cases:case_detail", args=[case.pk])),
            )
            look(f"import {unit_key} {role}", staff.get(reverse("cases:case_import")))

    # --- The CSV import result page, with good and bad rows about the same party
    at = (timezone.localtime() - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M")
    rows = [
        [
            case.number,
            "盗窃",
            "TA02",
            "0",
            "0",
            "victim",
            "王小明",
            PARTY_ID.lower(),
            PARTY_MOBILE,
            "solved",
            at,
            "",
            "csv-1",
        ],
        [
            "B77",
            "盗窃",
            "TA02",
            "0",
            "0",
            "victim",
            "王小明",
            PARTY_ID,
            "138123",
            "received",
            at,
            "",
            "csv-2",
        ],
        [
            "B78",
            "盗窃",
            "TA02",
            "0",
            "0",
            "victim",
            "王小明",
            PARTY_ID[:-1] + "0",
            PARTY_MOBILE,
            "received",
            at,
            "",
            "csv-3",
        ],
    ]
    text = "\n".join([",".join(CSV_COLUMNS), *(",".join(r) for r in rows)])
    admin = login(Client(), world.user("a", Role.ADMIN))
    look(
        "import result",
        admin.post(
            reverse("cases:case_import"),
            {"file": SimpleUploadedFile("c.csv", text.encode("utf-8-sig"))},
        ),
    )
    assert "已导入" in seen[-1][1] and "错误" in seen[-1][1]

    # Then nothing shows the raw numbers
    for where, content in seen:
        assert not _leaks(content), f"{where} leaks {_leaks(content)}"
    # Nor the log (the SQL included: the numbers are stored encrypted)
    assert any(r.name == "django.db.backends" for r in caplog.records)
    for record in caplog.records:
        assert not _leaks(record.getMessage()), f"log {record.name} leaks"
    assert not _leaks(caplog.text)
    # Nor the audit trail
    for event in AuditEvent.objects.all():
        assert not _leaks(json.dumps(model_to_dict(event), default=str, ensure_ascii=False))
    # The pages did show the masked forms, so the test looked at the right places
    pages = "".join(content for _where, content in seen)
    assert "3306**********003X" in pages and "138****5678" in pages
