"""Importing MARC files and holdings feeds into the union catalogue.

A broken record or a bad feed row is skipped and reported (position, reason); it never aborts the
run. Records are committed in batches (default 500): a batch that the database refuses is replayed
record by record, each in a savepoint, so one bad record costs only itself.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any, cast

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from fjernlaan.catalogue.marc import Format, ParsedRecord, SkippedRecord, read_marc
from fjernlaan.catalogue.model import (
    Holding,
    InvalidIdentifier,
    Record,
    normalise_isbn,
    normalise_issn,
    normalise_oclc,
)
from fjernlaan.catalogue.parse_worker import read_marc_in_worker
from fjernlaan.catalogue.service import Outcome, record_pk_by_identifier, set_holding, upsert_records
from fjernlaan.catalogue.store import HoldingRow, RecordRow, RecordSourceRow
from fjernlaan.db.uow import Database
from fjernlaan.directory.model import normalise_isil
from fjernlaan.errors import DomainError, NotFound
from fjernlaan.limits import INT_MAX

__all__ = [
    "HoldingsReport",
    "ImportReport",
    "import_holdings",
    "import_marc",
    "known_libraries",
    "parse_holdings_feed",
]

# Column widths of the catalogue tables (store.py): longer values would be refused by PostgreSQL.
_MAX_RECORD_ID = 100
_MAX_SHELF_MARK = 200


@dataclass
class ImportReport:
    """What an import did: records found, what became of them, and what was left out and why."""

    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    withdrawn: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)
    holdings_skipped: list[tuple[int, str]] = field(default_factory=list)

    @property
    def imported(self) -> int:
        """Records stored (created, updated or found unchanged) or withdrawn."""
        return self.created + self.updated + self.unchanged + self.withdrawn

    def add(self, other: ImportReport) -> None:
        """Add another file's counts to these."""
        self.read += other.read
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.withdrawn += other.withdrawn
        self.skipped += other.skipped
        self.holdings_skipped += other.holdings_skipped


def known_libraries(session: Session) -> set[str]:
    """Every ISIL in the directory."""
    from fjernlaan.directory.service import list_libraries

    isils: set[str] = set()
    offset = 0
    while True:
        items, total = list_libraries(session, limit=1000, offset=offset)
        isils.update(lib.isil for lib in items)
        offset += len(items)
        if not items or offset >= total:
            return isils


def _prepare(
    parsed: ParsedRecord, library: str, known: set[str], report: ImportReport
) -> tuple[ParsedRecord, tuple[Holding, ...]] | None:
    record = parsed.record
    if len(record.record_id) > _MAX_RECORD_ID:
        report.skipped.append((parsed.position, f"record id longer than {_MAX_RECORD_ID} characters"))
        return None
    if record.source_library not in known:
        # The record names a library the directory does not know (e.g. DBC's 870970 national
        # bibliography): it enters the catalogue as the importing library's record.
        record = replace(record, source_library=library)
    holdings: list[Holding] = []
    for holding in parsed.holdings:
        if holding.library_isil not in known:
            report.holdings_skipped.append(
                (parsed.position, f"holding at {holding.library_isil}: library not in the directory")
            )
            continue
        if holding.shelf_mark and len(holding.shelf_mark) > _MAX_SHELF_MARK:
            holding = replace(holding, shelf_mark=holding.shelf_mark[:_MAX_SHELF_MARK])
        holdings.append(holding)
    # dataclasses.replace costs a few microseconds a record: only when the record did change.
    return (parsed if record is parsed.record else replace(parsed, record=record)), tuple(holdings)


def _withdraw(session: Session, parsed: ParsedRecord, library: str) -> None:
    record = parsed.record
    pk = record_pk_by_identifier(session, f"id:{record.source_library or library}:{record.record_id}")
    if pk is None:
        return
    holding = session.scalar(
        select(HoldingRow).where(HoldingRow.record_pk == pk, HoldingRow.library_isil == library)
    )
    if holding is not None:
        session.delete(holding)


class _BatchWritten:
    """The run's written holdings as one batch sees them: reads go through to the run's set, additions
    stay apart until the batch commits (`keep`), so a batch the database refuses leaves no trace.

    Copying the run's set for every batch instead cost O(records so far) a batch: at 1,000,000
    records that copy was most of the import's time.
    """

    __slots__ = ("added", "run")

    def __init__(self, run: set[tuple[int, str]]) -> None:
        self.run = run
        self.added: set[tuple[int, str]] = set()

    def __contains__(self, item: object, /) -> bool:
        return item in self.added or item in self.run

    def add(self, item: tuple[int, str], /) -> None:
        self.added.add(item)

    def update(self, items: Iterable[tuple[int, str]], /) -> None:
        self.added.update(items)

    def keep(self) -> None:
        """The batch committed: its holdings count as written for the rest of the run."""
        self.run.update(self.added)
        self.added = set()


def _store_batch(
    session: Session,
    batch: list[tuple[ParsedRecord, tuple[Holding, ...]]],
    library: str,
    written: _BatchWritten,
) -> list[str]:
    outcomes: list[str] = []
    live: list[tuple[Record, tuple[Holding, ...]]] = []
    for item, holdings in batch:
        if item.deleted:
            _withdraw(session, item, library)
        else:
            live.append((item.record, holdings))
    stored = iter(upsert_records(session, live, written))
    for item, _ in batch:
        outcomes.append("withdrawn" if item.deleted else next(stored).outcome.value)
    return outcomes


def _count(report: ImportReport, outcome: str) -> None:
    if outcome == Outcome.CREATED:
        report.created += 1
    elif outcome == Outcome.UPDATED:
        report.updated += 1
    elif outcome == Outcome.UNCHANGED:
        report.unchanged += 1
    else:
        report.withdrawn += 1


def _flush_batch(
    database: Database,
    batch: list[tuple[ParsedRecord, tuple[Holding, ...]]],
    library: str,
    report: ImportReport,
    written: set[tuple[int, str]],
) -> None:
    attempt = _BatchWritten(written)
    try:
        with database.unit_of_work() as session:
            outcomes = _store_batch(session, batch, library, attempt)
    except SQLAlchemyError:
        pass
    else:
        attempt.keep()
        for outcome in outcomes:
            _count(report, outcome)
        return
    # The database refused something in the batch: find it, keep the rest.
    with database.unit_of_work() as session:
        for item, holdings in batch:
            attempt = _BatchWritten(written)
            try:
                with session.begin_nested():
                    (outcome,) = _store_batch(session, [(item, holdings)], library, attempt)
            except SQLAlchemyError as exc:
                reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
                report.skipped.append((item.position, f"the database refused it: {reason}"))
                continue
            attempt.keep()
            _count(report, outcome)


# Starting the parsing process costs about 0.1 s (a fresh interpreter imports pymarc and lxml); from
# about 2,000 records (2 MiB) on, parsing beside the writes saves more than that.
WORKER_MIN_BYTES = 2 * 1024 * 1024


def _results(
    source: str | Path | bytes | IO[bytes],
    fmt: Format,
    library: str,
    encoding: str | None,
    parse_in_worker: bool | None,
) -> Iterator[ParsedRecord | SkippedRecord]:
    # The worker gets its pipe through `pass_fds`, which only POSIX systems have.
    on_disk = isinstance(source, str | Path) and os.name == "posix"
    if parse_in_worker is None:
        parse_in_worker = on_disk and Path(cast(str | Path, source)).stat().st_size >= WORKER_MIN_BYTES
    if parse_in_worker and on_disk:
        return read_marc_in_worker(
            cast(str | Path, source), fmt=fmt, default_library=library, encoding=encoding
        )
    return read_marc(source, fmt=fmt, default_library=library, encoding=encoding)


def import_marc(
    database: Database,
    source: str | Path | bytes | IO[bytes],
    *,
    library: str,
    fmt: Format = "auto",
    encoding: str | None = None,
    batch_size: int = 500,
    progress: Callable[[int], None] | None = None,
    parse_in_worker: bool | None = None,
) -> ImportReport:
    """Import one MARC file (ISO 2709, MARCXML or MarcXchange) as `library`'s records and holdings.

    Raises `NotFound` when the library is not in the directory and `MarcFormatError` when the file
    is not MARC at all; everything wrong inside the file is reported, never raised.

    `parse_in_worker` parses the file in a second process while this one writes (see
    `parse_worker`); None (the default) does so for files on disk of `WORKER_MIN_BYTES` or more,
    where it pays for the worker's start; bytes, open streams and non-POSIX systems parse here. The
    results are the same either way.
    """
    library = normalise_isil(library)
    with database.unit_of_work() as session:
        known = known_libraries(session)
    if library not in known:
        raise NotFound(f"library {library} is not in the directory", field="library")
    report = ImportReport()
    batch: list[tuple[ParsedRecord, tuple[Holding, ...]]] = []
    written: set[tuple[int, str]] = set()
    for result in _results(source, fmt, library, encoding, parse_in_worker):
        report.read += 1
        if isinstance(result, SkippedRecord):
            report.skipped.append((result.position, result.reason))
        else:
            prepared = _prepare(result, library, known, report)
            if prepared is not None:
                batch.append(prepared)
        if len(batch) >= batch_size:
            _flush_batch(database, batch, library, report, written)
            batch = []
        if progress is not None:
            progress(1)
    if batch:
        _flush_batch(database, batch, library, report, written)
    return report


# --- holdings feeds ---------------------------------------------------------------------------------


@dataclass
class HoldingsReport:
    """What a holdings feed did."""

    read: int = 0
    changed: int = 0
    unchanged: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)


_TRUE = {"1", "true", "yes", "ja", "y", "j", "t"}
_FALSE = {"0", "false", "no", "nej", "n", "f"}


def parse_holdings_feed(text: str, fmt: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """(line number, row) per feed line; the row is an error message when the line is malformed.

    `fmt` is "csv" (a header row with isil, identifier, copies, available, circulating) or "jsonl"
    (one JSON object a line).
    """
    if fmt == "csv":
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames or not {"isil", "identifier"} <= set(reader.fieldnames):
            raise DomainError("a holdings CSV needs a header row with at least 'isil' and 'identifier'")
        for row in reader:
            yield reader.line_num, dict(row)
        return
    if fmt == "jsonl":
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, f"not valid JSON: {exc.msg} at column {exc.colno}"
                continue
            yield number, data if isinstance(data, dict) else "not a JSON object"
        return
    raise DomainError(f"unknown holdings format {fmt!r}: use csv or jsonl", field="format")


def _int(row: dict[str, Any], name: str, default: int | None) -> int:
    value = row.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if default is None:
            raise DomainError(f"{name} is missing", field=name)
        return default
    if isinstance(value, bool):
        raise DomainError(f"{name} must be a whole number, not {value!r}", field=name)
    try:
        number = int(str(value).strip())
    except ValueError as exc:
        raise DomainError(f"{name} must be a whole number, not {str(value)[:40]!r}", field=name) from exc
    if not 0 <= number <= INT_MAX:
        # The column is a database Integer: a larger number would fail the whole batch.
        raise DomainError(f"{name} must be between 0 and {INT_MAX}", field=name)
    return number


def _bool(row: dict[str, Any], name: str) -> bool:
    value = row.get(name)
    if value is None or value == "":
        return True
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise DomainError(f"{name} must be true or false, not {value!r}", field=name)


def _resolve(session: Session, isil: str, identifier: str) -> int | None:
    scheme, sep, rest = identifier.partition(":")
    candidates: list[str] = []
    if sep and scheme.lower() in {"isbn", "issn", "oclc", "id"}:
        scheme = scheme.lower()
        try:
            if scheme == "isbn":
                candidates.append(f"isbn:{normalise_isbn(rest)}")
            elif scheme == "issn":
                candidates.append(f"issn:{normalise_issn(rest)}")
            elif scheme == "oclc":
                candidates.append(f"oclc:{normalise_oclc(rest)}")
            else:
                candidates.append(f"id:{rest}" if ":" in rest else f"id:{isil}:{rest}")
        except InvalidIdentifier:
            return None
    else:
        candidates.append(f"id:{isil}:{identifier}")
        for scheme, normalise in (("isbn", normalise_isbn), ("issn", normalise_issn)):
            with contextlib.suppress(InvalidIdentifier):
                candidates.append(f"{scheme}:{normalise(identifier)}")
    for key in candidates:
        pk = record_pk_by_identifier(session, key)
        if pk is not None:
            return pk
    # Another library's own id for the record (e.g. the national bibliography's FAUST number).
    by_source = session.scalars(
        select(RecordSourceRow.record_pk).where(RecordSourceRow.local_id == identifier).limit(2)
    ).all()
    if len(set(by_source)) == 1:
        return by_source[0]
    if identifier.isdigit() and len(identifier) < 10 and session.get(RecordRow, int(identifier)) is not None:
        return int(identifier)
    return None


def import_holdings(session: Session, rows: Iterable[tuple[int, dict[str, Any] | str]]) -> HoldingsReport:
    """Set holdings from feed rows (isil, identifier, copies, available, circulating).

    A row for an unknown library, an identifier no record has, or bad numbers is skipped and
    reported with its line number; the other rows are applied.
    """
    known = known_libraries(session)
    report = HoldingsReport()
    for line, row in rows:
        report.read += 1
        if isinstance(row, str):
            report.skipped.append((line, row))
            continue
        try:
            isil = normalise_isil(str(row.get("isil") or ""))
            if isil not in known:
                raise DomainError(f"library {isil} is not in the directory", field="isil")
            identifier = str(row.get("identifier") or "").strip()
            if not identifier:
                raise DomainError("identifier is missing", field="identifier")
            copies = _int(row, "copies", 1)
            holding = Holding(
                library_isil=isil,
                copies=copies,
                available=_int(row, "available", copies),
                circulating=_bool(row, "circulating"),
            )
            record_pk = _resolve(session, isil, identifier)
            if record_pk is None:
                raise DomainError(f"no record in the catalogue has the identifier {identifier!r}")
        except DomainError as exc:
            report.skipped.append((line, exc.message))
            continue
        if set_holding(session, record_pk, holding):
            report.changed += 1
        else:
            report.unchanged += 1
    return report
