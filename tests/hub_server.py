"""A real hub in a child process: run `fjernlaan …`, start `fjernlaan serve`, wait until it answers.

The one copy the end-to-end tests (tests/e2e) and the HTTP benchmarks (bench/hub_process.py) share.
It needs neither pytest nor the database: a hub that does not come up raises `HubDidNotStart` with the
end of its log.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

SRC = Path(__file__).resolve().parents[1] / "src"
# What uvicorn logs when a server process has started the app (once per process).
STARTED = b"Application startup complete."


class HubDidNotStart(RuntimeError):
    """The hub did not answer /health in time (the message ends with its log)."""


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cli(*args: str) -> list[str]:
    """The command line of `fjernlaan ARGS`, run by this Python from these sources."""
    return [sys.executable, "-m", "fjernlaan.app.cli", *args]


def hub_env(database_url: str, port: int | None = None, **extra: str) -> dict[str, str]:
    """This process's environment with the hub's database (and, given a port, its address on loopback)."""
    env = {**os.environ, "FJERNLAAN_DATABASE_URL": database_url, **extra}
    if port is not None:
        env.update(FJERNLAAN_PORT=str(port), FJERNLAAN_HOST="127.0.0.1")
    return env


def run_cli(env: Mapping[str, str], *args: str) -> str:
    """Run `fjernlaan ARGS` to its end (it must succeed); its standard output."""
    return subprocess.run(cli(*args), env=env, check=True, capture_output=True, text=True).stdout


def start(
    env: Mapping[str, str], log: Path, *args: str, new_session: bool = False
) -> subprocess.Popen[bytes]:
    """Start a long-running `fjernlaan ARGS`, its output appended to `log`; `new_session` puts it in a
    process group of its own (so a kill of the group reaches every process it starts)."""
    with log.open("ab") as out:
        return subprocess.Popen(
            cli(*args), env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=new_session
        )


def wait_healthy(
    url: str,
    log: Path,
    *,
    seconds: float = 120,
    processes: int = 1,
    stop: subprocess.Popen[bytes] | None = None,
) -> None:
    """Wait until `url`/health answers 200 and `processes` server processes have logged their start.
    Generous by default: on a loaded machine (CI, several runs sharing two cores) starting takes long.
    On time out, terminate `stop` (when given) and raise HubDidNotStart."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            healthy = httpx.get(f"{url}/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            healthy = False
        if healthy and (processes == 1 or log.read_bytes().count(STARTED) >= processes):
            if processes > 1:
                time.sleep(0.2)  # from startup complete to accepting
            return
        time.sleep(0.2)
    if stop is not None:
        stop.terminate()
    tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
    raise HubDidNotStart(f"the hub at {url} did not answer /health within {seconds:g} s:\n{tail}")


def stop(process: subprocess.Popen[bytes], timeout: float = 10) -> None:
    """Terminate the process and wait for it (kill it when it does not stop in time)."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)


@contextmanager
def served(
    env: Mapping[str, str], log: Path, *args: str, port: int | None = None, seconds: float = 120
) -> Iterator[str]:
    """`fjernlaan serve ARGS` while the block runs: its base URL, once it answers /health. The port is
    `port`, else FJERNLAAN_PORT from `env`."""
    port = port if port is not None else int(env["FJERNLAAN_PORT"])
    server = start(env, log, "serve", *args)
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, log, seconds=seconds, stop=server)
    try:
        yield url
    finally:
        stop(server)
