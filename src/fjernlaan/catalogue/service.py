"""Use cases of the union catalogue's storage: upsert merged records and holdings, read them back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from fjernlaan.catalogue.model import Holding, Record, merge_key, merge_records
from fjernlaan.catalogue.store import (
    HoldingRow,
    RecordIdentifierRow,
    RecordRow,
    RecordSourceRow,
    record_from_row,
    write_record,
)
from fjernlaan.errors import NotFound


class Outcome(StrEnum):
    """What an upsert did."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


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


def get_record(session: Session, record_pk: int) -> Record:
    """The stored (merged) record, or NotFound."""
    row = session.get(RecordRow, record_pk)
    if row is None:
        raise NotFound(f"no record {record_pk} in the catalogue", field="record_id")
    return record_from_row(row)


def holdings_for_record(session: Session, record_pk: int) -> list[Holding]:
    """Every library's holding of the record, in ISIL order."""
    rows = session.scalars(
        select(HoldingRow).where(HoldingRow.record_pk == record_pk).order_by(HoldingRow.library_isil)
    )
    return [
        Holding(
            library_isil=r.library_isil,
            copies=r.copies,
            available=r.available,
            circulating=r.circulating,
            shelf_mark=r.shelf_mark,
            acquired=r.acquired,
        )
        for r in rows
    ]


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
