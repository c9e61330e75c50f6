"""The demo network's directory data is Denmark's library map, intact and consistent.

Central-library regions follow the current agreement between Slots- og Kulturstyrelsen and the six
central libraries: the regions follow the administrative regions, except that Region Syddanmark is
split between Odense and Vejle. Vejle serves the libraries of southern Jutland (Billund, Esbjerg,
Fanø, Fredericia, Haderslev, Kolding, Sønderborg, Tønder, Varde, Vejen, Aabenraa and Vejle itself)
and Middelfart on Funen; Odense serves the rest of Funen and its islands. So Herning serves all of
Region Midtjylland (Aarhus, Horsens and Hedensted included), Gentofte the Capital Region with
Bornholm, Roskilde Region Sjælland and Aalborg Region Nordjylland. Fanø is not named in every
published list; it is assigned to Vejle with the rest of southern Jutland.

Library numbers of the research, special and school libraries are plausible, not verified against
the national library register; the public ones follow the rule `7` + municipality code + `00`.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest

from fjernlaan.clock import SYSTEM_CLOCK, today
from fjernlaan.directory.demo import (
    DEMO_ROLES,
    DEMO_USERS,
    DemoUser,
    demo_closures,
    demo_policy,
    load_demo_libraries,
    parse_demo_libraries,
)
from fjernlaan.directory.model import (
    Iso18626Version,
    Library,
    LibraryType,
    MaterialType,
    Region,
    RequesterCategory,
    normalise_isil,
    public_library_isil,
)
from fjernlaan.errors import DomainError

CENTRAL_BY_REGION = {
    Region.GENTOFTE: "DK-715700",
    Region.ROSKILDE: "DK-726500",
    Region.ODENSE: "DK-746100",
    Region.VEJLE: "DK-763000",
    Region.HERNING: "DK-765700",
    Region.AALBORG: "DK-785100",
}

MUNICIPAL = (LibraryType.PUBLIC, LibraryType.CENTRAL)


@pytest.fixture(scope="module")
def libraries() -> list[Library]:
    return load_demo_libraries()


@pytest.fixture(scope="module")
def by_isil(libraries: list[Library]) -> dict[str, Library]:
    return {lib.isil: lib for lib in libraries}


def municipal(libraries: list[Library]) -> list[Library]:
    return [lib for lib in libraries if lib.type in MUNICIPAL]


def of_type(libraries: list[Library], library_type: LibraryType) -> list[Library]:
    return [lib for lib in libraries if lib.type is library_type]


def test_there_is_one_library_per_municipality_98_in_all(libraries: list[Library]) -> None:
    codes = [lib.municipality_code for lib in municipal(libraries)]
    assert len(codes) == 98
    assert len(set(codes)) == 98


def test_municipal_library_isils_follow_the_municipality_code(libraries: list[Library]) -> None:
    for lib in municipal(libraries):
        assert lib.municipality_code is not None
        assert lib.isil == public_library_isil(lib.municipality_code), lib.name


def test_well_known_municipality_codes_are_the_official_ones(by_isil: dict[str, Library]) -> None:
    expected = {
        "DK-710100": "Københavns Biblioteker",
        "DK-714700": "Frederiksberg Bibliotek",
        "DK-775100": "Aarhus Kommunes Biblioteker",
        "DK-785100": "Aalborg Bibliotekerne",
        "DK-746100": "Odense Bibliotekerne",
        "DK-740000": "Bornholms Biblioteker",
        "DK-749200": "Ærø Bibliotekerne",
        "DK-782500": "Læsø Bibliotek",
    }
    assert {isil: by_isil[isil].name for isil in expected} == expected


def test_copenhagen_is_a_public_library_in_gentoftes_region(by_isil: dict[str, Library]) -> None:
    kbh = by_isil["DK-710100"]
    assert kbh.name == "Københavns Biblioteker"
    assert kbh.type is LibraryType.PUBLIC
    assert kbh.region is Region.GENTOFTE
    assert kbh.central_isil == "DK-715700"


def test_there_are_six_central_libraries_one_per_region(libraries: list[Library]) -> None:
    centrals = of_type(libraries, LibraryType.CENTRAL)
    assert {lib.region: lib.isil for lib in centrals} == CENTRAL_BY_REGION
    assert len(centrals) == 6
    assert len(of_type(libraries, LibraryType.PUBLIC)) == 92


def test_a_central_library_is_its_own_central_library(libraries: list[Library]) -> None:
    for lib in of_type(libraries, LibraryType.CENTRAL):
        assert lib.central_isil == lib.isil


def test_every_public_library_points_at_its_regions_central_library(libraries: list[Library]) -> None:
    for lib in of_type(libraries, LibraryType.PUBLIC):
        assert lib.region is not None, lib.name
        assert lib.central_isil == CENTRAL_BY_REGION[lib.region], lib.name


def test_the_transport_hub_of_a_municipal_library_is_its_central_library(libraries: list[Library]) -> None:
    for lib in municipal(libraries):
        assert lib.transport_hub == lib.central_isil, lib.name


def test_regions_have_the_number_of_municipalities_the_agreement_gives_them(
    libraries: list[Library],
) -> None:
    counts = Counter(lib.region for lib in municipal(libraries))
    assert counts == {
        Region.GENTOFTE: 29,
        Region.ROSKILDE: 17,
        Region.ODENSE: 9,
        Region.VEJLE: 13,
        Region.HERNING: 19,
        Region.AALBORG: 11,
    }


@pytest.mark.parametrize(
    ("isil", "region"),
    [
        ("DK-740000", Region.GENTOFTE),  # Bornholm
        ("DK-741000", Region.VEJLE),  # Middelfart, on Funen but served from Vejle
        ("DK-754000", Region.VEJLE),  # Sønderborg
        ("DK-749200", Region.ODENSE),  # Ærø
        ("DK-775100", Region.HERNING),  # Aarhus
        ("DK-761500", Region.HERNING),  # Horsens
        ("DK-736000", Region.ROSKILDE),  # Lolland
        ("DK-782500", Region.AALBORG),  # Læsø
    ],
)
def test_border_municipalities_sit_in_the_right_region(
    by_isil: dict[str, Library], isil: str, region: Region
) -> None:
    assert by_isil[isil].region is region


def test_the_national_library_has_two_sites_outside_any_region(by_isil: dict[str, Library]) -> None:
    sites = [by_isil["DK-800010"], by_isil["DK-820010"]]
    for site in sites:
        assert site.type is LibraryType.NATIONAL
        assert site.name.startswith("Det Kgl. Bibliotek")
        assert site.region is None
    assert "København" in sites[0].name
    assert "Aarhus" in sites[1].name


def test_only_the_two_sites_are_national(libraries: list[Library]) -> None:
    assert {lib.isil for lib in of_type(libraries, LibraryType.NATIONAL)} == {"DK-800010", "DK-820010"}


def test_there_are_at_least_eight_research_libraries(libraries: list[Library]) -> None:
    assert len(of_type(libraries, LibraryType.RESEARCH)) >= 8


def test_nota_is_a_special_library(libraries: list[Library]) -> None:
    assert [lib.name for lib in of_type(libraries, LibraryType.SPECIAL)] == ["Nota"]


def test_there_are_at_least_four_school_libraries(libraries: list[Library]) -> None:
    schools = of_type(libraries, LibraryType.SCHOOL)
    assert len(schools) >= 4
    for school in schools:
        assert school.region is not None
        assert school.central_isil == CENTRAL_BY_REGION[school.region]


def test_there_are_two_foreign_libraries_speaking_iso18626(libraries: list[Library]) -> None:
    foreign = of_type(libraries, LibraryType.FOREIGN)
    assert sorted(lib.isil.split("-")[0] for lib in foreign) == ["NO", "SE"]
    for lib in foreign:
        assert lib.iso18626_endpoint is not None
        assert lib.iso18626_endpoint.startswith("http://127.0.0.1:")
        assert lib.iso18626_version in set(Iso18626Version)
    assert {lib.iso18626_version for lib in foreign} == set(Iso18626Version)


def test_only_foreign_libraries_have_an_iso18626_endpoint(libraries: list[Library]) -> None:
    for lib in libraries:
        assert (lib.iso18626_endpoint is not None) == (lib.type is LibraryType.FOREIGN), lib.name


def test_the_network_has_at_least_110_libraries(libraries: list[Library]) -> None:
    assert len(libraries) >= 110


def test_isils_are_unique_and_already_canonical(libraries: list[Library]) -> None:
    isils = [lib.isil for lib in libraries]
    assert len(set(isils)) == len(isils)
    for isil in isils:
        assert normalise_isil(isil) == isil


def test_danish_letters_survive_the_file(libraries: list[Library]) -> None:
    names = {lib.name for lib in libraries}
    for expected in (
        "Ærø Bibliotekerne",
        "Læsø Bibliotek",
        "Høje-Taastrup Bibliotekerne",
        "Tårnby Kommunebiblioteker",
        "Københavns Biblioteker",
        "Pædagogisk Læringscenter København",
    ):
        assert expected in names


def test_every_library_has_a_demo_email_that_reaches_no_real_inbox(libraries: list[Library]) -> None:
    for lib in libraries:
        assert lib.email is not None, lib.name
        assert lib.email.endswith(".example"), lib.email
        assert lib.email.isascii(), lib.email


def test_every_transport_hub_and_central_library_is_a_central_library(
    libraries: list[Library], by_isil: dict[str, Library]
) -> None:
    for lib in libraries:
        for ref in (lib.transport_hub, lib.central_isil):
            if ref is not None:
                assert by_isil[ref].type is LibraryType.CENTRAL, lib.name


def test_loading_twice_gives_the_same_libraries() -> None:
    assert load_demo_libraries() == load_demo_libraries()


def test_public_libraries_lend_everything_to_everyone_by_default(by_isil: dict[str, Library]) -> None:
    policy = by_isil["DK-710100"].policy
    assert all(policy.lends(material) for material in MaterialType)
    assert all(policy.accepts_requester(category) for category in RequesterCategory)
    assert policy.fee_dkk == 0


def test_some_public_libraries_keep_music_and_film_at_home(libraries: list[Library]) -> None:
    refusing = [lib for lib in municipal(libraries) if not lib.policy.lends(MaterialType.FILM)]
    assert refusing
    for lib in refusing:
        assert not lib.policy.lends(MaterialType.MUSIC)
        assert lib.policy.lends(MaterialType.BOOK)


def test_a_few_public_libraries_hold_back_titles_for_a_year(libraries: list[Library]) -> None:
    holding_back = [lib for lib in municipal(libraries) if lib.policy.min_title_age_days == 365]
    assert 0 < len(holding_back) < 10


def test_research_libraries_lend_to_every_danish_library_but_not_directly_abroad(
    libraries: list[Library],
) -> None:
    for lib in of_type(libraries, LibraryType.RESEARCH):
        assert lib.policy.accepts_requester(RequesterCategory.PUBLIC)
        assert lib.policy.accepts_requester(RequesterCategory.SCHOOL)
        assert not lib.policy.accepts_requester(RequesterCategory.FOREIGN)


def test_the_national_library_lends_to_everyone_free(libraries: list[Library]) -> None:
    for lib in of_type(libraries, LibraryType.NATIONAL):
        assert all(lib.policy.accepts_requester(category) for category in RequesterCategory)
        assert lib.policy.fee_dkk == 0


def test_foreign_libraries_charge_a_fee(libraries: list[Library]) -> None:
    for lib in of_type(libraries, LibraryType.FOREIGN):
        assert lib.policy.fee_dkk > 0


def test_danish_libraries_lend_to_each_other_free(libraries: list[Library]) -> None:
    for lib in libraries:
        if lib.type is not LibraryType.FOREIGN:
            assert lib.policy.fee_dkk == 0, lib.name


def test_demo_policy_is_deterministic() -> None:
    assert demo_policy("DK-710100", LibraryType.PUBLIC) == demo_policy("DK-710100", LibraryType.PUBLIC)


def test_a_file_with_the_wrong_header_is_refused() -> None:
    with pytest.raises(DomainError, match="header"):
        parse_demo_libraries("isil,name\nDK-710100,Københavns Biblioteker\n")


def test_a_bad_row_is_reported_with_its_line_number() -> None:
    header = (
        "isil,name,type,municipality_code,region,central_isil,transport_hub,email,"
        "iso18626_endpoint,iso18626_version\n"
    )
    bad = header + "DK-710100,Københavns Biblioteker,public,101,gentofte,,,,,\nDK-71,X,public,,,,,,,\n"
    with pytest.raises(DomainError, match="line 3"):
        parse_demo_libraries(bad)


def test_demo_users_cover_every_role_and_belong_to_demo_libraries(by_isil: dict[str, Library]) -> None:
    assert {user.role for user in DEMO_USERS} == set(DEMO_ROLES)
    for user in DEMO_USERS:
        assert user.library_isil in by_isil, user.username
        assert user.password


def test_demo_usernames_are_unique() -> None:
    names = [user.username for user in DEMO_USERS]
    assert len(set(names)) == len(names)


def test_there_is_a_demo_user_for_each_kind_of_danish_library(by_isil: dict[str, Library]) -> None:
    kinds = {by_isil[user.library_isil].type for user in DEMO_USERS}
    assert kinds >= {
        LibraryType.PUBLIC,
        LibraryType.CENTRAL,
        LibraryType.NATIONAL,
        LibraryType.RESEARCH,
        LibraryType.SCHOOL,
    }


def test_the_demo_admin_is_a_national_admin() -> None:
    admin = next(user for user in DEMO_USERS if user.username == "admin")
    assert admin.role == "national_admin"


def test_demo_users_refuse_an_unknown_role() -> None:
    with pytest.raises(DomainError):
        DemoUser("x", "y", "superuser", "DK-710100", "X")


def test_demo_closures_belong_to_demo_libraries(by_isil: dict[str, Library]) -> None:
    closures = demo_closures(today(SYSTEM_CLOCK))
    assert closures
    for isil in closures:
        assert isil in by_isil


@pytest.mark.parametrize("offset_days", [0, 200, 400, 3 * 365 + 40])
def test_the_demo_closures_are_the_next_ones_whatever_the_day(offset_days: int) -> None:
    day = today(SYSTEM_CLOCK) + timedelta(days=offset_days)
    for closures in demo_closures(day).values():
        for closure in closures:
            assert day <= closure.ends < day + timedelta(days=366)


def test_laesoe_is_closed_over_the_next_christmas() -> None:
    day = today(SYSTEM_CLOCK)
    christmas_year = day.year if day <= date(day.year, 12, 27) else day.year + 1
    closures = demo_closures(day)["DK-782500"]
    eve = date(christmas_year, 12, 24)
    assert any(c.covers(date(christmas_year, 12, 21)) and c.covers(eve) for c in closures)
    assert not any(c.covers(date(christmas_year, 12, 28)) for c in closures)
