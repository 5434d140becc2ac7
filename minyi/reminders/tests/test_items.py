"""Due items in: by API (per-item codes, idempotent, scoped to the key) and by file (preview →
confirm, duplicates reported, nothing lost); labels masked; mobiles validated."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from minyi.core.imports import table_read
from minyi.core.models import ImportFile, ImportStatus
from minyi.orgs.choices import Role
from minyi.orgs.services import apikey_create
from minyi.reminders.items import COLUMNS, item_label_mask, items_import
from minyi.reminders.models import DueItem

API = "/api/v1/reminders/items"


def _due(days=20) -> str:
    return (timezone.localdate() + timedelta(days=days)).isoformat()


def _key(world, unit):
    return apikey_create(actor=world.user("city", Role.ADMIN), name="车管系统", unit=unit)[1]


def _item(external_id="V1", unit="TA02", **extra):
    return {
        "source": "cgs",
        "external_id": external_id,
        "kind": "机动车年检",
        "unit": unit,
        "mobile": "138 0000 1111",
        "item": "浙D12345",
        "due_date": _due(),
        **extra,
    }


def _post(client, key, items):
    return client.post(
        API, {"items": items}, content_type="application/json", headers={"X-API-Key": key}
    )


@pytest.mark.parametrize(
    ("label", "masked"),
    [
        ("浙D12345", "浙D·***45"),
        ("浙D·AB123", "浙D·***23"),
        ("浙DD12345", "浙D·***45"),
        ("330602199001011233", "尾号1233"),
        ("驾驶证 330602199001011233", "驾驶证 3306**********1233"),
        ("违法编号 3306021234567", "违法编号 ***4567"),
        ("浙D·***12", "浙D·***12"),
        # A plate is masked where it stands, whatever is around it
        ("浙A·12345 蓝牌", "浙A·***45 蓝牌"),
        ("粤B12345(小型汽车)", "粤B·***45(小型汽车)"),
        ("小型汽车 浙a-d1234", "小型汽车 浙A·***34"),
        ("号牌：苏E 6X789，蓝色", "号牌：苏E·***89，蓝色"),
        ("新能源 沪AD12345 年检", "新能源 沪A·***45 年检"),
        # Any other run of 4+ letters or digits keeps at most its last 2 (4 from 8 up)
        ("编号 12345", "编号 ***45"),
        ("车架号 LSVAB1234", "车架号 ***1234"),
        ("档案 AB12", "档案 ***12"),
    ],
)
def test_labels_are_masked(label, masked):
    assert item_label_mask(label) == masked


@pytest.mark.django_db
def test_api_ingest_is_idempotent_and_masks(client, world):
    key = _key(world, world.station_a2)
    first = _post(client, key, [_item()])
    assert first.status_code == 200
    body = first.json()
    assert body["accepted"] == 1 and body["items"][0]["status"] == "accepted"
    item = DueItem.objects.get()
    assert item.item_label == "浙D·***45" and item.mobile == "13800001111"
    assert item.unit == world.station_a2 and item.kind == "vehicle_inspection"
    # The same item again (and twice in one batch): duplicates with the stored id
    again = _post(client, key, [_item(), _item("V2"), _item("V2")])
    assert again.status_code == 200
    items = again.json()["items"]
    assert [i["status"] for i in items] == ["duplicate", "accepted", "duplicate"]
    assert items[0]["id"] == item.pk and items[2]["id"] == items[1]["id"]
    assert DueItem.objects.count() == 2


@pytest.mark.django_db
def test_api_per_item_codes_keep_the_good_ones(client, world):
    key = _key(world, world.station_a2)
    response = _post(
        client,
        key,
        [
            _item("ok"),
            _item("k", kind="年审"),
            _item("m", mobile="12345"),
            _item("u", unit="NOPE"),
            _item("p", due_date=_due(-3)),
            _item("d", due_date="明天"),
            {"external_id": "x"},
        ],
    )
    assert response.status_code == 207
    codes = [(i["status"], i["code"]) for i in response.json()["items"]]
    assert codes == [
        ("accepted", ""),
        ("rejected", "invalid_kind"),
        ("rejected", "invalid_mobile"),
        ("rejected", "unknown_unit"),
        ("rejected", "due_date_past"),
        ("rejected", "invalid_item"),
        ("rejected", "invalid_item"),
    ]
    assert "机动车年检" in response.json()["items"][1]["message"]
    assert DueItem.objects.count() == 1


@pytest.mark.django_db
def test_api_key_scope(client, world):
    # A key of station a1 may not push a2's items, nor learn whether a2's item exists
    a2_key, a1_key = _key(world, world.station_a2), _key(world, world.station_a1)
    _post(client, a2_key, [_item("X")])
    response = _post(client, a1_key, [_item("X"), _item("Y")])
    assert response.status_code == 422
    assert [i["code"] for i in response.json()["items"]] == ["unit_out_of_scope"] * 2
    assert DueItem.objects.count() == 1
    # The district's key covers both stations
    district = _key(world, world.district_a)
    assert _post(client, district, [_item("Z", unit="TA01")]).status_code == 200


@pytest.mark.django_db
def test_api_refuses_bad_batches(client, world):
    key = _key(world, world.station_a2)
    assert _post(client, "mk_bad_key", [_item()]).status_code == 401
    assert (
        client.post(API, {"items": [_item()]}, content_type="application/json").status_code == 401
    )
    assert _post(client, key, []).json()["code"] == "empty_batch"
    too_many = _post(client, key, [_item(str(i)) for i in range(1001)])
    assert too_many.status_code == 413 and too_many.json()["code"] == "batch_too_large"


HEADER = "事项编号,提醒类型,单位代码,手机号码,事项,到期日期\n"


def _table(text):
    return table_read(text.encode(), columns=COLUMNS)


@pytest.mark.django_db
def test_file_import_reports_duplicates_and_loses_nothing(world):
    actor = world.user("a2", Role.SUPERVISOR)
    first = HEADER + f"F1,机动车年检,TA02,13800001111,浙D12345,{_due()}\n"
    assert items_import(actor=actor, table=_table(first)).stored
    # Given a file repeating F1 (with another mobile) and a new F2
    text = first.replace("13800001111", "13900002222") + (
        f"F2,身份证到期,TA02,13800003333,330602199001011233,{_due(40)}\n"
    )
    report = items_import(actor=actor, table=_table(text))
    # Then F2 is stored, F1 is reported as a duplicate and kept as it was
    assert report.stored
    assert report.summary["accepted"] == 1 and report.summary["duplicate_count"] == 1
    assert report.summary["duplicates"] == [{"line": 2, "external_id": "F1"}]
    assert DueItem.objects.get(external_id="F1").mobile == "13800001111"
    assert DueItem.objects.get(external_id="F2").item_label == "尾号1233"


@pytest.mark.parametrize(
    ("row", "code", "column"),
    [
        ("F9,年审,TA02,13800001111,浙D1,{due}", "invalid_kind", "kind"),
        ("F9,机动车年检,TA01,13800001111,浙D1,{due}", "unit_out_of_scope", "unit"),
        ("F9,机动车年检,TA02,1380000,浙D1,{due}", "invalid_mobile", "mobile"),
        ("F9,机动车年检,TA02,13800001111,浙D1,2020-01-01", "due_date_past", "due_date"),
        ("F9,机动车年检,TA02,13800001111,浙D1,下月", "invalid_due_date", "due_date"),
        ("F9,机动车年检,TA02,13800001111,,{due}", "item_required", "item"),
    ],
)
@pytest.mark.django_db
def test_file_import_refuses_each_bad_row(world, row, code, column):
    text = HEADER + f"F1,机动车年检,TA02,13800001111,浙D12345,{_due()}\n" + row.format(due=_due())
    report = items_import(actor=world.user("a2", Role.SUPERVISOR), table=_table(text + "\n"))
    assert not report.stored
    assert [(e.row, e.code, e.column) for e in report.errors] == [(3, code, column)]
    assert not DueItem.objects.exists()


@pytest.mark.django_db
def test_import_pages_preview_then_confirm(client, world):
    client.force_login(world.user("a2", Role.SUPERVISOR))
    DueItem.objects.all().delete()
    text = HEADER + f"F1,机动车年检,TA02,13800001111,浙D12345,{_due()}\n"
    client.post(
        reverse("reminders:item_import"),
        {"file": SimpleUploadedFile("due.csv", text.encode())},
    )
    record = ImportFile.objects.get()
    html = client.get(reverse("reminders:import_detail", args=[record.pk])).content.decode()
    assert 'data-testid="import-preview"' in html and "138****1111" in html
    assert "13800001111" not in html
    client.post(reverse("reminders:import_confirm", args=[record.pk]))
    record.refresh_from_db()
    assert record.status == ImportStatus.DONE and DueItem.objects.count() == 1
    # The same file again: imported as a duplicate, said plainly, the item kept
    client.post(
        reverse("reminders:item_import"),
        {"file": SimpleUploadedFile("due2.csv", text.encode())},
    )
    again = ImportFile.objects.order_by("-pk").first()
    client.post(reverse("reminders:import_confirm", args=[again.pk]))
    html = client.get(reverse("reminders:import_detail", args=[again.pk])).content.decode()
    assert 'data-testid="import-duplicates"' in html and "事项编号 F1 已存在" in html
    assert DueItem.objects.count() == 1
