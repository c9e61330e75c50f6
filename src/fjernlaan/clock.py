"""The one source of time.

Everything that needs "now" (services' callers, the worker, timers, feeds, the CLI, demo seeding and the
web layer) is given a :class:`Clock` and asks it; domain functions keep taking ``now`` as a plain
argument. Production uses :class:`SystemClock`; tests use :class:`FixedClock`, which stands still until
it is told to move, so no test depends on the day it runs.

This is the only module that reads the wall clock (docs/decisions.md).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Protocol, runtime_checkable
from zoneinfo import ZoneInfo

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
"""The hub's local time zone: working days, opening hours and "today" are Danish."""


@runtime_checkable
class Clock(Protocol):
    """Tells the time: an aware UTC datetime."""

    def now(self) -> datetime:
        """The current moment, aware, in UTC."""


def today(clock: Clock, tz: tzinfo = COPENHAGEN) -> date:
    """The calendar date at ``clock``'s moment in ``tz`` (Copenhagen by default)."""
    return clock.now().astimezone(tz).date()


def start_of_day(day: date, tz: tzinfo = COPENHAGEN) -> datetime:
    """Midnight at the start of ``day`` in ``tz``, as an aware UTC datetime: the moment of a use case
    that is dated by day (a membership move, say)."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        """The current moment, aware, in UTC."""
        return datetime.now(UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


class FixedClock:
    """A clock that stands still until it is set or advanced: for tests and for `--now` runs."""

    def __init__(self, moment: datetime) -> None:
        self._moment = _aware_utc(moment)

    def now(self) -> datetime:
        """The moment the clock was set to."""
        return self._moment

    def set(self, moment: datetime) -> None:
        """Move the clock to ``moment`` (aware)."""
        self._moment = _aware_utc(moment)

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        """Move the clock forward by ``delta`` (or ``timedelta(**kwargs)``); returns the new moment."""
        self._moment += (delta or timedelta()) + timedelta(**kwargs)
        return self._moment

    def __repr__(self) -> str:
        return f"FixedClock({self._moment.isoformat()})"


def _aware_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("a clock needs an aware datetime, not a naive one")
    return moment.astimezone(UTC)


SYSTEM_CLOCK: Clock = SystemClock()
"""The process's wall clock; the default wherever no clock is given."""


def utcnow() -> datetime:
    """The wall clock's now (aware UTC): only for column defaults, the safety net of undated rows."""
    return SYSTEM_CLOCK.now()
