"""A small thread-safe cache whose entries expire after a fixed number of seconds."""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class TtlCache(Generic[V]):
    """Values reused for `seconds` after they were put, per key.

    For rows that change rarely and are read on every request (the directory, peers' settings): each
    server process keeps its own copy, so a change made in another process is seen within `seconds`.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._lock = threading.Lock()
        self._values: dict[Hashable, tuple[float, V]] = {}

    def get(self, key: Hashable) -> V | None:
        """The value put under `key` less than `seconds` ago, or None."""
        with self._lock:
            hit = self._values.get(key)
        if hit is None or time.monotonic() - hit[0] > self.seconds:
            return None
        return hit[1]

    def put(self, key: Hashable, value: V) -> None:
        """Keep `value` under `key` from now on."""
        with self._lock:
            self._values[key] = (time.monotonic(), value)

    def clear(self) -> None:
        """Forget every value."""
        with self._lock:
            self._values.clear()
