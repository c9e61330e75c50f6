"""Membership rules: capacity, waiting list in order of application, resigning, withdrawing, reapplying."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date, timedelta

import pytest

from fjernlaan.errors import DomainError
from fjernlaan.network.model import (
    AlreadyMemberError,
    Body,
    BodyKind,
    IllegalMembershipMoveError,
    Membership,
    MembershipStatus,
    NetworkError,
    NotAMemberError,
    Notify,
    NotifyTemplate,
    Person,
    active_members,
    apply,
    promote_from_waiting_list,
    resign,
    waiting_list,
    withdraw,
)

DAY = date(2025, 1, 6)
PersonFactory = Callable[..., Person]


def fill(body: Body, person: PersonFactory, count: int, start: int = 1) -> tuple[Membership, ...]:
    """`count` people apply one day after another."""
    memberships: tuple[Membership, ...] = ()
    for n in range(start, start + count):
        memberships = apply(body, memberships, person(n), DAY + timedelta(days=n)).memberships
    return memberships


def status_of(memberships: Sequence[Membership], person_id: int) -> MembershipStatus:
    return next(m.status for m in memberships if m.person.id == person_id)


def test_applicant_to_a_body_with_room_becomes_active_and_is_welcomed(
    network: Body, person: PersonFactory
) -> None:
    change = apply(network, (), person(1), DAY)

    assert change.subject is not None
    assert change.subject.status is MembershipStatus.ACTIVE
    assert change.subject.joined_on == DAY
    [mail] = change.effects
    assert isinstance(mail, Notify)
    assert (mail.person, mail.template) == (person(1), NotifyTemplate.APPLICATION_ACCEPTED)
    assert mail.context["body_name"] == "Fremtidens Fjernlån"


def test_the_41st_applicant_waits(network: Body, person: PersonFactory) -> None:
    memberships = fill(network, person, 40)

    change = apply(network, memberships, person(41), DAY + timedelta(days=60))

    assert change.subject is not None
    assert change.subject.status is MembershipStatus.WAITING
    assert change.subject.joined_on is None
    assert len(active_members(change.memberships)) == 40
    assert [m.person.id for m in waiting_list(change.memberships)] == [41]
    [mail] = change.effects
    assert isinstance(mail, Notify)
    assert mail.template is NotifyTemplate.PLACED_ON_WAITING_LIST
    assert mail.context["position"] == "1"


def test_the_41st_applicant_is_promoted_and_told_when_a_member_resigns(
    network: Body, person: PersonFactory
) -> None:
    memberships = apply(network, fill(network, person, 40), person(41), DAY + timedelta(days=60)).memberships
    resigned_on = DAY + timedelta(days=90)

    change = resign(network, memberships, person_id=7, today=resigned_on)

    assert status_of(change.memberships, 7) is MembershipStatus.RESIGNED
    assert [m.person.id for m in change.promoted] == [41]
    assert status_of(change.memberships, 41) is MembershipStatus.ACTIVE
    assert change.promoted[0].joined_on == resigned_on
    assert len(active_members(change.memberships)) == 40
    templates = [(e.person.id, e.template) for e in change.effects if isinstance(e, Notify)]
    assert templates == [
        (7, NotifyTemplate.RESIGNATION_CONFIRMED),
        (41, NotifyTemplate.PROMOTED_FROM_WAITING_LIST),
    ]


def test_waiting_list_is_in_order_of_application(network: Body, person: PersonFactory) -> None:
    memberships = fill(network, person, 40)
    for n in (44, 42, 43):
        memberships = apply(network, memberships, person(n), DAY + timedelta(days=100 + n)).memberships

    assert [m.person.id for m in waiting_list(memberships)] == [42, 43, 44]


def test_same_day_applications_wait_in_the_order_they_were_registered(
    network: Body, person: PersonFactory
) -> None:
    memberships = fill(network, person, 40)
    for n in (45, 41, 43):
        memberships = apply(network, memberships, person(n), DAY + timedelta(days=100)).memberships

    assert [m.person.id for m in waiting_list(memberships)] == [45, 41, 43]


def test_vacancy_promotes_the_first_in_line_only(network: Body, person: PersonFactory) -> None:
    memberships = fill(network, person, 43)

    change = resign(network, memberships, 1, DAY + timedelta(days=200))

    assert [m.person.id for m in change.promoted] == [41]
    assert [m.person.id for m in waiting_list(change.memberships)] == [42, 43]


def test_resigning_twice_is_refused(network: Body, person: PersonFactory) -> None:
    memberships = resign(network, fill(network, person, 2), 1, DAY + timedelta(days=10)).memberships

    with pytest.raises(IllegalMembershipMoveError):
        resign(network, memberships, 1, DAY + timedelta(days=11))


def test_resigning_without_membership_is_refused(network: Body, person: PersonFactory) -> None:
    with pytest.raises(NotAMemberError):
        resign(network, fill(network, person, 2), 99, DAY)


def test_applying_twice_is_refused(network: Body, person: PersonFactory) -> None:
    memberships = fill(network, person, 41)

    with pytest.raises(AlreadyMemberError):
        apply(network, memberships, person(3), DAY + timedelta(days=100))
    with pytest.raises(AlreadyMemberError):
        apply(network, memberships, person(41), DAY + timedelta(days=100))


def test_domain_errors_share_the_directory_base_class() -> None:
    assert issubclass(AlreadyMemberError, DomainError)
    assert issubclass(NetworkError, DomainError)


def test_someone_waiting_can_take_back_the_application(network: Body, person: PersonFactory) -> None:
    memberships = fill(network, person, 42)

    change = resign(network, memberships, 41, DAY + timedelta(days=100), why="fandt en anden løsning")

    assert status_of(change.memberships, 41) is MembershipStatus.RESIGNED
    assert change.promoted == ()
    assert [m.person.id for m in waiting_list(change.memberships)] == [42]


def test_coordinator_withdrawal_frees_the_seat_for_the_waiting_list(
    network: Body, person: PersonFactory
) -> None:
    memberships = fill(network, person, 41)

    change = withdraw(network, memberships, 5, DAY + timedelta(days=100), why="har skiftet job")

    assert status_of(change.memberships, 5) is MembershipStatus.WITHDRAWN
    assert [m.person.id for m in change.promoted] == [41]
    assert change.subject is not None
    assert change.subject.history[-1].why == "har skiftet job"


def test_withdrawal_needs_a_reason(network: Body, person: PersonFactory) -> None:
    with pytest.raises(NetworkError):
        withdraw(network, fill(network, person, 1), 1, DAY, why=" ")


def test_resigned_member_can_reapply_and_goes_to_the_back_of_the_queue(
    network: Body, person: PersonFactory
) -> None:
    memberships = fill(network, person, 42)  # 41 and 42 wait
    memberships = resign(network, memberships, 3, DAY + timedelta(days=100)).memberships  # 41 promoted
    memberships = apply(network, memberships, person(43), DAY + timedelta(days=101)).memberships

    change = apply(network, memberships, person(3), DAY + timedelta(days=102))

    assert change.subject is not None
    assert change.subject.status is MembershipStatus.WAITING
    assert [m.person.id for m in waiting_list(change.memberships)] == [42, 43, 3]
    # one record per person and body; its history tells the whole story
    assert [m.person.id for m in change.memberships].count(3) == 1
    assert [(h.from_status, h.to_status) for h in change.subject.history] == [
        (None, MembershipStatus.ACTIVE),
        (MembershipStatus.ACTIVE, MembershipStatus.RESIGNED),
        (MembershipStatus.RESIGNED, MembershipStatus.WAITING),
    ]


def test_withdrawn_member_can_reapply_and_rejoins_when_there_is_room(
    network: Body, person: PersonFactory
) -> None:
    memberships = withdraw(
        network, fill(network, person, 3), 2, DAY + timedelta(days=10), why="fravær"
    ).memberships

    change = apply(network, memberships, person(2), DAY + timedelta(days=20))

    assert change.subject is not None
    assert change.subject.status is MembershipStatus.ACTIVE
    assert change.subject.joined_on == DAY + timedelta(days=20)


def test_forum_without_capacity_never_keeps_a_waiting_list(forum: Body, person: PersonFactory) -> None:
    memberships = fill(forum, person, 120)

    assert len(active_members(memberships)) == 120
    assert waiting_list(memberships) == ()


def test_raising_the_capacity_lets_the_waiting_list_in_in_order(network: Body, person: PersonFactory) -> None:
    memberships = fill(network, person, 44)
    bigger = replace(network, capacity=42)

    change = promote_from_waiting_list(bigger, memberships, DAY + timedelta(days=300))

    assert [m.person.id for m in change.promoted] == [41, 42]
    assert [m.person.id for m in waiting_list(change.memberships)] == [43, 44]


def test_memberships_of_another_body_are_refused(network: Body, forum: Body, person: PersonFactory) -> None:
    with pytest.raises(NetworkError):
        apply(network, fill(forum, person, 1), person(2), DAY)


@pytest.mark.parametrize(
    ("kind", "parent_id", "capacity"),
    [
        (BodyKind.WORKING_GROUP, None, None),
        (BodyKind.FORUM, 2, None),
        (BodyKind.NETWORK, None, 0),
    ],
)
def test_body_rules_refuse_impossible_bodies(
    kind: BodyKind, parent_id: int | None, capacity: int | None
) -> None:
    with pytest.raises(NetworkError):
        Body(id=9, name="Arbejdsgruppe", kind=kind, parent_id=parent_id, capacity=capacity)
