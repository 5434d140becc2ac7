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
