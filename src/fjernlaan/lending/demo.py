"""Demo requests in every staff queue: `fjernlaan demo` (and `make run`) seeds them so a newcomer's
dashboard is alive on both sides of a loan.

Every request goes through the lending service (placing, then the actions staff, lenders and the worker
take), dated backwards from the clock, so the states, events, deadlines and notices are the ones real
work leaves, and the demo never goes stale. Københavns Biblioteker (DK-710100, demo user `kbh`) and
Gentofte (DK-715700, `gentofte`) borrow from each other, so each is requester for some requests and
lender for others; the national library (DK-800010, `kb`) lends too. A few small titles held only by
the lender of each story keep the rota predictable, whatever else the catalogue holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from fjernlaan.catalogue.model import Holding, Record
from fjernlaan.catalogue.service import upsert_record
from fjernlaan.clock import Clock
from fjernlaan.lending import model as lm
from fjernlaan.lending import service
from fjernlaan.lending.schemas import PlacedBy, PlaceRequestIn
from fjernlaan.lending.store import RequestRow

KBH = "DK-710100"
GENTOFTE = "DK-715700"
KB = "DK-800010"
DEMO_SOURCE = "DK-800010"
_STAFF = {KBH: "kbh", GENTOFTE: "gentofte", KB: "kb"}

A = lm.Action
REQ, LEND, SYS = "requester", "lender", "system"


@dataclass(frozen=True)
class Story:
    """One demo request: the title, who asks, who alone holds it, how long ago, and the steps taken
    (action, by whom, input)."""

    title: str
    creator: str
    year: int
    requester: str
    holder: str
    days_ago: int
    steps: tuple[tuple[lm.Action, str, lm.ActionInput | None], ...] = ()


_SHIP = (A.SHIP, LEND, None)
_RECEIVE = (A.RECEIVE, REQ, None)
_CHECK_OUT = (A.CHECK_OUT, REQ, None)
_ON_LOAN = (_SHIP, _RECEIVE, _CHECK_OUT)


def stories(today: date) -> tuple[Story, ...]:
    """The demo's requests as of `today` (the overdue loan fell due four days before it)."""
    overdue_due = lm.ActionInput(due_date=today - timedelta(days=4))
    return (
        # Københavns Biblioteker borrows from Gentofte: the borrowing side of kbh's dashboard.
        Story("Kongens fald", "Jensen, Johannes V.", 1901, KBH, GENTOFTE, 1),
        Story("Niels Lyhne", "Jacobsen, J.P.", 1880, KBH, GENTOFTE, 6, (_SHIP,)),
        Story("Lykke-Per", "Pontoppidan, Henrik", 1904, KBH, GENTOFTE, 9, (_SHIP, _RECEIVE)),
        Story("Barndommens gade", "Ditlevsen, Tove", 1943, KBH, GENTOFTE, 20, _ON_LOAN),
        Story(
            "Pelle Erobreren",
            "Andersen Nexø, Martin",
            1910,
            KBH,
            GENTOFTE,
            60,
            ((A.SHIP, LEND, overdue_due), _RECEIVE, _CHECK_OUT, (A.MARK_OVERDUE, SYS, None)),
        ),
        Story(
            "Ditte Menneskebarn",
            "Andersen Nexø, Martin",
            1917,
            KBH,
            GENTOFTE,
            30,
            (*_ON_LOAN, (A.RETURN_BY_PATRON, REQ, None)),
        ),
        Story(
            "Fru Marie Grubbe",
            "Jacobsen, J.P.",
            1876,
            KBH,
            GENTOFTE,
            5,
            ((A.UNFILLED, LEND, lm.ActionInput(reason="Udlånt til anden låner")),),
        ),
        Story(
            "Babettes gæstebud",
            "Blixen, Karen",
            1958,
            KBH,
            GENTOFTE,
            3,
            ((A.OFFER_CONDITION, LEND, lm.ActionInput(condition="Kun til læsesalsbrug")),),
        ),
        Story(
            "Den afrikanske farm",
            "Blixen, Karen",
            1937,
            KBH,
            GENTOFTE,
            35,
            (*_ON_LOAN, (A.REQUEST_RENEWAL, REQ, None)),
        ),
        Story("Hærværk", "Kristensen, Tom", 1930, KBH, KB, 2),
        Story("Frygt og bæven", "Kierkegaard, Søren", 1843, KBH, KB, 7, (_SHIP,)),
        # Gentofte borrows from Københavns Biblioteker: the lending side of kbh's dashboard.
        Story("Jørgen Stein", "Paludan, Jacob", 1933, GENTOFTE, KBH, 1),
        Story("Min fynske barndom", "Nielsen, Carl", 1927, GENTOFTE, KBH, 2),
        Story(
            "Syv fantastiske fortællinger",
            "Blixen, Karen",
            1935,
            GENTOFTE,
            KBH,
            3,
            ((A.WILL_SUPPLY, LEND, None),),
        ),
        Story(
            "Enten – Eller",
            "Kierkegaard, Søren",
            1843,
            GENTOFTE,
            KBH,
            4,
            ((A.WILL_SUPPLY, LEND, None), (A.READY_TO_SHIP, LEND, None)),
        ),
        Story(
            "Vejen til Lagoa Santa",
            "Stangerup, Henrik",
            1981,
            GENTOFTE,
            KBH,
            40,
            (*_ON_LOAN, (A.RETURN_BY_PATRON, REQ, None), (A.SHIP_RETURN, REQ, None)),
        ),
        Story("Ungdom", "Ditlevsen, Tove", 1967, GENTOFTE, KBH, 15, _ON_LOAN),
        Story("Eventyr, fortalte for børn", "Andersen, H.C.", 1835, GENTOFTE, KB, 1),
    )


def _record_pk(session: Session, index: int, story: Story) -> int:
    record = Record(
        record_id=f"fjl-demo-ill-{index:02d}",
        title=story.title,
        source_library=DEMO_SOURCE,
        creators=(story.creator,),
        year=story.year,
        language="dan",
    )
    holding = Holding(
        story.holder, copies=1, available=1, shelf_mark=f"{story.creator.split(',')[0]} {story.year}"
    )
    return upsert_record(session, record, [holding]).record_pk


def _actor(who: str, loaded: service.Loaded) -> service.Actor:
    if who == SYS:
        return service.SYSTEM
    if who == REQ:
        isil = loaded.row.requester_isil
        return service.Actor(lm.Role.REQUESTER_STAFF, _STAFF.get(isil), isil)
    isil = loaded.row.current_lender_isil or ""
    return service.Actor(lm.Role.SUPPLIER_STAFF, _STAFF.get(isil), isil)


def seed_requests(session: Session, clock: Clock, patrons: Mapping[str, int], principles_name: str) -> int:
    """Seed the demo requests for the demo patrons (`patrons`: home library ISIL → patron id), once:
    nothing is added when those patrons already have requests. Returns how many were placed."""
    if not patrons:
        return 0
    taken = session.scalar(
        select(RequestRow.id).where(RequestRow.patron_id.in_(list(patrons.values()))).limit(1)
    )
    if taken is not None:
        return 0
    now = clock.now()
    placed = 0
    for index, story in enumerate(stories(now.date()), start=1):
        patron_id = patrons.get(story.requester)
        if patron_id is None:
            continue
        record_pk = _record_pk(session, index, story)
        session.flush()
        started = now - timedelta(days=story.days_ago)
        data = PlaceRequestIn(
            record_id=record_pk,
            patron_id=patron_id,
            requester_isil=story.requester,
            need_before=now.date() + timedelta(days=45),
            placed_by=PlacedBy.PATRON,
        )
        request_id = service.place_as(session, data, story.requester, None, principles_name, started)
        # The steps are spread evenly between placing and now.
        gap = (now - started) / (len(story.steps) + 1)
        for number, (action, who, extra) in enumerate(story.steps, start=1):
            loaded = service.load(session, request_id)
            at: datetime = started + gap * number
            service.apply(session, loaded, action, _actor(who, loaded), at, extra)
        placed += 1
    return placed
