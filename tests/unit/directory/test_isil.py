"""ISIL validation (ISO 15511; Danish ISILs are DK- + six digits)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fjernlaan.directory.model import InvalidIsil, normalise_isil, public_library_isil


@pytest.mark.parametrize("isil", ["DK-710100", "DK-820010", "dk-775100", " DK-800010 "])
def test_danish_isil_with_six_digits_is_accepted_and_upper_cased(isil: str) -> None:
    assert normalise_isil(isil) == isil.strip().upper()


@pytest.mark.parametrize("isil", ["SE-L", "NO-0030100", "US-DLC", "GB-UkOxU", "DE-101", "O-ABC"])
def test_foreign_iso_15511_isils_are_accepted_in_canonical_upper_case(isil: str) -> None:
    # ISO 15511 compares ISILs without regard to case: the hub keeps one spelling (docs/decisions.md).
    assert normalise_isil(isil) == isil.upper()
    assert normalise_isil(isil.lower()) == normalise_isil(isil)


@pytest.mark.parametrize(
    ("isil", "why"),
    [
        ("DK-71010", "six-digit"),
        ("DK-7101000", "six-digit"),
        ("DK-ABCDEF", "six-digit"),
        ("710100", "PREFIX-IDENTIFIER"),
        ("DK710100", "PREFIX-IDENTIFIER"),
        ("", "PREFIX-IDENTIFIER"),
        ("DKDKD-1", "PREFIX-IDENTIFIER"),
        ("SE-has space", "PREFIX-IDENTIFIER"),
        ("US-ABCDEFGHIJKLMN", "longer than 16"),
    ],
)
def test_malformed_isil_is_refused_saying_why(isil: str, why: str) -> None:
    with pytest.raises(InvalidIsil) as raised:
        normalise_isil(isil)
    assert why in raised.value.message
    assert raised.value.field == "isil"


def test_public_library_isil_is_7_plus_municipality_code_plus_00() -> None:
    assert public_library_isil(101) == "DK-710100"
    assert public_library_isil(751) == "DK-775100"


def test_municipality_code_must_have_three_digits() -> None:
    with pytest.raises(InvalidIsil):
        public_library_isil(1001)


@given(st.integers(min_value=0, max_value=999_999))
def test_every_six_digit_danish_number_is_a_valid_isil(number: int) -> None:
    isil = f"DK-{number:06d}"
    assert normalise_isil(isil) == isil


@given(st.text(max_size=20))
def test_normalising_is_idempotent_or_refuses(text: str) -> None:
    try:
        once = normalise_isil(text)
    except InvalidIsil:
        return
    assert normalise_isil(once) == once
