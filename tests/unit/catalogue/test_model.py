"""Rules of the catalogue's domain: identifiers, Danish folding, holdings, and merging records."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fjernlaan.catalogue.model import (
    Holding,
    InvalidIdentifier,
    Record,
    fold,
    merge_key,
    merge_records,
    normalise_isbn,
    normalise_issn,
    normalise_oclc,
)
from fjernlaan.directory.model import MaterialType
from fjernlaan.errors import DomainError

# --- ISBN -------------------------------------------------------------------------------------------


def _isbn10_check(nine: str) -> str:
    total = sum((10 - i) * int(d) for i, d in enumerate(nine))
    check = (11 - total % 11) % 11
    return "X" if check == 10 else str(check)


isbn10s = st.text("0123456789", min_size=9, max_size=9).map(lambda nine: nine + _isbn10_check(nine))


def test_isbn10_with_hyphens_becomes_isbn13() -> None:
    assert normalise_isbn("87-7245-883-6") == "9788772458830"


def test_isbn13_with_hyphens_and_qualifier_is_accepted() -> None:
    assert normalise_isbn("978-87-7245-883-0 (hft.)") == "9788772458830"


def test_isbn_prefix_and_trailing_qualifier_are_dropped() -> None:
    assert normalise_isbn("ISBN 0679450041 (acid-free paper)") == "9780679450047"


def test_isbn10_with_x_check_digit() -> None:
    assert normalise_isbn("0-8044-2957-X") == "9780804429573"


def test_isbn_with_wrong_check_digit_is_refused() -> None:
    with pytest.raises(InvalidIdentifier, match="check digit"):
        normalise_isbn("87-7245-883-7")


def test_isbn_with_wrong_length_is_refused() -> None:
    with pytest.raises(InvalidIdentifier, match="10 or 13"):
        normalise_isbn("0-397-47189-17")


def test_text_that_is_no_isbn_is_refused() -> None:
    with pytest.raises(InvalidIdentifier):
        normalise_isbn("cw")


def test_invalid_identifier_is_a_domain_error() -> None:
    assert issubclass(InvalidIdentifier, DomainError)


@given(isbn10s)
def test_isbn10_and_its_isbn13_normalise_alike(isbn10: str) -> None:
    isbn13 = normalise_isbn(isbn10)
    assert normalise_isbn(isbn13) == isbn13
    assert normalise_isbn(f"{isbn13[:3]}-{isbn13[3:5]}-{isbn13[5:12]}-{isbn13[12]}") == isbn13
    assert isbn13.startswith("978") and isbn13[3:12] == isbn10[:9]


@given(isbn10s, st.sampled_from(["", " (hft.)", " : 249,00 kr", " (ib.)"]))
def test_normalise_isbn_is_idempotent(isbn10: str, suffix: str) -> None:
    once = normalise_isbn(isbn10 + suffix)
    assert normalise_isbn(once) == once


@given(isbn10s, st.integers(min_value=0, max_value=8), st.integers(min_value=1, max_value=9))
def test_a_changed_digit_fails_the_check(isbn10: str, where: int, delta: int) -> None:
    digit = (int(isbn10[where]) + delta) % 10
    changed = isbn10[:where] + str(digit) + isbn10[where + 1 :]
    with pytest.raises(InvalidIdentifier):
        normalise_isbn(changed)


# --- ISSN and OCLC ----------------------------------------------------------------------------------


def test_issn_is_written_with_hyphen() -> None:
    assert normalise_issn("09030077") == "0903-0077"


def test_issn_x_check_digit_is_upper_case() -> None:
    assert normalise_issn("ISSN 2434-561x") == "2434-561X"


def test_issn_with_wrong_check_digit_is_refused() -> None:
    with pytest.raises(InvalidIdentifier):
        normalise_issn("0903-0078")


def test_oclc_prefixes_and_leading_zeros_are_dropped() -> None:
    assert normalise_oclc("(OCoLC)ocm00012345") == "12345"
    assert normalise_oclc("ocn773667588") == "773667588"


def test_viaf_id_is_not_an_oclc_number() -> None:
    with pytest.raises(InvalidIdentifier):
        normalise_oclc("viaf101453386")


# --- fold -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("danish", "spelled_out"),
    [
        ("Århus", "Aarhus"),
        ("Åbenrå", "Aabenraa"),
        ("Søren Kierkegaard", "Soeren Kierkegaard"),
        ("Sören", "Søren"),
        ("Ærø", "Aeroe"),
        ("Dänemark", "Dænemark"),
        ("Brøndsted", "BRØNDSTED"),
    ],
)
def test_danish_spellings_fold_equal(danish: str, spelled_out: str) -> None:
    assert fold(danish) == fold(spelled_out)


def test_fold_strips_other_diacritics() -> None:
    assert fold("Émile Zola über Müller") == "emile zola uber muller"


def test_fold_lower_cases_and_collapses_space() -> None:
    assert fold("  Den   DANSKE\tlyrik ") == "den danske lyrik"


def test_fold_of_decomposed_aa_ring_equals_composed() -> None:
    assert fold("A\u030arhus") == fold("Århus") == "aarhus"


@given(st.text())
def test_fold_is_idempotent(text: str) -> None:
    once = fold(text)
    assert fold(once) == once


danish_letter_pairs = st.sampled_from(
    [("å", "aa"), ("ø", "oe"), ("æ", "ae"), ("Å", "Aa"), ("Ø", "Oe"), ("Æ", "Ae")]
)


@given(st.lists(st.tuples(st.text("abcdefghijklmnoprstuvy ", max_size=4), danish_letter_pairs), max_size=6))
def test_words_with_danish_letters_fold_like_their_two_letter_spelling(
    parts: list[tuple[str, tuple[str, str]]],
) -> None:
    letters = "".join(plain + pair[0] for plain, pair in parts)
    spelled = "".join(plain + pair[1] for plain, pair in parts)
    assert fold(letters) == fold(spelled)


# --- Record and Holding -----------------------------------------------------------------------------


def _record(**changes: object) -> Record:
    values: dict[str, object] = {"record_id": "12345678", "title": "Danmarks historie"}
    values.update(changes)
    return Record(**values)  # type: ignore[arg-type]


def test_record_needs_an_id() -> None:
    with pytest.raises(DomainError):
        _record(record_id=" ")


def test_record_refuses_unnormalised_isbn() -> None:
    with pytest.raises(InvalidIdentifier):
        _record(isbns=("87-7245-883-6",))


def test_record_language_is_three_letters() -> None:
    with pytest.raises(DomainError):
        _record(language="da")


def test_record_source_library_is_a_normalised_isil() -> None:
    assert _record(source_library="dk-710100").source_library == "DK-710100"


def test_holding_available_cannot_exceed_copies() -> None:
    with pytest.raises(DomainError):
        Holding("DK-710100", copies=1, available=2)


def test_holding_copies_cannot_be_negative() -> None:
    with pytest.raises(DomainError):
        Holding("DK-710100", copies=-1, available=0)


def test_holding_without_copies_is_allowed() -> None:
    assert Holding("DK-710100", copies=0, available=0).copies == 0


def test_holding_library_is_a_valid_isil() -> None:
    with pytest.raises(DomainError):
        Holding("Library of Congress")


# --- merging ------------------------------------------------------------------------------------------


def test_merge_key_lists_isbns_then_issns_then_oclc_numbers() -> None:
    record = _record(isbns=("9788772458830",), issns=("0903-0077",), oclc_numbers=("123",))
    assert merge_key(record) == ("isbn:9788772458830", "issn:0903-0077", "oclc:123")


def test_records_without_identifiers_have_an_empty_merge_key() -> None:
    assert merge_key(_record()) == ()


def test_merge_keeps_the_existing_identity_and_fills_gaps() -> None:
    existing = _record(record_id="1", source_library="DK-710100", isbns=("9788772458830",))
    incoming = _record(
        record_id="2",
        source_library="DK-775100",
        year=1976,
        publisher="Politikens Forlag",
        language="dan",
        isbns=("9788756738507",),
        oclc_numbers=("42",),
    )
    merged = merge_records(existing, incoming)
    assert (merged.record_id, merged.source_library) == ("1", "DK-710100")
    assert (merged.year, merged.publisher, merged.language) == (1976, "Politikens Forlag", "dan")
    assert merged.isbns == ("9788772458830", "9788756738507")
    assert merged.oclc_numbers == ("42",)


def test_merge_prefers_the_longer_text() -> None:
    merged = merge_records(_record(subtitle="en studie"), _record(subtitle="en studie i dansk adelshistorie"))
    assert merged.subtitle == "en studie i dansk adelshistorie"


def test_merge_unites_names_and_subjects_compared_folded() -> None:
    existing = _record(creators=("Brøndsted, Johannes",), subjects=("Århus",))
    incoming = _record(creators=("Broendsted, Johannes", "Koch, Hal"), subjects=("Aarhus", "kirkehistorie"))
    merged = merge_records(existing, incoming)
    assert merged.creators == ("Brøndsted, Johannes", "Koch, Hal")
    assert merged.subjects == ("Århus", "kirkehistorie")


def test_merge_replaces_other_by_a_specific_material_type() -> None:
    merged = merge_records(
        _record(material_type=MaterialType.OTHER), _record(material_type=MaterialType.AUDIOBOOK)
    )
    assert merged.material_type is MaterialType.AUDIOBOOK


def test_merge_keeps_a_specific_material_type() -> None:
    merged = merge_records(_record(material_type=MaterialType.FILM), _record(material_type=MaterialType.BOOK))
    assert merged.material_type is MaterialType.FILM
