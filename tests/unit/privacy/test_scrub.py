"""The pure rules of erasure: what is blanked out of text and JSON."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fjernlaan.privacy.model import REDACTED, PersonalData, Scrubber, erasure_cutoff

SOREN = PersonalData(name="Søren Ærø", card_number="1234567890", email="soren@example.dk")


def test_whole_values_are_replaced_case_insensitively() -> None:
    scrub = Scrubber([SOREN])
    assert scrub.text("Hej SØREN ÆRØ, kort 1234567890, Soren@Example.dk") == (
        f"Hej {REDACTED}, kort {REDACTED}, {REDACTED}"
    )


def test_name_parts_only_in_free_text_and_only_whole_words() -> None:
    scrub = Scrubber([SOREN])
    assert scrub.text("ring til Søren", free_text=True) == f"ring til {REDACTED}"
    assert scrub.text("Søren Kierkegaard: Enten-Eller") == "Søren Kierkegaard: Enten-Eller"
    assert scrub.text("Ærøskøbing", free_text=True) == "Ærøskøbing"
    assert scrub.text("kort 12345678901") == "kort 12345678901"


def test_json_values_are_scrubbed_and_notes_as_free_text() -> None:
    scrub = Scrubber([SOREN])
    citation = {"title": "Søren og Marie", "notes": "til Søren", "year": 1998, "tags": ["Søren Ærø"]}
    assert scrub.json(citation) == {
        "title": "Søren og Marie",
        "notes": f"til {REDACTED}",
        "year": 1998,
        "tags": [REDACTED],
    }


def test_no_people_leaves_text_alone() -> None:
    assert Scrubber([]).text("Søren") == "Søren"
    assert Scrubber([]).text(None) is None


def test_the_cutoff_is_the_retention_period_before_now() -> None:
    now = datetime(2030, 1, 10, 12, tzinfo=UTC)
    assert erasure_cutoff(now, 1) == now - timedelta(days=1)
    with pytest.raises(ValueError):
        erasure_cutoff(now, 0)
