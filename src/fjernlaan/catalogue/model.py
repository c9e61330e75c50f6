"""The union catalogue's domain: bibliographic records, holdings, identifiers and search folding.

Pure: no XML, no database, no I/O. The MARC reader (`fjernlaan.catalogue.marc`) turns files into
these objects; storage and search build on them.

Identifiers are kept in one canonical form so that records from several libraries describing the
same edition meet on equal keys: ISBNs as ISBN-13 digits without hyphens, ISSNs as `NNNN-NNNX`,
OCLC numbers as bare digits without leading zeros.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from fjernlaan.directory.model import MaterialType, normalise_isil
from fjernlaan.errors import DomainError

__all__ = [
    "Holding",
    "InvalidIdentifier",
    "Record",
    "fold",
    "merge_key",
    "merge_records",
    "normalise_isbn",
    "normalise_issn",
    "normalise_oclc",
]


class InvalidIdentifier(DomainError):
    """An ISBN, ISSN or other standard identifier is malformed or fails its check digit."""


# --- identifiers ---------------------------------------------------------------------------------

# A leading "ISBN", "ISBN-13:", "ISBN 10" and the like is noise that cataloguers often type in.
_ISBN_PREFIX = re.compile(r"^\s*isbn(?:[\s-]*1[03])?\s*:?\s*", re.IGNORECASE)
# The identifier proper: digits with hyphens or spaces, possibly ending in X; whatever follows
# (" (hft.)", " : 249.00 kr", "(acid-free paper)") is a qualifier and is dropped.
_ISBN_BODY = re.compile(r"^[0-9][0-9\s-]*[0-9Xx]")
_ISSN_RE = re.compile(r"^\s*(?:issn\s*:?\s*)?(\d{4})\s*-?\s*(\d{3}[\dXx])(?![\dXx])", re.IGNORECASE)
_ISBN13_RE = re.compile(r"^97[89]\d{10}$")
_ISSN_CANON_RE = re.compile(r"^\d{4}-\d{3}[\dX]$")
_LANGUAGE_RE = re.compile(r"^[a-z]{3}$")


def _isbn10_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(digits):
        value = 10 if ch in "Xx" else int(ch)
        total += (10 - i) * value
    return total % 11 == 0


def _ean_check_digit(first12: str) -> str:
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return str((10 - total % 10) % 10)


def normalise_isbn(value: str) -> str:
    """Return the ISBN as 13 digits (ISBN-13), or raise `InvalidIdentifier` saying why.

    Accepts ISBN-10 or ISBN-13 with hyphens or spaces, an optional "ISBN" prefix and a trailing
    qualifier such as "(hft.)" or "(acid-free paper)". The check digit is verified; an ISBN-10
    is converted to its 978- ISBN-13.
    """
    if not isinstance(value, str):
        raise InvalidIdentifier("ISBN must be text", field="isbn")
    text = _ISBN_PREFIX.sub("", value)
    match = _ISBN_BODY.match(text)
    if match is None:
        raise InvalidIdentifier(f"{value!r} is not an ISBN: it does not start with digits", field="isbn")
    digits = re.sub(r"[\s-]", "", match.group(0))
    if len(digits) == 10:
        if not digits[:9].isdigit():
            raise InvalidIdentifier(f"ISBN-10 {value!r} may only have X as its check digit", field="isbn")
        if not _isbn10_valid(digits):
            raise InvalidIdentifier(f"ISBN-10 {value!r} fails its check digit", field="isbn")
        body = "978" + digits[:9]
        return body + _ean_check_digit(body)
    if len(digits) == 13:
        if not digits.isdigit():
            raise InvalidIdentifier(f"ISBN-13 {value!r} may only contain digits", field="isbn")
        if not digits.startswith(("978", "979")):
            raise InvalidIdentifier(f"ISBN-13 {value!r} must start with 978 or 979", field="isbn")
        if _ean_check_digit(digits[:12]) != digits[12]:
            raise InvalidIdentifier(f"ISBN-13 {value!r} fails its check digit", field="isbn")
        return digits
    raise InvalidIdentifier(f"{value!r} has {len(digits)} digits; an ISBN has 10 or 13", field="isbn")


def normalise_issn(value: str) -> str:
    """Return the ISSN as `NNNN-NNNX` (upper-case X), or raise `InvalidIdentifier` saying why.

    Accepts it with or without the hyphen, an optional "ISSN" prefix and a trailing qualifier.
    """
    if not isinstance(value, str):
        raise InvalidIdentifier("ISSN must be text", field="issn")
    match = _ISSN_RE.match(value)
    if match is None:
        raise InvalidIdentifier(f"{value!r} is not an ISSN (NNNN-NNNX)", field="issn")
    digits = (match.group(1) + match.group(2)).upper()
    total = sum((8 - i) * int(d) for i, d in enumerate(digits[:7]))
    check = (11 - total % 11) % 11
    expected = "X" if check == 10 else str(check)
    if digits[7] != expected:
        raise InvalidIdentifier(f"ISSN {value!r} fails its check digit", field="issn")
    return f"{digits[:4]}-{digits[4:]}"


_OCLC_RE = re.compile(r"^\s*(?:\(ocolc\)\s*)?(?:ocm|ocn|on)?\s*0*(\d{1,15})\s*$", re.IGNORECASE)


def normalise_oclc(value: str) -> str:
    """Return an OCLC number as bare digits without leading zeros, or raise `InvalidIdentifier`.

    Accepts the forms found in MARC 035 and 001: "(OCoLC)ocm01234567", "ocn123456789", "on1234",
    "(OCoLC)12345".
    """
    match = _OCLC_RE.match(value) if isinstance(value, str) else None
    if match is None:
        raise InvalidIdentifier(f"{value!r} is not an OCLC number", field="oclc")
    return match.group(1)


# --- search folding --------------------------------------------------------------------------------

# Danish (and Norwegian) letters and their two-letter spellings fold to the same two letters, so
# that a search for "Aarhus" finds "Århus" and "Sören" finds "Søren". We fold TO the two-letter
# form rather than from it: turning "aa" into "å" would wrongly merge words such as "Kanaan" or
# "Isaac" into Danish letters, while "å" -> "aa" only ever adds a spelling Danes themselves use
# (the 1948 spelling reform kept "Aa" in names). German ä/ö go the same way as æ/ø because Danish
# cataloguing treats them as the same letters (they sort as æ and ø). Every other diacritic is
# simply removed (é -> e, ü -> u): Danish users type foreign names without them.
_DANISH_FOLD = str.maketrans(
    {
        "å": "aa",
        "ø": "oe",
        "ö": "oe",
        "ǿ": "oe",
        "æ": "ae",
        "ä": "ae",
        "ǽ": "ae",
        # Letters that Unicode does not decompose into base letter + accent.
        "ł": "l",
        "đ": "d",
        "ð": "d",
        "þ": "th",
        "ı": "i",
        "ħ": "h",
        "œ": "oe",
    }
)


def _fold_once(text: str) -> str:
    # NFC first so that a decomposed "a" + combining ring is seen as "å" by the table.
    text = unicodedata.normalize("NFC", text).casefold().translate(_DANISH_FOLD)
    text = unicodedata.normalize("NFKD", text)
    if not text.isascii():
        # ASCII has no combining marks: the character-by-character scan is only needed otherwise.
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(text.split())


def fold(text: str) -> str:
    """Fold text for search and comparison the Danish way.

    Lower-cases (full case folding, so "ß" is "ss"), folds å/aa -> "aa", ø/ö/oe -> "oe",
    æ/ä/ae -> "ae", strips every other diacritic (é -> e, ü -> u), replaces compatibility
    characters by their plain form (ligature "ﬁ" -> "fi") and collapses runs of white space.
    So `fold("Århus") == fold("Aarhus") == "aarhus"`. Folding twice gives the same result.
    """
    if text.isascii():
        # Most catalogue text is plain ASCII: lower-casing and collapsing white space is the whole
        # fold then (no table entry, decomposition or case folding differs for ASCII).
        return " ".join(text.lower().split())
    # Compatibility decomposition can produce upper-case or composable characters (e.g. the
    # Angstrom sign); repeating until nothing changes makes the function idempotent.
    result = _fold_once(text)
    for _ in range(3):
        again = _fold_once(result)
        if again == result:
            break
        result = again
    return result


# --- records and holdings ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Record:
    """One library's bibliographic record, mapped from MARC21 or danMARC2 onto common fields.

    `record_id` is the contributing system's id (a Danish FAUST number, or MARC 001);
    `source_library` the ISIL of the library the record came from, when known; `marcxml`
    keeps the source record (MARCXML, or MarcXchange for danMARC2) so nothing is lost.
    """

    record_id: str
    title: str
    source_library: str | None = None
    subtitle: str | None = None
    creators: tuple[str, ...] = ()
    subjects: tuple[str, ...] = ()
    year: int | None = None
    publisher: str | None = None
    language: str | None = None
    material_type: MaterialType = MaterialType.BOOK
    isbns: tuple[str, ...] = ()
    issns: tuple[str, ...] = ()
    oclc_numbers: tuple[str, ...] = ()
    marcxml: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.record_id, str) or not self.record_id.strip():
            raise DomainError("a record needs a record id", field="record_id")
        if self.source_library is not None:
            object.__setattr__(self, "source_library", normalise_isil(self.source_library))
        if self.language is not None and not _LANGUAGE_RE.match(self.language):
            raise DomainError(
                f"language {self.language!r} is not a three-letter ISO 639-2 code", field="language"
            )
        if self.year is not None and not 1 <= self.year <= 9999:
            raise DomainError(f"year {self.year} is out of range", field="year")
        for isbn in self.isbns:
            if not _ISBN13_RE.match(isbn):
                raise InvalidIdentifier(f"ISBN {isbn!r} is not a normalised ISBN-13", field="isbns")
        for issn in self.issns:
            if not _ISSN_CANON_RE.match(issn):
                raise InvalidIdentifier(f"ISSN {issn!r} is not of the form NNNN-NNNX", field="issns")
        for oclc in self.oclc_numbers:
            if not oclc.isdigit():
                raise InvalidIdentifier(f"OCLC number {oclc!r} is not bare digits", field="oclc_numbers")


@dataclass(frozen=True, slots=True)
class Holding:
    """A library's copies of one record: how many, how many on the shelf, and whether they lend."""

    library_isil: str
    copies: int = 1
    available: int = 1
    circulating: bool = True
    shelf_mark: str | None = None
    acquired: date | None = field(default=None)

    def __post_init__(self) -> None:
        object.__setattr__(self, "library_isil", normalise_isil(self.library_isil))
        if self.copies < 0:
            raise DomainError("copies must not be negative", field="copies")
        if not 0 <= self.available <= self.copies:
            raise DomainError(
                f"available ({self.available}) must be between 0 and copies ({self.copies})",
                field="available",
            )


def merge_key(record: Record) -> tuple[str, ...]:
    """The identifiers on which records for the same edition merge, strongest first.

    ISBN-13s first, then ISSNs, then OCLC numbers, each prefixed with its scheme
    (`"isbn:978…"`, `"issn:0000-0000"`, `"oclc:123"`) so keys from different schemes never
    collide. Two records describe the same edition when their keys share an element; a record
    without identifiers returns an empty tuple and merges with nothing.
    """
    keys: list[str] = [f"isbn:{isbn}" for isbn in sorted(set(record.isbns))]
    keys += [f"issn:{issn}" for issn in sorted(set(record.issns))]
    keys += [f"oclc:{number}" for number in sorted(set(record.oclc_numbers), key=lambda n: (len(n), n))]
    return tuple(keys)


def _union(first: Iterable[str], second: Iterable[str], *, key: bool = False) -> tuple[str, ...]:
    seen: set[str] = set()
    out: list[str] = []
    for value in (*first, *second):
        marker = fold(value) if key else value
        if marker not in seen:
            seen.add(marker)
            out.append(value)
    return tuple(out)


def _richer(existing: str | None, incoming: str | None) -> str | None:
    # "Richer" for free text: the longer value; the existing one wins ties so merges are stable.
    if not existing:
        return incoming or existing
    if incoming and len(incoming.strip()) > len(existing.strip()):
        return incoming
    return existing


def merge_records(existing: Record, incoming: Record) -> Record:
    """Merge a record for the same edition into an existing one, keeping the richer value per field.

    The existing record's identity (`record_id`, `source_library`) and its source `marcxml`
    are kept so the merged record still points at one real source record (the incoming record's
    own source stays with that library's copy). Free text takes the longer value, missing values
    are filled in, list fields and identifiers are united (names and subjects compared folded,
    so "Århus" and "Aarhus" are one subject), and a specific material type replaces `other`.
    """
    title = _richer(existing.title, incoming.title) or ""
    material = existing.material_type
    if material is MaterialType.OTHER and incoming.material_type is not MaterialType.OTHER:
        material = incoming.material_type
    return Record(
        record_id=existing.record_id,
        source_library=existing.source_library,
        title=title,
        subtitle=_richer(existing.subtitle, incoming.subtitle),
        creators=_union(existing.creators, incoming.creators, key=True),
        subjects=_union(existing.subjects, incoming.subjects, key=True),
        year=existing.year if existing.year is not None else incoming.year,
        publisher=_richer(existing.publisher, incoming.publisher),
        language=existing.language or incoming.language,
        material_type=material,
        isbns=_union(existing.isbns, incoming.isbns),
        issns=_union(existing.issns, incoming.issns),
        oclc_numbers=_union(existing.oclc_numbers, incoming.oclc_numbers),
        marcxml=existing.marcxml or incoming.marcxml,
    )
