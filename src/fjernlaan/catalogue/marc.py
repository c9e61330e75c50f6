"""Reading MARC files into catalogue records: ISO 2709, MARCXML and MarcXchange; MARC21 and danMARC2.

`read_marc` yields one `ParsedRecord` or `SkippedRecord` per record in the file, in order. A broken
record is reported with its position and a specific reason and the run goes on; only a file that is
not MARC at all raises `MarcFormatError`.

What the reader decides for itself, record by record (see the reference files' SOURCES.md for why):

* **Encoding of ISO 2709.** Leader/09 = "a" means UTF-8 (invalid UTF-8 is then a broken record).
  With a blank leader/09 the bytes decide: pure ASCII is ASCII (MARC-8 only if it has escape
  sequences), valid multi-byte UTF-8 is UTF-8 (mis-flagged exports are common), danMARC2 is
  Latin-1 (DBC's ISO files are, whatever leader/09 says), runs of Cyrillic letter bytes are
  Windows-1251, bytes that cannot occur in MARC-8 mean Latin-1, and anything else is MARC-8. MARC-8
  problems that pymarc only prints to stderr are caught and reported as warnings on the record.
  `encoding=` overrides the guess for files whose encoding is known.
* **Flavour.** danMARC2 when field 001 has subfields (001 *a record id, *b library); else MARC21.
* **Framing.** Records are cut at the record terminator (0x1D), not at the leader's length, so a
  wrong length costs one record, not the rest of the file. Padding after the last record (newlines,
  0x1A/0x19 end-of-file bytes) is not a record.
* **XML.** Only `record` elements in the MARCXML or MarcXchange namespace (or un-namespaced ones that
  carry MARC fields) are records: an OAI-PMH or DKABM `record` is not. The parser resolves no
  entities, loads no DTD and touches no network.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import re
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal, Protocol

import pymarc
from lxml import etree

from fjernlaan.catalogue.model import (
    Holding,
    InvalidIdentifier,
    Record,
    normalise_isbn,
    normalise_issn,
    normalise_oclc,
)
from fjernlaan.directory.model import MaterialType, normalise_isil
from fjernlaan.errors import DomainError

__all__ = [
    "Format",
    "MarcFormatError",
    "ParsedRecord",
    "SkippedRecord",
    "detect_format",
    "read_marc",
]

Format = Literal["auto", "marc", "marcxml", "marcxchange"]
DetectedFormat = Literal["marc", "marcxml", "marcxchange"]

MARC21_NS = "http://www.loc.gov/MARC21/slim"
MARCXCHANGE_NS = "info:lc/xmlns/marcxchange-v1"
# The namespace of the first, Danish MarcXchange drafts; still met in older DBC exports.
MARCXCHANGE_OLD_NS = "http://www.bs.dk/standards/MarcXchange"
_MARC_NAMESPACES = frozenset({MARC21_NS, MARCXCHANGE_NS, MARCXCHANGE_OLD_NS})

_RECORD_END = 0x1D
_FIELD_END = 0x1E
_SUBFIELD = "\x1f"
_PADDING = b" \t\r\n\x00\x1a\x19\x1d\x1e"
_READ_BLOCK = 1 << 20


class _PymarcLogCapture(logging.Filter):
    """Diverts pymarc's logged warnings ("missing indicators") into the current record's notes.

    pymarc logs them instead of raising; without a handler they end up on stderr with no record
    attached. Outside `read_marc` (no capture active in this thread) they pass through unchanged.
    """

    def __init__(self) -> None:
        super().__init__()
        self.local = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        target: list[str] | None = getattr(self.local, "notes", None)
        if target is None:
            return True
        target.append(record.getMessage())
        return False


_LOG_CAPTURE = _PymarcLogCapture()
logging.getLogger("pymarc").addFilter(_LOG_CAPTURE)


class MarcFormatError(ValueError):
    """The input is neither ISO 2709 nor MARCXML/MarcXchange (e.g. danMARC2 line format)."""


@dataclass(frozen=True, slots=True)
class ParsedRecord:
    """A record read from the file, with the holdings found in it.

    `flavour` is "marc21" or "danmarc2"; `encoding` the character set the bytes were read in
    ("utf-8", "marc-8", "ascii", "latin-1", "cp1251", or "xml"); `deleted` is true for a record
    the source marks as deleted (leader/05 "d", danMARC2 004 *r "d"), so the importer can withdraw
    it; `warnings` lists what was repaired or guessed on the way.
    """

    position: int
    record: Record
    holdings: tuple[Holding, ...]
    flavour: str = "marc21"
    encoding: str = "utf-8"
    deleted: bool = False
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SkippedRecord:
    """A record that could not be read: its 1-based position in the file and why.

    Position 0 stands for the file as a whole (an XML document with no MARC record in it).
    """

    position: int
    reason: str


# --- a light field model shared by the ISO 2709 and XML paths -------------------------------------


class _Field:
    """One MARC field: control fields have `data`, data fields have indicators and subfields."""

    __slots__ = ("data", "ind1", "ind2", "subfields", "tag")

    def __init__(
        self,
        tag: str,
        ind1: str = " ",
        ind2: str = " ",
        subfields: list[tuple[str, str]] | None = None,
        data: str | None = None,
    ) -> None:
        self.tag = tag
        self.ind1 = ind1
        self.ind2 = ind2
        self.subfields = subfields if subfields is not None else []
        self.data = data

    def values(self, codes: str) -> list[str]:
        return [value for code, value in self.subfields if code in codes]

    def first(self, codes: str) -> str | None:
        for code, value in self.subfields:
            if code in codes and value.strip():
                return value
        return None


class _Fields:
    """The fields of one record indexed by tag (built once per record)."""

    __slots__ = ("by_tag", "fields", "leader")

    def __init__(self, leader: str, fields: list[_Field]) -> None:
        self.leader = leader
        self.fields = fields
        by_tag: dict[str, list[_Field]] = {}
        for f in fields:
            by_tag.setdefault(f.tag, []).append(f)
        self.by_tag = by_tag

    def get(self, *tags: str) -> list[_Field]:
        if len(tags) == 1:
            return self.by_tag.get(tags[0], [])
        return [f for f in self.fields if f.tag in tags]

    def first(self, tag: str) -> _Field | None:
        found = self.by_tag.get(tag)
        return found[0] if found else None


# --- format detection -----------------------------------------------------------------------------


def detect_format(data: bytes) -> DetectedFormat:
    """Tell ISO 2709 ("marc") from MARCXML and MarcXchange by looking at the first bytes.

    Raises `MarcFormatError` for anything else (danMARC2 line format, JSON, an empty file).
    """
    head = data[:65536]
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    stripped = head.lstrip(_PADDING)
    if stripped[:1] == b"<":
        if MARCXCHANGE_NS.encode() in head or MARCXCHANGE_OLD_NS.encode() in head:
            return "marcxchange"
        return "marcxml"
    if len(stripped) >= 24 and stripped[:5].isdigit():
        return "marc"
    raise MarcFormatError(
        "not ISO 2709 (no 5-digit record length at the start) and not XML"
        + (f"; it starts with {stripped[:20]!r}" if stripped else "; it is empty")
    )


def read_marc(
    source: str | Path | bytes | IO[bytes],
    *,
    fmt: Format = "auto",
    default_library: str | None = None,
    encoding: str | None = None,
) -> Iterator[ParsedRecord | SkippedRecord]:
    """Read MARC records from a path, bytes or binary file, one result per record, in order.

    `default_library` (an ISIL) is the contributing library: the record's `source_library` when
    the record does not name one, the library of holdings fields that name none, and the holder
    of one copy when a record has no holdings fields at all. `encoding` forces the character set
    of ISO 2709 data ("utf-8", "marc-8", "latin-1", "cp1251", ...) instead of guessing per record.
    """
    library = normalise_isil(default_library) if default_library is not None else None
    if fmt not in ("auto", "marc", "marcxml", "marcxchange"):
        raise ValueError(f"unknown format {fmt!r}")
    stream, owned = _open(source)
    try:
        if fmt == "auto":
            head = stream.read(65536)
            fmt = detect_format(head)
            stream = _Prefixed(head, stream)
        if fmt == "marc":
            yield from _read_iso2709(stream, library, encoding)
        else:
            yield from _read_xml(stream, library)
    finally:
        if owned:
            stream.close()


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...

    def close(self) -> None: ...


def _open(source: str | Path | bytes | IO[bytes]) -> tuple[_Readable, bool]:
    if isinstance(source, bytes | bytearray | memoryview):
        return io.BytesIO(bytes(source)), True
    if isinstance(source, str | Path):
        return open(source, "rb"), True
    return source, False


class _Prefixed:
    """A stream that first gives back bytes already read for format detection."""

    def __init__(self, prefix: bytes, rest: _Readable) -> None:
        self._prefix = prefix
        self._rest = rest

    def read(self, size: int = -1, /) -> bytes:
        if size is None or size < 0:
            out = self._prefix + self._rest.read()
            self._prefix = b""
            return out
        if self._prefix:
            out, self._prefix = self._prefix[:size], self._prefix[size:]
            if len(out) < size:
                out += self._rest.read(size - len(out))
            return out
        return self._rest.read(size)

    def close(self) -> None:
        self._rest.close()


# --- ISO 2709 --------------------------------------------------------------------------------------


def _iso_chunks(stream: _Readable) -> Iterator[tuple[bytes, bool]]:
    """Cut the stream at record terminators. Yields (chunk, terminated); padding is dropped.

    The last chunk is unterminated when the file ends inside a record.
    """
    buf = b""
    eof = False
    start = 0
    while True:
        end = buf.find(b"\x1d", start)
        if end < 0 and not eof:
            block = stream.read(_READ_BLOCK)
            if block:
                buf = buf[start:] + block
                start = 0
                continue
            eof = True
            continue
        if end < 0:
            rest = buf[start:]
            if rest.strip(_PADDING):
                yield rest.lstrip(_PADDING), False
            return
        chunk = buf[start : end + 1]
        start = end + 1
        # Newlines between records, or a stray terminator: not a record.
        chunk = chunk.lstrip(_PADDING[:-2])
        if len(chunk) > 1:
            yield chunk, True


# MARC-8's G1 (ANSEL) never uses these bytes; finding one means the record is not MARC-8.
_NOT_ANSEL = re.compile(rb"[\x80-\xa0\xaf\xbb\xbe\xbf\xc9-\xdf\xfc\xfd\xff]")
# Three or more letter bytes in a row from 0xC0 up: Cyrillic words in Windows-1251. In MARC-8
# these are combining marks, at most two stacked before a base letter; in Latin-1 runs of three
# accented letters do not occur in real words.
_CYRILLIC_RUN = re.compile(rb"[\xc0-\xff]{3,}")


def _is_danmarc2_iso(chunk: bytes) -> bool:
    # danMARC2 keeps 001 as a data field: "00" indicators then subfields. Look it up in the
    # directory rather than parse the record.
    try:
        base = int(chunk[12:17])
    except ValueError:
        return False
    directory = chunk[24 : base - 1]
    for i in range(0, min(len(directory), 12 * 8), 12):
        if directory[i : i + 3] == b"001":
            try:
                length = int(directory[i + 3 : i + 7])
                offset = int(directory[i + 7 : i + 12])
            except ValueError:
                return False
            return b"\x1f" in chunk[base + offset : base + offset + length]
    return False


def _guess_encoding(chunk: bytes, danmarc2: bool) -> str:
    body = chunk[24:]
    if body.isascii():
        return "marc-8" if b"\x1b" in body else "ascii"
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8"
    if b"\x1b" in body:
        return "marc-8"
    if danmarc2:
        return "latin-1"
    if len(_CYRILLIC_RUN.findall(body)) >= 2:
        return "cp1251"
    if _NOT_ANSEL.search(body):
        return "latin-1"
    return "marc-8"


def _directory_matches(chunk: bytes) -> bool:
    """True when every directory entry points at a field that ends with a field terminator."""
    try:
        base = int(chunk[12:17])
        directory = chunk[24 : base - 1]
        if len(directory) % 12 or chunk[base - 1] != _FIELD_END:
            return False
        for i in range(0, len(directory), 12):
            length = int(directory[i + 3 : i + 7])
            offset = int(directory[i + 7 : i + 12])
            end = base + offset + length
            if length < 1 or end > len(chunk) or chunk[end - 1] != _FIELD_END:
                return False
    except (ValueError, IndexError):
        return False
    return True


def _read_iso2709(
    stream: _Readable, library: str | None, forced_encoding: str | None
) -> Iterator[ParsedRecord | SkippedRecord]:
    forced = _pymarc_encoding(forced_encoding) if forced_encoding else None
    position = 0
    for chunk, terminated in _iso_chunks(stream):
        position += 1
        prefix = f"record {position}"
        head = chunk[:5]
        if not head.isdigit():
            yield SkippedRecord(position, f"{prefix}: record length {head!r} is not five digits")
            continue
        declared = int(head)
        notes: list[str] = []
        if not terminated:
            yield SkippedRecord(
                position,
                f"{prefix}: leader length {head.decode()} but {len(chunk):05d} bytes read "
                "(the file ends inside the record)",
            )
            continue
        if declared != len(chunk):
            # The length in the leader is wrong; the record may still be whole if its directory
            # lines up with the field terminators (marc4j reads such records too).
            if len(chunk) < 24 or not _directory_matches(chunk):
                yield SkippedRecord(
                    position,
                    f"{prefix}: leader length {head.decode()} but {len(chunk):05d} bytes read "
                    "up to the record terminator, and the directory does not match the data",
                )
                continue
            notes.append(f"leader length {head.decode()} but the record is {len(chunk)} bytes; read anyway")
        if len(chunk) < 25:
            yield SkippedRecord(position, f"{prefix}: only {len(chunk)} bytes, shorter than a leader")
            continue
        danmarc2 = _is_danmarc2_iso(chunk)
        leader09 = chunk[9:10]
        if forced is not None:
            label, force_utf8, file_encoding = forced
        elif leader09 == b"a":
            label, force_utf8, file_encoding = "utf-8", True, "utf-8"
        else:
            label = _guess_encoding(chunk, danmarc2)
            label, force_utf8, file_encoding = _pymarc_encoding(label)
        fields = _plain_utf8_fields(chunk) if force_utf8 and not danmarc2 else None
        if fields is not None:
            escape = _plain_needs_escaping(chunk, fields)
            yield _build(position, fields, danmarc2, label, library, notes, chunk=chunk, escape=escape)
            continue
        try:
            marc, captured = _decode(chunk, force_utf8, file_encoding, label == "marc-8")
        except UnicodeDecodeError as err:
            bad = err.object[err.start : err.start + 4] if isinstance(err.object, bytes) else b""
            if err.encoding == "ascii":
                why = f"the leader or directory has non-ASCII bytes {bad!r}"
            else:
                why = f"not valid {label.upper()} ({err.reason}, bytes {bad!r})"
            yield SkippedRecord(position, f"{prefix}: {why}")
            continue
        except (pymarc.exceptions.PymarcException, ValueError, IndexError) as err:
            yield SkippedRecord(position, f"{prefix}: {_describe(err)}")
            continue
        notes.extend(captured)
        try:
            fields = _from_pymarc(marc, danmarc2)
        except _BrokenRecordError as err:
            yield SkippedRecord(position, f"{prefix}: {err}")
            continue
        yield _build(position, fields, danmarc2, label, library, notes, chunk=chunk)


def _plain_utf8_fields(chunk: bytes) -> _Fields | None:
    """The fields of a well-formed UTF-8 MARC21 record, read without pymarc; None for anything else.

    Most records of a big UTF-8 file are plain: a sound leader and directory, two ASCII indicators
    per data field, ASCII subfield codes, valid UTF-8. For those this gives exactly what
    `pymarc.Record` + `_from_pymarc` give (a test compares both over the reference files) at a
    fraction of the cost, since no pymarc objects are built only to be copied. Anything pymarc would
    warn about, repair or refuse returns None, and the record takes the pymarc path with its notes
    and reasons.
    """
    try:
        leader = chunk[:24].decode("ascii")
        base = int(chunk[12:17])
        if base <= 0 or base >= len(chunk) or len(chunk) < int(leader[:5]):
            return None
        directory = chunk[24 : base - 1].decode("ascii")
        if not directory or len(directory) % 12:
            return None
        fields: list[_Field] = []
        if chunk.isascii():
            # Byte offsets are character offsets: decode once, slice and split text.
            return _plain_ascii_fields(leader, chunk.decode("ascii"), base, directory)
        for start in range(0, len(directory), 12):
            tag = directory[start : start + 3]
            offset = base + int(directory[start + 7 : start + 12])
            data = chunk[offset : offset + int(directory[start + 3 : start + 7]) - 1]
            if tag < "010" and tag.isdigit():
                fields.append(_Field(tag, data=data.decode("utf-8")))
                continue
            head, *parts = data.split(b"\x1f")
            if len(head) != 2 or not head.isascii():
                return None
            subfields: list[tuple[str, str]] = []
            for part in parts:
                if not part:
                    continue
                if part[0] >= 0x80:
                    return None
                subfields.append((chr(part[0]), part[1:].decode("utf-8")))
            fields.append(_Field(tag, chr(head[0]), chr(head[1]), subfields))
    except ValueError:  # a number that is not one, or bytes that are not ASCII/UTF-8
        return None
    return _Fields(leader, fields)


def _plain_ascii_fields(leader: str, text: str, base: int, directory: str) -> _Fields | None:
    # `_plain_utf8_fields` for a record that is all ASCII (raises ValueError like it on bad numbers).
    fields: list[_Field] = []
    for start in range(0, len(directory), 12):
        tag = directory[start : start + 3]
        offset = base + int(directory[start + 7 : start + 12])
        data = text[offset : offset + int(directory[start + 3 : start + 7]) - 1]
        if tag < "010" and tag.isdigit():
            fields.append(_Field(tag, data=data))
            continue
        head, *parts = data.split(_SUBFIELD)
        if len(head) != 2:
            return None
        fields.append(_Field(tag, head[0], head[1], [(part[0], part[1:]) for part in parts if part]))
    return _Fields(leader, fields)


def _pymarc_encoding(label: str) -> tuple[str, bool, str]:
    """Our encoding label -> (label, force_utf8, pymarc file_encoding)."""
    name = label.lower().replace("_", "-")
    if name in ("utf-8", "utf8"):
        return "utf-8", True, "utf-8"
    if name in ("marc-8", "marc8"):
        # pymarc reads its *default* "iso8859-1" as "decode MARC-8" (the trap in SOURCES.md).
        return "marc-8", False, "iso8859-1"
    if name in ("latin-1", "latin1", "iso-8859-1", "iso8859-1"):
        return "latin-1", False, "latin-1"
    return name, False, name


def _decode(
    chunk: bytes, force_utf8: bool, file_encoding: str, marc8: bool
) -> tuple[pymarc.Record, list[str]]:
    """Parse one record with pymarc, catching what it prints or warns instead of raising."""
    notes: list[str] = []
    _LOG_CAPTURE.local.notes = notes
    try:
        if not marc8:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                record = pymarc.Record(
                    chunk, force_utf8=force_utf8, file_encoding=file_encoding, utf8_handling="strict"
                )
            notes.extend(str(w.message) for w in caught)
            return record, notes
        # pymarc's MARC-8 decoder writes "Unable to parse character ..." to stderr and substitutes
        # a blank; capture it so the problem is reported with the record instead of lost. (stderr
        # is process-wide: run big imports in a worker, not in a web request thread.)
        err = io.StringIO()
        with contextlib.redirect_stderr(err), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            record = pymarc.Record(chunk, force_utf8=False, file_encoding=file_encoding)
        notes.extend(str(w.message) for w in caught)
    finally:
        _LOG_CAPTURE.local.notes = None
    lines = [line for line in err.getvalue().splitlines() if line.strip()]
    if lines:
        notes.append(f"MARC-8: {len(lines)} character(s) could not be decoded ({lines[0]})")
    return record, notes


_REASONS: dict[str, str] = {
    "RecordLeaderInvalid": "the leader is not 24 ASCII characters",
    "BaseAddressNotFound": "the leader has no base address of data",
    "BaseAddressInvalid": "the base address of data lies outside the record",
    "RecordDirectoryInvalid": "the directory is not a whole number of 12-byte entries",
    "NoFieldsFound": "the record has no fields",
    "TruncatedRecord": "the record is shorter than its leader says",
    "EndOfRecordNotFound": "no record terminator where the leader says the record ends",
}


def _describe(err: Exception) -> str:
    name = type(err).__name__
    if name in _REASONS:
        return _REASONS[name]
    if isinstance(err, ValueError):
        return f"a number in the leader or directory is not a number ({err})"
    return f"{name}: {err}"


class _BrokenRecordError(Exception):
    """The record parsed but its content is unusable; the message says why."""


# DBC's danMARC2 ISO 2709 uses the line format's escapes: "@@" is "@", "@*" is "*", and "@" with
# four hex digits is a character outside Latin-1 ("@0131" is "ı").
_DM2_ESCAPE = re.compile(r"@([0-9A-Fa-f]{4}|[@*]|.|$)", re.DOTALL)


def _dm2_unescape(tag: str, value: str) -> str:
    if "@" not in value:
        return value

    def one(match: re.Match[str]) -> str:
        body = match.group(1)
        if len(body) == 4:
            return chr(int(body, 16))
        if body in ("@", "*"):
            return body
        raise _BrokenRecordError(
            f"field {tag} has an invalid danMARC2 escape {match.group(0)!r} in {value[:40]!r}"
        )

    return _DM2_ESCAPE.sub(one, value)


def _from_pymarc(marc: pymarc.Record, danmarc2: bool) -> _Fields:
    fields: list[_Field] = []
    for f in marc.fields:
        if f.is_control_field():
            data = f.data or ""
            if danmarc2 and _SUBFIELD in data:
                # danMARC2's 001-009 are data fields; pymarc took them for control fields.
                head, *parts = data.split(_SUBFIELD)
                head = (head + "  ")[:2]
                subs = [(p[0], _dm2_unescape(f.tag, p[1:])) for p in parts if p]
                fields.append(_Field(f.tag, head[0], head[1], subs))
            else:
                fields.append(_Field(f.tag, data=data))
        else:
            ind = f.indicators
            if danmarc2:
                subs = [(s.code, _dm2_unescape(f.tag, s.value)) for s in f.subfields]
            else:
                subs = [(s.code, s.value) for s in f.subfields]
            fields.append(
                _Field(f.tag, ind[0] if ind else " ", ind[1] if ind and len(ind) > 1 else " ", subs)
            )
    return _Fields(str(marc.leader), fields)


# --- MARCXML / MarcXchange -------------------------------------------------------------------------


def _local(tag: object) -> tuple[str, str]:
    if not isinstance(tag, str):
        return "", ""
    if tag[:1] == "{":
        ns, _, name = tag[1:].partition("}")
        return ns, name
    return "", tag


def _read_xml(stream: _Readable, library: str | None) -> Iterator[ParsedRecord | SkippedRecord]:
    parser_events = etree.iterparse(
        stream,
        events=("end",),
        tag="{*}record",
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        remove_comments=True,
        remove_pis=True,
    )
    position = 0
    foreign: dict[str, int] = {}
    try:
        for _event, element in parser_events:
            ns, _ = _local(element.tag)
            has_marc_children = any(
                _local(child.tag)[1] in ("leader", "controlfield", "datafield") for child in element
            )
            if ns not in _MARC_NAMESPACES and not (ns == "" and has_marc_children):
                # An OAI-PMH, DKABM or other `record`: not ours. It may wrap a MARC record that
                # we have already read; the first descendant tells.
                if not any(_local(d.tag)[0] in _MARC_NAMESPACES for d in element.iterdescendants()):
                    foreign[ns] = foreign.get(ns, 0) + 1
                continue
            position += 1
            yield _xml_record(position, element, library)
            _release(element)
    except etree.XMLSyntaxError as err:
        yield SkippedRecord(position + 1, f"record {position + 1}: the XML is not well-formed ({err})")
        return
    if position == 0:
        found = ", ".join(f"{n} in namespace {ns or '(none)'}" for ns, n in foreign.items())
        yield SkippedRecord(
            0,
            "no MARCXML or MarcXchange record in the document"
            + (f"; found <record> elements that are not MARC: {found}" if found else ""),
        )


def _release(element: etree._Element) -> None:
    # Keep memory flat on big collections: drop the record's content and earlier siblings, but
    # leave the (empty) element so an enclosing OAI `record` can still see it wrapped MARC.
    element.clear()
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def _xml_record(position: int, element: etree._Element, library: str | None) -> ParsedRecord | SkippedRecord:
    prefix = f"record {position}"
    leader = ""
    fields: list[_Field] = []
    notes: list[str] = []
    danmarc2 = (element.get("format") or "").lower() == "danmarc2"
    for child in element:
        _, name = _local(child.tag)
        if name == "leader":
            leader = child.text or ""
        elif name == "controlfield":
            fields.append(_Field(child.get("tag") or "", data=child.text or ""))
        elif name == "datafield":
            subs: list[tuple[str, str]] = []
            for sub in child:
                if _local(sub.tag)[1] != "subfield":
                    continue
                code = sub.get("code")
                if not code:
                    notes.append(
                        f"field {child.get('tag')}: a subfield without a code was left out "
                        f"({(sub.text or '')[:40]!r})"
                    )
                    continue
                subs.append((code, sub.text or ""))
            tag = child.get("tag") or ""
            fields.append(_Field(tag, child.get("ind1") or " ", child.get("ind2") or " ", subs))
            if tag == "001":
                danmarc2 = True
    if not fields:
        return SkippedRecord(
            position,
            f"{prefix}: empty <record> element (no {'fields' if leader else 'leader and no fields'})",
        )
    source = etree.tostring(element, encoding="unicode", with_tail=False)
    return _build(position, _Fields(leader, fields), danmarc2, "xml", library, notes, marcxml=source)


# --- mapping onto Record ---------------------------------------------------------------------------

_TRAILING = re.compile(r"[\s/:;,=]+$")
_YEAR = re.compile(r"(?<!\d)(1[0-9]{3}|20[0-9]{2})(?!\d)")
_LANG = re.compile(r"^[a-z]{3}$")
_SPACED_DIGITS = re.compile(r"^\d[\d ]*\d$")
_NON_CIRCULATING = re.compile(
    r"udl[åa]+nes\s+ikke|ikke\s+til\s+(?:hjem)?l[åa]+n|kun\s+til\s+l[æa]e?sesal|pr[æa]e?sens|"
    r"non[-\s]?circulating|not\s+for\s+loan|library\s+use\s+only|in[-\s]library\s+use|reference\s+only",
    re.IGNORECASE,
)


def _clean(text: str | None) -> str | None:
    """Drop ISBD punctuation at the end, danMARC2's sort mark ¤, and surrounding blanks."""
    if text is None:
        return None
    text = _TRAILING.sub("", text.replace("¤", "")).strip()
    # A final full stop is punctuation unless it ends an initial ("Andersen, H.C.").
    if text.endswith(".") and not re.search(r"(?:^|[\s.])\w\.$", text) and not text.endswith("..."):
        text = text[:-1].rstrip()
    return text or None


def _isil_from(code: str | None) -> str | None:
    if not code:
        return None
    code = code.strip()
    if code.isdigit() and len(code) == 6:
        return f"DK-{code}"
    try:
        return normalise_isil(code)
    except DomainError:
        return None


def _identifiers(
    values: Iterable[str], normalise: Callable[[str], str], notes: list[str], label: str
) -> tuple[str, ...]:
    out: list[str] = []
    for value in values:
        try:
            norm = normalise(value)
        except InvalidIdentifier as err:
            notes.append(f"{label}: {err.message}; left out")
            continue
        if norm not in out:
            out.append(norm)
    return tuple(out)


def _marc21_material(leader: str, f008: str | None) -> MaterialType:
    kind = leader[6:7]
    level = leader[7:8]
    if kind in ("a", "t"):
        if level in ("b", "i", "s"):
            return MaterialType.JOURNAL
        if level in ("a",):
            return MaterialType.ARTICLE
        return MaterialType.BOOK
    if kind in ("c", "d"):
        return MaterialType.SHEET_MUSIC
    if kind in ("e", "f"):
        return MaterialType.MAP
    if kind == "g":
        return MaterialType.FILM
    if kind == "i":
        return MaterialType.AUDIOBOOK
    if kind == "j":
        return MaterialType.MUSIC
    if kind == "m":
        return MaterialType.GAME if f008 and f008[26:27] == "g" else MaterialType.OTHER
    if kind in ("k", "o", "p", "r", "z", "u", "v", "x", "y", "q"):
        return MaterialType.OTHER
    return MaterialType.BOOK


# danMARC2 009 *a (general material designation) -> our material type.
_DANMARC2_009A = {
    "a": MaterialType.BOOK,
    "b": MaterialType.BOOK,
    "c": MaterialType.SHEET_MUSIC,
    "d": MaterialType.SHEET_MUSIC,
    "e": MaterialType.MAP,
    "f": MaterialType.MAP,
    "g": MaterialType.OTHER,
    "m": MaterialType.FILM,
    "p": MaterialType.BOOK,
    "r": MaterialType.AUDIOBOOK,
    "s": MaterialType.MUSIC,
    "t": MaterialType.OTHER,
    "u": MaterialType.OTHER,
    "v": MaterialType.OTHER,
}


def _build(
    position: int,
    fields: _Fields,
    danmarc2: bool,
    encoding: str,
    library: str | None,
    notes: list[str],
    *,
    chunk: bytes | None = None,
    marcxml: str | None = None,
    escape: bool | None = None,
) -> ParsedRecord | SkippedRecord:
    try:
        if danmarc2:
            record, holdings, deleted = _map_danmarc2(fields, library, notes)
        else:
            record, holdings, deleted = _map_marc21(fields, library, notes, chunk)
        if marcxml is None:
            marcxml = _to_xml(fields, danmarc2, escape)
        record = _with_xml(record, marcxml)
    except DomainError as err:
        return SkippedRecord(position, f"record {position}: {err.message}")
    return ParsedRecord(
        position=position,
        record=record,
        holdings=holdings,
        flavour="danmarc2" if danmarc2 else "marc21",
        encoding=encoding,
        deleted=deleted,
        warnings=tuple(notes),
    )


def _with_xml(record: Record, marcxml: str) -> Record:
    # Record is frozen; building it once more just to add the XML would redo its validation.
    object.__setattr__(record, "marcxml", marcxml)
    return record


def _map_marc21(
    f: _Fields, library: str | None, notes: list[str], chunk: bytes | None
) -> tuple[Record, tuple[Holding, ...], bool]:
    leader = f.leader
    control_001 = f.first("001")
    record_id = (control_001.data or "").strip() if control_001 and control_001.data else ""
    if not record_id:
        system = [v.strip() for fld in f.get("035") for v in fld.values("a") if v.strip()]
        if system:
            record_id = system[0]
            notes.append(f"no 001; record id taken from 035 $a ({record_id})")
        else:
            basis = (
                chunk
                if chunk is not None
                else repr([(x.tag, x.data, x.subfields) for x in f.fields]).encode()
            )
            record_id = "sha1:" + hashlib.sha1(basis, usedforsecurity=False).hexdigest()[:20]
            notes.append(f"no 001 or 035; record id derived from the record's content ({record_id})")
    f008_field = f.first("008")
    f008 = f008_field.data if f008_field is not None and f008_field.data else ""

    title = subtitle = None
    f245 = f.first("245")
    if f245 is not None:
        title = _clean(" ".join(v for v in f245.values("anp") if v.strip())) if f245.values("anp") else None
        subtitle = _clean(f245.first("b"))

    creators: list[str] = []
    for fld in f.get("100", "110", "111", "700", "710", "711"):
        name = _clean(fld.first("a"))
        if name and name not in creators:
            creators.append(name)

    subjects: list[str] = []
    for fld in f.get("600", "610", "611", "630", "650", "651", "653", "655"):
        parts = [_clean(v) for v in fld.values("abcdvxyz")]
        text = " -- ".join(p for p in parts if p)
        if text and text not in subjects:
            subjects.append(text)

    year: int | None = None
    if f008[6:7] not in ("n", "b", "|") and f008[7:11].isdigit():
        year = int(f008[7:11])
    if year is None or not 1000 <= year <= 2100:
        year = None
        for fld in f.get("264", "260"):
            match = _YEAR.search(" ".join(fld.values("c")))
            if match:
                year = int(match.group(1))
                break

    publisher = None
    for fld in f.get("264", "260"):
        if fld.tag == "264" and fld.ind2 not in ("1", " "):
            continue
        publisher = _clean(fld.first("b"))
        if publisher:
            break

    language = f008[35:38].lower() if len(f008) >= 38 else ""
    if not _LANG.match(language) or language in ("xxx",):
        language = ""
        for fld in f.get("041"):
            code = (fld.first("a") or "")[:3].lower()
            if _LANG.match(code):
                language = code
                break

    isbns = _identifiers((v for fld in f.get("020") for v in fld.values("a")), normalise_isbn, notes, "020")
    issns = _identifiers((v for fld in f.get("022") for v in fld.values("a")), normalise_issn, notes, "022")
    oclc_raw = [v for fld in f.get("035") for v in fld.values("a") if v.strip().upper().startswith("(OCOLC)")]
    oclc = _identifiers(oclc_raw, normalise_oclc, notes, "035")
    f003 = f.first("003")
    if f003 is not None and (f003.data or "").strip().upper() == "OCOLC":
        # OCLC's own records carry the OCLC number in 001 (VIAF's carry "viaf…": not one).
        with contextlib.suppress(InvalidIdentifier):
            number = normalise_oclc(record_id)
            if number not in oclc:
                oclc = (number, *oclc)

    record = Record(
        record_id=record_id,
        source_library=library,
        title=title or "",
        subtitle=subtitle,
        creators=tuple(creators),
        subjects=tuple(subjects),
        year=year,
        publisher=publisher,
        language=language or None,
        material_type=_marc21_material(leader, f008),
        isbns=isbns,
        issns=issns,
        oclc_numbers=oclc,
    )
    holdings = _marc21_holdings(f, library, notes)
    return record, holdings, leader[5:6] == "d"


def _marc21_holdings(f: _Fields, library: str | None, notes: list[str]) -> tuple[Holding, ...]:
    copies: dict[tuple[str, bool], list[str | None]] = {}
    seen_fields = False
    unknown: list[str] = []
    for fld in f.get("852"):
        seen_fields = True
        code = fld.first("a")
        isil = _isil_from(code) if code else library
        if isil is None:
            unknown.append(repr(code) if code else "852 without $a")
            continue
        shelf = " ".join(v.strip() for v in fld.values("khim") if v.strip()) or fld.first("j")
        notes_text = " ".join(fld.values("zx"))
        circulating = not _NON_CIRCULATING.search(notes_text)
        copies.setdefault((isil, circulating), []).append(shelf)
    for fld in f.get("949"):
        seen_fields = True
        # 949 is a local item field with no agreed layout; it belongs to the contributing library.
        if library is None:
            unknown.append("949 item field")
            continue
        circulating = not _NON_CIRCULATING.search(" ".join(v for _, v in fld.subfields))
        copies.setdefault((library, circulating), []).append(fld.first("a"))
    if unknown:
        shown = ", ".join(dict.fromkeys(unknown[:3]))
        notes.append(
            f"{len(unknown)} holding field(s) name no library known by ISIL and no default library "
            f"was given ({shown}); left out"
        )
    return _holdings(copies, library, seen_fields)


def _holdings(
    copies: dict[tuple[str, bool], list[str | None]], library: str | None, seen_fields: bool
) -> tuple[Holding, ...]:
    if not copies and not seen_fields and library is not None:
        # A library sending its own catalogue holds what it sends; the count is not known.
        return (Holding(library_isil=library),)
    out: list[Holding] = []
    for (isil, circulating), shelves in copies.items():
        shelf = next((s for s in shelves if s), None)
        n = len(shelves)
        out.append(
            Holding(library_isil=isil, copies=n, available=n, circulating=circulating, shelf_mark=shelf)
        )
    return tuple(out)


def _map_danmarc2(
    f: _Fields, library: str | None, notes: list[str]
) -> tuple[Record, tuple[Holding, ...], bool]:
    f001 = f.first("001")
    record_id = (f001.first("a") or "").strip() if f001 else ""
    if _SPACED_DIGITS.match(record_id):
        # FAUST numbers are often written in groups ("2 952 624 9"); the id is the digits.
        record_id = record_id.replace(" ", "")
    if not record_id:
        raise DomainError("danMARC2 record without a record id in 001 *a")
    agency = (f001.first("b") or "").strip() if f001 else ""
    source = _isil_from(agency) or library

    f008 = f.first("008")
    f245 = f.first("245")
    title = _clean(f245.first("a")) if f245 else None
    if title is None and f245 is not None:
        # Volume records carry the volume designation in 245 *g and the title in the head record.
        title = _clean(" ".join(f245.values("gø")))
    subtitle = _clean(" : ".join(v for v in f245.values("c") if v.strip())) if f245 else None

    creators: list[str] = []
    for fld in f.get("100", "110", "700", "710"):
        surname = fld.first("a")
        forename = fld.first("h")
        name = _clean(f"{surname}, {forename}" if surname and forename else surname or forename)
        if name and name not in creators:
            creators.append(name)

    subjects: list[str] = []
    for fld in f.get("600", "610", "630", "631", "633", "634", "645", "666"):
        if fld.tag == "600":
            parts = [p for p in (fld.first("a"), fld.first("h")) if p]
            text = _clean(", ".join(parts)) if parts else None
            values: list[str | None] = [text]
        else:
            values = [_clean(v) for code, v in fld.subfields if code.isalpha()]
        for v in values:
            if v and v not in subjects:
                subjects.append(v)

    year: int | None = None
    year_text = (f008.first("a") or "") if f008 else ""
    if year_text[:4].isdigit() and 1000 <= int(year_text[:4]) <= 2100:
        year = int(year_text[:4])
    else:
        for fld in f.get("260"):
            match = _YEAR.search(" ".join(fld.values("c")))
            if match:
                year = int(match.group(1))
                break

    publisher = None
    for fld in f.get("260"):
        publisher = _clean(fld.first("b"))
        if publisher:
            break

    language = ((f008.first("l") or "") if f008 else "").strip().lower()
    if not _LANG.match(language):
        f041 = f.first("041")
        language = ((f041.first("a") or "") if f041 else "")[:3].lower()
    if not _LANG.match(language):
        language = ""

    material = MaterialType.BOOK
    f009 = f.first("009")
    kind = (f008.first("t") or "") if f008 else ""
    general = (f009.first("a") or "").strip() if f009 else ""
    if kind == "p":
        material = MaterialType.JOURNAL
    elif kind == "a":
        material = MaterialType.ARTICLE
    elif general in _DANMARC2_009A:
        material = _DANMARC2_009A[general]

    isbns = _identifiers(
        (v for fld in f.get("021") for code, v in fld.subfields if code in "ae"), normalise_isbn, notes, "021"
    )
    issns = _identifiers((v for fld in f.get("022") for v in fld.values("a")), normalise_issn, notes, "022")
    oclc_raw = [v for fld in f.get("035") for v in fld.values("a") if v.strip().upper().startswith("(OCOLC)")]
    if agency.lower() == "worldcat" and record_id.lower().startswith(("ocm", "ocn", "on")):
        oclc_raw.insert(0, record_id)
    oclc = _identifiers(oclc_raw, normalise_oclc, notes, "035")

    record = Record(
        record_id=record_id,
        source_library=source,
        title=title or "",
        subtitle=subtitle,
        creators=tuple(creators),
        subjects=tuple(subjects),
        year=year,
        publisher=publisher,
        language=language or None,
        material_type=material,
        isbns=isbns,
        issns=issns,
        oclc_numbers=oclc,
    )

    copies: dict[tuple[str, bool], list[str | None]] = {}
    seen_fields = False
    for fld in f.get("096"):
        seen_fields = True
        code = fld.first("z")
        isil = _isil_from(code) if code else library
        if isil is None:
            notes.append(f"096: library {code!r} is not a library number or ISIL; left out")
            continue
        circulating = not _NON_CIRCULATING.search(" ".join(fld.values("u")))
        shelf = " ".join(v.strip() for v in fld.values("ab") if v.strip()) or None
        copies.setdefault((isil, circulating), []).append(shelf)
    holdings = _holdings(copies, library, seen_fields)
    f004 = f.first("004")
    deleted = bool(f004 and (f004.first("r") or "") == "d")
    return record, holdings, deleted


# --- serialising to MARCXML ------------------------------------------------------------------------

# Characters XML 1.0 cannot carry (left over from broken MARC-8 escapes and the like).
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


_XML_SPECIAL = re.compile('[&<>"\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]')


def _esc(text: str) -> str:
    # Most values need no escaping; one regex scan is much cheaper than four replaces.
    if _XML_SPECIAL.search(text) is None:
        return text
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    return _XML_ILLEGAL.sub("\ufffd", text)


def _needs_escaping(f: _Fields) -> bool:
    # One scan over all values: most records need no escaping at all.
    texts = [f.leader]
    for fld in f.fields:
        texts.append(fld.tag)
        if fld.data is not None:
            texts.append(fld.data)
        else:
            texts.append(fld.ind1 + fld.ind2)
            texts.extend(code + value for code, value in fld.subfields)
    return _XML_SPECIAL.search("\n".join(texts)) is not None


# What makes a plain UTF-8 record's values need escaping, seen in its bytes: XML's specials, control
# bytes other than MARC's three separators, and U+FFFE/U+FFFF. A separator inside a value is caught
# by counting field terminators instead.
_XML_SPECIAL_BYTES = re.compile(b'[&<>"\x00-\x08\x0b\x0c\x0e-\x1c]|\xef\xbf[\xbe\xbf]')


def _plain_needs_escaping(chunk: bytes, fields: _Fields) -> bool:
    return _XML_SPECIAL_BYTES.search(chunk) is not None or chunk.count(b"\x1e") != len(fields.fields) + 1


def _to_xml(f: _Fields, danmarc2: bool, escape: bool | None = None) -> str:
    """Serialise as MARCXML (MARC21) or MarcXchange (danMARC2, whose 001-009 are data fields).

    `escape` says whether any value needs XML escaping, when the caller knows; None scans the values.
    """
    if danmarc2:
        head = f'<record xmlns="{MARCXCHANGE_NS}" format="danMARC2" type="Bibliographic">'
    else:
        head = f'<record xmlns="{MARC21_NS}">'
    if escape is None:
        escape = _needs_escaping(f)
    if not escape:
        parts = [head, f"<leader>{f.leader}</leader>"]
        for fld in f.fields:
            if fld.data is not None:
                parts.append(f'<controlfield tag="{fld.tag}">{fld.data}</controlfield>')
                continue
            parts.append(f'<datafield tag="{fld.tag}" ind1="{fld.ind1}" ind2="{fld.ind2}">')
            parts.extend([f'<subfield code="{code}">{value}</subfield>' for code, value in fld.subfields])
            parts.append("</datafield>")
        parts.append("</record>")
        return "".join(parts)
    esc = _esc
    parts = [head, f"<leader>{esc(f.leader)}</leader>"]
    for fld in f.fields:
        tag = esc(fld.tag)
        if fld.data is not None:
            parts.append(f'<controlfield tag="{tag}">{esc(fld.data)}</controlfield>')
            continue
        parts.append(f'<datafield tag="{tag}" ind1="{esc(fld.ind1)}" ind2="{esc(fld.ind2)}">')
        for code, value in fld.subfields:
            parts.append(f'<subfield code="{esc(code)}">{esc(value)}</subfield>')
        parts.append("</datafield>")
    parts.append("</record>")
    return "".join(parts)
