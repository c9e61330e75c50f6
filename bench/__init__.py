"""Benchmarks of fjernlaan: each module `bench/bench_*.py` measures one target from an issue."""

import sys
from pathlib import Path

# Measure this checkout's sources, whichever copy of fjernlaan the virtualenv has installed.
_SRC = str(Path(__file__).resolve().parents[1] / "src")
if _SRC not in sys.path:
    sys.path.insert(0, _SRC)
