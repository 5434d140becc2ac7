"""The text of a reportlab PDF, for tests: neither pypdf nor pdftotext is installed, and
reportlab's output is simple enough to read directly. Each content stream is ASCII85 and
Flate encoded; text is shown with literal strings, which for the CID font (STSong-Light,
UniGB-UCS2-H) hold UTF-16BE code units, escaped as PDF literal strings are."""

import base64
import re
import zlib

_STREAM = re.compile(rb"stream\r?\n(.*?)endstream", re.S)
_LITERAL = re.compile(rb"\((?:\\.|[^\\)])*\)", re.S)
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _unescape(body: bytes) -> bytes:
    out, i = bytearray(), 0
    while i < len(body):
        ch = body[i : i + 1]
        if ch != b"\\":
            out += ch
            i += 1
            continue
        nxt = body[i + 1 : i + 2]
        if nxt in _ESCAPES:
            out += _ESCAPES[nxt]
            i += 2
        elif nxt.isdigit():
            digits = re.match(rb"[0-7]{1,3}", body[i + 1 : i + 4]).group(0)
            out.append(int(digits, 8) & 0xFF)
            i += 1 + len(digits)
        else:
            out += nxt
            i += 2
    return bytes(out)


def _streams(pdf: bytes):
    for m in _STREAM.finditer(pdf):
        raw = m.group(1).strip()
        try:
            yield zlib.decompress(base64.a85decode(raw, adobe=True))
        except ValueError:
            try:
                yield zlib.decompress(raw)
            except zlib.error:
                yield raw


def pdf_text(pdf: bytes) -> str:
    """Every string shown on the pages, decoded as UTF-16BE (CID font) and as Latin-1
    (the standard fonts), one per line."""
    parts = []
    for stream in _streams(pdf):
        for literal in _LITERAL.findall(stream):
            data = _unescape(literal[1:-1])
            if len(data) % 2 == 0:
                parts.append(data.decode("utf-16-be", errors="ignore"))
            parts.append(data.decode("latin-1"))
    return "\n".join(parts)
