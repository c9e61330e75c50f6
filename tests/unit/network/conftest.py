"""Shared builders for the network tests: people, the specialists' network and the forum."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from fjernlaan.network.model import Body, BodyKind, Person


@pytest.fixture
def person() -> Callable[..., Person]:
    """Make a person with id `n`; Danish names so æ, ø, å travel through every test."""

    def make(n: int, organisation: str = "Københavns Biblioteker", name: str | None = None) -> Person:
        return Person(
            id=n,
            name=name or f"Bibliotekar Ærøskøbing {n}",
            email=f"person{n}@bibliotek.dk",
            organisation=organisation,
            role="fjernlånsspecialist",
        )

    return make


@pytest.fixture
def network() -> Body:
    """The ILL specialists' network: 40 seats, withdrawn after 3 missed meetings, 2 meetings a year."""
    return Body(
        id=1,
        name="Fremtidens Fjernlån",
        kind=BodyKind.NETWORK,
        capacity=40,
        absence_limit=3,
        meetings_per_year=2,
        coordinator_ids=(1000,),
        mandate="Netværk for fjernlånsspecialister på danske biblioteker.",
        newsletter="For biblioteker",
    )


@pytest.fixture
def forum() -> Body:
    """The coordination forum: unlimited seats, no automatic withdrawal."""
    return Body(id=2, name="Koordinationsforum", kind=BodyKind.FORUM, mandate="Koordinerer lånesamarbejdet.")
