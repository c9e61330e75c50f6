"""The MARC reader against every real file in ../shared/reference/marc (see its SOURCES.md).

SOURCES.md counts what pymarc 5.4 returns with its defaults. Our reader differs on purpose where
pymarc is wrong or gives up; each such row says why in its comment.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
from lxml import etree

from fjernlaan.catalogue.marc import (
    MarcFormatError,
    ParsedRecord,
    SkippedRecord,
    detect_format,
    read_marc,
)
from fjernlaan.directory.model import MaterialType

REPO_ROOT = Path(__file__).resolve().parents[3]


def _reference_dir() -> Path | None:
    # The repo's sibling ../shared; a git worktree kept under <root>/wt/<name> finds it one level up.
    for base in (REPO_ROOT.parent, REPO_ROOT.parent.parent):
        candidate = base / "shared" / "reference" / "marc"
        if candidate.is_dir():
            return candidate
    return None


MARC_DIR = _reference_dir()
pytestmark = pytest.mark.skipif(
    MARC_DIR is None, reason="../shared/reference/marc (the reference MARC files) is not present"
)

UNKNOWN = "not MARC"

# file -> (records read, records skipped), or UNKNOWN when read_marc must refuse the file.
EXPECTED: dict[str, tuple[int, int] | str] = {
    "DBCDK__dataio__870970.2poster.iso": (2, 0),
    # pymarc returns 1 empty Record; an empty <marcx:record> is not a record, so it is skipped.
    "DBCDK__dataio__870970.fail.xml": (0, 1),
    "DBCDK__dataio__870970.ok.xml": (1, 0),
    # Third record cut off by the end of the file.
    "DBCDK__dataio__broken-iso2709-2.iso": (2, 1),
    # pymarc says 4: it also takes the DKABM <dkabm:record>, which is Dublin Core, not MARC.
    "DBCDK__dataio__bug_18956.xml": (3, 0),
    # The MarcXchange schema: XML with no record in it; reported once for the whole file.
    "DBCDK__dataio__marcxchange-1-1.xsd": (0, 1),
    "DBCDK__dataio__test-record-1-danmarc2.iso": (1, 0),
    "DBCDK__dataio__test-record-1-danmarc2.marcXChange": (1, 0),
    "DBCDK__dataio__test-record-1-danmarc2.marcxchange": (1, 0),
    "DBCDK__dataio__test-records-100-viaf.iso": (100, 0),
    "DBCDK__dataio__test-records-3-danmarc2.iso": (3, 0),
    "DBCDK__dataio__test-records-323-marc21-utf8.iso": (323, 0),
    # pymarc: 4 ok / 1 err, the error being the 0x1A 0x19 padding at the end (not a record). The
    # real error is record 2's 245 "@ous azimuts": "@o" is no danMARC2 escape (DBC's own reader
    # rejects it; hence the file's name), so we skip record 2 and read 3.
    "DBCDK__dataio__test-records-4-error-in-record2.iso": (3, 1),
    "DBCDK__dataio__test-records-74-danmarc2-utf8.lin": UNKNOWN,  # danMARC2 line format
    # pymarc: 74 ok + 1 TruncatedRecord made of the trailing 0x1A 0x19 0x19 0x19 padding.
    "DBCDK__dataio__test-records-74-danmarc2.iso": (74, 0),
    "DBCDK__dataio__test-records-74-danmarc2.lin": UNKNOWN,
    "DBCDK__rawrepo-record-service__62451157.xml": (1, 0),
    "DBCDK__rawrepo-record-service__collection-overwrite-common.xml": (1, 0),
    "DBCDK__rawrepo-record-service__worldcat_dm2_collection.xml": (2, 0),
    "DBCDK__rawrepo__marcx-parent.xml": (1, 0),
    "DBCDK__rawrepo__raw-52846943.marc": UNKNOWN,  # danMARC2 line format despite the name
    "DBCDK__rawrepo__with-authority.xml": (1, 0),
    "edsu__pymarc__1251.dat": (6, 0),
    "edsu__pymarc__bad_eacc_encoding.dat": (1, 0),
    # pymarc: 1 ok / 1 RecordLengthInvalid, the "record" being 821 bytes of trailing blanks.
    "edsu__pymarc__bad_indicator.dat": (1, 0),
    "edsu__pymarc__bad_marc8_escape.dat": (1, 0),
    # pymarc: 2 ok / 7 err; its 9th "record" is the newline after the last terminator.
    "edsu__pymarc__bad_records.mrc": (2, 6),
    "edsu__pymarc__bad_subfield_code.dat": (0, 1),
    "edsu__pymarc__batch.xml": (2, 0),
    "edsu__pymarc__diacritic.dat": (1, 0),
    "edsu__pymarc__marc.dat": (20, 0),
    "edsu__pymarc__marc8.dat": (1, 0),
    "edsu__pymarc__regression45.dat": (12, 0),
    "edsu__pymarc__test.dat": (10, 0),
    # pymarc: 1 ok / 1 TruncatedRecord, the "record" being the final newline.
    "edsu__pymarc__testunimarc.dat": (1, 0),
    "edsu__pymarc__utf8.xml": (1, 0),
    "edsu__pymarc__utf8_errors.dat": (1, 0),
    "edsu__pymarc__utf8_invalid.mrc": (1, 0),
    "edsu__pymarc__utf8_with_leader_flag.dat": (1, 0),
    "marc4j__marc4j__008008027.mrc": (18, 1),
    "marc4j__marc4j__065001035.mrc": (40, 0),
    "marc4j__marc4j__1474920681_KOHA_LFL_5.xml": (1, 0),
    "marc4j__marc4j__OCLC_814388508.xml": (1, 0),
    # pymarc: 3 ok / 1 err and stops; we resynchronise on the record terminator after the
    # oversize record 4 and read record 5 as well.
    "marc4j__marc4j__bad_hathi_records.mrc": (4, 1),
    "marc4j__marc4j__bad_leaders_10_11.mrc": (1, 0),
    "marc4j__marc4j__bad_oversize_field_bad_directory.mrc": (4, 1),
    # pymarc: 0 ok / 1 err and stops; the leader length is wrong (and the directory too), but
    # the two records after it are fine.
    "marc4j__marc4j__bad_too_long_plus_2.mrc": (2, 1),
    "marc4j__marc4j__brkrtest.mrc": (8, 0),
    "marc4j__marc4j__brkrtest_UTF8.mrc": (8, 0),
    # pymarc raises KeyError for the whole file; we drop the code-less subfield with a warning.
    "marc4j__marc4j__chabon-missing-subfield-code.xml": (1, 0),
    "marc4j__marc4j__chabon.mrc": (2, 0),
    "marc4j__marc4j__chabon.xml": (2, 0),
    "marc4j__marc4j__chinese_mangled_multibyte.mrc": (4, 0),
    "marc4j__marc4j__cyrillic_capital_e.mrc": (2, 0),
    # Leader length 99999 for a 214804-byte record: its directory offsets overflow, so it is
    # skipped rather than read as garbage (marc4j recovers it; pymarc reads nothing either).
    "marc4j__marc4j__datos-20161010-slice.mrc": (0, 1),
    "marc4j__marc4j__greekmissingcharsetchange.mrc": (3, 0),
    "marc4j__marc4j__incomplete_esc_seq.mrc": (0, 1),
    "marc4j__marc4j__oclc_63111280_export_as_UTF8_from_connexion.mrc": (1, 0),
    "marc4j__marc4j__pride-and-prejudice-fixed.mrc": (383, 0),
    "marc4j__marc4j__pride-and-prejudice-with-many-errors.mrc": (298, 85),
    "marc4j__marc4j__sample1.mrc": (7, 1),
    "marc4j__marc4j__sample1a.xml": (9, 0),
    "marc4j__marc4j__selectedRecs.mrc": (11, 0),
    "marc4j__marc4j__summerland.mrc": (1, 0),
    "marc4j__marc4j__summerland.xml": (1, 0),
    "marc4j__marc4j__unordered-directory-entries.mrc": (1, 0),
    "solrmarc__solrmarc__1474920681_KOHA_LFL_6_with_comment.xml": (1, 0),
    "solrmarc__solrmarc__demoRecs.mrc": (6, 0),
    "solrmarc__solrmarc__errorRecs.mrc": (5, 0),
    "solrmarc__solrmarc__hathi_000031056.mrc": (1, 0),
    "solrmarc__solrmarc__jones_recs.xml": (2, 0),
    "solrmarc__solrmarc__record_set_045.mrc": (12, 0),
    "solrmarc__solrmarc__specTestRecs.mrc": (76, 0),
    "solrmarc__solrmarc__u2294330.mrc": (1, 0),
    "solrmarc__solrmarc__uva_001_2000.mrc": (2000, 0),
    "traject__traject__880_with_no_6.utf8.marc": (1, 0),
    "traject__traject__bad_subfield_code.marc": (1, 0),
    "traject__traject__bad_utf_byte.utf8.marc": (0, 1),
    "traject__traject__emptyish_record.marc": (1, 0),
    "traject__traject__escaped_character_reference.marc8.marc": (1, 0),
    "traject__traject__hebrew880s.marc": (1, 0),
    "traject__traject__musical_cage.marc": (1, 0),
    "traject__traject__nature.marc": (1, 0),
    "traject__traject__one-marc8.mrc": (1, 0),
    # pymarc returns 10 empty Records for the 10 OAI-PMH <record>s (Dublin Core, not MARC); we
    # report once that the document holds no MARC record.
    "traject__traject__sample-oai-pmh.xml": (0, 1),
    "traject__traject__test_data.utf8.marc.xml": (30, 0),
    "traject__traject__test_data.utf8.mrc": (30, 0),
}


@cache
def _results(name: str) -> tuple[ParsedRecord | SkippedRecord, ...]:
    assert MARC_DIR is not None
    return tuple(read_marc(MARC_DIR / name))


def _read(name: str) -> list[ParsedRecord]:
    return [r for r in _results(name) if isinstance(r, ParsedRecord)]


def _skipped(name: str) -> list[SkippedRecord]:
    return [r for r in _results(name) if isinstance(r, SkippedRecord)]


def test_every_reference_file_has_an_expected_count() -> None:
    assert MARC_DIR is not None
    on_disk = {p.name for p in MARC_DIR.iterdir() if p.name != "SOURCES.md"}
    assert on_disk == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_records_read_and_skipped_per_file(name: str) -> None:
    expected = EXPECTED[name]
    if expected == UNKNOWN:
        assert MARC_DIR is not None
        with pytest.raises(MarcFormatError):
            list(read_marc(MARC_DIR / name))
        return
    assert (len(_read(name)), len(_skipped(name))) == expected


@pytest.mark.parametrize("name", sorted(n for n, e in EXPECTED.items() if e != UNKNOWN))
def test_positions_count_every_record_once_in_file_order(name: str) -> None:
    positions = [r.position for r in _results(name) if r.position != 0]
    assert positions == list(range(1, len(positions) + 1))


@pytest.mark.parametrize("name", sorted(n for n, e in EXPECTED.items() if e != UNKNOWN))
def test_every_kept_source_record_is_well_formed_xml(name: str) -> None:
    for parsed in _read(name):
        root = etree.fromstring(parsed.record.marcxml.encode())
        assert etree.QName(root).localname == "record"


# --- Danish letters survive -----------------------------------------------------------------------


def test_danmarc2_iso2709_in_latin1_keeps_aeoeaa() -> None:
    records = {p.position: p for p in _read("DBCDK__dataio__test-records-74-danmarc2.iso")}
    assert records[1].record.title == "100 danske præsteslægter"
    assert records[1].record.subtitle == "En lille slægtshaandbog opstillet i uddrag af stamtavler"
    assert records[6].record.creators[2] == "Brøndsted, Johannes"
    assert records[23].record.title == "Teknisk ståbi"
    assert records[38].record.title == "Lærebog i erstatningsret"
    assert records[38].record.creators == ("Eyben, Bo von", "Isager, Helle")


def test_danmarc2_iso2709_is_read_as_latin1_not_marc8() -> None:
    parsed = _read("DBCDK__dataio__test-records-74-danmarc2.iso")
    assert {p.encoding for p in parsed} == {"latin-1"}
    assert {p.flavour for p in parsed} == {"danmarc2"}
    mojibake = re.compile("[ÃÂ\u0300-\u036f]")
    assert not [p.position for p in parsed if mojibake.search(p.record.title + " ".join(p.record.creators))]


def test_danmarc2_sort_mark_is_not_part_of_the_title() -> None:
    records = {p.position: p for p in _read("DBCDK__dataio__test-records-74-danmarc2.iso")}
    assert records[9].record.title == "Den gode opgave"
    assert records[9].record.subtitle == "håndbog i opgaveskrivning på videregående uddannelser"


def test_danmarc2_escapes_are_decoded() -> None:
    # "N@*E@*R@*D" in DBC's ISO 2709 is "N*E*R*D", as the MarcXchange copy of the record shows.
    parsed = _read("DBCDK__dataio__test-records-3-danmarc2.iso")[0]
    assert "N*E*R*D" in parsed.record.marcxml
    assert "@*" not in parsed.record.marcxml


def test_danmarc2_iso2709_and_marcxchange_copies_map_to_the_same_record() -> None:
    iso = _read("DBCDK__dataio__test-record-1-danmarc2.iso")[0].record
    xml = _read("DBCDK__dataio__test-record-1-danmarc2.marcXChange")[0].record
    assert iso.creators == xml.creators == ("Mørk, Søren",)
    assert (iso.record_id, iso.source_library, iso.title, iso.year, iso.language, iso.material_type) == (
        xml.record_id,
        xml.source_library,
        xml.title,
        xml.year,
        xml.language,
        xml.material_type,
    )
    assert iso.source_library == "DK-870976"


def test_danmarc2_record_id_and_library_come_from_001_a_and_b() -> None:
    posters = _read("DBCDK__dataio__870970.2poster.iso")
    assert [(p.record.record_id, p.record.source_library) for p in posters] == [
        ("29526249", "DK-870970"),
        ("34867496", "DK-870971"),
    ]
    assert posters[0].record.title == "Skråplan"
    assert posters[1].record.title == "Godt indeklima og lavenergibyggeri skal gå hånd i hånd"


def test_marcxchange_keeps_the_source_xml_of_the_record() -> None:
    parsed = _read("DBCDK__dataio__870970.ok.xml")[0]
    assert parsed.record.title == "Et skib er ude af drift"
    assert parsed.record.creators == ("Søbjerg Nielsen, Susanne",)
    root = etree.fromstring(parsed.record.marcxml.encode())
    assert root.tag == "{info:lc/xmlns/marcxchange-v1}record"
    assert root.get("format") == "danMARC2"


def test_danmarc2_isbn13_from_021_e() -> None:
    parsed = _read("DBCDK__rawrepo-record-service__62451157.xml")[0]
    assert parsed.record.isbns == ("9788740078107",)
    assert parsed.record.title == "Sund hverdag"
    assert parsed.record.language == "dan"
    assert parsed.record.year == 2022


def test_danmarc2_audiobook_from_009() -> None:
    parsed = _read("DBCDK__rawrepo-record-service__collection-overwrite-common.xml")[0]
    assert parsed.record.material_type is MaterialType.AUDIOBOOK
    assert "Møller, Frede" in parsed.record.creators


def test_marc8_records_keep_danish_letters() -> None:
    records = {p.record.record_id: p for p in _read("solrmarc__solrmarc__uva_001_2000.mrc")}
    assert records["u10"].record.creators[0] == "Ørnsbo, Jess"
    assert records["u1015"].record.creators[0] == "Grønfeldt, Vibeke"
    assert records["u1566"].record.title == "Seks råb fra baghovedet"
    assert records["u1566"].encoding == "marc-8"


def test_marc8_and_utf8_copies_of_the_same_records_agree() -> None:
    marc8 = _read("marc4j__marc4j__brkrtest.mrc")
    utf8 = _read("marc4j__marc4j__brkrtest_UTF8.mrc")
    assert [(p.record.title, p.record.creators) for p in marc8] == [
        (p.record.title, p.record.creators) for p in utf8
    ]


def test_iso2709_and_marcxml_copies_of_the_same_records_agree() -> None:
    for iso_name, xml_name in [
        ("marc4j__marc4j__chabon.mrc", "marc4j__marc4j__chabon.xml"),
        ("marc4j__marc4j__summerland.mrc", "marc4j__marc4j__summerland.xml"),
        ("traject__traject__test_data.utf8.mrc", "traject__traject__test_data.utf8.marc.xml"),
    ]:
        iso = [p.record for p in _read(iso_name)]
        xml = [p.record for p in _read(xml_name)]
        assert [(r.record_id, r.title, r.creators, r.isbns, r.year) for r in iso] == [
            (r.record_id, r.title, r.creators, r.isbns, r.year) for r in xml
        ]


def test_windows_1251_cyrillic_is_detected() -> None:
    parsed = _read("edsu__pymarc__1251.dat")[0]
    assert parsed.encoding == "cp1251"
    assert parsed.record.title == "Основы гидравлического расчета инженерных сетей"
    assert parsed.holdings[0].library_isil == "RU-RKP"


def test_misflagged_utf8_is_read_as_utf8() -> None:
    parsed = _read("DBCDK__dataio__test-records-100-viaf.iso")
    assert {p.encoding for p in parsed} <= {"utf-8", "ascii"}
    assert any(p.encoding == "utf-8" for p in parsed)


# --- holdings -------------------------------------------------------------------------------------


def test_danmarc2_holdings_from_096_with_loan_note() -> None:
    records = {p.position: p for p in _read("DBCDK__dataio__test-records-4-error-in-record2.iso")}
    not_lent = records[1].holdings[0]
    assert (not_lent.library_isil, not_lent.circulating, not_lent.shelf_mark) == ("DK-820040", False, "s Kom")
    assert records[3].holdings[0].circulating is True
    assert records[3].record.title == "Rød helikopter"


def test_udlaanes_ikke_makes_the_holding_non_circulating() -> None:
    parsed = _read("DBCDK__dataio__test-records-74-danmarc2.iso")
    assert all(h.library_isil == "DK-820030" and not h.circulating for p in parsed for h in p.holdings)


def test_default_library_holds_records_without_holdings_fields() -> None:
    assert MARC_DIR is not None
    results = list(read_marc(MARC_DIR / "marc4j__marc4j__summerland.mrc", default_library="DK-710100"))
    parsed = results[0]
    assert isinstance(parsed, ParsedRecord)
    assert parsed.record.source_library == "DK-710100"
    assert [(h.library_isil, h.copies) for h in parsed.holdings] == [("DK-710100", 1)]


# --- broken input is skipped and reported -------------------------------------------------------


def test_truncated_last_record_reason_names_the_lengths() -> None:
    (skipped,) = _skipped("DBCDK__dataio__broken-iso2709-2.iso")
    assert skipped.position == 3
    assert skipped.reason.startswith("record 3: leader length 01239 but 01222 bytes read")


def test_invalid_danmarc2_escape_skips_only_that_record() -> None:
    (skipped,) = _skipped("DBCDK__dataio__test-records-4-error-in-record2.iso")
    assert skipped.position == 2
    assert "@ous azimuts" in skipped.reason
    assert [p.position for p in _read("DBCDK__dataio__test-records-4-error-in-record2.iso")] == [1, 3, 4]


def test_invalid_utf8_records_are_skipped_and_the_rest_read() -> None:
    # SOURCES.md: the same 383 records as the -fixed file, 69 with invalid UTF-8, 16 with bad
    # directories; each is skipped on its own and the other 298 are read.
    reasons = [s.reason for s in _skipped("marc4j__marc4j__pride-and-prejudice-with-many-errors.mrc")]
    assert sum("not valid UTF-8" in r for r in reasons) == 69
    assert sum("directory" in r for r in reasons) == 16


def test_oai_pmh_dublin_core_records_are_not_taken_for_marc() -> None:
    (skipped,) = _skipped("traject__traject__sample-oai-pmh.xml")
    assert skipped.position == 0
    assert "http://www.openarchives.org/OAI/2.0/" in skipped.reason


def test_marc8_decoding_problems_are_warnings_not_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    assert MARC_DIR is not None
    parsed = [
        r
        for r in read_marc(MARC_DIR / "marc4j__marc4j__cyrillic_capital_e.mrc")
        if isinstance(r, ParsedRecord)
    ]
    assert capfd.readouterr().err == ""
    assert any(w.startswith("MARC-8:") for p in parsed for w in p.warnings)


def test_detect_format_on_reference_files() -> None:
    assert MARC_DIR is not None
    head = (MARC_DIR / "marc4j__marc4j__chabon.mrc").read_bytes()
    assert detect_format(head) == "marc"
    assert detect_format((MARC_DIR / "marc4j__marc4j__chabon.xml").read_bytes()) == "marcxml"
    assert detect_format((MARC_DIR / "DBCDK__rawrepo__with-authority.xml").read_bytes()) == "marcxchange"
    with pytest.raises(MarcFormatError):
        detect_format((MARC_DIR / "DBCDK__dataio__test-records-74-danmarc2.lin").read_bytes())


def test_reads_bytes_and_open_files_like_paths() -> None:
    assert MARC_DIR is not None
    path = MARC_DIR / "marc4j__marc4j__chabon.mrc"
    from_path = [r.record for r in read_marc(path) if isinstance(r, ParsedRecord)]
    from_bytes = [r.record for r in read_marc(path.read_bytes(), fmt="marc") if isinstance(r, ParsedRecord)]
    with path.open("rb") as handle:
        from_file = [r.record for r in read_marc(handle) if isinstance(r, ParsedRecord)]
    assert from_path == from_bytes == from_file
    assert len(from_path) == 2


def test_xml_entities_are_not_resolved() -> None:
    # A hostile file must not make the importer read local files (XXE).
    hostile = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY secret SYSTEM "file:///etc/hostname">]>
<record xmlns="http://www.loc.gov/MARC21/slim"><leader>00000nam a2200000 a 4500</leader>
<controlfield tag="001">x1</controlfield>
<datafield tag="245" ind1="0" ind2="0"><subfield code="a">&secret;Title</subfield></datafield>
</record>"""
    results = list(read_marc(hostile))
    secret = Path("/etc/hostname").read_text().strip() if Path("/etc/hostname").exists() else "\x00"
    for result in results:
        if isinstance(result, ParsedRecord):
            assert secret not in result.record.title
            assert secret not in result.record.marcxml
