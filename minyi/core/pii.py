"""Personal information (个人信息): mobile and ID numbers.

Stored twice: encrypted (Fernet, keys from the environment, rotation by listing a new key
first) so that a role that needs it can read it, and as a keyed hash (HMAC-SHA256) so that
lookups and de-duplication never decrypt. Shown masked everywhere else.
"""

import hashlib
import hmac
import re
from datetime import date
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from minyi.core.errors import ApplicationError

# Re-exported: callers take masking from here with the rest of personal-data handling.
from minyi.core.masking import mask_id_number, mask_mobile, mask_text  # noqa: F401

# ASCII digits only: `\d` would also take Arabic-Indic or Devanagari digits, which no SMS
# gateway can dial and which would hash to a "different" number for the same person.
_MOBILE_RE = re.compile(r"^1[3-9][0-9]{9}$")
_ID_RE = re.compile(r"^[0-9]{17}[0-9X]$")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_FULLWIDTH = str.maketrans("０１２３４５６７８９ｘＸ＋", "0123456789XX+")


def normalize_mobile(value: str) -> str:
    """A mainland mobile number as 11 digits, or ApplicationError(invalid_mobile).

    Accepts the spellings people and gateways use: +86 / 0086 / 86 prefixes, spaces and
    dashes, full-width digits. Any other script's digits (١, ४ …) are refused.
    """
    raw = (value or "").translate(_FULLWIDTH)
    digits = re.sub(r"[\s\-()]", "", raw)
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            digits = digits[len(prefix) :]
            break
    if not _MOBILE_RE.match(digits):
        raise ApplicationError(
            "invalid_mobile",
            _("手机号码格式不正确：应为 11 位中国大陆手机号，以 13–19 开头。"),
            field="mobile",
        )
    return digits


def id_number_checksum(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def normalize_id_number(value: str) -> str:
    """An 18-character resident ID number (GB 11643), checksum and birth date verified."""
    raw = re.sub(r"\s", "", (value or "").translate(_FULLWIDTH)).upper()
    if not _ID_RE.match(raw):
        raise ApplicationError(
            "invalid_id_number",
            _("身份证号码格式不正确：应为 18 位，最后一位可以是 X。"),
            field="id_number",
        )
    try:
        born = date(int(raw[6:10]), int(raw[10:12]), int(raw[12:14]))
    except ValueError:
        born = None
    if born is None or born.year < 1900 or born > date.today():
        raise ApplicationError(
            "invalid_id_number", _("身份证号码中的出生日期无效。"), field="id_number"
        )
    if id_number_checksum(raw[:17]) != raw[17]:
        raise ApplicationError(
            "invalid_id_number", _("身份证号码校验位不正确，请核对后重新输入。"), field="id_number"
        )
    return raw


@cache
def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in settings.PII_ENCRYPTION_KEYS])


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode() if plaintext else ""


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        # A key was removed from MINYI_PII_ENCRYPTION_KEYS while rows still use it.
        raise ApplicationError(
            "pii_key_missing", _("个人信息无法解密：加密密钥缺失，请联系管理员。"), status=500
        ) from exc


def lookup_hash(kind: str, normalized: str) -> str:
    """Keyed hash for equality lookups; `kind` keeps a mobile and an ID number apart."""
    if not normalized:
        return ""
    key = settings.PII_HASH_KEY.encode()
    return hmac.new(key, f"{kind}:{normalized}".encode(), hashlib.sha256).hexdigest()


def mobile_hash(value: str) -> str:
    return lookup_hash("mobile", normalize_mobile(value))


class EncryptedTextField(models.TextField):
    """Holds Fernet ciphertext in the database and plaintext in Python.

    Filtering on it is meaningless (ciphertexts differ each time): filter on the matching
    `*_hash` field instead.
    """

    def from_db_value(self, value, expression, connection):
        return decrypt(value) if value else ""

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return encrypt(value) if value else ""
