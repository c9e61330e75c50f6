"""The lending principles as versioned data (DESIGN.md §3: *principper og retningslinjer*).

A principles file says who is asked in what order (tiers per kind of borrowing library), how lenders
are ranked within a tier (score weights), the network's default deadlines and loan periods, and which
exclusion rules apply. Several versions can exist side by side (the bundled `dk-2012` and `dk-2023`, or
a file of one's own); the network's active version is a setting and each request records the version
that routed it.

Reading a TOML file is the only I/O here; the rota builder in `model.py` receives a `Principles` value.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any

from fjernlaan.directory.model import LibraryType
from fjernlaan.errors import DomainError

BUNDLED_DIR = Path(__file__).parent / "principles"


class Tier(StrEnum):
    """The closed set of tiers a rota is built from, in no particular order (the file gives the order)."""

    OWN_REGION_PUBLIC = "own_region_public"
    OTHER_REGION_PUBLIC = "other_region_public"
    OWN_CENTRAL = "own_central"
    OTHER_CENTRAL = "other_central"
    NATIONAL = "national"
    RESEARCH = "research"
    SCHOOL = "school"
    SPECIAL = "special"
    ABROAD = "abroad"


# The requester types a file must give a tier order for; the other library types borrow like a
# research library unless the file gives them their own order (optional keys national, special, foreign).
REQUIRED_REQUESTER_TYPES: tuple[LibraryType, ...] = (
    LibraryType.PUBLIC,
    LibraryType.CENTRAL,
    LibraryType.RESEARCH,
    LibraryType.SCHOOL,
)
OPTIONAL_REQUESTER_TYPES: tuple[LibraryType, ...] = (
    LibraryType.NATIONAL,
    LibraryType.SPECIAL,
    LibraryType.FOREIGN,
)


class PrinciplesError(DomainError):
    """A principles file is invalid; `errors` lists every problem, each naming the file and the field."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors), field=None)
        self.errors = errors


@dataclass(frozen=True, slots=True)
class Weights:
    """Score weights within a tier; each multiplies a component between 0 and 1."""

    availability: float
    fair_share: float
    turnaround: float
    same_hub: float


@dataclass(frozen=True, slots=True)
class Defaults:
    """The network's defaults where a lender's policy or the patron says nothing."""

    answer_deadline_working_days: int
    loan_period_days: int
    need_before_days: int
    pickup_window_days: int


@dataclass(frozen=True, slots=True)
class Exclusions:
    """Which exclusion rules the rota builder applies (all on in the Danish principles)."""

    closed: bool = True
    lending_off: bool = True
    material_type: bool = True
    requester_type: bool = True
    title_age: bool = True
    non_circulating: bool = True
    already_unfilled: bool = True


@dataclass(frozen=True, slots=True)
class Principles:
    """One version of the lending principles."""

    version: str
    title: str
    effective_from: date | None
    tiers: Mapping[LibraryType, tuple[Tier, ...]]
    weights: Weights
    defaults: Defaults
    exclusions: Exclusions

    def tiers_for(self, requester_type: LibraryType) -> tuple[Tier, ...]:
        """The tier order for a kind of borrowing library (national, special and foreign libraries
        borrow like research libraries unless the file gives them their own order)."""
        order = self.tiers.get(requester_type)
        if order is None:
            return self.tiers[LibraryType.RESEARCH]
        return order


def _origin(source: Path | str) -> str:
    return str(source)


def _check_int(
    table: Mapping[str, Any], section: str, name: str, origin: str, errors: list[str], minimum: int
) -> int:
    value = table.get(name)
    if name not in table:
        errors.append(f"{origin}: missing field {section}.{name}")
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        errors.append(f"{origin}: {section}.{name}: must be a whole number (got {value!r})")
        return 0
    if value < minimum:
        errors.append(f"{origin}: {section}.{name}: must be at least {minimum} (got {value})")
    return value


def parse_principles(data: Mapping[str, Any], origin: str = "<principles>") -> Principles:
    """Build `Principles` from parsed TOML, or raise `PrinciplesError` listing every problem."""
    errors: list[str] = []

    version = data.get("version")
    if not isinstance(version, str) or not version.strip():
        errors.append(f"{origin}: missing field version (a text such as 'dk-2012')")
        version = ""
    title = data.get("title", "")
    if not isinstance(title, str):
        errors.append(f"{origin}: title: must be text")
        title = ""
    effective_from = data.get("effective_from")
    if effective_from is not None and not isinstance(effective_from, date):
        errors.append(f"{origin}: effective_from: must be a date such as 2012-01-01")
        effective_from = None

    tiers: dict[LibraryType, tuple[Tier, ...]] = {}
    tier_table = data.get("tiers")
    known = ", ".join(t.value for t in Tier)
    if not isinstance(tier_table, Mapping):
        errors.append(f"{origin}: missing section [tiers]")
        tier_table = {}
    for key in tier_table:
        if key not in {t.value for t in (*REQUIRED_REQUESTER_TYPES, *OPTIONAL_REQUESTER_TYPES)}:
            errors.append(
                f"{origin}: tiers.{key}: unknown requester type (known: "
                + ", ".join(t.value for t in (*REQUIRED_REQUESTER_TYPES, *OPTIONAL_REQUESTER_TYPES))
                + ")"
            )
    for lib_type in (*REQUIRED_REQUESTER_TYPES, *OPTIONAL_REQUESTER_TYPES):
        raw = tier_table.get(lib_type.value)
        if raw is None:
            if lib_type in REQUIRED_REQUESTER_TYPES:
                errors.append(f"{origin}: missing field tiers.{lib_type.value}")
            continue
        if not isinstance(raw, list) or not raw:
            errors.append(f"{origin}: tiers.{lib_type.value}: must be a non-empty list of tier names")
            continue
        order: list[Tier] = []
        for i, name in enumerate(raw):
            if name not in {t.value for t in Tier}:
                errors.append(
                    f"{origin}: tiers.{lib_type.value}[{i}]: unknown tier {name!r} (known: {known})"
                )
                continue
            tier = Tier(name)
            if tier in order:
                errors.append(f"{origin}: tiers.{lib_type.value}[{i}]: tier {name!r} is listed twice")
                continue
            order.append(tier)
        tiers[lib_type] = tuple(order)

    weight_table = data.get("weights")
    weight_values: dict[str, float] = {}
    if not isinstance(weight_table, Mapping):
        errors.append(f"{origin}: missing section [weights]")
        weight_table = {}
    for f in fields(Weights):
        if f.name not in weight_table:
            errors.append(f"{origin}: missing field weights.{f.name}")
            weight_values[f.name] = 0.0
            continue
        value = weight_table[f.name]
        if isinstance(value, bool) or not isinstance(value, int | float):
            errors.append(f"{origin}: weights.{f.name}: must be a number (got {value!r})")
            value = 0.0
        elif value < 0:
            errors.append(f"{origin}: weights.{f.name}: must not be negative (got {value})")
        weight_values[f.name] = float(value)
    for key in weight_table:
        if key not in weight_values:
            errors.append(f"{origin}: weights.{key}: unknown weight")

    default_table = data.get("defaults")
    if not isinstance(default_table, Mapping):
        errors.append(f"{origin}: missing section [defaults]")
        default_table = {}
    defaults = Defaults(
        answer_deadline_working_days=_check_int(
            default_table, "defaults", "answer_deadline_working_days", origin, errors, 1
        ),
        loan_period_days=_check_int(default_table, "defaults", "loan_period_days", origin, errors, 1),
        need_before_days=_check_int(default_table, "defaults", "need_before_days", origin, errors, 1),
        pickup_window_days=_check_int(default_table, "defaults", "pickup_window_days", origin, errors, 1),
    )

    exclusion_table = data.get("exclusions")
    switches: dict[str, bool] = {}
    if not isinstance(exclusion_table, Mapping):
        errors.append(f"{origin}: missing section [exclusions]")
        exclusion_table = {}
    for f in fields(Exclusions):
        if f.name not in exclusion_table:
            errors.append(f"{origin}: missing field exclusions.{f.name}")
            continue
        value = exclusion_table[f.name]
        if not isinstance(value, bool):
            errors.append(f"{origin}: exclusions.{f.name}: must be true or false (got {value!r})")
            continue
        switches[f.name] = value
    for key in exclusion_table:
        if key not in {f.name for f in fields(Exclusions)}:
            errors.append(f"{origin}: exclusions.{key}: unknown exclusion rule")

    if errors:
        raise PrinciplesError(errors)
    return Principles(
        version=version,
        title=title,
        effective_from=effective_from,
        tiers=tiers,
        weights=Weights(**weight_values),
        defaults=defaults,
        exclusions=Exclusions(**switches),
    )


def list_bundled() -> list[str]:
    """The version ids of the principles shipped in the package, sorted."""
    return sorted(p.stem for p in BUNDLED_DIR.glob("*.toml"))


def _resolve(path_or_name: Path | str) -> Path:
    if isinstance(path_or_name, str) and path_or_name in list_bundled():
        return BUNDLED_DIR / f"{path_or_name}.toml"
    return Path(path_or_name)


def load_principles(path_or_name: Path | str) -> Principles:
    """Load a bundled version by name (`dk-2012`) or a principles file by path.

    Raises `PrinciplesError` with every problem found, each naming the file and the field.
    """
    path = _resolve(path_or_name)
    origin = _origin(path)
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise PrinciplesError(
            [f"{origin}: no such file (bundled versions: {', '.join(list_bundled())})"]
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise PrinciplesError([f"{origin}: not valid TOML: {exc}"]) from None
    return parse_principles(data, origin)


def check_principles(path_or_name: Path | str) -> list[str]:
    """Every problem in a principles file, as messages naming the file and field; empty when valid."""
    try:
        load_principles(path_or_name)
    except PrinciplesError as exc:
        return list(exc.errors)
    return []


def format_principles(principles: Principles) -> str:
    """A readable text rendering (what `fjernlaan principles show` prints)."""
    lines = [f"{principles.version}: {principles.title}"]
    if principles.effective_from is not None:
        lines.append(f"effective from {principles.effective_from.isoformat()}")
    lines.append("tiers (after the patron's own library):")
    for lib_type, order in principles.tiers.items():
        lines.append(f"  {lib_type.value}: " + " → ".join(t.value for t in order))
    w = principles.weights
    lines.append(
        f"weights: availability {w.availability:g}, fair share {w.fair_share:g}, "
        f"turnaround {w.turnaround:g}, same hub {w.same_hub:g}"
    )
    d = principles.defaults
    lines.append(
        f"defaults: answer within {d.answer_deadline_working_days} working days, "
        f"loan period {d.loan_period_days} days, need-before {d.need_before_days} days, "
        f"pickup window {d.pickup_window_days} days"
    )
    on = [f.name for f in fields(Exclusions) if getattr(principles.exclusions, f.name)]
    off = [f.name for f in fields(Exclusions) if not getattr(principles.exclusions, f.name)]
    lines.append("exclusions on: " + (", ".join(on) or "none"))
    if off:
        lines.append("exclusions off: " + ", ".join(off))
    return "\n".join(lines)
