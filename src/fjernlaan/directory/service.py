"""Use cases of the library directory; each runs inside the caller's unit of work."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from fjernlaan.db.base import utcnow
from fjernlaan.directory.calendar import calendar_for
from fjernlaan.directory.model import (
    Closure,
    Iso18626Entry,
    Iso18626Version,
    LendingPolicy,
    Library,
    WorkingCalendar,
    normalise_isil,
)
from fjernlaan.directory.schemas import ClosureIn, LibraryCreate, LibraryOut, LibraryPatch
from fjernlaan.directory.store import ClosureRow, LibraryRow, closures_of, library_from_row, write_policy
from fjernlaan.errors import Conflict, DomainError, NotFound
from fjernlaan.limits import spreadsheet_safe

EXPORT_COLUMNS = [
    "isil",
    "name",
    "type",
    "municipality_code",
    "region",
    "central_isil",
    "transport_hub",
    "email",
    "iso18626_endpoint",
    "iso18626_version",
    "active",
]


def _row(session: Session, isil: str) -> LibraryRow:
    key = normalise_isil(isil)
    row = session.get(LibraryRow, key)
    if row is None:
        raise NotFound(f"no library with ISIL {key}", field="isil")
    return row


def library_out(row: LibraryRow) -> LibraryOut:
    """The API view of a stored library."""
    return LibraryOut.model_validate({c: getattr(row, c) for c in EXPORT_COLUMNS})


def get_library_out(session: Session, isil: str) -> LibraryOut:
    """The API view of the library with this ISIL, or NotFound."""
    return library_out(_row(session, isil))


def get_library(session: Session, isil: str) -> Library:
    """The library with this ISIL, or NotFound."""
    return library_from_row(_row(session, isil))


def iso18626_entry(session: Session | Connection, isil: str) -> Iso18626Entry | None:
    """The ISO 18626 fields of the library with this (normalised) ISIL, None when there is none.

    One light query (no policy, no closures); it runs as well on a plain connection, such as a
    read-only one on SQLite that must not take the write lock.
    """
    found = session.execute(
        select(
            LibraryRow.active,
            LibraryRow.iso18626_endpoint,
            LibraryRow.iso18626_version,
            LibraryRow.iso18626_endpoint_changed_at,
        ).where(LibraryRow.isil == isil)
    ).first()
    if found is None:
        return None
    active, endpoint, version, changed_at = found
    return Iso18626Entry(
        isil=isil,
        active=bool(active),
        endpoint=endpoint,
        version=Iso18626Version(version) if version else None,
        endpoint_changed_at=changed_at,
    )


def library_exists(session: Session, isil: str) -> bool:
    """True when the directory knows this (valid) ISIL."""
    return session.get(LibraryRow, normalise_isil(isil)) is not None


def list_libraries(
    session: Session,
    *,
    limit: int = 100,
    offset: int = 0,
    type: str | None = None,
    region: str | None = None,
    active: bool | None = None,
    q: str | None = None,
) -> tuple[list[LibraryOut], int]:
    """A page of libraries in ISIL order, and how many match in all."""
    query = select(LibraryRow)
    if type:
        query = query.where(LibraryRow.type == type)
    if region:
        query = query.where(LibraryRow.region == region)
    if active is not None:
        query = query.where(LibraryRow.active == active)
    if q:
        query = query.where(
            func.lower(LibraryRow.name).contains(q.lower()) | LibraryRow.isil.contains(q.upper())
        )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(LibraryRow.isil).limit(limit).offset(offset)).unique()
    return [library_out(r) for r in rows], total


def all_libraries(session: Session) -> list[Library]:
    """Every library as the domain sees it (for the rota builder and the demo)."""
    return [
        library_from_row(r) for r in session.scalars(select(LibraryRow).order_by(LibraryRow.isil)).unique()
    ]


def _check_references(session: Session, isil: str, fields: Mapping[str, Any]) -> None:
    for name in ("central_isil", "transport_hub"):
        ref = fields.get(name)
        if ref and ref != isil and session.get(LibraryRow, ref) is None:
            raise DomainError(f"{name}: no library with ISIL {ref} in the directory", field=name)


def create_library(session: Session, data: LibraryCreate, policy: LendingPolicy | None = None) -> LibraryOut:
    """Add a library; its ISIL must be new and the libraries it refers to must exist."""
    if session.get(LibraryRow, data.isil) is not None:
        raise Conflict(f"a library with ISIL {data.isil} already exists", field="isil")
    fields = data.model_dump()
    _check_references(session, data.isil, fields)
    row = LibraryRow(**fields)
    write_policy(row, policy or LendingPolicy())
    session.add(row)
    session.flush()
    return library_out(row)


def update_library(
    session: Session, isil: str, patch: LibraryPatch, now: datetime | None = None
) -> LibraryOut:
    """Change the fields given in the patch; the rest stay as they are. ``now`` dates a change of the
    ISO 18626 endpoint (the caller's clock; the wall clock when not given)."""
    row = _row(session, isil)
    changes = patch.model_dump(exclude_unset=True)
    for required in ("name", "type", "active"):
        if required in changes and changes[required] is None:
            raise DomainError(f"{required} cannot be empty", field=required)
    _check_references(session, row.isil, changes)
    _note_endpoint_change(row, changes, now)
    for name, value in changes.items():
        setattr(row, name, value)
    session.flush()
    return library_out(row)


def _note_endpoint_change(row: LibraryRow, changes: Mapping[str, Any], now: datetime | None) -> None:
    # The hub's outbound credentials are not presented to an endpoint changed after they were issued.
    if "iso18626_endpoint" in changes and changes["iso18626_endpoint"] != row.iso18626_endpoint:
        row.iso18626_endpoint_changed_at = now or utcnow()


def get_policy(session: Session, isil: str) -> LendingPolicy:
    """The library's lending policy (national defaults where it set none)."""
    return get_library(session, isil).policy


def set_policy(session: Session, isil: str, policy: LendingPolicy) -> LendingPolicy:
    """Replace the library's lending policy."""
    row = _row(session, isil)
    write_policy(row, policy)
    session.flush()
    return policy


def list_closures(session: Session, isil: str) -> list[tuple[int, Closure]]:
    """The library's closures with their ids, in date order."""
    _row(session, isil)
    rows = session.scalars(
        select(ClosureRow).where(ClosureRow.library_isil == normalise_isil(isil)).order_by(ClosureRow.starts)
    )
    return [(r.id, Closure(starts=r.starts, ends=r.ends, reason=r.reason)) for r in rows]


def add_closure(session: Session, isil: str, closure: ClosureIn) -> int:
    """Record a closure; returns its id."""
    row = _row(session, isil)
    stored = ClosureRow(
        library_isil=row.isil, starts=closure.starts, ends=closure.ends, reason=closure.reason
    )
    session.add(stored)
    session.flush()
    return stored.id


def delete_closure(session: Session, isil: str, closure_id: int) -> None:
    """Remove one of the library's closures."""
    row = _row(session, isil)
    stored = session.get(ClosureRow, closure_id)
    if stored is None or stored.library_isil != row.isil:
        raise NotFound(f"library {row.isil} has no closure {closure_id}", field="closure_id")
    session.delete(stored)


def working_calendar(session: Session, isil: str) -> WorkingCalendar:
    """The library's calendar: weekdays minus Danish public holidays minus its closures."""
    return calendar_for(closures_of(session, normalise_isil(isil)))


def add_working_days(session: Session, isil: str, start: date, n: int) -> date:
    """The one place deadlines come from: `n` working days after `start` at this library."""
    _row(session, isil)
    return working_calendar(session, isil).add_working_days(start, n)


# --- import and export -------------------------------------------------------------------------


@dataclass
class ImportReport:
    """What an import did: counts, and every skipped row with its position and reason."""

    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)


_YES = frozenset({"1", "true", "yes", "ja", "y", "j"})
_NO = frozenset({"0", "false", "no", "nej", "n"})


def _yes_no(value: str) -> bool:
    # Anything else is refused: "maybe" read as inactive would switch a library off without a word.
    word = value.strip().lower()
    if word in _YES:
        return True
    if word in _NO:
        return False
    raise DomainError(
        f"active: {value[:40]!r} is not a yes/no value (use true/false, yes/no, ja/nej or 1/0)",
        field="active",
    )


def _clean(raw: Mapping[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for key, value in raw.items():
        if key is None:
            raise DomainError("the row has more values than the header has columns")
        name = key.strip()
        if name not in EXPORT_COLUMNS:
            raise DomainError(f"unknown column {name!r}", field=name)
        if isinstance(value, str):
            value = value.strip()
            if value == "" and name != "name":
                value = None
        if name == "active" and isinstance(value, str):
            value = _yes_no(value)
        cleaned[name] = value
    return {k: v for k, v in cleaned.items() if v is not None}


def _validation_message(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "row"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def import_libraries(session: Session, rows: Iterable[Mapping[str, Any]]) -> ImportReport:
    """Create or update libraries from rows (CSV or JSON); bad rows are skipped and reported.

    Rows are applied in two passes so a public library may name a central library that comes later
    in the same file.
    """
    report = ImportReport()
    valid: list[tuple[int, LibraryCreate]] = []
    for position, raw in enumerate(rows, start=1):
        report.read += 1
        try:
            valid.append((position, LibraryCreate.model_validate(_clean(raw))))
        except ValidationError as exc:
            report.skipped.append((position, _validation_message(exc)))
        except DomainError as exc:
            report.skipped.append((position, exc.message))
    stored = {isil for (isil,) in session.execute(select(LibraryRow.isil))}
    known = stored | {d.isil for _, d in valid}
    applied: list[LibraryCreate] = []
    for position, data in valid:
        missing = [
            f"{name}: no library with ISIL {ref}"
            for name in ("central_isil", "transport_hub")
            if (ref := getattr(data, name)) and ref not in known
        ]
        if missing:
            report.skipped.append((position, "; ".join(missing)))
            if data.isil not in stored:
                known.discard(data.isil)
            continue
        applied.append(data)
        fields = data.model_dump()
        row = session.get(LibraryRow, data.isil)
        if row is None:
            # References are resolved after every row exists, so they are filled in a second pass.
            row = LibraryRow(**{**fields, "central_isil": None, "transport_hub": None})
            write_policy(row, LendingPolicy())
            session.add(row)
            report.created += 1
        elif all(
            getattr(row, k) == v for k, v in fields.items() if k not in ("central_isil", "transport_hub")
        ):
            report.unchanged += 1
        else:
            _note_endpoint_change(row, fields, None)
            for name, value in fields.items():
                if name not in ("central_isil", "transport_hub"):
                    setattr(row, name, value)
            report.updated += 1
    session.flush()
    # Only the rows applied above: a skipped row must not reach an existing library through here.
    for data in applied:
        row = session.get(LibraryRow, data.isil)
        if row is None:
            continue
        if (row.central_isil, row.transport_hub) != (data.central_isil, data.transport_hub):
            row.central_isil = data.central_isil
            row.transport_hub = data.transport_hub
    report.skipped.sort()
    session.flush()
    return report


def export_rows(session: Session) -> list[dict[str, Any]]:
    """Every library as a flat row, ISIL order."""
    return [
        library_out(r).model_dump(mode="json")
        for r in session.scalars(select(LibraryRow).order_by(LibraryRow.isil)).unique()
    ]


def to_csv(rows: list[dict[str, Any]]) -> str:
    """Rows as UTF-8 CSV text with a header."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(row.get(k)) for k in EXPORT_COLUMNS})
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    # Text that a spreadsheet would run as a formula gets a leading apostrophe (CSV injection).
    if value is None:
        return ""
    return spreadsheet_safe(value) if isinstance(value, str) else value


def to_json(rows: list[dict[str, Any]]) -> str:
    """Rows as a JSON array (UTF-8, æøå kept as they are)."""
    return json.dumps(rows, ensure_ascii=False, indent=2) + "\n"


def parse_rows(text: str, fmt: str) -> list[dict[str, Any]]:
    """Rows from CSV or JSON text; a malformed file raises DomainError saying where."""
    if fmt == "json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DomainError(f"not valid JSON: line {exc.lineno} column {exc.colno}: {exc.msg}") from exc
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            raise DomainError("a JSON import must be an array of objects, one per library")
        return data
    if fmt == "csv":
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames or "isil" not in reader.fieldnames:
            raise DomainError("a CSV import needs a header row with at least an 'isil' column")
        return [dict(r) for r in reader]
    raise DomainError(f"unknown format {fmt!r}: use csv or json", field="format")
