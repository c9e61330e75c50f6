"""The working-day calendar: weekdays minus Danish public holidays minus a library's closures."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from fjernlaan.clock import SYSTEM_CLOCK, today
from fjernlaan.directory.calendar import add_working_days, calendar_for, is_danish_public_holiday
from fjernlaan.directory.model import Closure
from fjernlaan.errors import DomainError


def test_three_working_days_from_a_monday_is_thursday() -> None:
    assert add_working_days([], date(2026, 3, 2), 3) == date(2026, 3, 5)


def test_weekends_are_not_working_days() -> None:
    assert add_working_days([], date(2026, 3, 6), 1) == date(2026, 3, 9)


def test_easter_2026_skips_maundy_thursday_good_friday_and_easter_monday() -> None:
    # Wednesday 1 April 2026 + 1 working day: 2 (Skærtorsdag), 3 (Langfredag), 4-5 weekend,
    # 6 (2. påskedag) are closed, so the next working day is Tuesday 7 April.
    assert add_working_days([], date(2026, 4, 1), 1) == date(2026, 4, 7)


def test_christmas_2026_skips_christmas_eve_to_boxing_day_and_the_weekend() -> None:
    # Wednesday 23 Dec + 1: 24 (juleaften), 25, 26 (juledag) and Sunday 27 are closed.
    assert add_working_days([], date(2026, 12, 23), 1) == date(2026, 12, 28)


def test_new_years_eve_and_day_are_closed() -> None:
    assert add_working_days([], date(2026, 12, 30), 1) == date(2027, 1, 4)


def test_whit_monday_and_ascension_are_holidays() -> None:
    assert is_danish_public_holiday(date(2026, 5, 14))  # Kristi himmelfartsdag
    assert is_danish_public_holiday(date(2026, 5, 25))  # 2. pinsedag


def test_a_library_closure_pushes_the_deadline_past_it() -> None:
    closure = Closure(starts=date(2026, 3, 3), ends=date(2026, 3, 4), reason="inventory")
    assert add_working_days([closure], date(2026, 3, 2), 3) == date(2026, 3, 9)


def test_closed_until_reports_the_end_of_overlapping_closures() -> None:
    calendar = calendar_for(
        [
            Closure(starts=date(2026, 12, 21), ends=date(2026, 12, 24)),
            Closure(starts=date(2026, 12, 23), ends=date(2026, 12, 27)),
        ]
    )
    assert calendar.closed_until(date(2026, 12, 22)) == date(2026, 12, 27)
    assert calendar.closed_until(date(2026, 12, 28)) is None


def test_zero_working_days_on_a_holiday_is_the_next_working_day() -> None:
    assert add_working_days([], date(2026, 12, 25), 0) == date(2026, 12, 28)


def test_negative_working_days_are_refused() -> None:
    with pytest.raises(DomainError):
        add_working_days([], date(2026, 1, 5), -1)


def test_a_closure_cannot_end_before_it_starts() -> None:
    with pytest.raises(DomainError):
        Closure(starts=date(2026, 1, 5), ends=date(2026, 1, 4))


def test_working_days_between_counts_only_open_days() -> None:
    calendar = calendar_for()
    assert calendar.working_days_between(date(2026, 12, 23), date(2026, 12, 28)) == 1


def _easter(year: int) -> date:
    """Easter Sunday (the anonymous Gregorian algorithm), worked out independently of `holidays`."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    m = (32 + 2 * e + 2 * i - h - k) % 7
    n = (a + 11 * h + 22 * m) // 451
    month, day = divmod(h + m - 7 * n + 114, 31)
    return date(year, month, day + 1)


# Years counted from the clock, not named: this year, next year, and years well beyond the next, so a
# holiday table that runs out (or a rule that only holds for the year the test was written) fails now.
@pytest.mark.parametrize("years_ahead", [0, 1, 2, 5])
def test_easter_and_christmas_are_closed_in_any_year(years_ahead: int) -> None:
    year = today(SYSTEM_CLOCK).year + years_ahead
    easter = _easter(year)
    closed = [easter + timedelta(days=d) for d in (-3, -2, 0, 1, 39, 49, 50)]  # skærtorsdag … 2. pinsedag
    closed += [
        date(year, 12, 24),
        date(year, 12, 25),
        date(year, 12, 26),
        date(year, 12, 31),
        date(year, 1, 1),
    ]
    assert [day for day in closed if not is_danish_public_holiday(day)] == []
    # Store bededag (4th Friday after Easter) is a working day since 2024.
    assert not is_danish_public_holiday(easter + timedelta(days=26))
    calendar = calendar_for()
    assert calendar.is_working_day(easter - timedelta(days=4))  # the Wednesday before Easter
    assert calendar.is_working_day(easter + timedelta(days=2))  # the Tuesday after
    # One working day after the Wednesday before Easter is the Tuesday after it.
    assert add_working_days([], easter - timedelta(days=4), 1) == easter + timedelta(days=2)
    # One working day after 23 December: past 24-26 December and any weekend.
    after = add_working_days([], date(year, 12, 23), 1)
    assert after > date(year, 12, 26) and after.weekday() < 5
    assert after == next(
        d for d in (date(year, 12, 27) + timedelta(days=i) for i in range(4)) if d.weekday() < 5
    )


def test_the_easter_algorithm_agrees_with_known_dates() -> None:
    # Checks the test's own helper against published dates; the holiday test above never names a year.
    assert [_easter(y) for y in (2024, 2025, 2026, 2027)] == [
        date(2024, 3, 31),
        date(2025, 4, 20),
        date(2026, 4, 5),
        date(2027, 3, 28),
    ]
