"""Benchmarks of fjernlaan: each module `bench/bench_*.py` measures one target from an issue."""

import sys
from pathlib import Path

# Measure this checkout's sources, whichever copy of fjernlaan the virtualenv has installed; the
# tests' folder holds the hub-server helper the benchmarks share with the end-to-end tests.
for _folder in ("src", "tests"):
    _path = str(Path(__file__).resolve().parents[1] / _folder)
    if _path not in sys.path:
        sys.path.insert(0, _path)
