"""The importer's per-batch view of the holdings a run has written (no copy of the run's set a batch)."""

from __future__ import annotations

from fjernlaan.catalogue.importer import _BatchWritten


def test_a_batch_sees_the_run_and_its_own_additions() -> None:
    run = {(1, "DK-710100")}
    batch = _BatchWritten(run)
    batch.add((2, "DK-710100"))
    batch.update([(3, "DK-775100")])
    assert (1, "DK-710100") in batch and (2, "DK-710100") in batch and (3, "DK-775100") in batch
    assert (4, "DK-710100") not in batch
    assert run == {(1, "DK-710100")}  # nothing reaches the run before the batch commits


def test_a_kept_batch_joins_the_run_and_a_refused_one_leaves_no_trace() -> None:
    run: set[tuple[int, str]] = set()
    refused = _BatchWritten(run)
    refused.add((1, "DK-710100"))
    kept = _BatchWritten(run)
    kept.add((2, "DK-710100"))
    kept.keep()
    assert run == {(2, "DK-710100")}
