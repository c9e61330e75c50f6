"""Per-database directory and load figures that lending reuses for a few seconds.

The directory and the load figures change slowly, and placing a request must not read 1,000 libraries
each time. Values are kept per database: keyed by the engine's connection pool, which an engine shares
with its read-only variant, so reads through either find the same values.
"""

from __future__ import annotations

import statistics
import weakref
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import Pool

from fjernlaan.directory import service as directory
from fjernlaan.directory.model import Library, WorkingCalendar
from fjernlaan.lending import rota as lr
from fjernlaan.lending.store import AttemptRow
from fjernlaan.ttl_cache import TtlCache

# How far back "recent" load goes for fair share and turnaround, and how long the figures are reused.
LOAD_WINDOW_DAYS = 365
CACHE_SECONDS = 10.0

_cache: TtlCache[Any] = TtlCache(CACHE_SECONDS)


def clear_caches() -> None:
    """Forget cached directory and load figures (tests that change the directory call this)."""
    _cache.clear()


def _db_key(session: Session) -> str:
    # Keyed by the connection pool, which an engine shares with its read-only variant (`read_only`):
    # placing reads through one and writes through the other, and both must hit the same cache.
    # Worked out once per pool (placing asks about ten times, and rendering the URL is not free).
    engine = session.get_bind().engine
    key = _DB_KEYS.get(engine.pool)
    if key is None:
        key = _DB_KEYS[engine.pool] = f"{id(engine.pool)}:{engine.url!r}"
    return key


_DB_KEYS: weakref.WeakKeyDictionary[Pool, str] = weakref.WeakKeyDictionary()


def cached_libraries(session: Session) -> dict[str, Library]:
    """Every library by ISIL, reused for a few seconds (pages name many libraries per answer)."""
    key = (_db_key(session), "libraries")
    cached: dict[str, Library] | None = _cache.get(key)
    if cached is None:
        cached = {lib.isil: lib for lib in directory.all_libraries(session)}
        _cache.put(key, cached)
    return cached


def cached_calendar(session: Session, isil: str) -> WorkingCalendar:
    """A library's working-day calendar, reused for a few seconds."""
    key = (_db_key(session), f"calendar:{isil}")
    cached: WorkingCalendar | None = _cache.get(key)
    if cached is None:
        cached = directory.working_calendar(session, isil)
        _cache.put(key, cached)
    return cached


def lender_load(session: Session, now: datetime) -> dict[str, lr.LenderLoad]:
    """Each lender's recent load: requests received (attempts) in the last year and its median
    turnaround (asked to shipped) in days.

    The catalogue does not expose holdings counts per library, so every lender counts one unit of
    holdings: fair share then compares a lender's requests with the network's average per lender.
    """
    key = (_db_key(session), "load")
    cached: dict[str, lr.LenderLoad] | None = _cache.get(key)
    if cached is not None:
        return cached
    since = now - timedelta(days=LOAD_WINDOW_DAYS)
    counts = dict(
        session.execute(
            select(AttemptRow.isil, func.count())
            .where(AttemptRow.created_at >= since)
            .group_by(AttemptRow.isil)
        ).all()
    )
    durations: dict[str, list[float]] = {}
    for isil, created, shipped in session.execute(
        select(AttemptRow.isil, AttemptRow.created_at, AttemptRow.shipped_at).where(
            AttemptRow.created_at >= since, AttemptRow.shipped_at.is_not(None)
        )
    ):
        if shipped is None:
            continue
        durations.setdefault(isil, []).append((shipped - created).total_seconds() / 86400)
    result = {
        isil: lr.LenderLoad(
            requests_received=int(n),
            holdings_count=1,
            median_turnaround_days=statistics.median(durations[isil]) if isil in durations else None,
        )
        for isil, n in counts.items()
    }
    _cache.put(key, result)
    return result
