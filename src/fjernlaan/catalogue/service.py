"""Use cases of the union catalogue's storage: upsert merged records and holdings, read them back."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Protocol, cast

from sqlalchemy import Column, Row, Table, bindparam, func, select, text
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from fjernlaan.catalogue.model import Holding, Record, merge_key, merge_records
from fjernlaan.catalogue.store import (
    SEPARATOR,
    HoldingRow,
    RecordIdentifierRow,
    RecordRow,
    RecordSourceRow,
    index_record,
    record_from_row,
    search_values,
    write_record,
)
from fjernlaan.db.base import utcnow
from fjernlaan.errors import NotFound


class Outcome(StrEnum):
    """What an upsert did."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


class WrittenHoldings(Protocol):
    """(record pk, ISIL) of the holdings an import run has set: a `set`, or anything that answers
    `in` and takes additions like one (the importer keeps a batch's additions apart until it commits)."""

    def __contains__(self, item: object, /) -> bool: ...

    def add(self, item: tuple[int, str], /) -> None: ...

    def update(self, items: Iterable[tuple[int, str]], /) -> None: ...


@dataclass(frozen=True)
class Upserted:
    """The stored record's key and what happened to it."""

    record_pk: int
    outcome: Outcome


def _source_key(record: Record) -> str | None:
    if record.source_library is None:
        return None
    return f"id:{record.source_library}:{record.record_id}"


def find_record_pk(session: Session, record: Record) -> int | None:
    """The stored record this one describes: same library's own id first, then shared identifiers."""
    keys = [k for k in (_source_key(record), *merge_key(record)) if k]
    if not keys:
        return None
    rows = session.execute(
        select(RecordIdentifierRow.key, RecordIdentifierRow.record_pk).where(
            RecordIdentifierRow.key.in_(keys)
        )
    ).all()
    found = dict(rows)
    for key in keys:
        if key in found:
            return int(found[key])
    return None


def _index_identifiers(session: Session, record_pk: int, record: Record) -> None:
    keys = [k for k in (_source_key(record), *merge_key(record)) if k]
    existing = set(session.scalars(select(RecordIdentifierRow.key).where(RecordIdentifierRow.key.in_(keys))))
    for key in keys:
        if key not in existing:
            # The first record to claim an identifier keeps it; a later clash (two records sharing an
            # ISBN under different ids) merged above, so this only adds what is new.
            session.add(RecordIdentifierRow(key=key, record_pk=record_pk))


def _note_source(session: Session, record_pk: int, record: Record) -> None:
    if record.source_library is None:
        return
    existing = session.scalar(
        select(RecordSourceRow).where(
            RecordSourceRow.library_isil == record.source_library,
            RecordSourceRow.local_id == record.record_id,
        )
    )
    if existing is None:
        session.add(
            RecordSourceRow(
                record_pk=record_pk, library_isil=record.source_library, local_id=record.record_id
            )
        )


def upsert_record(session: Session, record: Record, holdings: Sequence[Holding] = ()) -> Upserted:
    """Store a record, merging it into the edition it shares identifiers with; then its holdings.

    Re-importing the same record changes nothing (`unchanged`).
    """
    record_pk = find_record_pk(session, record)
    outcome = Outcome.CREATED
    if record_pk is None:
        row = RecordRow()
        write_record(row, record)
        session.add(row)
        session.flush()
        record_pk = row.id
        index_record(session, record_pk, record)
    else:
        row_or_none = session.get(RecordRow, record_pk)
        assert row_or_none is not None
        row = row_or_none
        current = record_from_row(row)
        merged = merge_records(current, record)
        if merged == current:
            outcome = Outcome.UNCHANGED
        else:
            write_record(row, merged)
            index_record(session, record_pk, merged)
            outcome = Outcome.UPDATED
    _index_identifiers(session, record_pk, record)
    _note_source(session, record_pk, record)
    for holding in holdings:
        if set_holding(session, record_pk, holding) and outcome is Outcome.UNCHANGED:
            outcome = Outcome.UPDATED
    return Upserted(record_pk=record_pk, outcome=outcome)


def set_holding(session: Session, record_pk: int, holding: Holding) -> bool:
    """Create or replace one library's holding of a record; True when anything changed."""
    row = session.scalar(
        select(HoldingRow).where(
            HoldingRow.record_pk == record_pk, HoldingRow.library_isil == holding.library_isil
        )
    )
    values = {
        "copies": holding.copies,
        "available": holding.available,
        "circulating": holding.circulating,
        "shelf_mark": holding.shelf_mark,
        "acquired": holding.acquired,
    }
    if row is None:
        session.add(HoldingRow(record_pk=record_pk, library_isil=holding.library_isil, **values))
        return True
    if all(getattr(row, k) == v for k, v in values.items()):
        return False
    for key, value in values.items():
        setattr(row, key, value)
    return True


def get_record(session: Session, record_pk: int, *, with_source: bool = True) -> Record:
    """The stored (merged) record, or NotFound; `with_source=False` leaves its MARCXML unread
    (placing a request needs the title, type and year, not the source record)."""
    if with_source:
        row: RecordRow | Row[Any] | None = session.get(RecordRow, record_pk)
    else:
        row = session.execute(_RECORD_WITHOUT_SOURCE, {"pk": record_pk}).first()
    if row is None:
        raise NotFound(f"no record {record_pk} in the catalogue", field="record_id")
    return record_from_row(row, with_source=with_source)


# Placing a request reads a record and its holdings every time: plain column rows from statements
# built once (building a select and loading ORM objects cost more than the queries themselves).
_RECORDS = cast(Table, RecordRow.__table__)
_HOLDINGS = cast(Table, HoldingRow.__table__)
_RECORD_WITHOUT_SOURCE = select(*(c for c in _RECORDS.columns if c.key != "marcxml")).where(
    _RECORDS.c.id == bindparam("pk")
)
# The columns in `Holding`'s field order.
_HOLDINGS_OF_RECORD = (
    select(*(_HOLDINGS.c[name] for name in Holding.__dataclass_fields__))
    .where(_HOLDINGS.c.record_pk == bindparam("pk"))
    .order_by(_HOLDINGS.c.library_isil)
)


def holdings_for_record(session: Session, record_pk: int) -> list[Holding]:
    """Every library's holding of the record, in ISIL order."""
    return [Holding(*r) for r in session.execute(_HOLDINGS_OF_RECORD, {"pk": record_pk})]


def contributors(session: Session, record_pk: int) -> list[tuple[str, str]]:
    """(library ISIL, that library's own record id) for every library that contributed the record."""
    rows = session.execute(
        select(RecordSourceRow.library_isil, RecordSourceRow.local_id)
        .where(RecordSourceRow.record_pk == record_pk)
        .order_by(RecordSourceRow.library_isil)
    )
    return [(isil, local) for isil, local in rows]


def record_pk_by_identifier(session: Session, key: str) -> int | None:
    """The record with an identifier key such as `isbn:9788702173437` or `id:DK-870970:29526249`."""
    return session.scalar(select(RecordIdentifierRow.record_pk).where(RecordIdentifierRow.key == key))


def _new_record_pks(session: Session, count: int) -> list[int]:
    """Keys for `count` records about to be inserted, so that one executemany can insert them.

    Handing the keys out ourselves spares an INSERT … RETURNING per batch, which SQLAlchemy can
    only keep in parameter order by inserting row by row.
    """
    if session.get_bind().dialect.name == "postgresql":
        return list(
            session.scalars(
                text("SELECT nextval(pg_get_serial_sequence('records', 'id')) FROM generate_series(1, :n)"),
                {"n": count},
            )
        )
    # SQLite: a writing unit of work holds the write lock from BEGIN IMMEDIATE on (db/engine.py),
    # so no other writer can take these numbers before this transaction commits.
    last = session.scalar(select(func.max(RecordRow.id))) or 0
    return list(range(last + 1, last + 1 + count))


_RECORD_COLUMNS = (
    "id",
    "record_id",
    "source_library",
    "title",
    "subtitle",
    "creators",
    "subjects",
    "year",
    "publisher",
    "language",
    "material_type",
    "isbns",
    "issns",
    "oclc_numbers",
    "marcxml",
    "created_at",
    "updated_at",
)
_HOLDING_COLUMNS = (
    "record_pk",
    "library_isil",
    "copies",
    "available",
    "circulating",
    "shelf_mark",
    "acquired",
    "updated_at",
)
_BULK_TABLES: dict[str, tuple[str, ...]] = {
    "records": _RECORD_COLUMNS,
    "record_identifiers": ("key", "record_pk"),
    "record_sources": ("record_pk", "library_isil", "local_id"),
    "holdings": _HOLDING_COLUMNS,
    "record_search": ("record_pk", "title", "creators", "subjects", "identifiers"),
}


@dataclass(frozen=True)
class _BulkStatements:
    """The bulk path's INSERTs in the driver's own parameter style, and the few conversions that
    SQLAlchemy's types would make (timestamps, dates, booleans), looked up once per dialect."""

    sql: dict[str, str]
    timestamp: Callable[[datetime], object]
    day: Callable[[date], object]
    flag: Callable[[bool], object]


_bulk_statements: dict[str, _BulkStatements] = {}


def _converter(column: Column[Any], dialect: Dialect) -> Callable[[Any], object]:
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    return process if process is not None else (lambda value: value)


def _statements(dialect: Dialect) -> _BulkStatements:
    found = _bulk_statements.get(dialect.name)
    if found is None:
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        sql = {
            table: f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"
            for table, columns in _BULK_TABLES.items()
        }
        holdings = cast(Table, HoldingRow.__table__).c
        found = _bulk_statements[dialect.name] = _BulkStatements(
            sql=sql,
            timestamp=_converter(holdings.updated_at, dialect),
            day=_converter(holdings.acquired, dialect),
            flag=_converter(holdings.circulating, dialect),
        )
    return found


def bulk_insert_records(session: Session, items: Sequence[tuple[Record, Sequence[Holding]]]) -> list[int]:
    """Insert records known to be new (no stored or fellow record shares a key), with their holdings.

    A few multi-row statements instead of several queries a record: the fast path of imports and
    demo seeding. The caller makes sure the records are new (`upsert_records` does).
    """
    if not items:
        return []
    connection = session.connection()
    statements = _statements(connection.dialect)
    now = statements.timestamp(utcnow())
    day, flag = statements.day, statements.flag
    pks = _new_record_pks(session, len(items))
    records: list[tuple[object, ...]] = []
    identifiers: list[tuple[object, ...]] = []
    sources: list[tuple[object, ...]] = []
    holdings: list[tuple[object, ...]] = []
    searches: list[tuple[object, ...]] = []
    seen_keys: set[str] = set()
    for pk, (record, record_holdings) in zip(pks, items, strict=True):
        # The order of _RECORD_COLUMNS; `record_values` gives the same values to the ORM paths.
        records.append(
            (
                pk,
                record.record_id,
                record.source_library,
                record.title,
                record.subtitle,
                SEPARATOR.join(record.creators),
                SEPARATOR.join(record.subjects),
                record.year,
                record.publisher,
                record.language,
                record.material_type.value,
                SEPARATOR.join(record.isbns),
                SEPARATOR.join(record.issns),
                SEPARATOR.join(record.oclc_numbers),
                record.marcxml,
                now,
                now,
            )
        )
        for key in (_source_key(record), *merge_key(record)):
            if key and key not in seen_keys:
                seen_keys.add(key)
                identifiers.append((key, pk))
        if record.source_library is not None:
            sources.append((pk, record.source_library, record.record_id))
        for holding in {h.library_isil: h for h in reversed(record_holdings)}.values():
            holdings.append(
                (
                    pk,
                    holding.library_isil,
                    holding.copies,
                    holding.available,
                    flag(holding.circulating),
                    holding.shelf_mark,
                    None if holding.acquired is None else day(holding.acquired),
                    now,
                )
            )
        search = search_values(record)
        searches.append((pk, search["title"], search["creators"], search["subjects"], search["identifiers"]))
    # Prebuilt statements with plain tuples straight to the driver's executemany: the rows need no
    # SQLAlchemy type processing beyond the conversions above, and nothing comes back. Through
    # Core's `insert()` the statement compilation and per-value bind processing cost about a fifth
    # of the importer's time.
    tables = (
        ("records", records),
        ("record_identifiers", identifiers),
        ("record_sources", sources),
        ("holdings", holdings),
        ("record_search", searches),
    )
    if connection.dialect.name == "postgresql":
        _copy_rows(connection, [(table, rows) for table, rows in tables if rows])
        return pks
    for table, rows in tables:
        if rows:
            connection.exec_driver_sql(statements.sql[table], rows)
    return pks


def _copy_rows(connection: Connection, tables: Sequence[tuple[str, list[tuple[object, ...]]]]) -> None:
    """PostgreSQL: the rows with COPY, in the unit of work's transaction.

    COPY spares the server parsing and planning an INSERT per row. A refusal (a too long value, a
    broken constraint) is raised as SQLAlchemy's `DBAPIError`, as an INSERT's would be, so the
    importer's record-by-record replay finds the record at fault.
    """
    driver = connection.connection.driver_connection
    assert driver is not None
    for table, rows in tables:
        statement = f"COPY {table} ({', '.join(_BULK_TABLES[table])}) FROM STDIN"
        try:
            with driver.cursor() as cursor, cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)
        except connection.dialect.loaded_dbapi.Error as exc:
            raise DBAPIError(statement, None, exc) from exc


def upsert_records(
    session: Session,
    items: Sequence[tuple[Record, Sequence[Holding]]],
    written: WrittenHoldings | None = None,
) -> list[Upserted]:
    """`upsert_record` for a batch: new records go in together, the rest one by one.

    One query finds which records are already stored; records that share a key with nothing stored
    and with no earlier record of the batch are inserted with `bulk_insert_records`.

    `written` makes holdings idempotent across one import run: it collects (record pk, ISIL) of the
    holdings the run has set, and a later record of the same edition does not overwrite them (the
    first record of an edition in a file gives the library's holding). Without it, each record's
    holdings replace the library's holding as `upsert_record` does.
    """
    keys_of = [[k for k in (_source_key(r), *merge_key(r)) if k] for r, _ in items]
    wanted = sorted({k for keys in keys_of for k in keys})
    stored: set[str] = set()
    for start in range(0, len(wanted), 2000):
        chunk = wanted[start : start + 2000]
        stored.update(
            session.scalars(select(RecordIdentifierRow.key).where(RecordIdentifierRow.key.in_(chunk)))
        )
    new: list[int] = []
    rest: list[int] = []
    claimed: set[str] = set()
    for index, keys in enumerate(keys_of):
        if keys and not any(k in stored or k in claimed for k in keys):
            new.append(index)
        else:
            rest.append(index)
        claimed.update(keys)
    results: dict[int, Upserted] = {}
    pks = bulk_insert_records(session, [items[i] for i in new])
    for index, pk in zip(new, pks, strict=True):
        results[index] = Upserted(record_pk=pk, outcome=Outcome.CREATED)
        if written is not None:
            written.update((pk, h.library_isil) for h in items[index][1])
    for index in rest:
        record, holdings = items[index]
        if written is None:
            results[index] = upsert_record(session, record, holdings)
            continue
        done = upsert_record(session, record)
        changed = False
        for holding in holdings:
            if (done.record_pk, holding.library_isil) not in written:
                written.add((done.record_pk, holding.library_isil))
                changed = set_holding(session, done.record_pk, holding) or changed
        if changed and done.outcome is Outcome.UNCHANGED:
            done = Upserted(record_pk=done.record_pk, outcome=Outcome.UPDATED)
        results[index] = done
    return [results[i] for i in range(len(items))]
