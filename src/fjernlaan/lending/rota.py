"""The rota builder: which lenders to ask for a title, in what order, and why.

Pure, like `fjernlaan.lending.model` and `fjernlaan.lending.principles` beside it: no database, no HTTP,
no clock. `build_rota` orders the lenders that hold a title by the principles' tiers and a per-tier
score, and records why each lender is there and why each excluded one is not; `reorder` and
`add_lender` are staff's changes to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date

from fjernlaan.directory.model import Library, LibraryType, MaterialType, WorkingCalendar
from fjernlaan.errors import DomainError
from fjernlaan.lending.principles import Principles, Tier

# Median turnaround (days) at which the turnaround component is one half; faster lenders score higher.
TURNAROUND_HALF_DAYS = 5.0
# Neutral component for a lender with no history, so newcomers are neither favoured nor punished.
NEUTRAL = 0.5


@dataclass(frozen=True, slots=True)
class RotaRecordInfo:
    """What the rota builder needs to know about the title."""

    material_type: MaterialType = MaterialType.BOOK
    publication_date: date | None = None
    publication_year: int | None = None

    def latest_publication_date(self) -> date | None:
        """The latest day the title can have been published: a bare year counts as 31 December, so a
        lender's minimum title age is never undercut by an imprecise catalogue record."""
        if self.publication_date is not None:
            return self.publication_date
        if self.publication_year is not None:
            return date(self.publication_year, 12, 31)
        return None


@dataclass(frozen=True, slots=True)
class HoldingInfo:
    """One library's holding of the title (several rows per library are summed)."""

    isil: str
    copies: int = 1
    available: int = 1
    circulating: bool = True


@dataclass(frozen=True, slots=True)
class LenderLoad:
    """A lender's recent load, the input to fair share and turnaround."""

    requests_received: int = 0
    holdings_count: int = 0
    median_turnaround_days: float | None = None


@dataclass(frozen=True, slots=True)
class RotaEntry:
    """A lender on the rota: its tier, its score within the tier and why it is there.

    `via_isil` is set for the `abroad` tier: the request goes to the national library, which mediates
    it to the foreign library over ISO 18626; the foreign library is named in `isil`.
    """

    isil: str
    tier: Tier
    score: float
    reasons: tuple[str, ...]
    via_isil: str | None = None


@dataclass(frozen=True, slots=True)
class Exclusion:
    """A library that holds the title but is not asked, and why."""

    isil: str
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Rota:
    """The ordered lenders for one request, with the excluded ones, under one principles version."""

    requester: Library
    principles_version: str
    filled_locally: bool
    candidates: tuple[RotaEntry, ...] = ()
    excluded: tuple[Exclusion, ...] = ()
    national_isil: str | None = None

    @property
    def isils(self) -> tuple[str, ...]:
        """The candidates' ISILs in rota order."""
        return tuple(e.isil for e in self.candidates)


def tier_of(lender: Library, requester: Library) -> Tier:
    """The tier a lender falls in for this requester."""
    t = lender.type
    if t is LibraryType.PUBLIC:
        same = lender.region is not None and lender.region == requester.region
        return Tier.OWN_REGION_PUBLIC if same else Tier.OTHER_REGION_PUBLIC
    if t is LibraryType.CENTRAL:
        if requester.central_isil is not None:
            own = lender.isil == requester.central_isil
        else:
            own = lender.region is not None and lender.region == requester.region
        return Tier.OWN_CENTRAL if own else Tier.OTHER_CENTRAL
    return {
        LibraryType.NATIONAL: Tier.NATIONAL,
        LibraryType.RESEARCH: Tier.RESEARCH,
        LibraryType.SCHOOL: Tier.SCHOOL,
        LibraryType.SPECIAL: Tier.SPECIAL,
        LibraryType.FOREIGN: Tier.ABROAD,
    }[t]


def _material_words(material: MaterialType) -> str:
    return material.value.replace("_", " ")


def _national_library(lenders: Mapping[str, Library]) -> Library | None:
    nationals = [lib for lib in lenders.values() if lib.type is LibraryType.NATIONAL and lib.active]
    return min(nationals, key=lambda lib: lib.isil) if nationals else None


def build_rota(
    record: RotaRecordInfo,
    holdings: Sequence[HoldingInfo],
    requester: Library,
    lenders: Mapping[str, Library],
    calendars: Mapping[str, WorkingCalendar],
    load: Mapping[str, LenderLoad],
    principles: Principles,
    today: date,
    already_unfilled: Iterable[str] = frozenset(),
) -> Rota:
    """The ordered lenders for a title, with the reasons for each and for every library left out.

    Local availability first: when the requester holds an available circulating copy, the rota is
    `filled_locally` and empty. Otherwise each holding library is either excluded (with every rule it
    breaks) or placed in its tier (the principles' order for the requester's type) and scored by
    availability, fair share (requests received relative to the load its holdings would predict),
    past turnaround and transport hub. Order: tier, then higher score, then ISIL, so the same input
    always gives the same rota. Foreign libraries are reached only through the national library.
    """
    # Sum several holding rows per library so the input's order cannot change the outcome.
    merged: dict[str, list[int]] = {}
    for h in holdings:
        acc = merged.setdefault(h.isil, [0, 0, 0])
        acc[0] += h.copies
        acc[1] += h.available
        acc[2] |= int(h.circulating)

    version = principles.version
    own = merged.get(requester.isil)
    if own is not None and own[1] > 0 and own[2]:
        return Rota(requester, version, filled_locally=True)

    order = principles.tiers_for(requester.type)
    tier_rank = {tier: i for i, tier in enumerate(order)}
    rules = principles.exclusions
    weights = principles.weights
    unfilled = frozenset(already_unfilled)
    category = requester.requester_category
    published = record.latest_publication_date()
    age_days = (today - published).days if published is not None else None
    material = record.material_type

    # Fair share: a lender's expected load is the network's requests spread in proportion to
    # holdings; integer totals keep the ratio exact whatever order the mapping is in.
    total_received = 0
    total_holdings = 0
    for item in load.values():
        total_received += item.requests_received
        total_holdings += item.holdings_count

    national: Library | None = None
    national_checked = False
    national_problem: str | None = None

    candidates: list[tuple[int, float, str, RotaEntry]] = []
    excluded: list[Exclusion] = []
    for isil, (copies, available, circulating) in merged.items():
        if isil == requester.isil:
            excluded.append(
                Exclusion(isil, ("the requesting library itself: no available circulating copy",))
            )
            continue
        lender = lenders.get(isil)
        if lender is None:
            excluded.append(Exclusion(isil, ("not in the directory",)))
            continue
        policy = lender.policy
        why: list[str] = []
        if rules.lending_off:
            if not lender.active:
                why.append("inactive in the directory")
            elif not policy.lending_enabled:
                why.append("lending switched off")
        if rules.closed:
            cal = calendars.get(isil)
            until = cal.closed_until(today) if cal is not None and cal.closures else None
            if until is not None:
                why.append(f"closed until {until.isoformat()}")
        if rules.material_type and material in policy.refused_material_types:
            why.append(f"lending off for {_material_words(material)}")
        if rules.requester_type and not policy.accepts_requester(category):
            why.append(f"does not lend to {category.value} libraries")
        if (
            rules.title_age
            and policy.min_title_age_days > 0
            and age_days is not None
            and age_days < policy.min_title_age_days
        ):
            why.append(f"title younger than {policy.min_title_age_days} days")
        if rules.non_circulating and not circulating:
            why.append("non-circulating")
        if rules.already_unfilled and isil in unfilled:
            why.append("already said unfilled for this request")
        tier = tier_of(lender, requester)
        if tier not in tier_rank:
            why.append(f"{tier.value} is not a tier for {requester.type.value} requesters in {version}")
        via: str | None = None
        if tier is Tier.ABROAD:
            if not national_checked:
                national_checked = True
                national = _national_library(lenders)
                if national is None:
                    national_problem = (
                        "abroad only through the national library, and none is in the directory"
                    )
                elif not national.policy.lending_enabled:
                    national_problem = (
                        "abroad only through the national library, whose lending is switched off"
                    )
                else:
                    ncal = calendars.get(national.isil)
                    nuntil = ncal.closed_until(today) if ncal is not None and ncal.closures else None
                    if nuntil is not None:
                        national_problem = (
                            f"abroad only through the national library, closed until {nuntil.isoformat()}"
                        )
            if national_problem is not None:
                why.append(national_problem)
            elif national is not None:
                via = national.isil
        if why:
            excluded.append(Exclusion(isil, tuple(why)))
            continue

        reasons: list[str] = [f"holds the title ({copies} {'copy' if copies == 1 else 'copies'})"]
        if via is not None:
            reasons.append(f"abroad, through the national library {via}")
        score = 0.0
        if available > 0:
            score += weights.availability
            reasons.append("available now")
        else:
            reasons.append("no copy available now")
        if lender.region is not None and lender.region == requester.region:
            reasons.append("same region")
        lender_load = load.get(isil)
        if lender_load is not None and lender_load.holdings_count > 0 and total_holdings > 0:
            if total_received > 0:
                ratio = (lender_load.requests_received * total_holdings) / (
                    lender_load.holdings_count * total_received
                )
            else:
                ratio = 0.0
            score += weights.fair_share / (1.0 + ratio)
            reasons.append(f"fair share: {ratio:.1f} of expected load")
        else:
            score += weights.fair_share * NEUTRAL
            reasons.append("fair share: no load history")
        if lender_load is not None and lender_load.median_turnaround_days is not None:
            days = max(0.0, lender_load.median_turnaround_days)
            score += weights.turnaround / (1.0 + days / TURNAROUND_HALF_DAYS)
            reasons.append(f"median turnaround {days:.1f} days")
        else:
            score += weights.turnaround * NEUTRAL
            reasons.append("turnaround: no history")
        if lender.transport_hub is not None and lender.transport_hub == requester.transport_hub:
            score += weights.same_hub
            reasons.append("same transport hub")
        score = round(score, 6)
        entry = RotaEntry(isil, tier, score, tuple(reasons), via)
        candidates.append((tier_rank[tier], -score, isil, entry))

    candidates.sort(key=lambda c: (c[0], c[1], c[2]))
    excluded.sort(key=lambda e: e.isil)
    return Rota(
        requester,
        version,
        filled_locally=False,
        candidates=tuple(c[3] for c in candidates),
        excluded=tuple(excluded),
        national_isil=national.isil if national is not None else None,
    )


def reorder(rota: Rota, isils: Sequence[str]) -> Rota:
    """Staff's order: the named candidates first in the given order, the rest after in rota order."""
    known = {e.isil: e for e in rota.candidates}
    seen: set[str] = set()
    for isil in isils:
        if isil not in known:
            raise DomainError(f"{isil} is not on the rota", field="isils")
        if isil in seen:
            raise DomainError(f"{isil} is named twice", field="isils")
        seen.add(isil)
    moved = [
        replace(known[i], reasons=(*known[i].reasons, "moved by staff"))
        if rota.isils.index(i) != pos
        else known[i]
        for pos, i in enumerate(isils)
    ]
    rest = [e for e in rota.candidates if e.isil not in seen]
    return replace(rota, candidates=(*moved, *rest))


def add_lender(rota: Rota, library: Library, reason: str, *, position: int | None = None) -> Rota:
    """Staff add a lender by hand (at the end, or at `position`); an excluded library may be added
    deliberately, and its entry keeps the reasons it was excluded for."""
    if not reason.strip():
        raise DomainError("say why the lender is added", field="reason")
    if library.isil in rota.isils:
        raise DomainError(f"{library.isil} is already on the rota", field="isil")
    if library.isil == rota.requester.isil:
        raise DomainError("the requesting library cannot lend to itself", field="isil")
    tier = tier_of(library, rota.requester)
    reasons = [f"added by staff: {reason.strip()}"]
    previous = next((e for e in rota.excluded if e.isil == library.isil), None)
    if previous is not None:
        reasons.append("despite: " + "; ".join(previous.reasons))
    via = rota.national_isil if tier is Tier.ABROAD else None
    entry = RotaEntry(library.isil, tier, 0.0, tuple(reasons), via)
    candidates = list(rota.candidates)
    candidates.insert(len(candidates) if position is None else max(0, position), entry)
    excluded = tuple(e for e in rota.excluded if e.isil != library.isil)
    return replace(rota, candidates=tuple(candidates), excluded=excluded)


__all__ = [
    "NEUTRAL",
    "TURNAROUND_HALF_DAYS",
    "Exclusion",
    "HoldingInfo",
    "LenderLoad",
    "Rota",
    "RotaEntry",
    "RotaRecordInfo",
    "add_lender",
    "build_rota",
    "reorder",
    "tier_of",
]
