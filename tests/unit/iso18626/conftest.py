"""Shared fixtures for the ISO 18626 codec tests: where the official XSDs and samples live."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]


def find_reference_dir() -> Path | None:
    """The repo's sibling ``../shared/reference/iso18626``; from a git worktree nested deeper
    (``/work/wt/<name>``) the same folder is found further up, so look there too."""
    for base in (REPO_ROOT, *REPO_ROOT.parents):
        candidate = base / ".." / "shared" / "reference" / "iso18626"
        if candidate.is_dir():
            return candidate.resolve()
    return None


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """../shared/reference/iso18626, or skip when the reference material is not checked out."""
    found = find_reference_dir()
    if found is None:
        pytest.skip("../shared/reference/iso18626 (official XSDs and samples) is not available")
    return found


@pytest.fixture(scope="session")
def xsd_dir(reference_dir: Path) -> Path:
    """The folder with the official XSDs."""
    return reference_dir


@pytest.fixture(scope="session")
def samples_dir(reference_dir: Path) -> Path:
    """The folder with sample messages from crosslink and mod-rs."""
    return reference_dir / "samples"
