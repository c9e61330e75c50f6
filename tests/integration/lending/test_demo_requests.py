"""`fjernlaan demo` seeds requests in every staff queue for the demo staff, through the lending
service and dated from the clock; the demo patron follows them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from fjernlaan.app.demo import DemoReport, seed_patrons
from fjernlaan.clock import FixedClock
from fjernlaan.db.uow import Database
from fjernlaan.lending.demo import seed_requests
from fjernlaan.lending.service import clear_caches
from fjernlaan.lending.store import AttemptRow, RequestRow

KBH = "DK-710100"


def test_every_queue_of_the_demo_staff_has_requests_dated_from_the_clock(
    seeded: Database, clock: FixedClock
) -> None:
    clear_caches()
    clock.advance(timedelta(days=400))  # any day: nothing is pinned to a calendar date
    now = clock.now()
    with seeded.unit_of_work() as session:
        patrons = seed_patrons(session, DemoReport(), clock)
        assert seed_requests(session, clock, patrons, "dk-2012") >= 18
    with seeded.unit_of_work() as session:
        borrowing = set(session.scalars(select(RequestRow.state).where(RequestRow.requester_isil == KBH)))
        lending = set(
            session.scalars(
                select(AttemptRow.state).where(AttemptRow.isil == KBH, AttemptRow.ended_at.is_(None))
            )
        )
        lender_of_kbh = set(
            session.scalars(select(RequestRow.current_lender_isil).where(RequestRow.requester_isil == KBH))
        )
        created = list(session.scalars(select(RequestRow.created_at)))
        overdue = session.scalar(select(RequestRow.due_date).where(RequestRow.state == "overdue"))
    # Borrowing side and needs attention (kbh is the requester) ...
    assert {
        "sent",
        "shipped",
        "received",
        "checked_out",
        "overdue",
        "returned_by_patron",
        "end_of_rota",
        "conditional",
        "renew_pending",
    } <= borrowing
    # ... and the lending side (kbh is the lender): to answer, to pull, to ship, returns to receive.
    assert {"received", "will_supply", "awaiting_shipment", "returned"} <= lending
    assert {"DK-715700", "DK-800010"} <= lender_of_kbh
    assert all(now - timedelta(days=61) <= at <= now for at in created)
    assert overdue is not None and overdue < now.date()
    with seeded.unit_of_work() as session:
        assert seed_requests(session, clock, seed_patrons(session, DemoReport(), clock), "dk-2012") == 0
