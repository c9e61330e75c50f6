"""Reusable pydantic types for everything that crosses the edge: every API schema and import row uses
these, so each value the hub stores is bounded the same way (limits in `fjernlaan.limits`).

- `Name`: one line, 1-200 characters, no control characters, line breaks or direction overrides.
- `Text` / `LongText`: multi-line text up to 10,000 / 200,000 characters, no NUL or other controls.
- `Isil`: an ISIL in canonical form (upper case, ISO 15511 compares ISILs case-insensitively).
- `Fee`: DKK, finite, 0..1,000,000.
- `SaneDate` / `SaneDateTime`: 1900-01-01..2200-12-31.
- `Id`, `Count`, `Offset`: integers within the database's `Integer` range.
- `CardNumber`: a patron's library card: printable ASCII, no spaces or slashes.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field

from fjernlaan.isil import InvalidIsil, normalise_isil
from fjernlaan.limits import (
    CARD_MAX,
    INT_MAX,
    LONG_TEXT_MAX,
    MONEY_MAX_DKK,
    NAME_MAX,
    TEXT_MAX,
    date_problem,
    text_problem,
)


def _one_line(value: str) -> str:
    problem = text_problem(value, one_line=True)
    if problem:
        raise ValueError(problem)
    return value


def _multi_line(value: str) -> str:
    problem = text_problem(value, one_line=False)
    if problem:
        raise ValueError(problem)
    return value


def _sane_date(value: date) -> date:
    problem = date_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _sane_datetime(value: datetime) -> datetime:
    problem = date_problem(value.date())
    if problem:
        raise ValueError(problem)
    return value


def _canonical_isil(value: object) -> object:
    if not isinstance(value, str):
        return value
    try:
        return normalise_isil(value)
    except InvalidIsil as exc:
        raise ValueError(exc.message) from exc


Name = Annotated[str, Field(min_length=1, max_length=NAME_MAX), AfterValidator(_one_line)]
"""A name or title: one line, 1-200 characters."""

ShortText = Annotated[str, Field(max_length=NAME_MAX), AfterValidator(_one_line)]
"""An optional one-line value (may be empty), at most 200 characters."""

Text = Annotated[str, Field(max_length=TEXT_MAX), AfterValidator(_multi_line)]
"""Multi-line text (descriptions, reasons, notes), at most 10,000 characters."""

LongText = Annotated[str, Field(max_length=LONG_TEXT_MAX), AfterValidator(_multi_line)]
"""A long document (minutes in Markdown), at most 200,000 characters."""

Isil = Annotated[
    str,
    BeforeValidator(_canonical_isil),
    Field(min_length=3, max_length=16, examples=["DK-710100"]),
]
"""An ISIL (ISO 15511) in canonical form."""

Fee = Annotated[float, Field(ge=0, le=MONEY_MAX_DKK, allow_inf_nan=False)]
"""An amount in DKK: finite, 0..1,000,000."""

SaneDate = Annotated[date, AfterValidator(_sane_date)]
"""A date between 1900-01-01 and 2200-12-31."""

SaneDateTime = Annotated[datetime, AfterValidator(_sane_datetime)]
"""A date-time whose date is between 1900-01-01 and 2200-12-31."""

Id = Annotated[int, Field(ge=1, le=INT_MAX)]
"""A database id."""

Count = Annotated[int, Field(ge=0, le=INT_MAX)]
"""A non-negative whole number stored in an `Integer` column."""

CardNumber = Annotated[
    str, Field(min_length=1, max_length=CARD_MAX, pattern=r"^[!-.0-~]+$", examples=["1234567890"])
]
"""A library card number: printable ASCII without spaces or `/` (it is part of a URL path)."""
