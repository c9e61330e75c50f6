"""Catalogue search behind a `SearchBackend`: SQLite FTS5 or PostgreSQL full text, by the database in use.

Both backends index the folded text of `record_search` (see `store.RecordSearchRow` and migration
0005) and receive words folded by `query.words`, so "Århus", "Aarhus" and "aarhus" are one word on
both. A query made only of text terms compiles into ONE full-text expression (FTS5 MATCH syntax or a
tsquery) that also ranks; a query mixing in exact lookups becomes a tree of SQL conditions and
comes back in the order asked for (relevance then falls back to the record id).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from sqlalchemy import (
    ColumnElement,
    Select,
    Subquery,
    and_,
    column,
    false,
    func,
    literal_column,
    not_,
    or_,
    select,
    table,
    true,
)
from sqlalchemy.orm import Session

from fjernlaan.catalogue.model import InvalidIdentifier, Record, normalise_isbn, normalise_issn
from fjernlaan.catalogue.query import (
    And,
    Everything,
    Field,
    Filters,
    Lookup,
    LookupKind,
    Match,
    Not,
    Nothing,
    Or,
    Query,
    Sort,
    Term,
)
from fjernlaan.catalogue.store import (
    HoldingRow,
    RecordIdentifierRow,
    RecordRow,
    RecordSourceRow,
    record_from_row,
)
from fjernlaan.errors import DomainError

__all__ = [
    "FACETS",
    "Hit",
    "PostgresBackend",
    "SearchBackend",
    "SearchResult",
    "SqliteFtsBackend",
    "UnsupportedDatabase",
    "backend_for",
    "search",
]

# `decade` counts years in tens ("1990" is 1990-1999: a year range); `region` counts the records a
# library of each region holds (a record held in two regions counts in both).
FACETS = ("material_type", "language", "year", "decade", "region")


class SearchBackend(Protocol):
    """What a full-text engine must do for the catalogue."""

    name: str
    # Whether ranking a bounded candidate set is cheaper than ranking every match (see RANK_AT_MOST).
    bounded_ranking: bool

    def compile(self, query: Query) -> str:
        """The engine's own expression for a query made only of `Term`, `And`, `Or`, `Not`."""
        ...

    def ranked(self, expression: str) -> Subquery:
        """(pk, score) of every record matching the expression; a lower score ranks higher."""
        ...

    def matching(self, expression: str) -> Select[tuple[int]]:
        """The pks of every record matching the expression (no ranking)."""
        ...

    def count(self, expression: str) -> Select[Any]:
        """How many records match, from the full-text index alone (nothing ranked)."""
        ...

    def best(
        self, expression: str, *, limit: int, offset: int, newest: int | None = None
    ) -> Select[tuple[int]]:
        """The pks of one page of matches, best first (ties by pk).

        With `newest`, only the `newest` matches with the highest pks (the most recently
        catalogued) are ranked: a bounded cost for words that match a large part of the catalogue.
        """
        ...


_FTS = table("record_fts", column("rowid"), column("rank"), column("record_fts"))
_FTS_COLUMNS = {
    Field.TITLE: "title",
    Field.CREATOR: "creators",
    Field.SUBJECT: "subjects",
    Field.IDENTIFIER: "identifiers",
}


def _fts_word(word: str) -> str:
    # Words are letters and digits only (query.words), so quoting cannot be broken out of.
    if word.endswith("*"):
        return f'"{word[:-1]}"*'
    return f'"{word}"'


class SqliteFtsBackend:
    """SQLite FTS5 over `record_fts` (unicode61 tokenizer, bm25 weighted title > creator > subject)."""

    name = "sqlite-fts5"
    # FTS5 walks the index in rowid order and applies a rowid floor while it walks: bounding is cheap.
    bounded_ranking = True

    def compile(self, query: Query) -> str:
        """An FTS5 MATCH expression."""
        if isinstance(query, Term):
            if query.match is Match.PHRASE and not any(w.endswith("*") for w in query.words):
                body = '"' + " ".join(query.words) + '"'
            else:
                joiner = " OR " if query.match is Match.ANY else " AND "
                body = "(" + joiner.join(_fts_word(w) for w in query.words) + ")"
            column_name = _FTS_COLUMNS.get(query.field)
            return f"({column_name} : {body})" if column_name else body
        if isinstance(query, And):
            return f"({self.compile(query.left)} AND {self.compile(query.right)})"
        if isinstance(query, Or):
            return f"({self.compile(query.left)} OR {self.compile(query.right)})"
        if isinstance(query, Not):
            return f"({self.compile(query.left)} NOT {self.compile(query.right)})"
        raise TypeError(f"{type(query).__name__} is not full text")

    def ranked(self, expression: str) -> Subquery:
        """Matches with FTS5's bm25 rank (negative; lower is better)."""
        return (
            select(_FTS.c.rowid.label("pk"), _FTS.c.rank.label("score"))
            .where(_FTS.c.record_fts.op("MATCH")(expression))
            .subquery("ranked")
        )

    def matching(self, expression: str) -> Select[tuple[int]]:
        """Matching rowids."""
        return select(_FTS.c.rowid).where(_FTS.c.record_fts.op("MATCH")(expression))

    def count(self, expression: str) -> Select[Any]:
        """count(*) over the FTS5 table: walks the index, computes no rank."""
        return select(func.count()).select_from(_FTS).where(_FTS.c.record_fts.op("MATCH")(expression))

    def best(
        self, expression: str, *, limit: int, offset: int, newest: int | None = None
    ) -> Select[tuple[int]]:
        """FTS5 `ORDER BY rank`; `newest` bounds the rows ranked with a rowid floor, which FTS5
        applies while it walks the index, so bm25 runs on at most `newest` rows."""
        page = select(_FTS.c.rowid).where(_FTS.c.record_fts.op("MATCH")(expression))
        if newest is not None:
            floor = (
                select(_FTS.c.rowid)
                .where(_FTS.c.record_fts.op("MATCH")(expression))
                .order_by(_FTS.c.rowid.desc())
                .limit(1)
                .offset(newest - 1)
                .correlate(None)
                .scalar_subquery()
            )
            page = page.where(_FTS.c.rowid >= floor)
        return page.order_by(_FTS.c.rank, _FTS.c.rowid).limit(limit).offset(offset)


_SEARCH = table("record_search", column("record_pk"), column("tsv"))
_PG_WEIGHTS = {Field.TITLE: "A", Field.CREATOR: "B", Field.SUBJECT: "C", Field.IDENTIFIER: "D"}


class PostgresBackend:
    """PostgreSQL full text over `record_search.tsv` (the 'simple' configuration over folded text)."""

    name = "postgresql-fts"
    # A GIN scan returns matches in no order: picking the newest candidates, or counting the title
    # matches, costs another pass over every match, more than ts_rank over them (measured).
    bounded_ranking = False

    def compile(self, query: Query) -> str:
        """A tsquery string for `to_tsquery('simple', …)`."""
        if isinstance(query, Term):
            weight = _PG_WEIGHTS.get(query.field, "")
            parts = []
            for word in query.words:
                prefix = word.endswith("*")
                bare = word.rstrip("*")
                suffix = (":*" if prefix else ":") + weight if (prefix or weight) else ""
                parts.append(f"'{bare}'{suffix}")
            joiner = {Match.ALL: " & ", Match.ANY: " | ", Match.PHRASE: " <-> "}[query.match]
            return "(" + joiner.join(parts) + ")"
        if isinstance(query, And):
            return f"({self.compile(query.left)} & {self.compile(query.right)})"
        if isinstance(query, Or):
            return f"({self.compile(query.left)} | {self.compile(query.right)})"
        if isinstance(query, Not):
            return f"({self.compile(query.left)} & !{self.compile(query.right)})"
        raise TypeError(f"{type(query).__name__} is not full text")

    def ranked(self, expression: str) -> Subquery:
        """Matches with ts_rank, negated so that lower is better."""
        tsquery = func.to_tsquery(literal_column("'simple'"), expression)
        return (
            select(
                _SEARCH.c.record_pk.label("pk"),
                (-func.ts_rank(_SEARCH.c.tsv, tsquery)).label("score"),
            )
            .where(_SEARCH.c.tsv.op("@@")(tsquery))
            .subquery("ranked")
        )

    def matching(self, expression: str) -> Select[tuple[int]]:
        """Matching record pks."""
        tsquery = func.to_tsquery(literal_column("'simple'"), expression)
        return select(_SEARCH.c.record_pk).where(_SEARCH.c.tsv.op("@@")(tsquery))

    def count(self, expression: str) -> Select[Any]:
        """count(*) of the GIN index's matches; ts_rank is not computed."""
        tsquery = func.to_tsquery(literal_column("'simple'"), expression)
        return select(func.count()).select_from(_SEARCH).where(_SEARCH.c.tsv.op("@@")(tsquery))

    def best(
        self, expression: str, *, limit: int, offset: int, newest: int | None = None
    ) -> Select[tuple[int]]:
        """ts_rank order; `newest` ranks only the matches with the highest pks."""
        tsquery = func.to_tsquery(literal_column("'simple'"), expression)
        candidates = (
            select(_SEARCH.c.record_pk, _SEARCH.c.tsv)
            .where(_SEARCH.c.tsv.op("@@")(tsquery))
            .order_by(_SEARCH.c.record_pk.desc())
        )
        if newest is not None:
            candidates = candidates.limit(newest)
        found = candidates.subquery("candidates")
        return (
            select(found.c.record_pk)
            .order_by(func.ts_rank(found.c.tsv, tsquery).desc(), found.c.record_pk)
            .limit(limit)
            .offset(offset)
        )

    def best_counted(self, expression: str, *, limit: int, offset: int) -> Select[tuple[int, int]]:
        """One page in ts_rank order, each row with the number of all matches (``count(*) OVER ()``).

        The GIN scan that finds the matches for ranking counts them as well: a separate count(*)
        would scan them all a second time, which at a million records doubles a common word's time.
        """
        tsquery = func.to_tsquery(literal_column("'simple'"), expression)
        found = (
            select(_SEARCH.c.record_pk, _SEARCH.c.tsv)
            .where(_SEARCH.c.tsv.op("@@")(tsquery))
            .subquery("found")
        )
        return (
            select(found.c.record_pk, func.count().over().label("total"))
            .order_by(func.ts_rank(found.c.tsv, tsquery).desc(), found.c.record_pk)
            .limit(limit)
            .offset(offset)
        )


class UnsupportedDatabase(DomainError):
    """The database in use has no catalogue search backend: only SQLite and PostgreSQL have one."""

    status = 501
    title = "Catalogue search not available"


_SUPPORTED = ("SQLite (FTS5)", "PostgreSQL (full text)")
_BACKENDS: dict[str, type[SqliteFtsBackend] | type[PostgresBackend]] = {
    "sqlite": SqliteFtsBackend,
    "postgresql": PostgresBackend,
}


def backend_for(session: Session) -> SearchBackend:
    """The backend for the session's database; `UnsupportedDatabase` for any other database."""
    dialect = session.get_bind().dialect.name
    backend = _BACKENDS.get(dialect)
    if backend is None:
        raise UnsupportedDatabase(
            f"catalogue search works on {' and '.join(_SUPPORTED)} only, not on {dialect}",
            extra={"database": dialect, "supported": list(_BACKENDS)},
        )
    return backend()


@dataclass(frozen=True)
class Hit:
    """One record in a result list, with a summary of its holdings."""

    record_pk: int
    record: Record
    libraries: int
    available: int


@dataclass(frozen=True)
class SearchResult:
    """A page of hits, how many matched in all, and facet counts when asked for."""

    total: int
    hits: list[Hit]
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)


def _text_only(query: Query) -> bool:
    if isinstance(query, Term):
        return True
    if isinstance(query, And | Or | Not):
        return _text_only(query.left) and _text_only(query.right)
    return False


def _lookup_condition(lookup: Lookup) -> ColumnElement[bool]:
    value = lookup.value.strip()
    if lookup.kind is LookupKind.RECORD_ID:
        by_source = RecordRow.id.in_(
            select(RecordSourceRow.record_pk).where(RecordSourceRow.local_id == value)
        )
        if value.isdigit() and len(value) < 10:
            return or_(RecordRow.id == int(value), by_source)
        return by_source
    try:
        key = (
            f"isbn:{normalise_isbn(value)}"
            if lookup.kind is LookupKind.ISBN
            else f"issn:{normalise_issn(value)}"
        )
    except InvalidIdentifier:
        return false()
    return RecordRow.id.in_(select(RecordIdentifierRow.record_pk).where(RecordIdentifierRow.key == key))


def _condition(backend: SearchBackend, query: Query) -> ColumnElement[bool]:
    if isinstance(query, Everything):
        return true()
    if isinstance(query, Nothing):
        return false()
    if isinstance(query, Lookup):
        return _lookup_condition(query)
    if isinstance(query, Term):
        return RecordRow.id.in_(backend.matching(backend.compile(query)))
    left = _condition(backend, query.left)
    right = _condition(backend, query.right)
    if isinstance(query, And):
        return and_(left, right)
    if isinstance(query, Or):
        return or_(left, right)
    return and_(left, not_(right))


def _region_isils(session: Session, region: str) -> list[str]:
    from fjernlaan.directory.service import list_libraries

    items, _ = list_libraries(session, limit=1000, region=region)
    return [lib.isil for lib in items]


def _libraries_by_region(session: Session) -> dict[str, list[str]]:
    from fjernlaan.directory.service import all_libraries

    regions: dict[str, list[str]] = {}
    for library in all_libraries(session):
        if library.region is not None:
            regions.setdefault(library.region.value, []).append(library.isil)
    return regions


def _facet_counts(session: Session, name: str, ids: Subquery) -> list[tuple[str, int]]:
    """One facet's values with their record counts over the matched ids, most first (at most 50)."""
    if name == "region":
        counts = []
        for region, isils in sorted(_libraries_by_region(session).items()):
            n = session.scalar(
                select(func.count(func.distinct(HoldingRow.record_pk)))
                .join(ids, ids.c.id == HoldingRow.record_pk)
                .where(HoldingRow.library_isil.in_(isils))
            )
            if n:
                counts.append((region, int(n)))
        return sorted(counts, key=lambda item: (-item[1], item[0]))
    value: Any = (RecordRow.year // 10) * 10 if name == "decade" else getattr(RecordRow, name)
    if name == "decade":
        value = value.label("decade")
    rows = session.execute(
        select(value, func.count())
        .join(ids, ids.c.id == RecordRow.id)
        .where(RecordRow.year.is_not(None) if name == "decade" else value.is_not(None))
        .group_by(value)
        .order_by(func.count().desc(), value)
        .limit(50)
    ).all()
    return [(str(v), int(n)) for v, n in rows]


def _filter_conditions(session: Session, filters: Filters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.material_types:
        conditions.append(RecordRow.material_type.in_([m.value for m in filters.material_types]))
    if filters.languages:
        conditions.append(RecordRow.language.in_(list(filters.languages)))
    if filters.year_from is not None:
        conditions.append(RecordRow.year >= filters.year_from)
    if filters.year_to is not None:
        conditions.append(RecordRow.year <= filters.year_to)
    if filters.region is not None or filters.held_by is not None or filters.available_now:
        # One holding must meet every holding condition: "available now in region X" is one copy.
        held = select(HoldingRow.record_pk)
        if filters.region is not None:
            held = held.where(HoldingRow.library_isil.in_(_region_isils(session, filters.region.value)))
        if filters.held_by is not None:
            held = held.where(HoldingRow.library_isil == filters.held_by)
        if filters.available_now:
            held = held.where(HoldingRow.available > 0, HoldingRow.circulating.is_(True))
        conditions.append(RecordRow.id.in_(held))
    return conditions


def _order(sort: Sort) -> list[Any]:
    first: Any = {
        Sort.TITLE: RecordRow.title.asc(),
        Sort.TITLE_DESC: RecordRow.title.desc(),
        Sort.YEAR: RecordRow.year.asc(),
        Sort.YEAR_DESC: RecordRow.year.desc(),
        Sort.CREATOR: RecordRow.creators.asc(),
        Sort.CREATOR_DESC: RecordRow.creators.desc(),
    }.get(sort)
    return [first, RecordRow.id.asc()] if first is not None else [RecordRow.id.asc()]


# Ranking every match costs about a microsecond a match (bm25 in FTS5, ts_rank in PostgreSQL). A word
# found in a large part of the catalogue ("history" in 15 % of 1,000,000 records) would cost far
# more than the rest of a search, so for more matches than this the ranking is bounded: first to
# the records with the words in their title (the field that weighs most), then, if still more, to
# the most recently catalogued of those. Pages beyond this many hits are ranked in full.
RANK_AT_MOST = 5000


_HIT_COLUMNS = [
    RecordRow.id,
    RecordRow.record_id,
    RecordRow.source_library,
    RecordRow.title,
    RecordRow.subtitle,
    RecordRow.creators,
    RecordRow.subjects,
    RecordRow.year,
    RecordRow.publisher,
    RecordRow.language,
    RecordRow.material_type,
    RecordRow.isbns,
    RecordRow.issns,
    RecordRow.oclc_numbers,
]


def _in_titles(query: Query) -> Query | None:
    # The title-only form of a free-text query, when it is one (`words` typed into a search box).
    if isinstance(query, Term) and query.field is Field.ANY:
        return replace(query, field=Field.TITLE)
    return None


def _best_page(
    session: Session, backend: SearchBackend, query: Query, total: int, *, limit: int, offset: int
) -> list[int]:
    """The pks of one page of a text-only query in relevance order (see RANK_AT_MOST)."""
    expression = backend.compile(query)
    wanted = offset + limit
    if not backend.bounded_ranking or total <= RANK_AT_MOST or wanted > RANK_AT_MOST:
        return list(session.scalars(backend.best(expression, limit=limit, offset=offset)))
    among = total
    title_query = _in_titles(query)
    if title_query is not None:
        title_expression = backend.compile(title_query)
        in_titles = session.scalar(backend.count(title_expression)) or 0
        if in_titles >= wanted:
            expression, among = title_expression, in_titles
    newest = RANK_AT_MOST if among > RANK_AT_MOST else None
    return list(session.scalars(backend.best(expression, limit=limit, offset=offset, newest=newest)))


def search(
    session: Session,
    query: Query,
    filters: Filters | None = None,
    *,
    sort: Sort = Sort.RELEVANCE,
    limit: int = 20,
    offset: int = 0,
    facets: Sequence[str] = (),
    backend: SearchBackend | None = None,
    with_source: bool = True,
) -> SearchResult:
    """Run a catalogue query: one page of hits in the asked order, the total, and facet counts.

    `with_source=False` leaves each hit's `record.marcxml` empty (result lists that show no MARC
    need not read it). A text-only query ranked by relevance with no filter ranks a bounded
    candidate set when it matches more than RANK_AT_MOST records (see there).
    """
    backend = backend or backend_for(session)
    filters = filters or Filters()
    conditions = _filter_conditions(session, filters)
    expression = backend.compile(query) if _text_only(query) else None
    if expression is not None:
        base = select(RecordRow.id).where(RecordRow.id.in_(backend.matching(expression)))
    else:
        base = select(RecordRow.id).where(_condition(backend, query))
    if conditions:
        base = base.where(*conditions)

    pks: list[int] = []
    total: int | None = None
    ranked_page = expression is not None and not conditions and sort is Sort.RELEVANCE
    if ranked_page and isinstance(backend, PostgresBackend):
        # PostgreSQL ranks every match anyway (it has no bounded ranking): the page carries the total.
        assert expression is not None
        page_rows: list[Any] = list(
            session.execute(backend.best_counted(expression, limit=limit, offset=offset))
        )
        pks = [int(pk) for pk, _ in page_rows]
        if page_rows:
            total = int(page_rows[0][1])
        elif offset == 0:
            total = 0
        # else past the last page: no row tells the total, the count below does
    if total is None and expression is not None and not conditions:
        # The full-text index alone knows how many match: no join, no rank.
        total = session.scalar(backend.count(expression)) or 0
    elif total is None:
        total = session.scalar(select(func.count()).select_from(base.subquery())) or 0

    if pks or offset >= total:
        pass  # the page came with the total, or there is no such page
    elif ranked_page:
        pks = _best_page(session, backend, query, total, limit=limit, offset=offset)
    elif expression is not None and sort is Sort.RELEVANCE:
        ranked = backend.ranked(expression)
        page = (
            select(RecordRow.id)
            .join(ranked, ranked.c.pk == RecordRow.id)
            .where(*conditions)
            .order_by(ranked.c.score.asc(), RecordRow.id.asc())
        )
        pks = list(session.scalars(page.limit(limit).offset(offset)))
    else:
        pks = list(session.scalars(base.order_by(*_order(sort)).limit(limit).offset(offset)))

    rows: list[Any] = []  # result rows of _HIT_COLUMNS
    if pks:
        # Plain column rows, not ORM objects: a result list only reads them once.
        columns = [*_HIT_COLUMNS, RecordRow.marcxml] if with_source else _HIT_COLUMNS
        by_pk = {row.id: row for row in session.execute(select(*columns).where(RecordRow.id.in_(pks)))}
        rows = [by_pk[pk] for pk in pks if pk in by_pk]

    summary: dict[int, tuple[int, int]] = {}
    if rows:
        held = session.execute(
            select(
                HoldingRow.record_pk,
                func.count(),
                func.coalesce(func.sum(HoldingRow.available), 0),
            )
            .where(HoldingRow.record_pk.in_(pks))
            .group_by(HoldingRow.record_pk)
        ).all()
        summary = {int(pk): (int(n), int(avail)) for pk, n, avail in held}
    hits = [
        Hit(
            record_pk=r.id,
            record=record_from_row(r, with_source=with_source),
            libraries=summary.get(r.id, (0, 0))[0],
            available=summary.get(r.id, (0, 0))[1],
        )
        for r in rows
    ]

    counts: dict[str, list[tuple[str, int]]] = {}
    if facets and total:
        ids = base.subquery("matched")
        for name in facets:
            if name in FACETS:
                counts[name] = _facet_counts(session, name, ids)
    return SearchResult(total=total, hits=hits, facets=counts)
