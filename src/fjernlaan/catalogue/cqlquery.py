"""CQL (SRU's query language) into catalogue queries, with SRU diagnostics for what we cannot answer.

cql-parser (import name `cql`) parses; this module maps its tree onto `catalogue.query`:
indexes `cql.serverChoice` (and a bare term), `cql.anywhere`, `dc.title`, `dc.creator`,
`dc.subject`, `dc.identifier`, `bath.isbn`, `bath.issn`, `rec.id`, `cql.allRecords`; relations `=`,
`==`, `all`, `any`, `exact`, `adj`; booleans `and`, `or`, `not`; `sortBy` on title, creator or date.
"""

from __future__ import annotations

import contextlib
import io
import threading
from dataclasses import dataclass

from cql.lexer import CQLLexer
from cql.parser import CQLParser12, CQLSearchClause, CQLTriple

from fjernlaan.catalogue.model import InvalidIdentifier, normalise_isbn
from fjernlaan.catalogue.query import (
    And,
    Everything,
    Field,
    Lookup,
    LookupKind,
    Match,
    Not,
    Nothing,
    Or,
    Query,
    Sort,
    Term,
    words,
)

__all__ = ["INDEXES", "CqlDiagnostic", "Translated", "translate"]

DIAG = "info:srw/diagnostic/1/"

_TEXT_INDEXES = {
    "cql.serverchoice": Field.ANY,
    "cql.anywhere": Field.ANY,
    "cql.keywords": Field.ANY,
    "dc.title": Field.TITLE,
    "dc.creator": Field.CREATOR,
    "dc.subject": Field.SUBJECT,
}
_LOOKUP_INDEXES = {"bath.isbn": LookupKind.ISBN, "bath.issn": LookupKind.ISSN, "rec.id": LookupKind.RECORD_ID}
INDEXES: tuple[str, ...] = (
    "cql.serverChoice",
    "dc.title",
    "dc.creator",
    "dc.subject",
    "dc.identifier",
    "bath.isbn",
    "bath.issn",
    "rec.id",
    "cql.allRecords",
)
_RELATIONS = {"=": Match.ALL, "all": Match.ALL, "any": Match.ANY, "==": Match.PHRASE, "exact": Match.PHRASE}
_RELATIONS["adj"] = Match.PHRASE
_SORTS = {"dc.title": (Sort.TITLE, Sort.TITLE_DESC), "dc.creator": (Sort.CREATOR, Sort.CREATOR_DESC)}
_SORTS["dc.date"] = (Sort.YEAR, Sort.YEAR_DESC)


class CqlDiagnostic(Exception):
    """An SRU diagnostic: `code` is the number under info:srw/diagnostic/1/, `details` what it concerns."""

    def __init__(self, code: int, message: str, details: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    @property
    def uri(self) -> str:
        """The diagnostic's URI, e.g. info:srw/diagnostic/1/10."""
        return f"{DIAG}{self.code}"


@dataclass(frozen=True)
class Translated:
    """A CQL query as a catalogue query and its sort order."""

    query: Query
    sort: Sort


MAX_QUERY_CHARS = 2000  # no search a person writes is longer
MAX_BOOLEANS = 50
_lock = threading.Lock()
_parser: CQLParser12 | None = None


def _parse(text: str) -> object:
    global _parser
    with _lock:
        if _parser is None:
            lexer = CQLLexer()
            lexer.build()
            parser = CQLParser12()
            parser.build(lexer)  # type: ignore[arg-type]
            _parser = parser
        # ply prints parse errors; the diagnostic says it all.
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            return _parser.parse(text, tracking=True)


def _clause(clause: CQLSearchClause) -> Query:
    index = str(clause.index).lower() if clause.index is not None else "cql.serverchoice"
    relation = str(clause.relation.comparitor).lower() if clause.relation is not None else "="
    term = str(clause.term)
    if index == "cql.allrecords":
        return Everything()
    if relation not in _RELATIONS:
        raise CqlDiagnostic(19, f"relation {relation!r} is not supported; use = == all any exact", relation)
    match = _RELATIONS[relation]
    if index in _LOOKUP_INDEXES:
        return Lookup(_LOOKUP_INDEXES[index], term) if term.strip() else Nothing()
    if index == "dc.identifier":
        found = words(term)
        as_text: Query = Term(Field.IDENTIFIER, found, Match.ALL) if found else Nothing()
        with contextlib.suppress(InvalidIdentifier):
            return Or(as_text, Lookup(LookupKind.ISBN, normalise_isbn(term)))
        return as_text
    if index not in _TEXT_INDEXES:
        raise CqlDiagnostic(
            16, f"index {clause.index} is not supported; use {', '.join(INDEXES)}", str(clause.index)
        )
    found = words(term)
    if not found:
        return Nothing()
    return Term(_TEXT_INDEXES[index], found, match)


def _tree(node: object) -> Query:
    if isinstance(node, CQLSearchClause):
        return _clause(node)
    if isinstance(node, CQLTriple):
        operator = str(node.operator.value).lower()
        left, right = _tree(node.left), _tree(node.right)
        if operator == "and":
            return And(left, right)
        if operator == "or":
            return Or(left, right)
        if operator == "not":
            return Not(left, right)
        raise CqlDiagnostic(37, f"boolean operator {operator!r} is not supported; use and, or, not", operator)
    raise CqlDiagnostic(10, "query syntax error")


def _sort(node: object) -> Sort:
    specs = list(getattr(node, "sortSpecs", None) or [])
    if not specs:
        return Sort.RELEVANCE
    spec = specs[0]
    index = str(spec.index).lower()
    if index not in _SORTS:
        raise CqlDiagnostic(
            80, f"cannot sort by {spec.index}; use dc.title, dc.creator or dc.date", str(spec.index)
        )
    descending = any(str(m.name).lower() == "sort.descending" for m in spec.modifiers or [])
    ascending, desc = _SORTS[index]
    return desc if descending else ascending


def translate(text: str) -> Translated:
    """The catalogue query for a CQL string, or `CqlDiagnostic` (10 for a syntax error, 16 for an
    unsupported index, 19 for an unsupported relation, 37 for an unsupported boolean, 80 for a sort)."""
    if not text or not text.strip():
        raise CqlDiagnostic(10, "query syntax error: the query is empty")
    if len(text) > MAX_QUERY_CHARS:
        raise CqlDiagnostic(38, f"query too long: at most {MAX_QUERY_CHARS} characters")
    try:
        parsed = _parse(text)
    except CqlDiagnostic:
        raise
    except Exception as exc:  # the parser raises assorted errors (lexer, parser, ply internals)
        raise CqlDiagnostic(
            10, f"query syntax error: {str(exc).splitlines()[0] if str(exc) else 'unparsable'}"
        ) from exc
    root = getattr(parsed, "root", None)
    if root is None:
        raise CqlDiagnostic(10, "query syntax error")
    if _booleans(root) > MAX_BOOLEANS:
        # Each boolean nests the query one level deeper; hundreds of them overflowed the recursion
        # of the tree walk and the SQL compiler (a server error before this limit).
        raise CqlDiagnostic(38, f"too many boolean operators: at most {MAX_BOOLEANS}")
    return Translated(query=_tree(root), sort=_sort(root))


def _booleans(root: object) -> int:
    count, stack = 0, [root]
    while stack:
        node = stack.pop()
        if isinstance(node, CQLTriple):
            count += 1
            stack.extend((node.left, node.right))
    return count
