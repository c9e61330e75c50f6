"""Tables of the union catalogue: merged records, who contributed them, their identifiers, holdings."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.engine import Row
from sqlalchemy.orm import Mapped, Session, mapped_column

from fjernlaan.catalogue.model import Record, fold
from fjernlaan.db.base import Base, UtcDateTime, utcnow
from fjernlaan.directory.model import MaterialType

# Lists are stored one value a line: none of them can contain a newline after MARC mapping.
SEPARATOR = "\n"


class RecordRow(Base):
    """One edition in the union catalogue (records from several libraries merged on identifiers)."""

    __tablename__ = "records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[str] = mapped_column(String(100))
    source_library: Mapped[str | None] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(Text)
    subtitle: Mapped[str | None] = mapped_column(Text)
    creators: Mapped[str] = mapped_column(Text, default="")
    subjects: Mapped[str] = mapped_column(Text, default="")
    year: Mapped[int | None] = mapped_column(Integer, index=True)
    publisher: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(3), index=True)
    material_type: Mapped[str] = mapped_column(String(16), index=True)
    isbns: Mapped[str] = mapped_column(Text, default="")
    issns: Mapped[str] = mapped_column(Text, default="")
    oclc_numbers: Mapped[str] = mapped_column(Text, default="")
    marcxml: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class RecordSourceRow(Base):
    """A library's own record id for a merged record: which library contributed what."""

    __tablename__ = "record_sources"
    __table_args__ = (UniqueConstraint("library_isil", "local_id", name="local_id_per_library"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_pk: Mapped[int] = mapped_column(Integer, ForeignKey("records.id", ondelete="CASCADE"), index=True)
    library_isil: Mapped[str] = mapped_column(String(16), ForeignKey("libraries.isil"))
    local_id: Mapped[str] = mapped_column(String(100))


class RecordIdentifierRow(Base):
    """An identifier (`isbn:…`, `issn:…`, `oclc:…`, `id:…`) pointing at the record it identifies."""

    __tablename__ = "record_identifiers"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    record_pk: Mapped[int] = mapped_column(Integer, ForeignKey("records.id", ondelete="CASCADE"), index=True)


class HoldingRow(Base):
    """A library's copies of a record."""

    __tablename__ = "holdings"
    __table_args__ = (
        UniqueConstraint("record_pk", "library_isil", name="one_holding_per_library"),
        CheckConstraint("available >= 0 AND available <= copies", name="available_within_copies"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_pk: Mapped[int] = mapped_column(Integer, ForeignKey("records.id", ondelete="CASCADE"), index=True)
    library_isil: Mapped[str] = mapped_column(String(16), ForeignKey("libraries.isil"), index=True)
    copies: Mapped[int] = mapped_column(Integer, default=1)
    available: Mapped[int] = mapped_column(Integer, default=1)
    circulating: Mapped[bool] = mapped_column(Boolean, default=True)
    shelf_mark: Mapped[str | None] = mapped_column(String(200))
    acquired: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


def _split(value: str) -> tuple[str, ...]:
    return tuple(v for v in value.split(SEPARATOR) if v)


def record_from_row(row: RecordRow | Row[Any], *, with_source: bool = True) -> Record:
    """The domain record of a stored row (or a result row of its columns); `with_source=False`
    leaves `marcxml` empty, unread."""
    return Record(
        record_id=row.record_id,
        source_library=row.source_library,
        title=row.title,
        subtitle=row.subtitle,
        creators=_split(row.creators),
        subjects=_split(row.subjects),
        year=row.year,
        publisher=row.publisher,
        language=row.language,
        material_type=MaterialType(row.material_type),
        isbns=_split(row.isbns),
        issns=_split(row.issns),
        oclc_numbers=_split(row.oclc_numbers),
        marcxml=row.marcxml if with_source else "",
    )


def record_values(record: Record) -> dict[str, object]:
    """A domain record's fields as `records` column values (without the key and timestamps)."""
    return {
        "record_id": record.record_id,
        "source_library": record.source_library,
        "title": record.title,
        "subtitle": record.subtitle,
        "creators": SEPARATOR.join(record.creators),
        "subjects": SEPARATOR.join(record.subjects),
        "year": record.year,
        "publisher": record.publisher,
        "language": record.language,
        "material_type": record.material_type.value,
        "isbns": SEPARATOR.join(record.isbns),
        "issns": SEPARATOR.join(record.issns),
        "oclc_numbers": SEPARATOR.join(record.oclc_numbers),
        "marcxml": record.marcxml,
    }


def write_record(row: RecordRow, record: Record) -> None:
    """Copy a domain record's fields onto a row."""
    for name, value in record_values(record).items():
        setattr(row, name, value)


class RecordSearchRow(Base):
    """A record's folded search text, one column per searchable field.

    The text is `model.fold`ed here, in Python, so both databases match the same way: SQLite's FTS5
    table `record_fts` and PostgreSQL's `tsv` column (both made by migration 0005, outside the
    models) index these columns and are kept in step by triggers or a generated column.
    """

    __tablename__ = "record_search"

    record_pk: Mapped[int] = mapped_column(
        Integer, ForeignKey("records.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    title: Mapped[str] = mapped_column(Text, default="")
    creators: Mapped[str] = mapped_column(Text, default="")
    subjects: Mapped[str] = mapped_column(Text, default="")
    identifiers: Mapped[str] = mapped_column(Text, default="")


def search_values(record: Record) -> dict[str, str]:
    """The folded search columns of a record (see `RecordSearchRow`)."""
    ids = [*record.isbns, *(i.replace("-", "") for i in record.issns), *record.oclc_numbers]
    ids.append(record.record_id)
    return {
        "title": fold(" ".join(t for t in (record.title, record.subtitle) if t)),
        "creators": fold(" ; ".join(record.creators)),
        "subjects": fold(" ; ".join(record.subjects)),
        "identifiers": fold(" ".join(ids)),
    }


def index_record(session: Session, record_pk: int, record: Record) -> None:
    """Write the record's search text; called inside the upsert's transaction."""
    values = search_values(record)
    row = session.get(RecordSearchRow, record_pk)
    if row is None:
        session.add(RecordSearchRow(record_pk=record_pk, **values))
        return
    for key, value in values.items():
        if getattr(row, key) != value:
            setattr(row, key, value)
