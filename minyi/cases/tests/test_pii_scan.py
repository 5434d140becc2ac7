"""A party's ID number and mobile never appear unmasked: not in an API answer, not in a staff
or citizen page, not in the CSV import result, not in the log (every logger at DEBUG, SQL
included) and not in the audit rows. Nor do numbers written the other ways people write them
(+86, dashes, spaces, full-width or Arabic-Indic digits) in a reply, a callback note, an
opinion, an answer or a case note: not on the callback, drill-down, opinion and case pages,
not in the Excel export, not in an API answer (issue 12)."""

import io
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
from openpyxl import load_workbook

from minyi.callbacks.models import Attribution, CallOutcome
from minyi.callbacks.services import callback_claim, callback_record
from minyi.cases.imports import CSV_COLUMNS
from minyi.cases.models import Case
from minyi.cases.tests.factories import PARTY_ID, PARTY_MOBILE, case_data, login, otp_code
from minyi.core.models import AuditEvent
from minyi.opinions.services.handling import opinion_answer
from minyi.opinions.tests.factories import make_opinion
from minyi.orgs.choices import Role
from minyi.orgs.services import apikey_create
from minyi.perception.models import ReasonTag
from minyi.workorders.tests.factories import first_callback, open_centres, unsatisfied_survey

pytestmark = pytest.mark.django_db

# The same kind of numbers as people write them in free text, each with its masked form: a
# page must show the masked form and never the written one nor its plain 11 / 18 digits.
VARIANTS = {
    "+8613700008282": "+86137****8282",
    "137-0000-8383": "137-****-8383",
    "137 0000 8484": "137 **** 8484",
    "１３７００００８５８５": "１３７****８５８５",
    "١٣٧٠٠٠٠٨٦٨٦": "١٣٧****٨٦٨٦",
    "0086 137.0000.8787": "0086 137.****.8787",
    "330602 19850615 003x": "3306** ******** 003x",
    "３３０６０２１９８５０６１５００３Ｘ": "３３０６**********００３Ｘ",
}
VARIANT_DIGITS = (
    "13700008282",
    "13700008383",
    "13700008484",
    "13700008585",
    "13700008686",
    "13700008787",
)
VARIANT_TEXT = "联系：" + "；".join(VARIANTS)

# The raw numbers in every spelling a leak could take.
FORBIDDEN = (PARTY_ID, PARTY_ID.lower(), PARTY_MOBILE, *VARIANTS, *VARIANT_DIGITS)


def _leaks(text: str) -> list[str]:
    return [value for value in FORBIDDEN if value in text]


def _masked_variants_missing(text: str) -> list[str]:
    return [masked for masked in VARIANTS.values() if masked not in text]


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
    step = {
        "stage": "investigating",
        "occurred_at": timezone.now().isoformat(),
        "external_id": "i",
        "note": VARIANT_TEXT,  # the case system's clerk wrote numbers in the public note
    }
    look(
        "api progress",
        api.post("/api/v1/cases/A2026110001/progress", step, content_type="application/json"),
    )
    for variant in VARIANTS:  # a refusal that quotes the input must not quote a number
        bad = {**step, "stage": variant, "external_id": "x"}
        answer = api.post(
            "/api/v1/cases/A2026110001/progress", bad, content_type="application/json"
        )
        assert answer.json()["code"] == "invalid_stage"
        look(f"api bad stage {variant}", answer)
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

    # --- The CSV import result pages, with good and bad rows about the same party
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
    admin = login(Client(), world.user("a", Role.ADMIN))
    # A file with a bad row stores nothing and lists the bad rows; the good row alone goes in
    for where, chosen in (("import refused", rows), ("import result", rows[:1])):
        text = "\n".join([",".join(CSV_COLUMNS), *(",".join(r) for r in chosen)])
        look(
            where,
            admin.post(
                reverse("cases:case_import"),
                {"file": SimpleUploadedFile("c.csv", text.encode("utf-8-sig"))},
            ),
        )
    assert "错误" in seen[-2][1] and "已导入" in seen[-1][1]

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
    # The note with every spelling is on the citizen's timeline and a staff detail, masked
    pages = dict(seen)
    assert not _masked_variants_missing(pages["progress"])
    assert any(
        not _masked_variants_missing(content)
        for where, content in seen
        if where.startswith("detail ")
    )


def test_numbers_written_any_way_never_appear_unmasked_on_staff_pages_and_exports(
    world, btypes, sql_logged, caplog
):
    # Given a citizen who wrote numbers every way in an unsatisfied reply, an evaluator who
    # noted them on the call, and an opinion whose text, contact name and answer carry them
    caplog.set_level(logging.DEBUG)
    logging.getLogger("django.db.backends").setLevel(logging.DEBUG)
    open_centres(world)
    survey = unsatisfied_survey(world, comment=VARIANT_TEXT)
    evaluator = world.user("a", Role.EVALUATOR)
    callback = callback_claim(actor=evaluator, callback=first_callback(survey))
    callback_record(
        actor=evaluator,
        callback=callback,
        outcome=CallOutcome.REACHED,
        note=VARIANT_TEXT,
        reason_text=VARIANT_TEXT,
        tags=[ReasonTag.ATTITUDE],
        attribution=Attribution.EXPLAINED,
    )
    leader = world.user("a2", Role.UNIT_LEADER)
    opinion = make_opinion(world, content=VARIANT_TEXT, contact_name="王先生137-0000-8383")
    opinion_answer(actor=leader, opinion=opinion, text=VARIANT_TEXT)

    # When staff open the callback, the drill-down behind the figure, its Excel export and
    # the opinion
    supervisor = login(Client(), world.user("a", Role.SUPERVISOR))
    drill = {"figure": "satisfaction", "unit": world.district_a.pk, "period": "90"}
    pages = {
        "callback detail": login(Client(), evaluator).get(
            reverse("callbacks:callback_detail", args=[callback.pk])
        ),
        "drill-down": supervisor.get(reverse("dashboards:drill"), drill),
        "opinion detail": login(Client(), leader).get(
            reverse("opinions:opinion_detail", args=[opinion.pk])
        ),
    }
    texts = {where: response.content.decode() for where, response in pages.items()}
    export = supervisor.get(reverse("dashboards:export"), {"table": "drill", **drill})
    sheet = load_workbook(io.BytesIO(b"".join(export.streaming_content)), read_only=True)
    texts["excel export"] = "\n".join(
        str(value)
        for row in sheet.active.iter_rows(values_only=True)
        for value in row
        if value is not None
    )

    # Then every page shows the numbers masked, the way they were written, and none in full
    for where, text in texts.items():
        assert pages.get(where) is None or pages[where].status_code == 200, where
        assert not _leaks(text), f"{where} leaks {_leaks(text)}"
        assert not _masked_variants_missing(text), f"{where} lacks {_masked_variants_missing(text)}"
    assert "王先生137-****-8383" in texts["opinion detail"]
    # Nor does the SQL log: the staff's notes and the answer are stored encrypted
    assert not _leaks(caplog.text)
