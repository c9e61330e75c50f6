"""Rate limits (the `limits` library): counters per key in the storage the settings name.

``memory://`` (the default) counts in each server process; ``redis://…`` or ``memcached://…`` share
the counters between processes (docs/operations.md). Limits are written in the library's notation,
``"10/minute"``, ``"100/hour"``, ``"5 per second"``. Imports no area.
"""

from __future__ import annotations

import math
import time
from functools import lru_cache

from limits import RateLimitItem, parse
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from fjernlaan.errors import DomainError


class TooManyRequests(DomainError):
    """A rate limit was reached; the answer is 429 with ``Retry-After``."""

    status = 429
    title = "Too many requests"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, extra={"retry_after": retry_after})
        self.retry_after = retry_after


@lru_cache(maxsize=64)
def _item(limit: str) -> RateLimitItem:
    return parse(limit)


class RateLimiter:
    """Moving-window limits over one storage."""

    def __init__(self, storage_uri: str = "memory://") -> None:
        storage = storage_from_string(storage_uri)
        if not isinstance(storage, Storage):
            raise ValueError(f"{storage_uri!r} names an asyncio storage; use the plain one (e.g. redis://)")
        self.storage = storage
        self._limiter = MovingWindowRateLimiter(self.storage)

    def _retry_after(self, item: RateLimitItem, keys: tuple[str, ...]) -> int:
        reset = self._limiter.get_window_stats(item, *keys).reset_time
        return max(1, math.ceil(reset - time.time()))

    def hit(self, limit: str, *keys: str) -> int | None:
        """Count one event under ``keys``; None when it is within ``limit``, else the seconds until
        the window has room again (the event is then not counted)."""
        item = _item(limit)
        if self._limiter.hit(item, *keys):
            return None
        return self._retry_after(item, keys)

    def check(self, limit: str, *keys: str) -> int | None:
        """Like :meth:`hit` without counting: None when one more event would be within ``limit``."""
        item = _item(limit)
        if self._limiter.test(item, *keys):
            return None
        return self._retry_after(item, keys)

    def reset(self) -> None:
        """Forget every counter (tests, and an operator who lifts a lockout)."""
        self.storage.reset()


def describe(limit: str) -> str:
    """A limit in words for an error message, e.g. ``10 per 1 minute``."""
    return str(_item(limit))
