"""Parsing in a worker process gives exactly what `read_marc` gives, in order, with the same errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fjernlaan.catalogue.marc import MarcFormatError, read_marc
from fjernlaan.catalogue.parse_worker import read_marc_in_worker
from support import SHARED

MARC_DIR = SHARED / "reference" / "marc"
FILES = (
    sorted(p.name for p in MARC_DIR.glob("*") if p.suffix.lower() not in {".md", ".xsd"})
    if MARC_DIR.is_dir()
    else []
)
pytestmark = pytest.mark.skipif(not FILES, reason="../shared/reference/marc is not beside the repository")


def _read(path: Path) -> list[object]:
    try:
        return list(read_marc(path, default_library="DK-710100"))
    except MarcFormatError as exc:
        return [("raised", type(exc), str(exc))]


def _read_in_worker(path: Path) -> list[object]:
    try:
        return list(read_marc_in_worker(path, default_library="DK-710100"))
    except MarcFormatError as exc:
        return [("raised", type(exc), str(exc))]


@pytest.mark.parametrize("name", FILES)
def test_the_worker_reads_every_reference_file_like_read_marc(name: str) -> None:
    path = MARC_DIR / name
    assert _read_in_worker(path) == _read(path)


def test_the_worker_passes_encoding_and_format_on(tmp_path: Path) -> None:
    path = MARC_DIR / "DBCDK__dataio__test-records-74-danmarc2.iso"
    forced = dict(fmt="marc", default_library=None, encoding="latin-1")
    assert list(read_marc_in_worker(path, **forced)) == list(read_marc(path, **forced))  # type: ignore[arg-type]


def test_a_file_that_is_not_marc_raises_in_the_caller(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("001 00 *a 12345678 *b 870970\n", encoding="utf-8")
    with pytest.raises(MarcFormatError, match="not ISO 2709"):
        list(read_marc_in_worker(path))


def test_many_batches_arrive_whole_and_in_order(tmp_path: Path) -> None:
    source = (MARC_DIR / "solrmarc__solrmarc__uva_001_2000.mrc").read_bytes()
    path = tmp_path / "three-times.mrc"
    path.write_bytes(source * 3)
    positions = [r.position for r in read_marc_in_worker(path, default_library="DK-710100")]
    assert positions == list(range(1, len(positions) + 1)) and len(positions) > 5000


def test_stopping_early_stops_the_worker(tmp_path: Path) -> None:
    path = MARC_DIR / "solrmarc__solrmarc__uva_001_2000.mrc"
    results = read_marc_in_worker(path, default_library="DK-710100")
    first = next(results)
    results.close()  # kills and reaps the worker instead of leaving it blocked on a full pipe
    assert first.position == 1


def test_the_worker_ends_when_the_importer_is_gone(tmp_path: Path) -> None:
    # The importer killed mid-import closes its end of the pipe; the worker must not linger, not
    # even with more batches to go than its queue holds.
    path = tmp_path / "many.mrc"
    path.write_bytes((MARC_DIR / "solrmarc__solrmarc__uva_001_2000.mrc").read_bytes() * 3)
    read_end, write_end = os.pipe()
    command = ["-m", "fjernlaan.catalogue.parse_worker", str(write_end), str(path), "auto", "", "-"]
    worker = subprocess.Popen([sys.executable, *command], pass_fds=(write_end,))
    os.close(write_end)
    with os.fdopen(read_end, "rb") as stream:
        stream.read(1000)  # the worker has started sending
    assert worker.wait(timeout=60) != 0
