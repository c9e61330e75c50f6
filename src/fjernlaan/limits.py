"""The hub's input limits: what range of values any stored field may hold, and the checks behind them.

Pure (no framework): the API's annotated types (`fjernlaan.fields`), the CSV import and the domain
models all draw their bounds from here, so one number changes one limit everywhere. docs/usage.md
("Input limits") lists them.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import date

from fjernlaan.errors import DomainError

#: Largest value of an `Integer` column on PostgreSQL (int4); ids, counts and offsets stay below it,
#: so a hostile 2**63 is refused as input instead of overflowing the database driver.
INT_MAX = 2**31 - 1

#: Dates the hub accepts anywhere (closures, need-before, meetings, due dates). Far enough for any
#: real loan or meeting; near enough that working-day arithmetic and calendar feeds never run past
#: year 9999.
DATE_MIN = date(1900, 1, 1)
DATE_MAX = date(2200, 12, 31)

#: Highest fee or replacement price in DKK: finite, and high enough for a rare book.
MONEY_MAX_DKK = 1_000_000.0

#: Lengths, in characters.
NAME_MAX = 200  # names, titles, labels, organisations: one line
TEXT_MAX = 10_000  # descriptions, mandates, reasons, notes
LONG_TEXT_MAX = 200_000  # minutes
CARD_MAX = 64
URL_MAX = 500

#: Whole request bodies (bytes) outside `/iso18626`, which has its own limit and answers in ISO 18626.
REQUEST_BODY_MAX_BYTES = 2_000_000

# Bidirectional-override and isolate controls (Unicode category Cf): they make a name display as
# something else ("Trojan source"), so one-line names refuse them.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")
_LINE_BREAKS = frozenset("\n\r\u2028\u2029\x85")
_TEXT_ALLOWED_CONTROLS = frozenset("\t\n\r")


def text_problem(value: str, *, one_line: bool) -> str | None:
    """Why the text may not be stored, or None when it may.

    Everywhere: no NUL or other C0/C1 control characters (they break XML feeds and CSV; tab, LF and CR
    are allowed in multi-line text), no lone surrogates (not encodable as UTF-8), no U+FFFE/U+FFFF
    (not XML characters). In one-line values (`one_line`) also no line breaks, which reach e-mail
    headers, and no bidirectional overrides.
    """
    for position, char in enumerate(value, start=1):
        code = ord(char)
        if char == "\x00":
            return f"NUL character at position {position}"
        if 0xD800 <= code <= 0xDFFF:
            return f"lone surrogate U+{code:04X} at position {position}"
        if code in (0xFFFE, 0xFFFF):
            return f"non-character U+{code:04X} at position {position}"
        if one_line and (char in _LINE_BREAKS or char in _BIDI_CONTROLS):
            return f"line break or direction control U+{code:04X} at position {position}"
        if unicodedata.category(char) == "Cc" and char not in _TEXT_ALLOWED_CONTROLS:
            return f"control character U+{code:04X} at position {position}"
        if one_line and char == "\t":
            return f"tab at position {position}"
    return None


def money_problem(value: float) -> str | None:
    """Why the amount (DKK) may not be stored, or None: it must be finite, not negative, capped."""
    if not math.isfinite(value):
        return "must be a finite number"
    if value < 0:
        return "must not be negative"
    if value > MONEY_MAX_DKK:
        return f"must be at most {MONEY_MAX_DKK:,.0f} DKK"
    return None


def date_problem(value: date) -> str | None:
    """Why the date is out of the hub's range, or None."""
    if value < DATE_MIN or value > DATE_MAX:
        return f"must be between {DATE_MIN.isoformat()} and {DATE_MAX.isoformat()}"
    return None


#: CSV cells that a spreadsheet would run as a formula start with one of these (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell: str) -> str:
    """The cell as text a spreadsheet shows and never evaluates: a leading `'` before a formula start."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def check_text(field: str, value: str | None, *, one_line: bool, max_length: int) -> None:
    """Raise `DomainError` naming the field when the text may not be stored (see `text_problem`).

    For writes that do not come through the API's schemas (HTML forms, imports, the CLI)."""
    if value is None:
        return
    if len(value) > max_length:
        raise DomainError(f"{field}: at most {max_length:,} characters", field=field)
    problem = text_problem(value, one_line=one_line)
    if problem:
        raise DomainError(f"{field}: {problem}", field=field)


_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """The text without the characters XML 1.0 cannot hold, for feeds built from stored rows (rows
    stored before the input limits may hold them; a feed must not break on one of them)."""
    return _XML_INVALID.sub("", text)
