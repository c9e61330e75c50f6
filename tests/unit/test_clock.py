"""The one source of time: a fixed clock stands still until moved; the system clock follows the wall."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
import time_machine

from fjernlaan.clock import SYSTEM_CLOCK, Clock, FixedClock, SystemClock, start_of_day, today


def test_a_fixed_clock_stands_still_until_it_is_set_or_advanced() -> None:
    start = SYSTEM_CLOCK.now()
    clock = FixedClock(start)
    assert clock.now() == clock.now() == start
    assert clock.advance(minutes=5) == start + timedelta(minutes=5)
    assert clock.advance(timedelta(days=1)) == start + timedelta(days=1, minutes=5)
    later = start + timedelta(days=400)
    clock.set(later)
    assert clock.now() == later


def test_a_clock_gives_aware_utc_and_refuses_a_naive_moment() -> None:
    moment = datetime.combine(today(SYSTEM_CLOCK), datetime.min.time(), tzinfo=timezone(timedelta(hours=2)))
    assert FixedClock(moment).now().tzinfo is UTC
    assert FixedClock(moment).now() == moment
    with pytest.raises(ValueError):
        FixedClock(datetime.combine(today(SYSTEM_CLOCK), datetime.min.time()))
    assert SYSTEM_CLOCK.now().tzinfo is UTC
    assert isinstance(SYSTEM_CLOCK, Clock) and isinstance(FixedClock(moment), Clock)


def test_today_is_the_date_in_copenhagen() -> None:
    year = today(SYSTEM_CLOCK).year + 1  # counted from the clock, never a named year
    # 23:30 UTC on 31 December is already New Year's Day in Copenhagen (UTC+1 in winter).
    assert today(FixedClock(datetime(year, 12, 31, 23, 30, tzinfo=UTC))) == date(year + 1, 1, 1)
    assert start_of_day(date(year, 7, 1)) == datetime(year, 6, 30, 22, 0, tzinfo=UTC)  # summer: UTC+2


def test_the_system_clock_follows_the_wall_clock() -> None:
    # time-machine moves the process's wall clock; the system clock must follow it.
    target = SYSTEM_CLOCK.now() + timedelta(days=3 * 365)
    with time_machine.travel(target, tick=False):
        assert SystemClock().now() == target
