"""Catalogue queries as plain data: what the REST search and SRU's CQL both translate into.

Pure: the search backends (`fjernlaan.catalogue.search`) turn these into SQL. Words are folded with
`model.fold` here, once, so a query matches the same way on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from fjernlaan.catalogue.model import fold
from fjernlaan.directory.model import MaterialType, Region

__all__ = [
    "And",
    "Everything",
    "Field",
    "Filters",
    "Lookup",
    "LookupKind",
    "Match",
    "Not",
    "Nothing",
    "Or",
    "Query",
    "Sort",
    "Term",
    "free_text",
    "words",
]


class Field(StrEnum):
    """The searchable text fields; `any` is all of them."""

    ANY = "any"
    TITLE = "title"
    CREATOR = "creator"
    SUBJECT = "subject"
    IDENTIFIER = "identifier"


class Match(StrEnum):
    """How a term's words combine: every word, any word, or the words in this order."""

    ALL = "all"
    ANY = "any"
    PHRASE = "phrase"


class LookupKind(StrEnum):
    """Exact lookups that go through identifiers, not full text."""

    ISBN = "isbn"
    ISSN = "issn"
    RECORD_ID = "id"


@dataclass(frozen=True, slots=True)
class Term:
    """Folded words to find in a field. A word ending in `*` matches as a prefix."""

    field: Field
    words: tuple[str, ...]
    match: Match = Match.ALL

    def __post_init__(self) -> None:
        if not self.words:
            raise ValueError("a term needs at least one word; use Nothing() for an empty one")


@dataclass(frozen=True, slots=True)
class Lookup:
    """An exact lookup by ISBN, ISSN or record id (the hub's id or a library's own id)."""

    kind: LookupKind
    value: str


@dataclass(frozen=True, slots=True)
class And:
    """Both sides match."""

    left: Query
    right: Query


@dataclass(frozen=True, slots=True)
class Or:
    """Either side matches."""

    left: Query
    right: Query


@dataclass(frozen=True, slots=True)
class Not:
    """The left side matches and the right side does not (CQL's binary `not`)."""

    left: Query
    right: Query


@dataclass(frozen=True, slots=True)
class Everything:
    """Every record (CQL `cql.allRecords = 1`)."""


@dataclass(frozen=True, slots=True)
class Nothing:
    """No record (a term with no searchable word in it)."""


Query = Term | Lookup | And | Or | Not | Everything | Nothing


class Sort(StrEnum):
    """Result orders."""

    RELEVANCE = "relevance"
    TITLE = "title"
    TITLE_DESC = "-title"
    YEAR = "year"
    YEAR_DESC = "-year"
    CREATOR = "creator"
    CREATOR_DESC = "-creator"


@dataclass(frozen=True, slots=True)
class Filters:
    """Restrictions beside the query: material types, languages, years, who holds a copy."""

    material_types: tuple[MaterialType, ...] = ()
    languages: tuple[str, ...] = ()
    year_from: int | None = None
    year_to: int | None = None
    region: Region | None = None
    held_by: str | None = None
    available_now: bool = False


# Hyphens inside numbers (ISBNs "978-87-...", ISSNs "0905-0167") are dropped so the number is one
# word, as it is in the index; letters and digits are words; a trailing * makes a prefix.
_NUMBER_HYPHEN = re.compile(r"(?<=\d)-(?=[\dxX])")
_WORD = re.compile(r"[^\W_]+\*?")


def words(text: str) -> tuple[str, ...]:
    """The folded words of a piece of text, the way the index splits it."""
    folded = fold(_NUMBER_HYPHEN.sub("", text))
    return tuple(w for w in _WORD.findall(folded) if w.rstrip("*"))


def free_text(text: str, field: Field = Field.ANY, match: Match = Match.ALL) -> Query:
    """A term for free text; `Nothing()` when it has no word in it."""
    found = words(text)
    if not found:
        return Nothing()
    return Term(field=field, words=found, match=match)
