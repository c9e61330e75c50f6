"""Lending's timers, run by the worker on every pass (`fjernlaan worker`, `fjernlaan.app.worker.run_once`;
the list, in run order, is `TIMERS` in `lending/install.py`).

* no answer by the lender's deadline (working days on its calendar) → the attempt is Unfilled
  ("no answer") and the request moves on;
* the patron's need-before date passed → the request ends unfilled and the patron is told;
* the due date passed → overdue (the patron is told), and the borrowing library is reminded weekly;
* a received loan not collected within the pickup window → shipped back to the lender
  (these five are rows of `DEADLINES`: the states, the date column and the action or notice, walked
  by one function, `run_deadline`);
* once a day, each lender gets a digest of the requests waiting for its answer;
* a few days before a loan is due, the patron is reminded (once per due date).

Each timer claims its due rows with `FOR UPDATE SKIP LOCKED` on PostgreSQL (SQLite serialises writers),
so several workers can run at once; each request is handled in its own savepoint, so one bad row does
not hold back the others. A deadline is the last day still in time: the worker acts the day after.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from fjernlaan.db.outbox import OutboxMessage
from fjernlaan.errors import DomainError
from fjernlaan.lending import model as lm
from fjernlaan.lending import service
from fjernlaan.lending.store import AttemptRow, RequestRow
from fjernlaan.notify.service import queue_email

log = logging.getLogger("fjernlaan.lending.timers")
R = lm.RequesterState
BATCH = 200


def _claim(session: Session, query: Select[Any]) -> list[int]:
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=RequestRow)
    return list(session.scalars(query.order_by(RequestRow.id).limit(BATCH)))


def _each(
    session: Session,
    ids: list[int],
    now: datetime,
    work: Callable[[service.Loaded], bool],
) -> int:
    done = 0
    for request_id in ids:
        try:
            with session.begin_nested():
                loaded = service.load(session, request_id, lock=True)
                if work(loaded):
                    done += 1
        except DomainError as exc:
            # Someone acted first (the state moved on) or the row is odd: log, leave it for staff.
            log.info("lending timer skipped request %s: %s", request_id, exc.message)
    return done


# --------------------------------------------------------------------------------------------------
# The deadlines: one row per date column the worker watches, walked by `run_deadline`
# --------------------------------------------------------------------------------------------------

Step = Callable[[Session, service.Loaded, datetime], bool]
"""What the worker does for one claimed request (True when it counts as done)."""


@dataclass(frozen=True)
class Deadline:
    """A date on the request row that the worker acts on once it has passed.

    The worker claims the requests in one of `states` whose `column` is before today (`on_the_day`:
    on or before today, for dates that say when to act rather than the last day still in time).
    Then, for each, in its own savepoint: `still_due` may look again and say no (it may clear a
    stale date); otherwise it applies `action` (as the system, or as the borrowing library with
    `by_borrowing_library`, with `reason`), or, for a deadline that is a notice, runs `notice`.
    """

    name: str
    states: tuple[lm.RequesterState, ...]
    column: InstrumentedAttribute[date | None]
    action: lm.Action | None = None
    reason: str | None = None
    by_borrowing_library: bool = False
    on_the_day: bool = False
    still_due: Callable[[service.Loaded, date], bool] | None = None
    notice: Step | None = None

    def claim_query(self, today: date) -> Select[Any]:
        """The requests whose date has passed."""
        states = [s.value for s in self.states]
        in_state = RequestRow.state == states[0] if len(states) == 1 else RequestRow.state.in_(states)
        passed = self.column <= today if self.on_the_day else self.column < today
        return select(RequestRow.id).where(in_state, passed)

    def step(self, session: Session, loaded: service.Loaded, now: datetime) -> bool:
        """Act on one claimed request."""
        if self.still_due is not None and not self.still_due(loaded, now.date()):
            return False
        if self.notice is not None:
            return self.notice(session, loaded, now)
        assert self.action is not None
        actor = (
            # The worker acts on the borrowing library's behalf: the model gives this step to
            # requester staff, and the event names the worker as the user who did it.
            service.Actor(lm.Role.REQUESTER_STAFF, "worker", loaded.row.requester_isil)
            if self.by_borrowing_library
            else service.SYSTEM
        )
        data = lm.ActionInput(reason=self.reason) if self.reason is not None else None
        service.apply(session, loaded, self.action, actor, now, data)
        return True


def run_deadline(session: Session, deadline: Deadline, now: datetime) -> int:
    """Claim the requests whose `deadline` has passed and act on each; returns how many were done."""
    ids = _claim(session, deadline.claim_query(now.date()))
    return _each(session, ids, now, lambda loaded: deadline.step(session, loaded, now))


def _lender_still_silent(loaded: service.Loaded, today: date) -> bool:
    row = loaded.row
    if row.answer_due is None or row.answer_due >= today:
        return False
    attempt = loaded.aggregate().open_attempt
    if attempt is None or attempt.state is not lm.SupplierState.RECEIVED:
        row.answer_due = None  # the lender answered; nothing to time any more
        return False
    return True


def _remind_borrowing_library(session: Session, loaded: service.Loaded, now: datetime) -> bool:
    row = loaded.row
    libraries = service.cached_libraries(session)
    requester = libraries.get(row.requester_isil)
    row.reminders_sent += 1
    row.next_reminder_on = now.date() + timedelta(days=service.OVERDUE_REMINDER_EVERY_DAYS)
    if requester is None or not requester.email:
        return False
    lender = row.current_lender_isil or ""
    queue_email(
        session,
        to=[requester.email],
        template="library_overdue_reminder",
        lang="da",
        context={
            "library_name": requester.name,
            "request_id": row.id,
            "title": row.title,
            "due_date": row.due_date.isoformat() if row.due_date else "",
            "lender": service.library_name(session, lender) if lender else "",
            "lender_isil": lender,
            "reminder": row.reminders_sent,
        },
        idempotency_key=f"lending:{row.id}:overdue-reminder:{row.reminders_sent}",
        ordering_key=f"lending:{row.id}:library",
        now=now,
    )
    return True


NO_ANSWER = Deadline(
    "no_answer",
    (R.SENT, R.CANCEL_PENDING),
    RequestRow.answer_due,
    lm.Action.NO_ANSWER,
    still_due=_lender_still_silent,
)
NEED_BEFORE = Deadline(
    "need_before",
    (R.SOURCING, R.SENT, R.EXPECTS_TO_SUPPLY, R.CONDITIONAL, R.END_OF_ROTA),
    RequestRow.need_before,
    lm.Action.NEED_BEFORE_PASSED,
)
OVERDUE = Deadline(
    "overdue", (R.RECEIVED, R.CHECKED_OUT, R.RENEW_PENDING), RequestRow.due_date, lm.Action.MARK_OVERDUE
)
OVERDUE_REMINDERS = Deadline(
    "overdue_reminders",
    (R.OVERDUE, R.RECALLED),
    RequestRow.next_reminder_on,
    on_the_day=True,
    notice=_remind_borrowing_library,
)
PICKUP_WINDOW = Deadline(
    "pickup_window",
    (R.RECEIVED,),
    RequestRow.pickup_due,
    lm.Action.SHIP_RETURN,
    reason="not collected by the patron within the pickup window",
    by_borrowing_library=True,
)

DEADLINES: tuple[Deadline, ...] = (NO_ANSWER, NEED_BEFORE, OVERDUE, OVERDUE_REMINDERS, PICKUP_WINDOW)
"""Every deadline on a request's row, in the order the worker runs them."""


def no_answer(session: Session, now: datetime) -> int:
    """Lenders that did not answer by their deadline: the attempt becomes Unfilled, the request moves on."""
    return run_deadline(session, NO_ANSWER, now)


def need_before(session: Session, now: datetime) -> int:
    """Requests whose need-before date passed before anything was shipped end unfilled."""
    return run_deadline(session, NEED_BEFORE, now)


def overdue(session: Session, now: datetime) -> int:
    """Loans past their due date become overdue (the patron is told)."""
    return run_deadline(session, OVERDUE, now)


def overdue_reminders(session: Session, now: datetime) -> int:
    """Remind the borrowing library of each overdue loan, weekly until it is returned."""
    return run_deadline(session, OVERDUE_REMINDERS, now)


def pickup_window(session: Session, now: datetime) -> int:
    """Loans the patron did not collect within the pickup window go back to the lender."""
    return run_deadline(session, PICKUP_WINDOW, now)


DUE_SOON_DAYS = 3


def due_soon(session: Session, now: datetime) -> int:
    """Tell patrons (who have an e-mail address) a few days before a loan is due: once per due date,
    so a renewal's new due date gets its own reminder."""
    today = now.date()
    ids = list(
        session.scalars(
            select(RequestRow.id)
            .where(
                RequestRow.state == R.CHECKED_OUT.value,
                RequestRow.patron_id.is_not(None),
                RequestRow.due_date >= today,
                RequestRow.due_date <= today + timedelta(days=DUE_SOON_DAYS),
            )
            .order_by(RequestRow.id)
            .limit(BATCH * 5)
        )
    )
    queued = 0
    for request_id in ids:
        loaded = service.load(session, request_id)
        due = loaded.row.due_date
        key = f"lending:{request_id}:patron:due_soon:{due.isoformat() if due else ''}"
        if session.scalar(select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key)) is not None:
            continue
        if service.mail_patron(session, loaded, "due_soon", now, idempotency_key=key):
            queued += 1
    return queued


def lender_digest(session: Session, now: datetime) -> int:
    """Once a day, each lender with requests waiting for its answer gets one e-mail listing them."""
    today = now.date()
    rows = session.execute(
        select(
            AttemptRow.isil, RequestRow.id, RequestRow.title, RequestRow.requester_isil, AttemptRow.answer_due
        )
        .join(RequestRow, RequestRow.id == AttemptRow.request_id)
        .where(AttemptRow.state == lm.SupplierState.RECEIVED.value, RequestRow.state == R.SENT.value)
        .order_by(AttemptRow.isil, AttemptRow.answer_due, RequestRow.id)
    ).all()
    waiting: dict[str, list[dict[str, Any]]] = {}
    for isil, request_id, title, requester_isil, answer_due in rows:
        waiting.setdefault(isil, []).append(
            {
                "id": request_id,
                "title": title,
                "requester": requester_isil,
                "answer_due": answer_due.isoformat() if answer_due else "",
            }
        )
    libraries = service.cached_libraries(session)
    queued = 0
    for isil, items in waiting.items():
        lender = libraries.get(isil)
        if lender is None or not lender.email:
            continue
        key = _digest_key(isil, today)
        if session.scalar(select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key)) is not None:
            continue
        queue_email(
            session,
            to=[lender.email],
            template="lender_digest",
            lang="da",
            context={
                "library_name": lender.name,
                "date": today.isoformat(),
                "items": items,
                "count": len(items),
            },
            idempotency_key=key,
            now=now,
        )
        queued += 1
    return queued


def _digest_key(isil: str, day: date) -> str:
    return f"lending:digest:{isil}:{day.isoformat()}"
