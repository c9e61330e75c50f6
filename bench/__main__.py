"""`make bench`: run every benchmark module (or those named on the command line) and print its figures.

    python -m bench [NAME…] [--quick] [--records N]

Names are modules under bench/ (`bench_catalogue` or just `catalogue`); flags apply to every
benchmark run: `--quick` sets FJERNLAAN_BENCH_QUICK=1 (each benchmark's small size) and
`--records N` sets FJERNLAAN_BENCH_RECORDS=N.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import time
from pathlib import Path


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="benchmarks to run (all when none)")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a first look")
    parser.add_argument("--records", type=int, metavar="N", help="catalogue size (FJERNLAAN_BENCH_RECORDS)")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    """Run the benchmarks named in argv (all when none) and return the exit code."""
    arguments = _arguments(argv)
    # The benchmarks read their sizes from the environment when imported: set it before that.
    if arguments.quick:
        os.environ["FJERNLAAN_BENCH_QUICK"] = "1"
    if arguments.records is not None:
        os.environ["FJERNLAAN_BENCH_RECORDS"] = str(arguments.records)
    here = Path(__file__).parent
    available = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    names = [n if n.startswith("bench_") else f"bench_{n}" for n in arguments.names] or available
    unknown = [n for n in names if n not in available]
    if unknown:
        print(f"no such benchmark: {', '.join(unknown)} (there are {', '.join(available) or 'none'})")
        return 2
    if not names:
        print("no benchmarks found under bench/")
        return 1
    failures = 0
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        print(f"\n=== {name}: {(module.__doc__ or '').strip().splitlines()[0]}")
        started = time.perf_counter()
        try:
            module.main()
        except Exception as exc:  # one broken benchmark must not hide the others' figures
            failures += 1
            print(f"!!! {name} failed: {type(exc).__name__}: {exc}")
        print(f"--- {name} took {time.perf_counter() - started:.1f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
