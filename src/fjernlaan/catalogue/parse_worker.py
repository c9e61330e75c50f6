"""`read_marc` in a second process, so that an import parses on one core while it writes on another.

A big import spends about half its time parsing and mapping MARC and half writing to the database;
the two halves need nothing from each other but the parsed records, so a worker process reads the
file and hands the results over in batches while the importer stores the batch before. The results
are exactly `read_marc`'s, in the same order (a test compares both over the reference files); a
broken record is still a `SkippedRecord` in its place, and an error that `read_marc` raises (a file
that is not MARC at all) is raised here, in the caller's process, with its own type.

The worker is a fresh interpreter (`python -m fjernlaan.catalogue.parse_worker`) writing pickled
batches to a pipe of its own, not a `multiprocessing` child: "fork" would copy the caller's threads
and open database connections (the web server, the CLI's progress bar), and "spawn" re-runs the
caller's main module, which breaks any script without an `if __name__ == "__main__"` guard.
The pickles come from our own child process over a private pipe, never from outside.
"""

from __future__ import annotations

import os
import pickle
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, cast

import fjernlaan
from fjernlaan.catalogue.marc import Format, ParsedRecord, SkippedRecord, read_marc

__all__ = ["read_marc_in_worker"]

# Results a message: big enough that pickling and the pipe cost little a record, small enough that
# the importer starts storing soon after the worker starts.
_BATCH = 250
_AHEAD = 16
_NO_ENCODING = "-"


def read_marc_in_worker(
    path: str | Path,
    *,
    fmt: Format = "auto",
    default_library: str | None = None,
    encoding: str | None = None,
) -> Iterator[ParsedRecord | SkippedRecord]:
    """`read_marc` of a file, run in a worker process; same results, same order, same errors.

    Closing the iterator early (or an exception in the caller's loop) stops the worker.
    """
    read_end, write_end = os.pipe()
    # The worker must import this very fjernlaan (a checkout's src may come first on sys.path).
    package_root = str(Path(fjernlaan.__file__).resolve().parents[1])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    try:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "fjernlaan.catalogue.parse_worker",
                str(write_end),
                str(Path(path).resolve()),
                fmt,
                default_library or "",
                encoding or _NO_ENCODING,
            ],
            pass_fds=(write_end,),
            stdin=subprocess.DEVNULL,
            env=env,
        )
    except BaseException:
        os.close(read_end)
        raise
    finally:
        os.close(write_end)
    finished = False
    try:
        with os.fdopen(read_end, "rb", buffering=1 << 20) as stream:
            while True:
                try:
                    message = pickle.load(stream)
                except EOFError:
                    code = worker.wait()
                    raise RuntimeError(
                        f"the MARC parsing process ended without finishing (exit code {code})"
                    ) from None
                if message is None:
                    finished = True
                    return
                if isinstance(message, BaseException):
                    finished = True
                    raise message
                yield from message
    finally:
        if not finished:
            worker.kill()
        worker.wait()


def _work(out: IO[bytes], path: str, fmt: Format, default_library: str | None, encoding: str | None) -> None:
    # The worker process: parse, send batches, then None; an exception is sent instead and ends it.
    # A thread writes to the pipe, so that the parser runs on while the importer is busy storing
    # (a pipe holds 64 KiB, a batch about 1 MiB): up to _AHEAD batches wait in memory.
    pending: queue.Queue[bytes | None] = queue.Queue(maxsize=_AHEAD)

    def write() -> None:
        try:
            while (data := pending.get()) is not None:
                out.write(data)
            out.flush()
        except OSError:
            # The importer is gone (killed, or stopped reading): nobody wants the rest, and the
            # parser would otherwise wait forever on the full queue.
            os._exit(1)

    writer = threading.Thread(target=write, name="marc-batches", daemon=True)
    writer.start()
    results: list[ParsedRecord | SkippedRecord] = []
    try:
        for result in read_marc(path, fmt=fmt, default_library=default_library, encoding=encoding):
            results.append(result)
            if len(results) >= _BATCH:
                pending.put(pickle.dumps(results, protocol=pickle.HIGHEST_PROTOCOL))
                results = []
        if results:
            pending.put(pickle.dumps(results, protocol=pickle.HIGHEST_PROTOCOL))
        message: BaseException | None = None
    except Exception as exc:  # the caller raises it; a worker that just died would say less
        message = exc
    try:
        last = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError):
        last = pickle.dumps(RuntimeError(f"{type(message).__name__}: {message}"))
    pending.put(last)
    pending.put(None)
    writer.join()


def main(argv: list[str]) -> None:
    """The worker's entry point: `fd path format library encoding` (empty library, "-" encoding)."""
    fd, path, fmt, library, encoding = argv
    with os.fdopen(int(fd), "wb", buffering=1 << 20) as out:
        _work(
            out,
            path,
            cast(Format, fmt),
            library or None,
            None if encoding == _NO_ENCODING else encoding,
        )


if __name__ == "__main__":
    main(sys.argv[1:])
