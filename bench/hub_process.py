"""A real `fjernlaan serve` for the HTTP benchmarks: start it, find a port, read its CPU time."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(url: str, port: int, workers: int, *, attempts: int = 300) -> subprocess.Popen[bytes]:
    """Start `fjernlaan serve --workers N --no-access-log` on the database `url` and wait for /health
    and for every server process to have started.

    It runs from this checkout's sources (the installed entry point may be another copy); its output
    goes to a log file in the temporary directory, named after the port.
    """
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {
        **os.environ,
        "FJERNLAAN_DATABASE_URL": url,
        "PYTHONPATH": src,
        # The load comes from one address at far more than a peer sends: no rate limit may shape it.
        "FJERNLAAN_ISO18626_RATE_LIMIT_PER_ADDRESS": "1000000/second",
        "FJERNLAAN_LOGIN_RATE_LIMIT_PER_ADDRESS": "1000000/second",
    }
    command = [
        *(sys.executable, "-m", "fjernlaan.app.cli", "serve", "--port", str(port)),
        *("--workers", str(workers), "--no-access-log"),
    ]
    log = open(Path(tempfile.gettempdir()) / f"fjernlaan-bench-{port}.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
    for _ in range(attempts):
        try:
            healthy = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            healthy = False
        # Every process must be serving before the load connects: the first one up would otherwise
        # get every connection (and the run would measure one process).
        if healthy and Path(log.name).read_bytes().count(STARTED) >= workers:
            time.sleep(0.2)  # from startup complete to accepting
            return process
        time.sleep(0.1)
    process.terminate()
    raise RuntimeError(f"fjernlaan serve did not come up (log: {log.name})")


# What uvicorn logs when a server process has started the app (once per process).
STARTED = b"Application startup complete."


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
