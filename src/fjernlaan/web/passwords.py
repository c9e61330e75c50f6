"""Password checks on threads of their own, so a flood of logins cannot starve other requests.

argon2id takes tens of milliseconds of CPU and memory per check by design. Run in the request thread
pool, 40 concurrent wrong logins took every thread and other API calls waited behind them. Here a few
dedicated threads check passwords, at most ``queue`` more logins wait, and any beyond that are refused
at once with 429. Imports no area.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from fjernlaan.web.ratelimit import TooManyRequests

P = ParamSpec("P")
T = TypeVar("T")


class PasswordGate:
    """A small executor with a bounded waiting line, used from the event loop."""

    def __init__(self, threads: int, queue: int) -> None:
        self.threads = threads
        self.capacity = threads + queue
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="fjernlaan-password")
        # Only changed on the event loop (one thread), so a plain counter is enough.
        self.in_flight = 0

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``fn`` on a password thread and wait for it; 429 when the line is full."""
        if self.in_flight >= self.capacity:
            raise TooManyRequests("too many logins are being checked right now; try again", retry_after=1)
        self.in_flight += 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))
        finally:
            self.in_flight -= 1

    def shutdown(self) -> None:
        """Stop the threads once the checks in hand are done."""
        self._executor.shutdown(wait=False, cancel_futures=True)
