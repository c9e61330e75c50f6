"""Benchmarks of fjernlaan: each module `bench/bench_*.py` measures one target from an issue."""
