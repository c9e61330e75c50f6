"""Random action sequences on both sides never reach an undeclared state, lose an event or dead-end."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from fjernlaan.lending.model import (
    EXPECTED_ATTEMPT_STATES,
    Action,
    Event,
    IllegalTransition,
    LenderTerms,
    RequestAggregate,
    RequesterState,
    Role,
    ServiceType,
    Side,
    SupplierState,
    allowed_for,
    apply_action,
    with_rota,
)
from lending_helpers import AT, FULL_INPUT

ENDING_ACTIONS = frozenset(
    {
        Action.CANCEL,
        Action.NEED_BEFORE_PASSED,
        Action.GIVE_UP,
        Action.REJECT,
        Action.REPORT_LOST,
        Action.FILL_LOCALLY,
    }
)


class LendingRequestMachine(RuleBasedStateMachine):
    """Drives one request with random actions by random roles, checking the tables' promises."""

    def __init__(self) -> None:
        super().__init__()
        self.agg = RequestAggregate(ServiceType.LOAN)
        self.log: list[Event] = []
        self.next_library = 0

    def _lender(self, max_renewals: int) -> LenderTerms:
        self.next_library += 1
        return LenderTerms(f"DK-8{self.next_library:05d}", max_renewals=max_renewals)

    @initialize(
        service=st.sampled_from(ServiceType),
        renewals=st.lists(st.integers(min_value=0, max_value=2), max_size=4),
    )
    def start(self, service: ServiceType, renewals: list[int]) -> None:
        self.agg = RequestAggregate(service, lenders=tuple(self._lender(n) for n in renewals))

    def _apply(self, action: Action, role: Role) -> None:
        before = self.agg
        outcome = apply_action(before, action, role, at=AT, data=FULL_INPUT)
        after = outcome.aggregate

        requester_events = [e for e in outcome.events if e.side is Side.REQUESTER]
        changed = (before.state, before.position) != (after.state, after.position)
        assert len(requester_events) == int(changed)
        for e in requester_events:
            assert (e.from_state, e.to_state) == (before.state.value, after.state.value)

        # Attempts are only ever added or changed at the end, never lost.
        assert after.attempts[: max(0, len(before.attempts) - 1)] == before.attempts[:-1]
        old_states = {a.position: a.state for a in before.attempts}
        for attempt in after.attempts:
            old = old_states.get(attempt.position)
            events = [e for e in outcome.events if e.side is Side.SUPPLIER and e.position == attempt.position]
            assert len(events) == int(old is not attempt.state)
            for e in events:
                assert e.from_state == (old.value if old else None)
                assert e.to_state == attempt.state.value
        self.log.extend(outcome.events)
        self.agg = after

    @rule(data=st.data())
    def someone_takes_an_allowed_step(self, data: st.DataObject) -> None:
        options = [(a.action, role) for role in Role for a in allowed_for(self.agg, role)]
        if not options:
            return
        action, role = data.draw(st.sampled_from(options))
        self._apply(action, role)

    @rule(data=st.data())
    def the_lending_goes_ahead(self, data: st.DataObject) -> None:
        # Uniform choice ends most requests early (anyone may cancel); this rule keeps going forward
        # so random runs also reach renewals, recalls and returns.
        options = [
            (a.action, role)
            for role in Role
            for a in allowed_for(self.agg, role)
            if a.action not in ENDING_ACTIONS
        ]
        if not options:
            return
        action, role = data.draw(st.sampled_from(options))
        self._apply(action, role)

    @rule(action=st.sampled_from(Action), role=st.sampled_from(Role))
    def anyone_tries_anything(self, action: Action, role: Role) -> None:
        allowed = allowed_for(self.agg, role)
        if action in {a.action for a in allowed}:
            self._apply(action, role)
            return
        before = self.agg
        with pytest.raises(IllegalTransition) as err:
            apply_action(before, action, role, at=AT, data=FULL_INPUT)
        assert err.value.allowed == allowed
        assert err.value.requester_state is before.state
        assert self.agg is before

    @precondition(lambda self: not self.agg.is_terminal)
    @rule(max_renewals=st.integers(min_value=0, max_value=2))
    def staff_add_a_lender(self, max_renewals: int) -> None:
        self.agg = with_rota(self.agg, (*self.agg.lenders, self._lender(max_renewals)))

    @invariant()
    def states_are_declared_and_the_sides_agree(self) -> None:
        agg = self.agg
        assert agg.state in set(RequesterState)
        assert all(a.state in set(SupplierState) for a in agg.attempts)
        open_attempts = [a for a in agg.attempts if a.is_open]
        assert open_attempts in ([], [agg.attempts[-1]] if agg.attempts else [])
        attempt = agg.open_attempt
        assert (attempt.state if attempt else None) in EXPECTED_ATTEMPT_STATES[agg.state]
        if agg.attempts:
            assert agg.attempts[-1].position == agg.position
            assert [a.position for a in agg.attempts] == sorted({a.position for a in agg.attempts})

    @invariant()
    def an_open_request_always_has_a_next_step(self) -> None:
        if not self.agg.is_terminal:
            assert any(allowed_for(self.agg, role) for role in Role), self.agg.state

    @invariant()
    def the_event_log_replays_to_the_current_states(self) -> None:
        state = RequesterState.SUBMITTED.value
        for e in (e for e in self.log if e.side is Side.REQUESTER):
            assert e.from_state == state
            state = e.to_state
        assert state == self.agg.state.value
        for attempt in self.agg.attempts:
            current: str | None = None
            for e in (e for e in self.log if e.side is Side.SUPPLIER and e.position == attempt.position):
                assert e.from_state == current
                current = e.to_state
            assert current == attempt.state.value

    @invariant()
    def renewals_stay_within_the_lenders_policy(self) -> None:
        terms = self.agg.current_terms
        if terms is not None:
            assert self.agg.renewals_used <= terms.max_renewals


LendingRequestMachine.TestCase.settings = settings(
    max_examples=300,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestLendingRequestMachine = LendingRequestMachine.TestCase
