"""`python -m bench NAME --quick`: flags are flags, names are benchmarks."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _bench_main() -> ModuleType:
    # bench/ is not an installed package: load its __main__ from the checkout.
    spec = importlib.util.spec_from_file_location("bench_main_under_test", ROOT / "bench" / "__main__.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quick_and_records_are_flags_not_benchmark_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FJERNLAAN_BENCH_QUICK", raising=False)
    monkeypatch.delenv("FJERNLAAN_BENCH_RECORDS", raising=False)
    bench = _bench_main()
    arguments = bench._arguments(["catalogue", "--quick", "--records", "5000"])
    assert arguments.names == ["catalogue"]
    assert arguments.quick is True
    assert arguments.records == 5000


def test_an_unknown_benchmark_is_named_and_nothing_runs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FJERNLAAN_BENCH_QUICK", "0")
    monkeypatch.syspath_prepend(str(ROOT))
    bench = _bench_main()
    assert bench.main(["no_such_thing", "--quick"]) == 2
    out = capsys.readouterr().out
    assert "no such benchmark: bench_no_such_thing" in out
    assert "bench_catalogue" in out
    assert os.environ["FJERNLAAN_BENCH_QUICK"] == "1"
