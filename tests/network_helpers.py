"""Builders the network integration tests share: a network body, people, meetings in the past."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from fjernlaan.network import service
from fjernlaan.network.model import BodyKind, Meeting, MeetingSession

JOINED = date(2025, 1, 6)
# The moment the tests' use cases run at, after every date they name: the code is given it (and days
# derived from it), so no test compares a named date with the wall clock.
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def make_network(session: Session, capacity: int = 40) -> int:
    """The ILL specialists' network: `capacity` seats, withdrawn after three missed meetings."""
    body = service.create_body(
        session,
        name="Fremtidens Fjernlån",
        kind=BodyKind.NETWORK,
        capacity=capacity,
        absence_limit=3,
        meetings_per_year=2,
        mandate="Netværk for fjernlånsspecialister.",
        newsletter="For biblioteker",
    )
    return body.id


def make_person(session: Session, n: int, organisation: str = "Københavns Biblioteker") -> int:
    """A person with a Danish name and an e-mail on an .example domain."""
    return service.create_person(
        session,
        name=f"Søren Ærø Åkjær {n}",
        email=f"person{n}@bibliotek.example",
        organisation=organisation,
        role="fjernlånsspecialist",
    ).id


def fill(session: Session, body_id: int, n: int, start: int = 1) -> list[int]:
    """`n` people who apply on JOINED, in order; returns their ids."""
    ids = []
    for i in range(start, start + n):
        pid = make_person(session, i)
        service.apply(session, body_id, pid, JOINED)
        ids.append(pid)
    return ids


def east_west(day: date) -> tuple[MeetingSession, ...]:
    """An East session at the national library and a West session in Vejle on consecutive days."""
    start = datetime.combine(day, datetime.min.time()).replace(hour=10)
    return (
        MeetingSession(
            "east",
            "Øst",
            start,
            start + timedelta(hours=5),
            host_library="Det Kgl. Bibliotek",
            place="Søren Kierkegaards Plads 1, København",
            room="Blixen",
        ),
        MeetingSession(
            "west",
            "Vest",
            start + timedelta(days=1),
            start + timedelta(days=1, hours=5),
            host_library="Vejle Bibliotekerne",
            place="Willy Sørensens Plads 1, Vejle",
            room="Salen",
        ),
    )


def meeting_on(session: Session, body_id: int, day: date, title: str = "Netværksmøde") -> Meeting:
    """A meeting on `day` (East) and the day after (West) with a short agenda."""
    return service.create_meeting(
        session,
        body_id,
        title=title,
        sessions=east_west(day),
        agenda=["Velkomst", "Nyt fra Slots- og Kulturstyrelsen", "Fjernlån af e-bøger"],
    )
