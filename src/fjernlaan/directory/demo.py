"""The demo network: Denmark's libraries as directory data, demo accounts and a few closures.

The libraries live in `demo_libraries.csv` next to this module (shipped as package data): the 98
municipalities' public libraries (six of them the central libraries), both sites of the national
library, research, special, school and two foreign libraries. This module turns the rows into
`Library` objects and gives each a lending policy that is realistic for its type, so a demo hub
shows exclusions and fees without anyone configuring them. Everything is deterministic: the same
file always gives the same libraries and policies.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from importlib import resources
from types import MappingProxyType

from fjernlaan.directory.model import (
    Closure,
    Iso18626Version,
    LendingPolicy,
    Library,
    LibraryType,
    MaterialType,
    Region,
    RequesterCategory,
    normalise_isil,
)
from fjernlaan.errors import DomainError

DEMO_LIBRARIES_FILE = "demo_libraries.csv"

COLUMNS: tuple[str, ...] = (
    "isil",
    "name",
    "type",
    "municipality_code",
    "region",
    "central_isil",
    "transport_hub",
    "email",
    "iso18626_endpoint",
    "iso18626_version",
)

# Public libraries that keep their music and film at home: a common choice in the service
# declarations, and it gives the demo rota some "refuses the material type" exclusions.
_REFUSES_MUSIC_AND_FILM: frozenset[str] = frozenset(
    {"DK-715500", "DK-718700", "DK-734000", "DK-756300", "DK-774100", "DK-782500"}
)

# Public libraries that do not lend their newest titles until they are a year old.
_NEW_TITLES_AFTER_A_YEAR: frozenset[str] = frozenset({"DK-714700", "DK-725300", "DK-762100", "DK-786000"})

_FOREIGN_FEE_DKK = 150.0


def demo_policy(isil: str, library_type: LibraryType) -> LendingPolicy:
    """The lending policy the demo gives a library of this type and ISIL.

    Public and central libraries keep the national defaults (they lend free to everyone), except
    the few listed above; the national library lends to everyone with a second renewal; research
    libraries take requests from every Danish library (not directly from abroad); school libraries
    lend within the municipal sector on shorter loans; foreign libraries charge a fee and answer
    more slowly.
    """
    match library_type:
        case LibraryType.PUBLIC | LibraryType.CENTRAL:
            refused: frozenset[MaterialType] = frozenset()
            if isil in _REFUSES_MUSIC_AND_FILM:
                refused = frozenset({MaterialType.MUSIC, MaterialType.FILM})
            min_age = 365 if isil in _NEW_TITLES_AFTER_A_YEAR else 0
            return LendingPolicy(refused_material_types=refused, min_title_age_days=min_age)
        case LibraryType.NATIONAL:
            return LendingPolicy(max_renewals=2, replacement_price_dkk=600.0)
        case LibraryType.RESEARCH:
            return LendingPolicy(
                loan_period_days=28,
                # State-funded libraries lend to public libraries free of charge (DESIGN.md §3),
                # so research libraries accept every Danish requester; abroad goes via the national library.
                accepted_requester_types=frozenset(RequesterCategory) - {RequesterCategory.FOREIGN},
                refused_material_types=frozenset({MaterialType.FILM, MaterialType.GAME}),
                replacement_price_dkk=500.0,
            )
        case LibraryType.SPECIAL:
            return LendingPolicy(
                refused_material_types=frozenset({MaterialType.FILM, MaterialType.GAME, MaterialType.MAP}),
            )
        case LibraryType.SCHOOL:
            return LendingPolicy(
                loan_period_days=28,
                max_renewals=0,
                accepted_requester_types=frozenset(
                    {RequesterCategory.SCHOOL, RequesterCategory.PUBLIC, RequesterCategory.CENTRAL}
                ),
                refused_material_types=frozenset({MaterialType.FILM, MaterialType.GAME}),
            )
        case LibraryType.FOREIGN:
            return LendingPolicy(
                loan_period_days=28,
                max_renewals=0,
                answer_deadline_working_days=5,
                fee_dkk=_FOREIGN_FEE_DKK,
                replacement_price_dkk=800.0,
            )


def _optional(value: str) -> str | None:
    stripped = value.strip()
    return stripped or None


def _row_to_library(row: Mapping[str, str], line: int) -> Library:
    try:
        isil = normalise_isil(row["isil"])
        library_type = LibraryType(row["type"].strip())
        region_text = _optional(row["region"])
        code_text = _optional(row["municipality_code"])
        central = _optional(row["central_isil"])
        hub = _optional(row["transport_hub"])
        version_text = _optional(row["iso18626_version"])
        return Library(
            isil=isil,
            name=row["name"].strip(),
            type=library_type,
            region=Region(region_text) if region_text else None,
            municipality_code=int(code_text) if code_text else None,
            central_isil=normalise_isil(central) if central else None,
            transport_hub=normalise_isil(hub) if hub else None,
            email=_optional(row["email"]),
            iso18626_endpoint=_optional(row["iso18626_endpoint"]),
            iso18626_version=Iso18626Version(version_text) if version_text else None,
            policy=demo_policy(isil, library_type),
        )
    except DomainError as exc:
        # A broken shipped file is a packaging bug; say which line so it is quick to fix.
        raise DomainError(f"{DEMO_LIBRARIES_FILE} line {line}: {exc.message}", field=exc.field) from exc
    except (ValueError, KeyError) as exc:
        raise DomainError(f"{DEMO_LIBRARIES_FILE} line {line}: {exc}") from exc


def parse_demo_libraries(text: str) -> list[Library]:
    """Parse directory rows in the demo CSV format (header row with `COLUMNS`) into libraries."""
    reader = csv.DictReader(io.StringIO(text))
    if tuple(reader.fieldnames or ()) != COLUMNS:
        raise DomainError(f"{DEMO_LIBRARIES_FILE} header must be {','.join(COLUMNS)}")
    # Line 1 is the header, so the first data row is line 2.
    return [_row_to_library(row, line) for line, row in enumerate(reader, start=2)]


def load_demo_libraries() -> list[Library]:
    """The demo network's libraries, read from the CSV shipped in the package, in file order."""
    text = resources.files("fjernlaan.directory").joinpath(DEMO_LIBRARIES_FILE).read_text(encoding="utf-8")
    return parse_demo_libraries(text)


DEMO_ROLES: tuple[str, ...] = ("staff", "library_admin", "coordinator", "national_admin")


@dataclass(frozen=True, slots=True)
class DemoUser:
    """A demo account: sign-in name, its (public, demo-only) password, role and library."""

    username: str
    password: str
    role: str
    library_isil: str
    display_name: str

    def __post_init__(self) -> None:
        if self.role not in DEMO_ROLES:
            raise DomainError(f"unknown role {self.role!r}", field="role")


# Demo passwords are public on purpose: the demo hub is for trying the product, never for real data.
DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("admin", "fjernlaan-admin", "national_admin", "DK-800010", "Landsadministrator"),
    DemoUser("koordinator", "fjernlaan-koordinator", "coordinator", "DK-763000", "Koordinator, Vejle CB"),
    DemoUser("kbh", "fjernlaan-kbh", "staff", "DK-710100", "Fjernlån, Københavns Biblioteker"),
    DemoUser("gentofte", "fjernlaan-gentofte", "library_admin", "DK-715700", "Gentofte Bibliotekerne"),
    DemoUser("kb", "fjernlaan-kb", "staff", "DK-800010", "Fjernlån, Det Kgl. Bibliotek"),
    DemoUser("dtu", "fjernlaan-dtu", "staff", "DK-820030", "Fjernlån, DTU Bibliotek"),
    DemoUser("nota", "fjernlaan-nota", "staff", "DK-874310", "Fjernlån, Nota"),
    DemoUser("skole", "fjernlaan-skole", "staff", "DK-310100", "PLC København"),
)


def _weeks(year: int, first: int, last: int, weekday_last: int, reason: str) -> Closure:
    """Monday of ISO week `first` to weekday `weekday_last` (1 = Monday) of ISO week `last`."""
    return Closure(
        date.fromisocalendar(year, first, 1), date.fromisocalendar(year, last, weekday_last), reason
    )


# Each demo closure as a rule for a year: the demo shows the next one of each, whatever year it is.
_CLOSURE_RULES: Mapping[str, tuple[Callable[[int], Closure], ...]] = MappingProxyType(
    {
        "DK-782500": (lambda y: Closure(date(y, 12, 21), date(y, 12, 27), "Juleferie"),),
        "DK-749200": (lambda y: _weeks(y, 28, 30, 7, "Sommerlukket"),),
        "DK-755000": (lambda y: _weeks(y, 41, 42, 5, "Ombygning af hovedbiblioteket"),),
        "DK-820010": (lambda y: _weeks(y, 15, 15, 5, "Flytning af magasin"),),
        "DK-734000": (
            lambda y: _weeks(y, 7, 7, 5, "Nyt bibliotekssystem"),
            lambda y: Closure(date(y, 12, 28), date(y, 12, 30), "Status"),
        ),
    }
)


def demo_closures(today: date) -> Mapping[str, tuple[Closure, ...]]:
    """The demo libraries' closures as seen on `today`: each is the next one (this year's when it has
    not ended yet, else next year's), so the demo always has closures ahead of it."""

    def upcoming(rule: Callable[[int], Closure]) -> Closure:
        this_year = rule(today.year)
        return this_year if this_year.ends >= today else rule(today.year + 1)

    return MappingProxyType(
        {isil: tuple(upcoming(rule) for rule in rules) for isil, rules in _CLOSURE_RULES.items()}
    )
