"""Test data for opinions (警务e广场): opinions made the way citizens make them, through
`opinion_submit`, so every row has its history, deadline and SMS like a real one."""

import itertools
import struct
import zlib

from django.core.files.uploadedfile import SimpleUploadedFile

from minyi.opinions.models import Opinion
from minyi.opinions.services.intake import opinion_submit

# Each opinion gets its own mobile unless the test names one, so the per-mobile daily limit
# (MINYI_OPINIONS_PER_MOBILE_DAY) never bites a test that makes many.
_mobiles = itertools.count(1)


def next_mobile() -> str:
    return f"1370000{next(_mobiles):04d}"


def make_opinion(world, *, unit=None, kind="complaint", anonymous=False, **kw) -> Opinion:
    """An opinion submitted by a citizen, routed to `unit` (default: 甲二派出所).

    Any other keyword goes to `opinion_submit` (content, mobile, contact_name, area,
    wall_consent, photos, now, ...).
    """
    unit = unit or world.station_a2
    kw.setdefault("content", "小区门口晚上路灯不亮，希望加强巡逻。")
    kw.setdefault("mobile", next_mobile())
    if not anonymous:
        kw.setdefault("contact_name", "张三")
    return opinion_submit(kind=kind, anonymous=anonymous, unit_id=unit.pk, **kw)


def png_bytes() -> bytes:
    """A real 1×1 PNG."""

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\xff\xff"))
        + chunk(b"IEND", b"")
    )


def png_upload(name: str = "photo.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png_bytes(), content_type="image/png")
