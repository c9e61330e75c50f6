"""How `fjernlaan serve` runs its server processes: one, or several that each listen on a socket of
their own with SO_REUSEPORT, so that the kernel spreads new connections over them.

uvicorn's own `workers=N` hands every process one shared listening socket, and whichever process wakes
first accepts every connection waiting: 20 keep-alive clients opened at once were split 19:1 or 17:3,
and the busier process (one core at most) set most clients' pace. With a socket per process the
kernel picks the process by a hash of each connection's addresses, with no process in the way.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from types import FrameType

APP = "fjernlaan.app.factory:create_served_app"


def reuse_port_supported() -> bool:
    """Whether this platform balances SO_REUSEPORT sockets (Linux does; elsewhere uvicorn's workers)."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def listening_socket(host: str, port: int, *, reuse_port: bool, listen: bool = True) -> socket.socket:
    """A TCP socket bound to host:port, listening unless ``listen`` is false; with ``reuse_port``
    other processes of this user may listen there too."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    if listen:
        sock.listen(2048)
    return sock


def serve_one(host: str, port: int, *, access_log: bool, reuse_port: bool) -> None:
    """Run one server process (uvicorn) on its own listening socket until it is told to stop."""
    import uvicorn

    sock = listening_socket(host, port, reuse_port=reuse_port)
    config = uvicorn.Config(
        APP, factory=True, host=host, port=port, log_level="info", access_log=access_log, proxy_headers=False
    )
    uvicorn.Server(config).run(sockets=[sock])


def serve_many(host: str, port: int, workers: int, *, access_log: bool) -> int:
    """Start ``workers`` server processes on host:port, each with a SO_REUSEPORT socket of its own,
    and watch them: SIGINT or SIGTERM stops them all (each finishes its requests in flight); when one
    ends by itself, the others are stopped too and its exit code is returned.
    """
    # SO_REUSEPORT lets any process of this user share the port, another hub included: a plain bind
    # first fails at once, with one clear error, when anything listens there already.
    listening_socket(host, port, reuse_port=False, listen=False).close()
    # This one holds the port for as long as the processes run, so that no program without
    # SO_REUSEPORT takes it between their starts. It never listens (the kernel would hand it
    # connections nobody accepts).
    guard = listening_socket(host, port, reuse_port=True, listen=False)
    command = [sys.executable, "-m", "fjernlaan.app.cli", "serve", "--host", host, "--port", str(port)]
    command += ["--workers", "1", "--reuse-port", "--access-log" if access_log else "--no-access-log"]
    children = [subprocess.Popen(command) for _ in range(workers)]
    stopping = False

    def terminate() -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        terminate()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stopping and all(child.poll() is None for child in children):
            time.sleep(0.2)
        terminate()
        codes = [child.wait() for child in children]
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        guard.close()
    if stopping:
        return 0
    return next((code for code in codes if code), 0)
