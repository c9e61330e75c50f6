"""The rota builder: who is asked in what order, and why the others are not (DESIGN.md §3)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fjernlaan.directory.model import (
    Closure,
    LendingPolicy,
    Library,
    LibraryType,
    MaterialType,
    Region,
    RequesterCategory,
    WorkingCalendar,
)
from fjernlaan.errors import DomainError
from fjernlaan.lending.principles import Exclusions, Tier, load_principles
from fjernlaan.lending.rota import (
    HoldingInfo,
    LenderLoad,
    Rota,
    RotaRecordInfo,
    add_lender,
    build_rota,
    reorder,
)

TODAY = date(2026, 3, 2)
DK2012 = load_principles("dk-2012")
BOOK = RotaRecordInfo(MaterialType.BOOK, publication_year=1999)


def lib(isil: str, type_: LibraryType, region: Region | None = None, **kw: object) -> Library:
    return Library(isil=isil, name=f"Bibliotek {isil} (Øster Åby)", type=type_, region=region, **kw)  # type: ignore[arg-type]


COPENHAGEN = lib(
    "DK-710100", LibraryType.PUBLIC, Region.GENTOFTE, central_isil="DK-715700", transport_hub="DK-715700"
)
BALLERUP = lib("DK-715100", LibraryType.PUBLIC, Region.GENTOFTE, transport_hub="DK-715700")
ODENSE = lib("DK-746100", LibraryType.PUBLIC, Region.ODENSE)
GENTOFTE = lib("DK-715700", LibraryType.CENTRAL, Region.GENTOFTE, transport_hub="DK-715700")
ROSKILDE = lib("DK-726500", LibraryType.CENTRAL, Region.ROSKILDE)
KB = lib("DK-820010", LibraryType.NATIONAL)
DTU = lib("DK-820030", LibraryType.RESEARCH)
PLC = lib("DK-900100", LibraryType.SCHOOL, Region.GENTOFTE)
OSLO = lib("NO-0030100", LibraryType.FOREIGN)
LIBRARIES = {x.isil: x for x in (COPENHAGEN, BALLERUP, ODENSE, GENTOFTE, ROSKILDE, KB, DTU, PLC, OSLO)}


def rota_for(
    requester: Library = COPENHAGEN,
    holders: tuple[str, ...] | None = None,
    *,
    record: RotaRecordInfo = BOOK,
    lenders: dict[str, Library] | None = None,
    calendars: dict[str, WorkingCalendar] | None = None,
    load: dict[str, LenderLoad] | None = None,
    holdings: list[HoldingInfo] | None = None,
    unfilled: frozenset[str] = frozenset(),
    principles=DK2012,
) -> Rota:
    if holdings is None:
        holders = holders if holders is not None else tuple(i for i in LIBRARIES if i != requester.isil)
        holdings = [HoldingInfo(i, copies=2, available=1) for i in holders]
    return build_rota(
        BOOK if record is None else record,
        holdings,
        requester,
        lenders if lenders is not None else LIBRARIES,
        calendars or {},
        load or {},
        principles,
        TODAY,
        unfilled,
    )


def reasons_for(rota: Rota, isil: str) -> tuple[str, ...]:
    return next(e.reasons for e in rota.excluded if e.isil == isil)


# --- tiers -----------------------------------------------------------------------------------------


def test_a_public_library_asks_its_region_then_other_regions_then_centrals_then_national_research_abroad():
    rota = rota_for(COPENHAGEN)
    assert [(e.isil, e.tier) for e in rota.candidates] == [
        ("DK-715100", Tier.OWN_REGION_PUBLIC),
        ("DK-746100", Tier.OTHER_REGION_PUBLIC),
        ("DK-715700", Tier.OWN_CENTRAL),
        ("DK-726500", Tier.OTHER_CENTRAL),
        ("DK-820010", Tier.NATIONAL),
        ("DK-820030", Tier.RESEARCH),
        ("NO-0030100", Tier.ABROAD),
    ]


def test_a_school_library_is_not_in_a_public_requesters_tiers():
    assert reasons_for(rota_for(COPENHAGEN), "DK-900100") == (
        "school is not a tier for public requesters in dk-2012",
    )


def test_a_research_library_asks_research_libraries_first():
    requester = lib("DK-820050", LibraryType.RESEARCH)
    rota = rota_for(requester)
    assert [e.tier for e in rota.candidates][:2] == [Tier.RESEARCH, Tier.NATIONAL]


def test_a_school_library_asks_school_libraries_first():
    requester = lib("DK-900200", LibraryType.SCHOOL, Region.GENTOFTE, central_isil="DK-715700")
    rota = rota_for(requester)
    assert list(dict.fromkeys(e.tier for e in rota.candidates)) == [
        Tier.SCHOOL,
        Tier.OWN_REGION_PUBLIC,
        Tier.OWN_CENTRAL,
        Tier.OTHER_CENTRAL,
        Tier.NATIONAL,
    ]


def test_a_central_library_asks_its_own_region_then_the_other_centrals():
    rota = rota_for(GENTOFTE)
    assert [e.isil for e in rota.candidates][:3] == ["DK-710100", "DK-715100", "DK-726500"]


def test_the_2023_principles_ask_the_own_central_library_before_other_regions():
    rota = rota_for(COPENHAGEN, principles=load_principles("dk-2023"))
    assert [e.tier for e in rota.candidates][:3] == [
        Tier.OWN_REGION_PUBLIC,
        Tier.OWN_CENTRAL,
        Tier.OTHER_REGION_PUBLIC,
    ]
    assert rota.principles_version == "dk-2023"


# --- local availability -------------------------------------------------------------------------


def test_an_available_circulating_local_copy_fills_the_request_locally():
    rota = rota_for(COPENHAGEN, holdings=[HoldingInfo("DK-710100"), HoldingInfo("DK-715100")])
    assert rota.filled_locally
    assert rota.candidates == ()


def test_a_local_copy_on_loan_does_not_fill_locally():
    rota = rota_for(COPENHAGEN, holdings=[HoldingInfo("DK-710100", available=0), HoldingInfo("DK-715100")])
    assert not rota.filled_locally
    assert reasons_for(rota, "DK-710100") == ("the requesting library itself: no available circulating copy",)
    assert rota.isils == ("DK-715100",)


def test_a_non_circulating_local_copy_does_not_fill_locally():
    rota = rota_for(COPENHAGEN, holdings=[HoldingInfo("DK-710100", circulating=False)])
    assert not rota.filled_locally


# --- exclusions ------------------------------------------------------------------------------------


def with_policy(library: Library, **policy: object) -> dict[str, Library]:
    return {**LIBRARIES, library.isil: replace(library, policy=LendingPolicy(**policy))}  # type: ignore[arg-type]


def test_a_closed_lender_is_excluded_until_its_closure_ends():
    calendar = WorkingCalendar(
        is_public_holiday=lambda d: False,
        closures=(
            Closure(date(2026, 2, 20), date(2026, 12, 20), "ombygning"),
            Closure(date(2026, 12, 21), date(2026, 12, 27), "jul"),
        ),
    )
    rota = rota_for(calendars={"DK-715100": calendar})
    assert reasons_for(rota, "DK-715100") == ("closed until 2026-12-27",)


def test_a_lender_with_lending_switched_off_is_excluded():
    rota = rota_for(lenders=with_policy(BALLERUP, lending_enabled=False))
    assert reasons_for(rota, "DK-715100") == ("lending switched off",)


def test_a_lender_refusing_the_material_type_is_excluded():
    lenders = with_policy(BALLERUP, refused_material_types=frozenset({MaterialType.MUSIC}))
    rota = rota_for(lenders=lenders, record=RotaRecordInfo(MaterialType.MUSIC, publication_year=1999))
    assert reasons_for(rota, "DK-715100") == ("lending off for music",)


def test_a_lender_refusing_the_requesters_type_is_excluded():
    lenders = with_policy(BALLERUP, accepted_requester_types=frozenset({RequesterCategory.RESEARCH}))
    assert reasons_for(rota_for(lenders=lenders), "DK-715100") == ("does not lend to public libraries",)


def test_a_title_younger_than_the_lenders_minimum_age_is_excluded():
    lenders = with_policy(BALLERUP, min_title_age_days=365)
    record = RotaRecordInfo(MaterialType.BOOK, publication_date=date(2025, 6, 1))
    assert reasons_for(rota_for(lenders=lenders, record=record), "DK-715100") == (
        "title younger than 365 days",
    )


def test_a_bare_publication_year_counts_as_the_last_day_of_that_year():
    lenders = with_policy(BALLERUP, min_title_age_days=365)
    record = RotaRecordInfo(MaterialType.BOOK, publication_year=2025)  # could be from December 2025
    assert "title younger than 365 days" in reasons_for(rota_for(lenders=lenders, record=record), "DK-715100")


def test_a_lender_whose_copies_are_all_non_circulating_is_excluded():
    rota = rota_for(holdings=[HoldingInfo("DK-715100", circulating=False), HoldingInfo("DK-746100")])
    assert reasons_for(rota, "DK-715100") == ("non-circulating",)


def test_a_lender_that_already_said_unfilled_is_excluded():
    rota = rota_for(unfilled=frozenset({"DK-715100"}))
    assert reasons_for(rota, "DK-715100") == ("already said unfilled for this request",)


def test_a_holder_missing_from_the_directory_is_excluded():
    rota = rota_for(holdings=[HoldingInfo("DK-799999")])
    assert reasons_for(rota, "DK-799999") == ("not in the directory",)


def test_every_rule_a_lender_breaks_is_listed():
    lenders = with_policy(BALLERUP, lending_enabled=False, min_title_age_days=365)
    record = RotaRecordInfo(MaterialType.BOOK, publication_date=date(2026, 1, 1))
    assert reasons_for(
        rota_for(lenders=lenders, record=record, unfilled=frozenset({"DK-715100"})), "DK-715100"
    ) == (
        "lending switched off",
        "title younger than 365 days",
        "already said unfilled for this request",
    )


def test_an_exclusion_rule_switched_off_in_the_principles_does_not_apply():
    principles = replace(DK2012, exclusions=Exclusions(non_circulating=False))
    rota = rota_for(holdings=[HoldingInfo("DK-715100", circulating=False)], principles=principles)
    assert rota.isils == ("DK-715100",)


# --- abroad ----------------------------------------------------------------------------------------


def test_a_foreign_library_is_asked_through_the_national_library():
    entry = next(e for e in rota_for().candidates if e.isil == "NO-0030100")
    assert entry.tier is Tier.ABROAD
    assert entry.via_isil == "DK-820010"
    assert "abroad, through the national library DK-820010" in entry.reasons


def test_without_a_national_library_nobody_abroad_is_asked():
    lenders = {k: v for k, v in LIBRARIES.items() if k != "DK-820010"}
    rota = rota_for(lenders=lenders)
    assert reasons_for(rota, "NO-0030100") == (
        "abroad only through the national library, and none is in the directory",
    )


# --- scoring within a tier -------------------------------------------------------------------------


def test_an_available_copy_ranks_before_one_on_loan():
    holdings = [HoldingInfo("DK-715100", available=0), HoldingInfo("DK-715200")]
    lenders = {**LIBRARIES, "DK-715200": replace(BALLERUP, isil="DK-715200")}
    rota = rota_for(holdings=holdings, lenders=lenders)
    assert rota.isils == ("DK-715200", "DK-715100")
    assert "available now" in rota.candidates[0].reasons
    assert "no copy available now" in rota.candidates[1].reasons


def test_a_lender_under_its_fair_share_ranks_before_one_over_it():
    lenders = {**LIBRARIES, "DK-715200": replace(BALLERUP, isil="DK-715200")}
    load = {
        "DK-715100": LenderLoad(requests_received=14, holdings_count=100),
        "DK-715200": LenderLoad(requests_received=6, holdings_count=100),
    }
    rota = rota_for(holdings=[HoldingInfo("DK-715100"), HoldingInfo("DK-715200")], lenders=lenders, load=load)
    assert rota.isils == ("DK-715200", "DK-715100")
    assert "fair share: 0.6 of expected load" in rota.candidates[0].reasons
    assert "fair share: 1.4 of expected load" in rota.candidates[1].reasons


def test_a_faster_lender_ranks_first_when_all_else_is_equal():
    lenders = {**LIBRARIES, "DK-715200": replace(BALLERUP, isil="DK-715200")}
    load = {
        "DK-715100": LenderLoad(median_turnaround_days=6.0),
        "DK-715200": LenderLoad(median_turnaround_days=2.0),
    }
    rota = rota_for(holdings=[HoldingInfo("DK-715100"), HoldingInfo("DK-715200")], lenders=lenders, load=load)
    assert rota.isils == ("DK-715200", "DK-715100")
    assert "median turnaround 2.0 days" in rota.candidates[0].reasons


def test_the_same_transport_hub_ranks_first_when_all_else_is_equal():
    lenders = {**LIBRARIES, "DK-715200": replace(BALLERUP, isil="DK-715200", transport_hub="DK-726500")}
    rota = rota_for(holdings=[HoldingInfo("DK-715200"), HoldingInfo("DK-715100")], lenders=lenders)
    assert rota.isils == ("DK-715100", "DK-715200")
    assert "same transport hub" in rota.candidates[0].reasons
    assert "same region" in rota.candidates[0].reasons


def test_equal_scores_break_by_isil():
    lenders = {**LIBRARIES, "DK-715000": replace(BALLERUP, isil="DK-715000")}
    rota = rota_for(holdings=[HoldingInfo("DK-715100"), HoldingInfo("DK-715000")], lenders=lenders)
    assert rota.candidates[0].score == rota.candidates[1].score
    assert rota.isils == ("DK-715000", "DK-715100")


# --- determinism -----------------------------------------------------------------------------------


@given(st.permutations([HoldingInfo(i, copies=1, available=n % 2) for n, i in enumerate(sorted(LIBRARIES))]))
def test_the_same_holdings_in_any_order_give_the_same_rota(shuffled):
    load = {
        i: LenderLoad(requests_received=n * 3, holdings_count=50 + n) for n, i in enumerate(sorted(LIBRARIES))
    }
    in_order = sorted(shuffled, key=lambda h: h.isil)
    assert rota_for(holdings=list(shuffled), load=load) == rota_for(holdings=in_order, load=load)


def test_several_holding_rows_of_one_library_count_together():
    rota = rota_for(
        holdings=[HoldingInfo("DK-715100", copies=1, available=0), HoldingInfo("DK-715100", copies=2)]
    )
    assert rota.candidates[0].reasons[:2] == ("holds the title (3 copies)", "available now")


# --- staff edits -----------------------------------------------------------------------------------


def test_staff_can_move_lenders_to_the_front():
    rota = rota_for()
    moved = reorder(rota, ["DK-820010", "DK-715700"])
    assert moved.isils[:2] == ("DK-820010", "DK-715700")
    assert set(moved.isils) == set(rota.isils)
    assert "moved by staff" in moved.candidates[0].reasons


def test_reordering_with_an_unknown_lender_is_refused():
    with pytest.raises(DomainError):
        reorder(rota_for(), ["DK-799999"])


def test_staff_can_add_an_excluded_lender_and_the_entry_says_why_it_was_excluded():
    rota = rota_for(unfilled=frozenset({"DK-715100"}))
    added = add_lender(rota, BALLERUP, "har lovet at kigge på hylden igen")
    entry = added.candidates[-1]
    assert entry.isil == "DK-715100"
    assert entry.reasons == (
        "added by staff: har lovet at kigge på hylden igen",
        "despite: already said unfilled for this request",
    )
    assert all(e.isil != "DK-715100" for e in added.excluded)


def test_a_lender_already_on_the_rota_cannot_be_added_twice():
    with pytest.raises(DomainError):
        add_lender(rota_for(), BALLERUP, "again")
