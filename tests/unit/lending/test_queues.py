"""The work queues against the state machines: each queue's scan step is legal in every state the
queue holds (for the party whose queue it is), no request is in two queues of the same library side,
and the open states where a library has something to do are all in a queue."""

from __future__ import annotations

import pytest

from fjernlaan.lending.model import (
    EXPECTED_ATTEMPT_STATES,
    REQUESTER_TERMINAL,
    Action,
    RequesterState,
    Role,
    ServiceType,
    allowed_actions,
)
from fjernlaan.lending.queues import MARK_PULLED, QUEUE_BY_KEY, QUEUES, Party, Queue
from lending_helpers import consistent

R = RequesterState
# Where the queue's step is refused on purpose, and the page says why: a patron cannot return an
# item while the lender decides on its renewal (the request stays "on loan" meanwhile).
REFUSED_ON_PURPOSE = {("on_loan", R.RENEW_PENDING)}


def _role(queue: Queue) -> Role:
    return Role.REQUESTER_STAFF if queue.party is Party.REQUESTER else Role.SUPPLIER_STAFF


@pytest.mark.parametrize("queue", QUEUES, ids=lambda q: q.key)
def test_each_queues_step_is_allowed_in_every_state_it_holds(queue: Queue) -> None:
    checked = 0
    for state in queue.states:
        for attempt in EXPECTED_ATTEMPT_STATES[state]:
            for service in (ServiceType.LOAN, ServiceType.COPY, ServiceType.COPY_OR_LOAN):
                if not consistent(state, attempt, service):
                    continue
                delivered = ServiceType.COPY if service is ServiceType.COPY else ServiceType.LOAN
                step = queue.step_for(delivered)
                if step is None or step == MARK_PULLED:
                    continue
                allowed = {a.action for a in allowed_actions(state, attempt, _role(queue), service)}
                if (queue.key, state) in REFUSED_ON_PURPOSE:
                    assert Action(step) not in allowed
                    continue
                assert Action(step) in allowed, (queue.key, state, attempt, service)
                checked += 1
    assert checked or queue.action in (None, MARK_PULLED)


def test_no_request_is_in_two_queues_of_the_same_party() -> None:
    for party in Party:
        seen: dict[tuple[RequesterState, bool | None], str] = {}
        for queue in (q for q in QUEUES if q.party is party):
            for state in queue.states:
                for printed in (True, False):
                    if queue.slip_printed is not None and queue.slip_printed is not printed:
                        continue
                    key = (state, printed)
                    assert key not in seen, f"{state} is in {seen[key]} and {queue.key}"
                    seen[key] = queue.key


def test_every_open_state_where_a_library_must_act_is_in_a_queue() -> None:
    held = {s for q in QUEUES for s in q.states}
    # Before a lender is asked the hub itself works (validating, building the rota): no queue.
    hub_only = {R.SUBMITTED, R.VALIDATED, R.SOURCING}
    open_states = set(R) - REQUESTER_TERMINAL - hub_only
    assert open_states <= held, sorted(open_states - held)
    assert QUEUE_BY_KEY["to_pull"].prints_slips and not QUEUE_BY_KEY["to_ship"].prints_slips


def test_the_dashboard_indexes_hold_every_column_its_count_query_reads() -> None:
    from fjernlaan.lending.store import RequestRow
    from fjernlaan.lending.work import SIDE_DEADLINES

    indexes = {i.name: [c.name for c in i.columns] for i in RequestRow.__table__.indexes}  # type: ignore[attr-defined]
    requester = indexes["ix_ill_requests_requester_work"]
    lender = indexes["ix_ill_requests_lender_work"]
    assert requester[:2] == ["requester_isil", "state"] and lender[:2] == ["current_lender_isil", "state"]
    assert {d.value for d in SIDE_DEADLINES[Party.REQUESTER]} <= set(requester)
    assert {d.value for d in SIDE_DEADLINES[Party.LENDER]} | {"pull_slip_printed_at"} <= set(lender)
