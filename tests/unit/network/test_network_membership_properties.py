"""Property: under any sequence of applications, resignations and withdrawals a body never exceeds its
capacity, never leaves a seat empty while someone waits, and serves its waiting list first come first
served."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from fjernlaan.network.model import (
    AlreadyMemberError,
    Body,
    BodyKind,
    IllegalMembershipMoveError,
    Membership,
    MembershipChange,
    MembershipStatus,
    NotAMemberError,
    Person,
    active_members,
    apply,
    resign,
    waiting_list,
    withdraw,
)

PEOPLE = [Person(id=n, name=f"Søren Ærø {n}", email=f"p{n}@bibliotek.dk") for n in range(12)]
person_ids = st.sampled_from([p.id for p in PEOPLE])


class MembershipMachine(RuleBasedStateMachine):
    """Drives one body through random moves while keeping a plain list as the expected queue."""

    def __init__(self) -> None:
        super().__init__()
        self.body = Body(id=1, name="Fremtidens Fjernlån", kind=BodyKind.NETWORK, capacity=1)
        self.memberships: tuple[Membership, ...] = ()
        self.today = date(2025, 1, 1)
        self.expected_queue: list[int] = []

    @initialize(capacity=st.integers(min_value=1, max_value=5))
    def choose_capacity(self, capacity: int) -> None:
        self.body = Body(id=1, name="Fremtidens Fjernlån", kind=BodyKind.NETWORK, capacity=capacity)

    def status(self, person_id: int) -> MembershipStatus | None:
        return next((m.status for m in self.memberships if m.person.id == person_id), None)

    def take(self, change: MembershipChange) -> None:
        promoted = [m.person.id for m in change.promoted]
        # promotions come from the front of the queue, in order
        assert promoted == self.expected_queue[: len(promoted)]
        del self.expected_queue[: len(promoted)]
        self.memberships = change.memberships

    @rule(days=st.integers(min_value=0, max_value=2))
    def time_passes(self, days: int) -> None:
        self.today += timedelta(days=days)

    @rule(person_id=person_ids)
    def applies(self, person_id: int) -> None:
        before = self.status(person_id)
        if before in (MembershipStatus.ACTIVE, MembershipStatus.WAITING):
            try:
                apply(self.body, self.memberships, PEOPLE[person_id], self.today)
            except AlreadyMemberError:
                return
            raise AssertionError("applying while active or waiting must be refused")
        change = apply(self.body, self.memberships, PEOPLE[person_id], self.today)
        assert change.subject is not None
        if change.subject.status is MembershipStatus.WAITING:
            self.expected_queue.append(person_id)
        self.take(change)

    @rule(person_id=person_ids, by_coordinator=st.booleans())
    def leaves(self, person_id: int, by_coordinator: bool) -> None:
        before = self.status(person_id)
        try:
            if by_coordinator:
                change = withdraw(
                    self.body, self.memberships, person_id, self.today, why="koordinatoren besluttede"
                )
            else:
                change = resign(self.body, self.memberships, person_id, self.today)
        except (NotAMemberError, IllegalMembershipMoveError):
            assert before not in (MembershipStatus.ACTIVE, MembershipStatus.WAITING)
            return
        if before is MembershipStatus.WAITING:
            self.expected_queue.remove(person_id)
        self.take(change)

    @invariant()
    def never_over_capacity(self) -> None:
        assert self.body.capacity is not None
        assert len(active_members(self.memberships)) <= self.body.capacity

    @invariant()
    def no_empty_seat_while_someone_waits(self) -> None:
        if waiting_list(self.memberships):
            assert len(active_members(self.memberships)) == self.body.capacity

    @invariant()
    def waiting_list_is_in_order_of_application(self) -> None:
        queue = waiting_list(self.memberships)
        assert [m.person.id for m in queue] == self.expected_queue
        keys = [m.queue_key for m in queue]
        assert keys == sorted(keys)

    @invariant()
    def one_record_per_person_with_consistent_history(self) -> None:
        ids = [m.person.id for m in self.memberships]
        assert len(ids) == len(set(ids))
        for m in self.memberships:
            assert m.history[-1].to_status is m.status
            if m.status is MembershipStatus.ACTIVE:
                assert m.joined_on is not None
            if m.status is MembershipStatus.WAITING:
                assert m.joined_on is None


MembershipMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
TestMembershipStateMachine = MembershipMachine.TestCase
