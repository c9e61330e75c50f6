"""How `fjernlaan serve` runs uvicorn with several server processes."""

from __future__ import annotations

import time
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# How long a server process steps back after accepting a connection while it already has others.
# 0.5 ms was too short on a busy machine (the other process was not scheduled in time: splits of
# 18:2 remained); 2 ms gave 7:13 to 9:11.
ACCEPT_PAUSE_SECONDS = 0.002


class TakeTurnsHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol (what its `auto` setting picks), made by a server process that
    steps back for a moment after accepting a connection while it already serves others, so the
    other processes take the next ones.

    The processes share one listening socket, and the first one to wake accepted every connection
    waiting: 20 keep-alive clients connecting at once were split 19:1, 17:3 or 14:6 between two
    processes, and the busier process (one core at most: its GIL) set the pace, and the latency, of
    most clients. uvicorn builds the protocol while it accepts, on the event loop, before it accepts
    the next connection: the pause (blocking on purpose) is the other processes' turn. It costs the
    loop ACCEPT_PAUSE_SECONDS once per connection, not per request; a process with no connection
    open does not pause.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.connections:
            time.sleep(ACCEPT_PAUSE_SECONDS)
