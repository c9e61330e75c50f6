"""A real `fjernlaan serve` for the HTTP benchmarks: start it, find a port, read its CPU time."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from hub_server import SRC, free_port, hub_env, start, wait_healthy

__all__ = ["free_port", "process_tree_cpu_seconds", "serve"]


def serve(url: str, port: int, workers: int, *, seconds: float = 60) -> subprocess.Popen[bytes]:
    """Start `fjernlaan serve --workers N --no-access-log` on the database `url` and wait for /health
    and for every server process to have started.

    It runs from this checkout's sources (the installed entry point may be another copy); its output
    goes to a log file in the temporary directory, named after the port.
    """
    env = hub_env(
        url,
        PYTHONPATH=str(SRC),
        # The load comes from one address at far more than a peer sends: no rate limit may shape it.
        FJERNLAAN_ISO18626_RATE_LIMIT_PER_ADDRESS="1000000/second",
        FJERNLAAN_LOGIN_RATE_LIMIT_PER_ADDRESS="1000000/second",
    )
    log = Path(tempfile.gettempdir()) / f"fjernlaan-bench-{port}.log"
    log.write_bytes(b"")
    process = start(env, log, "serve", "--port", str(port), "--workers", str(workers), "--no-access-log")
    # Every process must be serving before the load connects: the first one up would otherwise get
    # every connection (and the run would measure one process).
    wait_healthy(f"http://127.0.0.1:{port}", log, seconds=seconds, processes=workers, stop=process)
    return process


def process_tree_cpu_seconds(pid: int) -> float | None:
    """User + system CPU of a process and its children (Linux /proc; None elsewhere)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        total = 0.0
        for each in [pid, *map(int, children)]:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total
    except (OSError, ValueError, AttributeError):
        return None
