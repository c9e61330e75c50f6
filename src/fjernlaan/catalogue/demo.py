"""A generated demo catalogue: Danish and English titles held the way real holdings spread.

A few titles are held almost everywhere, most by one to three libraries (a Pareto tail), and
larger libraries (the big-city and central libraries, the national library) hold more. The real
records in ../shared/reference/marc are added too, held by a handful of libraries, when that folder
sits beside the repository. Deterministic (fixed seed) and idempotent: a second run adds only the
titles beyond those already there.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fjernlaan.catalogue.marc import MarcFormatError, ParsedRecord, read_marc
from fjernlaan.catalogue.model import Holding, Record
from fjernlaan.catalogue.service import bulk_insert_records, upsert_records
from fjernlaan.catalogue.store import RecordSourceRow
from fjernlaan.directory.model import MaterialType

DEMO_SOURCE = "DK-800010"  # the national library contributes the generated records
_PREFIX = "demo-"

_DA_WORDS = [
    "huset",
    "ved",
    "havet",
    "natten",
    "sommer",
    "vinter",
    "barn",
    "hjerte",
    "rejsen",
    "drømmen",
    "skoven",
    "byen",
    "krigen",
    "kærlighed",
    "søster",
    "bror",
    "mor",
    "far",
    "fortællinger",
    "æblet",
    "øen",
    "ånden",
    "livet",
    "døden",
    "lyset",
    "mørket",
    "vejen",
    "hjem",
    "jorden",
    "himlen",
    "stjernerne",
    "fjorden",
    "bondegården",
    "kongen",
    "dronningen",
    "slottet",
    "hemmeligheden",
    "brevet",
    "haven",
    "fuglene",
    "hestene",
    "købmanden",
    "præsten",
    "lægen",
    "skolen",
    "københavn",
    "århus",
    "odense",
    "aalborg",
    "jylland",
    "fyn",
    "sjælland",
    "bornholm",
    "grønland",
    "færøerne",
    "danmark",
    "historie",
    "kogebog",
    "strikning",
    "fodbold",
    "cykler",
]
_EN_WORDS = [
    "house",
    "sea",
    "night",
    "summer",
    "winter",
    "child",
    "heart",
    "journey",
    "dream",
    "forest",
    "city",
    "war",
    "love",
    "sister",
    "brother",
    "mother",
    "father",
    "stories",
    "apple",
    "island",
    "spirit",
    "life",
    "death",
    "light",
    "darkness",
    "road",
    "home",
    "earth",
    "sky",
    "stars",
    "king",
    "queen",
    "castle",
    "secret",
    "letter",
    "garden",
    "birds",
    "horses",
    "merchant",
    "doctor",
    "school",
    "london",
    "history",
    "cookbook",
    "knitting",
    "football",
    "bicycles",
    "science",
    "guide",
    "introduction",
    "practical",
    "modern",
]
_DA_NAMES = [
    "Jensen",
    "Nielsen",
    "Hansen",
    "Pedersen",
    "Andersen",
    "Christensen",
    "Larsen",
    "Sørensen",
    "Rasmussen",
    "Jørgensen",
    "Madsen",
    "Kristensen",
    "Olsen",
    "Thomsen",
    "Poulsen",
    "Møller",
    "Kjær",
    "Løkke",
    "Ærø",
    "Blixen",
    "Ørsted",
    "Bjørnvig",
]
_DA_GIVEN = [
    "Anne",
    "Søren",
    "Mette",
    "Jens",
    "Karen",
    "Lars",
    "Ida",
    "Mads",
    "Sofie",
    "Niels",
    "Åse",
    "Ølund",
    "Kirsten",
    "Bjørn",
    "Asta",
    "Jørgen",
]
_EN_NAMES = [
    "Smith",
    "Jones",
    "Brown",
    "Taylor",
    "Wilson",
    "Davies",
    "Evans",
    "Thomas",
    "Johnson",
    "Roberts",
    "Walker",
    "Wright",
]
_EN_GIVEN = ["John", "Mary", "James", "Elizabeth", "William", "Sarah", "George", "Emma", "Thomas", "Alice"]
_SUBJECTS_DA = [
    "skønlitteratur",
    "børnebøger",
    "historie",
    "madlavning",
    "sport",
    "natur",
    "rejser",
    "biografier",
    "krimi",
    "digte",
]
_SUBJECTS_EN = [
    "fiction",
    "children",
    "history",
    "cooking",
    "sport",
    "nature",
    "travel",
    "biography",
    "crime",
    "poetry",
]
_MATERIALS = (MaterialType.BOOK,) * 16 + (
    MaterialType.AUDIOBOOK,
    MaterialType.AUDIOBOOK,
    MaterialType.FILM,
    MaterialType.MUSIC,
    MaterialType.JOURNAL,
    MaterialType.GAME,
    MaterialType.SHEET_MUSIC,
    MaterialType.MAP,
)
_BIG_CITIES = {"DK-710100", "DK-775100", "DK-746100", "DK-785100", "DK-714700"}


def _isbn(n: int) -> str:
    body = f"97887{n:07d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def _weights(libraries: list[tuple[str, str]]) -> list[float]:
    weights = []
    for isil, kind in libraries:
        if isil in _BIG_CITIES:
            weights.append(6.0)
        elif kind in ("national", "central"):
            weights.append(4.0)
        elif kind == "research":
            weights.append(2.0)
        elif kind == "public":
            weights.append(1.0 + (int(isil[-4:-2]) % 5) / 4)  # municipalities differ in size
        else:
            weights.append(0.5)
    return weights


def _holders(rng: random.Random, libraries: list[tuple[str, str]], weights: list[float]) -> list[str]:
    # A few titles every library has; the rest on a Pareto tail (most held by one to three).
    everywhere = rng.random() < 0.002
    count = len(libraries) if everywhere else min(len(libraries), int(rng.paretovariate(1.4)))
    # Weighted sampling without replacement: the largest u^(1/w) keys win.
    keyed = sorted(((rng.random() ** (1 / w), isil) for (isil, _), w in zip(libraries, weights, strict=True)))
    return [isil for _, isil in keyed[-count:]]


def generated_titles(
    start: int, stop: int, libraries: list[tuple[str, str]], seed: int = 2026
) -> Iterator[tuple[Record, list[Holding]]]:
    """Demo records start..stop-1 with holdings among `libraries` ((ISIL, type) pairs)."""
    weights = _weights(libraries)
    for n in range(start, stop):
        rng = random.Random(seed * 1_000_003 + n)
        danish = rng.random() < 0.65
        vocabulary = _DA_WORDS if danish else _EN_WORDS
        title = " ".join(rng.sample(vocabulary, rng.randint(2, 4))).capitalize()
        surnames, given = (_DA_NAMES, _DA_GIVEN) if danish else (_EN_NAMES, _EN_GIVEN)
        creators = tuple(f"{rng.choice(surnames)}, {rng.choice(given)}" for _ in range(rng.randint(1, 2)))
        subjects = tuple(set(rng.sample(_SUBJECTS_DA if danish else _SUBJECTS_EN, rng.randint(1, 2))))
        record = Record(
            record_id=f"{_PREFIX}{n:08d}",
            source_library=DEMO_SOURCE,
            title=title,
            creators=creators,
            subjects=subjects,
            year=rng.randint(1900, 2025),
            publisher=rng.choice(("Gyldendal", "Politiken", "Lindhardt og Ringhof", "Penguin", "Faber")),
            language="dan" if danish else "eng",
            material_type=rng.choice(_MATERIALS),
            isbns=(_isbn(n),),
        )
        holdings = []
        for isil in _holders(rng, libraries, weights):
            copies = rng.randint(1, 4)
            holdings.append(Holding(isil, copies=copies, available=rng.randint(0, copies)))
        yield record, holdings


def reference_marc_dir() -> Path | None:
    """../shared/reference/marc beside the repository (or beside its worktree folder), if present."""
    root = Path(__file__).resolve().parents[3]
    for base in (root.parent, root.parent.parent):
        candidate = base / "shared" / "reference" / "marc"
        if candidate.is_dir():
            return candidate
    return None


def _reference_records(directory: Path, isils: list[str]) -> Iterator[tuple[Record, list[Holding]]]:
    rng = random.Random(18626)
    for path in sorted(directory.iterdir()):
        if path.suffix.lower() not in (".iso", ".mrc", ".xml", ".dat", ".marc", ".marcxchange"):
            continue
        try:
            for result in read_marc(path, default_library=DEMO_SOURCE):
                if isinstance(result, ParsedRecord) and not result.deleted:
                    record = result.record
                    if record.source_library not in isils or len(record.record_id) > 100:
                        record = replace(record, source_library=DEMO_SOURCE)
                    holders = rng.sample(isils, rng.randint(2, 5))
                    yield record, [Holding(isil, copies=1, available=rng.randint(0, 1)) for isil in holders]
        except (MarcFormatError, ValueError):
            continue


def seed_catalogue(session: Session, records: int, libraries: list[tuple[str, str]]) -> int:
    """Add generated demo titles up to `records` (and, the first time, the reference records)."""
    existing = (
        session.scalar(
            select(func.count())
            .select_from(RecordSourceRow)
            .where(RecordSourceRow.library_isil == DEMO_SOURCE, RecordSourceRow.local_id.like(f"{_PREFIX}%"))
        )
        or 0
    )
    added = 0
    batch: list[tuple[Record, list[Holding]]] = []
    for item in generated_titles(existing, records, libraries):
        batch.append(item)
        if len(batch) >= 2000:
            added += len(bulk_insert_records(session, batch))
            batch = []
    if batch:
        added += len(bulk_insert_records(session, batch))
    directory = reference_marc_dir()
    if existing == 0 and records > 0 and directory is not None:
        isils = [isil for isil, _ in libraries]
        real = [item for item in _reference_records(directory, isils) if len(item[0].record_id) <= 100]
        for start in range(0, len(real), 500):
            upsert_records(session, real[start : start + 500], written=set())
    return added
