"""What a patron is told: every requester state has a plain word, and the date beside it is the one
that matters at that point; pickup is at home or in the home region."""

from __future__ import annotations

from datetime import date

import pytest

from fjernlaan.directory.model import LendingPolicy, Library, LibraryType, Region
from fjernlaan.lending.model import RequesterState
from fjernlaan.lending.patron_status import (
    PATRON_STATUS,
    DateKind,
    PatronStatus,
    patron_view,
    pickup_libraries,
)

NEED, PICKUP, DUE = date(2030, 1, 10), date(2030, 1, 20), date(2030, 2, 28)


def test_every_requester_state_has_a_patron_word() -> None:
    assert set(PATRON_STATUS) == set(RequesterState)
    assert set(PATRON_STATUS.values()) == set(PatronStatus)


@pytest.mark.parametrize(
    ("state", "status", "kind", "when"),
    [
        (RequesterState.SUBMITTED, PatronStatus.SUBMITTED, DateKind.NEEDED_BY, NEED),
        (RequesterState.EXPECTS_TO_SUPPLY, PatronStatus.BEING_PROCESSED, DateKind.NEEDED_BY, NEED),
        (RequesterState.END_OF_ROTA, PatronStatus.BEING_PROCESSED, DateKind.NEEDED_BY, NEED),
        (RequesterState.SHIPPED, PatronStatus.ON_ITS_WAY, None, None),
        (RequesterState.RECEIVED, PatronStatus.READY_FOR_PICKUP, DateKind.PICK_UP_BY, PICKUP),
        (RequesterState.CHECKED_OUT, PatronStatus.ON_LOAN, DateKind.RETURN_BY, DUE),
        (RequesterState.OVERDUE, PatronStatus.ON_LOAN, DateKind.RETURN_BY, DUE),
        (RequesterState.RETURN_SHIPPED, PatronStatus.RETURNED, None, None),
        (RequesterState.UNFILLED, PatronStatus.NOT_AVAILABLE, None, None),
        (RequesterState.CANCELLED, PatronStatus.CANCELLED, None, None),
    ],
)
def test_the_word_and_the_date_that_matters(
    state: RequesterState, status: PatronStatus, kind: DateKind | None, when: date | None
) -> None:
    view = patron_view(state, need_before=NEED, pickup_due=PICKUP, due_date=DUE)
    assert (view.status, view.date_kind, view.date) == (status, kind, when)


def test_states_the_word_hides_get_a_note() -> None:
    assert patron_view(RequesterState.OVERDUE, need_before=None, pickup_due=None, due_date=DUE).note
    assert patron_view(RequesterState.CANCEL_PENDING, need_before=None, pickup_due=None, due_date=None).note
    assert (
        patron_view(RequesterState.CHECKED_OUT, need_before=None, pickup_due=None, due_date=DUE).note is None
    )


def _lib(isil: str, name: str, kind: LibraryType, region: Region | None, active: bool = True) -> Library:
    return Library(isil, name, kind, region=region, active=active, policy=LendingPolicy())


def test_pickup_is_at_home_first_then_active_public_libraries_of_the_region_by_name() -> None:
    region, elsewhere = list(Region)[:2]
    home = _lib("DK-710100", "Københavns Biblioteker", LibraryType.PUBLIC, region)
    libraries = [
        home,
        _lib("DK-715700", "Gentofte Bibliotekerne", LibraryType.CENTRAL, region),
        _lib("DK-714700", "Frederiksberg Bibliotek", LibraryType.PUBLIC, region),
        _lib("DK-715100", "Ballerup Bibliotekerne", LibraryType.PUBLIC, region, active=False),
        _lib("DK-820030", "DTU Bibliotek", LibraryType.RESEARCH, region),
        _lib("DK-775100", "Aarhus Kommunes Biblioteker", LibraryType.PUBLIC, elsewhere),
    ]
    assert [lib.isil for lib in pickup_libraries(home, libraries)] == ["DK-710100", "DK-714700", "DK-715700"]
