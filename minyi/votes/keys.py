"""Keyed hashes and receipts for votes (票选).

A ballot never holds a mobile or an ID number in clear for lookups: it holds an HMAC-SHA256
of the normalised number with settings.VOTE_KEY (MINYI_VOTE_KEY, not SECRET_KEY, not the PII
hash key) and the campaign's code, so the same person has unrelated keys in two campaigns and
a leaked table cannot be joined with the rest of the house's data. Networks and devices get
keyed hashes too: enough to see a burst from one network, not to say whose it was.
"""

import hashlib
import hmac
import ipaddress
import secrets

from django.conf import settings

from minyi.core.pii import normalize_id_number, normalize_mobile

# Crockford's base32 without I, L, O, U: nothing to confuse on a phone screen or when read
# aloud (0/O, 1/I/L).
RECEIPT_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RECEIPT_LENGTH = 10
# What people type for a receipt's characters: O for 0, I or L for 1.
_RECEIPT_TYPOS = str.maketrans({"O": "0", "I": "1", "L": "1"})


def _keyed(text: str) -> str:
    key = settings.VOTE_KEY.encode()
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def voter_key(campaign, mobile: str) -> str:
    """The voter's key in this campaign: every spelling of one mobile gives the same key.
    Raises ApplicationError(invalid_mobile) for what is not a mainland mobile."""
    return _keyed(f"voter:{campaign.code}:{normalize_mobile(mobile)}")


def id_key(campaign, id_number: str) -> str:
    """The ID number's key in this campaign. Raises ApplicationError(invalid_id_number)."""
    return _keyed(f"id:{campaign.code}:{normalize_id_number(id_number)}")


def network_key(ip: str) -> str:
    """Keyed hash of the voter's network: the IPv4 /24 or the IPv6 /64 (an IPv4-mapped IPv6
    address counts as IPv4). "" when the address is missing or not an address."""
    try:
        address = ipaddress.ip_address((ip or "").strip())
    except ValueError:
        return ""
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    prefix = 24 if address.version == 4 else 64
    network = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
    return _keyed(f"net:{network}")


def device_key(device_id: str) -> str:
    """Keyed hash of the device cookie's value; "" when there is none."""
    device_id = (device_id or "").strip()[:200]
    return _keyed(f"device:{device_id}") if device_id else ""


def new_receipt() -> str:
    """A fresh receipt code (回执码), e.g. "K7Q2-M9XD-3F": 10 random characters (50 bits),
    grouped for reading. Unique per campaign by the database; the caster retries on the rare
    collision."""
    raw = "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(RECEIPT_LENGTH))
    return _grouped(raw)


def _grouped(raw: str) -> str:
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def receipt_normalize(value: str) -> str:
    """A receipt as typed (any case, spaces or dashes, O for 0, I or L for 1) in its stored
    form, or "" when it cannot be one."""
    raw = "".join(c for c in (value or "").upper() if c.isalnum()).translate(_RECEIPT_TYPOS)
    if len(raw) != RECEIPT_LENGTH or any(c not in RECEIPT_ALPHABET for c in raw):
        return ""
    return _grouped(raw)
