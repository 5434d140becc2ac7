import pytest
from django.db import connection

from minyi.core.errors import ApplicationError
from minyi.core.pii import (
    id_number_checksum,
    mask_id_number,
    mask_mobile,
    mask_text,
    mobile_hash,
    normalize_id_number,
    normalize_mobile,
)
from minyi.orgs.models import Officer
from minyi.orgs.tests.factories import OfficerFactory, unit

VALID_ID = "11010519491231002X"  # the GB 11643 example number


@pytest.mark.parametrize(
    "raw", ["13812345678", "+86 138 1234 5678", "0086-13812345678", "８６１３８１２３４５６７８"]
)
def test_mobile_spellings_normalize(raw):
    assert normalize_mobile(raw) == "13812345678"


@pytest.mark.parametrize("raw", ["", "1381234567", "12812345678", "138123456789", "abc"])
def test_malformed_mobile_is_refused_with_code(raw):
    with pytest.raises(ApplicationError) as exc:
        normalize_mobile(raw)
    assert exc.value.code == "invalid_mobile"
    assert exc.value.field == "mobile"


def test_id_checksum_accepts_valid_and_lowercase_x():
    assert normalize_id_number(VALID_ID.lower()) == VALID_ID
    assert id_number_checksum(VALID_ID[:17]) == "X"


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("110105194912310021", "checksum"),
        ("110105194913310021", "month 13"),
        ("1101051949123100", "too short"),
        ("110105219912310021", "born in the future"),
    ],
)
def test_bad_id_numbers_are_refused(raw, why):
    with pytest.raises(ApplicationError) as exc:
        normalize_id_number(raw)
    assert exc.value.code == "invalid_id_number", why


def test_masks():
    assert mask_mobile("13812345678") == "138****5678"
    assert mask_id_number("330102199001011234") == "3301**********1234"
    assert mask_text("电话13812345678，身份证330102199001011234。") == (
        "电话138****5678，身份证3301**********1234。"
    )


@pytest.mark.django_db
def test_mobile_and_id_are_encrypted_at_rest_and_found_by_hash():
    officer = OfficerFactory(unit=unit(None, "市局", "X1", "city_bureau"), mobile="13900001111")
    with connection.cursor() as cursor:
        cursor.execute("SELECT mobile, id_number FROM orgs_officer WHERE id = %s", [officer.pk])
        stored_mobile, stored_id = cursor.fetchone()
    assert "13900001111" not in stored_mobile
    assert officer.id_number not in stored_id
    reloaded = Officer.objects.get(mobile_hash=mobile_hash("+86 139 0000 1111"))
    assert reloaded.mobile == "13900001111"


# --- Issue 12: every way people write a number ----------------------------------------------


@pytest.mark.parametrize(
    ("written", "masked"),
    [
        ("+8613700008282", "+86137****8282"),
        ("+86 137 0000 8282", "+86 137 **** 8282"),
        ("0086-137-0000-8282", "0086-137-****-8282"),
        ("8613700008282", "86137****8282"),
        ("137-0000-8383", "137-****-8383"),
        ("137 0000 8484", "137 **** 8484"),
        ("137.0000.8484", "137.****.8484"),
        ("137 - 0000 - 8484", "137 - **** - 8484"),
        ("(137)0000-8484", "(137)****-8484"),
        ("1 3 7 0 0 0 0 8 4 8 4", "1 3 7 * * * * 8 4 8 4"),
        ("１３７００００８５８５", "１３７****８５８５"),
        ("１３７－００００－８５８５", "１３７－****－８５８５"),
        ("＋８６　１３７　００００　８５８５", "＋８６　１３７　****　８５８５"),
        ("١٣٧٠٠٠٠٨٦٨٦", "١٣٧****٨٦٨٦"),  # Arabic-Indic
        ("१३७००००८७८७", "१३७****८७८७"),  # Devanagari
        ("137\u200b0000\u200b8888", "137\u200b****\u200b8888"),  # zero-width spaces
        ("TEL13700008282", "TEL137****8282"),
        ("330102 19900101 1234", "3301** ******** 1234"),
        ("330102-1990-0101-123x", "3301**-****-****-123x"),
        ("３３０１０２１９９００１０１１２３Ｘ", "３３０１**********１２３Ｘ"),
        ("ID330102199001011234", "ID3301**********1234"),
    ],
)
def test_every_spelling_of_a_number_is_masked(written, masked):
    assert mask_text(f"请联系{written}，谢谢") == f"请联系{masked}，谢谢"


def test_several_numbers_in_one_text_are_each_masked():
    assert mask_text("13700008282 13700008383、137 0000 8484") == (
        "137****8282 137****8383、137 **** 8484"
    )


@pytest.mark.parametrize(
    "text",
    [
        "2026-12-02",
        "2026-12-02 13:45",
        "1999-12-02 12:30",
        "2026-12-02 2026-12-03 10:00",
        "2026.12.02—2026.12.05",
        "案件编号 A2026110001",
        "A3306025100002026110001",
        "受理编号 MY261202123456",
        "工单 ZG20261202123456",
        "罚款 1300 元，13:00 前缴纳",
        "第 13 页",
        "12345678901",  # 11 digits, not a mobile prefix
        "137000082821",  # 12 digits: not a mobile
        "6222 0213 7000 0828 2",
        "200102199001011234",  # 18 digits, no province code 20
    ],
)
def test_masking_leaves_dates_case_numbers_and_other_figures_alone(text):
    assert mask_text(text) == text


def test_mask_text_is_quick_on_long_text():
    import time

    text = ("民警态度不好，来回跑了三趟 2026-12-02 13:45 " * 200) + "13700008282"
    started = time.perf_counter()
    for _ in range(20):
        assert mask_text(text).endswith("137****8282")
    assert time.perf_counter() - started < 1


@pytest.mark.parametrize(
    "raw",
    [
        "1381234000١",  # the example: a final Arabic-Indic one
        "١٣٨١٢٣٤٥٦٧٨",
        "१३८१२३४५६७८",  # Devanagari
        "13812345६78",
        "𝟏𝟑𝟖𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖",  # mathematical bold digits
    ],
)
def test_other_scripts_digits_are_not_a_mobile(raw):
    with pytest.raises(ApplicationError) as exc:
        normalize_mobile(raw)
    assert exc.value.code == "invalid_mobile"


def test_full_width_digits_are_still_a_mobile_and_an_id_number():
    assert normalize_mobile("１３８１２３４５６７８") == "13812345678"
    assert normalize_id_number("１１０１０５１９４９１２３１００２Ｘ") == VALID_ID


def test_other_scripts_digits_are_not_an_id_number():
    arabic = VALID_ID[:-2].translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")) + VALID_ID[-2:]
    with pytest.raises(ApplicationError) as exc:
        normalize_id_number(arabic)
    assert exc.value.code == "invalid_id_number"


def test_an_error_that_quotes_the_input_masks_numbers_in_the_api_answer():
    error = ApplicationError("invalid_stage", "进度“137-0000-8383”不正确。")
    assert error.as_dict()["message"] == "进度“137-****-8383”不正确。"
