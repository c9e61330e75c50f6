"""The pymarc-free reading of plain UTF-8 records gives what pymarc gives, on every real file.

The importer reads well-formed UTF-8 MARC21 records without pymarc (`marc._plain_utf8_fields`),
for speed; this checks it against the pymarc path record by record over ../shared/reference/marc,
and that anything unusual is left to pymarc.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fjernlaan.catalogue import marc

REPO_ROOT = Path(__file__).resolve().parents[3]


def _reference_files() -> list[Path]:
    for base in (REPO_ROOT.parent, REPO_ROOT.parent.parent):
        folder = base / "shared" / "reference" / "marc"
        if folder.is_dir():
            iso2709 = {".mrc", ".marc", ".iso", ".dat"}
            return sorted(p for p in folder.iterdir() if p.suffix.lower() in iso2709)
    return []


FILES = _reference_files()


def _shape(fields: marc._Fields) -> tuple[object, ...]:
    return (
        fields.leader,
        [(f.tag, f.ind1, f.ind2, f.data, f.subfields) for f in fields.fields],
    )


def _via_pymarc(chunk: bytes) -> marc._Fields | None:
    try:
        record, notes = marc._decode(chunk, True, "utf-8", False)
    except (ValueError, IndexError, marc.pymarc.exceptions.PymarcException):
        return None
    assert notes == [], "a record pymarc warns about must not take the plain path"
    return marc._from_pymarc(record, danmarc2=False)


@pytest.mark.skipif(not FILES, reason="../shared/reference/marc is not present")
def test_plain_utf8_records_read_the_same_as_with_pymarc() -> None:
    compared = 0
    for path in FILES:
        with path.open("rb") as stream:
            for chunk, terminated in marc._iso_chunks(stream):
                if not terminated or marc._is_danmarc2_iso(chunk):
                    continue
                plain = marc._plain_utf8_fields(chunk)
                if plain is None:
                    continue
                reference = _via_pymarc(chunk)
                assert reference is not None, f"{path.name}: pymarc refuses a record read as plain"
                assert _shape(plain) == _shape(reference), path.name
                escape = marc._plain_needs_escaping(chunk, plain)
                assert marc._to_xml(plain, False, escape) == marc._to_xml(reference, False), path.name
                compared += 1
    assert compared > 1000  # the UTF-8 files are many thousands of records


def _record(*fields: bytes, leader09: bytes = b"a") -> bytes:
    directory = b""
    data = b""
    for n, body in enumerate(fields):
        tag = b"001" if n == 0 else b"245"
        directory += tag + b"%04d%05d" % (len(body) + 1, len(data))
        data += body + b"\x1e"
    base = 24 + len(directory) + 1
    total = base + len(data) + 1
    leader = b"%05dnam " % total + leader09 + b"22%05d   4500" % base
    return leader + directory + b"\x1e" + data + b"\x1d"


def test_a_plain_record_is_read_without_pymarc() -> None:
    fields = marc._plain_utf8_fields(_record(b"id1", "10\x1faÅrhus\x1fbguide".encode()))
    assert fields is not None
    assert (fields.fields[0].tag, fields.fields[0].data) == ("001", "id1")
    assert fields.fields[1].subfields == [("a", "Århus"), ("b", "guide")]


@pytest.mark.parametrize(
    "body",
    [
        b"1\x1faone indicator",  # pymarc warns and pads
        b"\x1fano indicators",
        b"104\x1fathree indicators",
        b"10\x1f\xc3\xa5non-ASCII subfield code",
        b"10\x1fa\xff not UTF-8",
    ],
)
def test_anything_unusual_is_left_to_pymarc(body: bytes) -> None:
    assert marc._plain_utf8_fields(_record(b"id1", body)) is None


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"10\x1faplain", "plain"),
        (b"10\x1faR&D <notes>", "R&amp;D &lt;notes&gt;"),
        (b"10\x1fastray\x1eterminator", "stray\ufffdterminator"),
        (b"10\x1fabell\x07", "bell\ufffd"),
    ],
)
def test_the_marcxml_of_a_plain_record_is_escaped_where_needed(body: bytes, expected: str) -> None:
    chunk = _record(b"id1", body)
    fields = marc._plain_utf8_fields(chunk)
    assert fields is not None
    xml = marc._to_xml(fields, False, marc._plain_needs_escaping(chunk, fields))
    assert f'<subfield code="a">{expected}</subfield>' in xml


# Property tests: for any record, the plain reading agrees with pymarc or steps aside, and no bytes
# make it raise.
_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x1d\x1e\x1f"),
    max_size=30,
)
_DATA_FIELD = st.tuples(
    st.from_regex(r"\A[1-9][0-9]{2}\Z"),
    st.sampled_from(" 0123456789"),
    st.sampled_from(" 0123456789"),
    st.lists(st.tuples(st.sampled_from("abcdehuz0123456789"), _TEXT), min_size=1, max_size=4),
)


def _body(ind1: str, ind2: str, subfields: list[tuple[str, str]]) -> bytes:
    return (ind1 + ind2 + "".join(f"\x1f{code}{value}" for code, value in subfields)).encode()


@settings(max_examples=200, deadline=None)
@given(control=_TEXT, data_fields=st.lists(_DATA_FIELD, max_size=6))
def test_any_record_reads_as_pymarc_reads_it_or_goes_to_pymarc(
    control: str, data_fields: list[tuple[str, str, str, list[tuple[str, str]]]]
) -> None:
    directory = b""
    data = b""
    for tag, body in [("001", control.encode()), *((t, _body(i1, i2, s)) for t, i1, i2, s in data_fields)]:
        directory += tag.encode() + b"%04d%05d" % (len(body) + 1, len(data))
        data += body + b"\x1e"
    base = 24 + len(directory) + 1
    leader = b"%05dnam a22%05d   4500" % (base + len(data) + 1, base)
    chunk = leader + directory + b"\x1e" + data + b"\x1d"
    plain = marc._plain_utf8_fields(chunk)
    if plain is None:
        return
    reference = _via_pymarc(chunk)
    assert reference is not None
    assert _shape(plain) == _shape(reference)
    escape = marc._plain_needs_escaping(chunk, plain)
    assert marc._to_xml(plain, False, escape) == marc._to_xml(reference, False)


@settings(max_examples=300, deadline=None)
@given(position=st.integers(min_value=0), byte=st.integers(min_value=0, max_value=255))
def test_a_damaged_record_never_breaks_the_plain_reading(position: int, byte: int) -> None:
    chunk = bytearray(_record(b"id1", "10\x1faÆbler på Åen\x1fcØrsted".encode()))
    chunk[position % len(chunk)] = byte
    plain = marc._plain_utf8_fields(bytes(chunk))
    if plain is not None:
        reference = _via_pymarc(bytes(chunk))
        assert reference is not None
        assert _shape(plain) == _shape(reference)
