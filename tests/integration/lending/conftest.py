"""Lending fixtures: a title held by five libraries, a patron at København, staff at every lender."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fjernlaan.accounts.model import Role
from fjernlaan.accounts.service import PatronIn, add_patron, add_user
from fjernlaan.catalogue.model import Holding, Record
from fjernlaan.catalogue.service import upsert_record
from fjernlaan.clock import FixedClock
from fjernlaan.db.uow import Database
from fjernlaan.lending.service import clear_caches
from fjernlaan.settings import Settings
from support import RecordingSmtpHandler

REQUESTER = "DK-710100"  # København; demo user `kbh`
HOLDERS = ("DK-714700", "DK-715100", "DK-715300", "DK-715700", "DK-800010")


@dataclass(frozen=True)
class World:
    """What a lending test starts from."""

    db: Database
    record_id: int
    patron_id: int
    client: TestClient
    headers: Callable[[str], dict[str, str]]
    clock: FixedClock

    def staff_of(self, isil: str) -> dict[str, str]:
        """Authorization headers of a staff member at the library."""
        return self.headers("kbh" if isil == REQUESTER else "staff" + isil[3:])


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    clear_caches()
    yield
    clear_caches()


@pytest.fixture
def mail(smtp_server: tuple[RecordingSmtpHandler, Settings]) -> tuple[RecordingSmtpHandler, Settings]:
    """The SMTP server and settings whose worker passes deliver to it."""
    return smtp_server


@pytest.fixture
def world(
    seeded: Database,
    app: FastAPI,
    client: TestClient,
    token_for: Callable[[str], dict[str, str]],
    clock: FixedClock,
) -> World:
    with seeded.unit_of_work() as session:
        for isil in HOLDERS:
            if isil != "DK-800010":
                add_user(
                    session,
                    username="staff" + isil[3:],
                    password="lending-test-1",
                    role=Role.STAFF,
                    library_isil=isil,
                )
        add_user(
            session,
            username="staff800010",
            password="lending-test-1",
            role=Role.STAFF,
            library_isil="DK-800010",
        )
        record = Record(record_id="29526249", title="Æbler på Åen", year=1998, creators=("Ærø, Søren",))
        upserted = upsert_record(session, record, [Holding(isil, copies=1, available=1) for isil in HOLDERS])
        patron = add_patron(
            session,
            PatronIn(
                card_number="1234567890", name="Søren Ærø", email="soren@example.dk", home_library=REQUESTER
            ),
        )
        ids = (upserted.record_pk, patron.id)
    return World(seeded, ids[0], ids[1], client, token_for, clock)
