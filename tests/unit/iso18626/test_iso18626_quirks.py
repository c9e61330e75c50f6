"""ReShare's protocol data hidden in notes is lifted into fields and can be written back."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from fjernlaan.iso18626.model import Version
from fjernlaan.iso18626.quirks import (
    ReShareMarker,
    ReShareNote,
    format_reshare_note,
    normalise_datetime_text,
    note_of,
    parse_reshare_note,
    split_reshare_note,
    with_reshare_note,
)
from fjernlaan.iso18626.reader import parse
from fjernlaan.iso18626.writer import build
from iso18626_examples import full_requesting_agency_message, full_supplying_agency_message


def test_sequence_marker_at_the_end_is_lifted_out() -> None:
    assert parse_reshare_note("Hej fra Aalborg#seq:7#") == ReShareNote(text="Hej fra Aalborg", sequence=7)


def test_a_note_that_is_only_a_sequence_marker_has_no_text() -> None:
    assert parse_reshare_note("#seq:0#") == ReShareNote(sequence=0)


def test_last_sequence_and_sequence_are_both_read() -> None:
    note = parse_reshare_note("status?#lastSeq:3##seq:4#")
    assert (note.text, note.last_sequence, note.sequence) == ("status?", 3, 4)


def test_loan_condition_agreement_is_recognised() -> None:
    note = parse_reshare_note("#ReShareLoanConditionAgreeResponse##seq:12#")
    assert note.agrees_to_loan_conditions
    assert note.text is None


def test_added_loan_condition_keeps_the_human_comment() -> None:
    note = parse_reshare_note("#ReShareAddLoanCondition# Kun til læsesal")
    assert note.adds_loan_condition
    assert note.text == "Kun til læsesal"


def test_updated_field_is_read_as_name_and_value() -> None:
    note = parse_reshare_note("#ReShareUpdatedField-PickupLocation:Hovedbiblioteket, Aarhus##seq:2#")
    assert note.updated_fields == (("PickupLocation", "Hovedbiblioteket, Aarhus"),)


def test_a_note_without_markers_is_just_text() -> None:
    assert parse_reshare_note("Almindelig besked #1") == ReShareNote(text="Almindelig besked #1")


def test_markers_are_written_first_and_the_sequence_last() -> None:
    note = ReShareNote("Kun til læsesal", (ReShareMarker.ADD_LOAN_CONDITION,), sequence=5)
    assert format_reshare_note(note) == "#ReShareAddLoanCondition# Kun til læsesal#seq:5#"


_plain = (
    st.text(st.characters(blacklist_characters="#", blacklist_categories=("Cs", "Cc")), min_size=1)
    .map(str.strip)
    .filter(bool)
)


@given(
    text=st.none() | _plain,
    markers=st.lists(st.sampled_from(ReShareMarker), max_size=2, unique=True).map(tuple),
    sequence=st.none() | st.integers(0, 10**6),
    last_sequence=st.none() | st.integers(0, 10**6),
    fields=st.lists(st.tuples(st.from_regex(r"[A-Za-z]{1,12}", fullmatch=True), _plain), max_size=2).map(
        tuple
    ),
)
def test_formatting_then_parsing_a_reshare_note_gives_it_back(
    text: str | None,
    markers: tuple[ReShareMarker, ...],
    sequence: int | None,
    last_sequence: int | None,
    fields: tuple[tuple[str, str], ...],
) -> None:
    note = ReShareNote(text, markers, sequence, last_sequence, fields)
    assert parse_reshare_note(format_reshare_note(note)) == note


def test_splitting_a_message_leaves_only_the_human_text_in_its_note() -> None:
    message = full_supplying_agency_message(Version.V2017)
    message = replace(message, message_info=replace(message.message_info, note="Vi sender i morgen#seq:9#"))
    clean, data = split_reshare_note(parse(build(message, Version.V2017)).message)
    assert note_of(clean) == "Vi sender i morgen"
    assert data.sequence == 9


def test_writing_reshare_data_back_into_a_message_for_a_reshare_peer() -> None:
    message = replace(full_requesting_agency_message(Version.V2017), note=None)
    out = with_reshare_note(
        message, ReShareNote(markers=(ReShareMarker.LOAN_CONDITION_AGREE_RESPONSE,), sequence=3)
    )
    assert out.note == "#ReShareLoanConditionAgreeResponse##seq:3#"
    assert parse(build(out, Version.V2017)).message == out


def test_timestamp_normalisation_adds_the_colon_and_trims_nanoseconds() -> None:
    assert normalise_datetime_text("2024-12-12T20:12:00.629597719+0100") == "2024-12-12T20:12:00.629597+01:00"
    assert normalise_datetime_text("timestamp_holder") is None
