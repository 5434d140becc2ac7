"""QR codes for the printed officer and station cards (民警公开信息卡, 警务室二维码).

A code encodes only a short public address (/c/q/<code>, /c/qu/<unit code>); opening it counts
the scan and shows the card. Images are SVG (no PIL), inlined in the print page.
"""

import re

import qrcode
import qrcode.constants
from django.conf import settings
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from qrcode.image.svg import SvgPathImage

# The factory sets a fixed size in mm and an id that would repeat when many codes share a
# page; the print stylesheet sizes the codes instead.
_SIZE_ATTRS = re.compile(r'\s(?:width|height)="[^"]*"')
_PATH_ID = ' id="qr-path"'


def officer_scan_url(card) -> str:
    """What an officer's printed QR code encodes."""
    return settings.PUBLIC_BASE_URL + reverse("directory:officer_scan", args=[card.code])


def unit_scan_url(unit) -> str:
    """What a station's printed QR code encodes."""
    return settings.PUBLIC_BASE_URL + reverse("directory:unit_scan", args=[unit.code])


def qr_svg(data: str, *, label: str = "") -> SafeString:
    """An inline SVG QR code for `data`. The markup is generated here from path geometry only
    (no text from `data` appears in it); `label` is escaped into aria-label."""
    qr = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        image_factory=SvgPathImage,
        border=4,  # the quiet zone scanners need
    )
    qr.add_data(data)
    qr.make(fit=True)
    svg = qr.make_image().to_string(encoding="unicode")
    head, sep, rest = svg.partition(">")
    head = _SIZE_ATTRS.sub("", head)
    head += f' class="qr-code" role="img" aria-label="{escape(label or data)}"'
    return mark_safe(head + sep + rest.replace(_PATH_ID, ""))  # noqa: S308 - generated, escaped
