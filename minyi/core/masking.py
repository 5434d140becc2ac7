"""Masking of mobile and ID numbers for display (138****5678, 3301**********1234), also
inside free text however the number is written. Depends on nothing else in Minyi, so that
error messages (`core.errors`) can be masked without an import circle."""

import re
import sys
import unicodedata
from functools import cache


def mask_mobile(value: str) -> str:
    """138****5678"""
    if not value:
        return ""
    if len(value) < 7:
        return "*" * len(value)
    return f"{value[:3]}****{value[-4:]}"


def mask_id_number(value: str) -> str:
    """3301**********1234"""
    if not value:
        return ""
    if len(value) < 8:
        return "*" * len(value)
    return f"{value[:4]}{'*' * (len(value) - 8)}{value[-4:]}"


# Mobile and ID numbers inside free text (a citizen's comment, an evaluator's note, a case
# note from the API). People write them in many ways: +86 / 0086 / 86 in front, spaces,
# dashes, dots or brackets between the digits (137-0000-8383, 137 0000 8484), full-width
# digits from a Chinese IME (１３７…) and other scripts' digits (Arabic-Indic ١٣٧…), even
# zero-width spaces between them. The text is matched on a same-length "shadow" in which every
# decimal digit is ASCII and every separator is a space, so the match positions are those of
# the original, and only the hidden digits are replaced by "*" (separators and the kept
# digits stay as written).
#
# The rule, so that masking never eats what is not a number of a person:
#   mobile: 1[3-9] and nine more digits, 11 in all, not touching another digit; at most three
#           separator characters between two digits (dates like 2026-12-02 start with 2 and
#           have 8 digits; a time "13:45" has a colon, which is no separator).
#   ID:     18 characters (17 digits and a digit or X) starting with a province code (11–15,
#           21–23, 31–37, 41–46, 50–54, 6x, 7x, 8x, 9x), not touching another digit: no date
#           (19xx, 20xx) and no run of dates starts like that.
_SEPARATORS = " \t-.()"
_GAP = r"[ \t\-.()]{0,3}"
_MOBILE_IN_TEXT = re.compile(
    rf"(?<![0-9])(?:(?:\+|00){_GAP}86{_GAP}|86{_GAP})?(1{_GAP}[3-9](?:{_GAP}[0-9]){{9}})(?![0-9])"
)
_ID_IN_TEXT = re.compile(
    rf"(?<![0-9])((?:1[1-5]|2[1-3]|3[1-7]|4[1-6]|5[0-4]|[6-9][0-9])"
    rf"(?:{_GAP}[0-9]){{15}}{_GAP}[0-9Xx])(?![0-9])"
)
# Separators as typists and phones write them, beyond ASCII: no-break, ideographic and
# zero-width spaces, Unicode hyphens and dashes, full-width dot, dash and brackets, middle dots.
_OTHER_SEPARATORS = (
    "\u00a0\u00ad\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u200b\u200c\u200d\u2060\u202f\u205f\u3000\ufeff"
    "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
    "\uff0e\uff08\uff09\u00b7\u30fb\uff65"
)


@cache
def _shadow_table() -> dict[int, str]:
    """Every Unicode decimal digit as its ASCII digit, every separator as a space, the
    full-width plus and X as ASCII; each one character for one, so positions are kept."""
    table = {
        code: str(unicodedata.decimal(chr(code)))
        for code in range(0x80, sys.maxunicode + 1)
        if chr(code).isdecimal()
    }
    table.update({ord(c): " " for c in _OTHER_SEPARATORS})
    table.update({ord("＋"): "+", ord("Ｘ"): "X", ord("ｘ"): "x"})
    return table


def _shadow(text: str) -> str:
    return text if text.isascii() else text.translate(_shadow_table())


def _hide(text: str, shadow: str, start: int, end: int, keep_head: int, keep_tail: int) -> str:
    """text[start:end] with its digits after the first keep_head and before the last
    keep_tail replaced by "*"; separators and kept digits as written."""
    positions = [i for i in range(start, end) if shadow[i] not in _SEPARATORS]
    hidden = set(positions[keep_head : len(positions) - keep_tail])
    return "".join("*" if i in hidden else text[i] for i in range(start, end))


def _mask_pattern(text: str, pattern: re.Pattern, keep_head: int, keep_tail: int) -> str:
    shadow = _shadow(text)
    parts, done = [], 0
    for match in pattern.finditer(shadow):
        start, end = match.span(1)
        parts += [text[done:start], _hide(text, shadow, start, end, keep_head, keep_tail)]
        done = end
    if not done:
        return text
    parts.append(text[done:])
    return "".join(parts)


_ANY_DIGIT = re.compile(r"\d")  # any script's: most text has none and is done at once


def mask_text(text: str) -> str:
    """Free text with every mobile and ID number in it masked, however it is written."""
    if not text or not _ANY_DIGIT.search(text := str(text)):
        return text
    text = _mask_pattern(text, _ID_IN_TEXT, 4, 4)
    return _mask_pattern(text, _MOBILE_IN_TEXT, 3, 4)
