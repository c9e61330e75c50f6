"""The library directory's domain: ISILs, library types, regions, lending policies and working days.

Pure: no framework, no database. Everything here is plain data and rules that the services,
the rota builder and the timers share.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from fjernlaan.errors import DomainError

# Re-exported: ISILs are checked below the areas too (`fjernlaan.fields`), so the rule lives in the kit.
from fjernlaan.isil import InvalidIsil as InvalidIsil
from fjernlaan.isil import normalise_isil as normalise_isil


class LibraryType(StrEnum):
    """The kinds of library in the lending cooperation (DESIGN.md §2)."""

    PUBLIC = "public"
    CENTRAL = "central"
    NATIONAL = "national"
    RESEARCH = "research"
    SCHOOL = "school"
    SPECIAL = "special"
    FOREIGN = "foreign"


#: A library's fields that only a national admin sets or clears: where the library sits in the
#: cooperation (type, municipality, region, central library, transport hub), whether it takes part,
#: and where the hub sends its ISO 18626 traffic. A library's own admin changes its name and e-mail.
NATIONAL_FIELDS = frozenset(
    {
        "type",
        "municipality_code",
        "region",
        "central_isil",
        "transport_hub",
        "iso18626_endpoint",
        "iso18626_version",
        "active",
    }
)


class Region(StrEnum):
    """The six central-library regions; each public library belongs to exactly one."""

    GENTOFTE = "gentofte"
    ROSKILDE = "roskilde"
    ODENSE = "odense"
    VEJLE = "vejle"
    HERNING = "herning"
    AALBORG = "aalborg"


class MaterialType(StrEnum):
    """Material types a lending policy can switch lending on or off for."""

    BOOK = "book"
    ARTICLE = "article"
    JOURNAL = "journal"
    MUSIC = "music"
    AUDIOBOOK = "audiobook"
    FILM = "film"
    GAME = "game"
    MAP = "map"
    SHEET_MUSIC = "sheet_music"
    OTHER = "other"


class RequesterCategory(StrEnum):
    """Which kinds of borrowing library a lender accepts requests from."""

    PUBLIC = "public"
    CENTRAL = "central"
    NATIONAL = "national"
    RESEARCH = "research"
    SCHOOL = "school"
    SPECIAL = "special"
    FOREIGN = "foreign"


class Iso18626Version(StrEnum):
    """The ISO 18626 schema versions a peer may speak."""

    V2017 = "2017"
    V2021 = "2021"


def is_danish(isil: str) -> bool:
    """True when the ISIL is a Danish library number."""
    return isil.upper().startswith("DK-")


def public_library_isil(municipality_code: int) -> str:
    """The ISIL of a Danish municipality's public library: `7` + the three-digit code + `00`."""
    if not 100 <= municipality_code <= 999:
        raise InvalidIsil(f"municipality code {municipality_code} is not three digits", field="municipality")
    return f"DK-7{municipality_code:03d}00"


@dataclass(frozen=True, slots=True)
class LendingPolicy:
    """A library's own choices about lending (DESIGN.md §3); every field has the national default."""

    lending_enabled: bool = True
    refused_material_types: frozenset[MaterialType] = frozenset()
    min_title_age_days: int = 0
    loan_period_days: int = 42
    max_renewals: int = 1
    renewal_period_days: int = 28
    answer_deadline_working_days: int = 3
    accepted_requester_types: frozenset[RequesterCategory] = frozenset(RequesterCategory)
    fee_dkk: float = 0.0
    replacement_price_dkk: float = 350.0
    pickup_window_days: int = 14

    def __post_init__(self) -> None:
        checks: list[tuple[bool, str, str]] = [
            (self.min_title_age_days >= 0, "min_title_age_days", "must not be negative"),
            (1 <= self.loan_period_days <= 365, "loan_period_days", "must be between 1 and 365"),
            (0 <= self.max_renewals <= 20, "max_renewals", "must be between 0 and 20"),
            (1 <= self.renewal_period_days <= 365, "renewal_period_days", "must be between 1 and 365"),
            (
                1 <= self.answer_deadline_working_days <= 60,
                "answer_deadline_working_days",
                "must be between 1 and 60",
            ),
            (self.fee_dkk >= 0, "fee_dkk", "must not be negative"),
            (self.replacement_price_dkk >= 0, "replacement_price_dkk", "must not be negative"),
            (1 <= self.pickup_window_days <= 90, "pickup_window_days", "must be between 1 and 90"),
        ]
        for ok, name, why in checks:
            if not ok:
                raise DomainError(f"{name} {why}", field=name)

    def lends(self, material: MaterialType) -> bool:
        """Whether this policy allows lending the material type at all."""
        return self.lending_enabled and material not in self.refused_material_types

    def accepts_requester(self, requester: RequesterCategory) -> bool:
        """Whether requests from this kind of library are accepted."""
        return requester in self.accepted_requester_types


@dataclass(frozen=True, slots=True)
class Closure:
    """A period (both days included) in which a library neither lends nor answers."""

    starts: date
    ends: date
    reason: str = ""

    def __post_init__(self) -> None:
        if self.ends < self.starts:
            raise DomainError("a closure cannot end before it starts", field="ends")

    def covers(self, day: date) -> bool:
        """True when the library is closed on this day because of the closure."""
        return self.starts <= day <= self.ends


HolidayLookup = Callable[[date], bool]


@dataclass(frozen=True)
class WorkingCalendar:
    """A library's working days: Monday to Friday, minus public holidays, minus its own closures."""

    is_public_holiday: HolidayLookup
    closures: tuple[Closure, ...] = field(default_factory=tuple)
    working_weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})

    def is_working_day(self, day: date) -> bool:
        """True when the library is open and answering on this day."""
        if day.weekday() not in self.working_weekdays:
            return False
        if self.is_public_holiday(day):
            return False
        return not any(c.covers(day) for c in self.closures)

    def closed_until(self, day: date) -> date | None:
        """If a closure covers `day`, the last day of the (merged) closure; otherwise None."""
        end: date | None = None
        probe = day
        while True:
            covering = [c for c in self.closures if c.covers(probe)]
            if not covering:
                return end
            end = max(c.ends for c in covering)
            probe = end + timedelta(days=1)

    def add_working_days(self, start: date, n: int) -> date:
        """The date `n` working days after `start` (n == 0: `start` itself, or the next working day)."""
        if n < 0:
            raise DomainError("cannot add a negative number of working days", field="n")
        day = start
        if n == 0:
            while not self.is_working_day(day):
                day += timedelta(days=1)
            return day
        remaining = n
        guard = 0
        while remaining:
            day += timedelta(days=1)
            guard += 1
            if guard > 3660:
                raise DomainError("no working day within ten years: check the library's closures")
            if self.is_working_day(day):
                remaining -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end` (0 when end <= start)."""
        count = 0
        day = start
        while day < end:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count


def merge_closures(closures: Iterable[Closure]) -> tuple[Closure, ...]:
    """Closures sorted by start; overlapping ones are kept as they are (lookups handle overlap)."""
    return tuple(sorted(closures, key=lambda c: (c.starts, c.ends)))


@dataclass(frozen=True, slots=True)
class Library:
    """A library in the directory, as the domain sees it (the rota builder's view of a lender)."""

    isil: str
    name: str
    type: LibraryType
    region: Region | None = None
    municipality_code: int | None = None
    central_isil: str | None = None
    transport_hub: str | None = None
    email: str | None = None
    iso18626_endpoint: str | None = None
    iso18626_version: Iso18626Version | None = None
    active: bool = True
    policy: LendingPolicy = field(default_factory=LendingPolicy)

    @property
    def requester_category(self) -> RequesterCategory:
        """The category this library falls in when it borrows."""
        return RequesterCategory(self.type.value)


@dataclass(frozen=True, slots=True)
class Iso18626Entry:
    """A library's ISO 18626 fields in the directory: what the iso18626 area needs to reach it as a
    peer (see :func:`fjernlaan.directory.service.iso18626_entry`)."""

    isil: str
    active: bool
    endpoint: str | None
    version: Iso18626Version | None
    endpoint_changed_at: datetime | None
