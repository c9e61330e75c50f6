"""Working-day calendars built from Danish public holidays and a library's own closures."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from functools import lru_cache

import holidays

from fjernlaan.directory.model import Closure, WorkingCalendar


@lru_cache(maxsize=64)
def _danish_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("DK", years=year).keys())


def is_danish_public_holiday(day: date) -> bool:
    """True on Danish public holidays (the `holidays` package; Christmas Eve and New Year's Eve too,
    as Danish libraries are closed on them)."""
    if (day.month, day.day) in {(12, 24), (12, 31), (6, 5)}:
        return True
    return day in _danish_holidays(day.year)


def calendar_for(closures: Iterable[Closure] = ()) -> WorkingCalendar:
    """The working calendar of a Danish library with the given closures."""
    return WorkingCalendar(is_public_holiday=is_danish_public_holiday, closures=tuple(closures))


def add_working_days(closures: Iterable[Closure], start: date, n: int) -> date:
    """`n` working days after `start` for a library with these closures: the one place deadlines
    come from (the directory service wraps it with the library's stored closures)."""
    return calendar_for(closures).add_working_days(start, n)
