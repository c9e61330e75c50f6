"""Attendance and the absence rule: three meetings in a row without presence or agreement withdraws."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import pytest

from fjernlaan.network.model import Attendance as Mark
from fjernlaan.network.model import (
    AttendanceClosedError,
    AttendanceClosing,
    AttendanceMark,
    Body,
    Meeting,
    MeetingSession,
    Membership,
    MembershipStatus,
    NetworkError,
    NotAMemberError,
    Notify,
    NotifyTemplate,
    Person,
    apply,
    close_attendance,
    consecutive_misses,
    record_attendance,
    waiting_list,
)

PersonFactory = Callable[..., Person]
P, A, AGREED = AttendanceMark.PRESENT, AttendanceMark.ABSENT, AttendanceMark.ABSENT_WITH_AGREEMENT
START = date(2025, 1, 6)


def meeting(n: int, on: date, body_id: int = 1) -> Meeting:
    """Meeting `n`: an East session on `on` and a West session two days later, as the network does."""
    east_start = datetime.combine(on, time(10))
    west_start = east_start + timedelta(days=2)
    east = MeetingSession("east", "Øst", east_start, east_start + timedelta(hours=5))
    west = MeetingSession("west", "Vest", west_start, west_start + timedelta(hours=5))
    return Meeting(id=n, body_id=body_id, title=f"Netværksmøde {n}", sessions=(east, west))


@dataclass
class Season:
    """A body going through meetings: hold one, mark attendance, close it."""

    body: Body
    memberships: tuple[Membership, ...]
    meetings: list[Meeting] = field(default_factory=list)
    attendance: list[Mark] = field(default_factory=list)

    def hold(self, on: date, marks: Mapping[int, AttendanceMark]) -> AttendanceClosing:
        held = meeting(len(self.meetings) + 1, on, self.body.id)
        marked: tuple[Mark, ...] = ()
        for person_id, mark in marks.items():
            marked = record_attendance(held, self.memberships, marked, person_id, mark)
        self.attendance.extend(marked)
        result = close_attendance(
            self.body, [*self.meetings, held], self.attendance, self.memberships, on + timedelta(days=3)
        )
        self.meetings.append(result.meeting)
        self.attendance = [a for a in self.attendance if a.meeting_id != held.id] + list(result.attendance)
        self.memberships = result.memberships
        return result

    def status(self, person_id: int) -> MembershipStatus:
        return next(m.status for m in self.memberships if m.person.id == person_id)


def meeting_day(n: int) -> date:
    """Two meetings a year: spring and autumn."""
    return date(2025 + (n - 1) // 2, 3 if n % 2 else 10, 4)


@pytest.fixture
def season(network: Body, person: PersonFactory) -> Season:
    """Person 1 and 2 are members (joined before any meeting), the body is full, person 99 waits."""
    small = Body(id=network.id, name=network.name, kind=network.kind, capacity=2, absence_limit=3)
    memberships: tuple[Membership, ...] = ()
    for n in (1, 2, 99):
        memberships = apply(small, memberships, person(n), START).memberships
    return Season(small, memberships)


def test_member_absent_from_three_consecutive_meetings_is_withdrawn_and_told(season: Season) -> None:
    season.hold(meeting_day(1), {1: A, 2: P})
    season.hold(meeting_day(2), {1: A, 2: P})
    result = season.hold(meeting_day(3), {1: A, 2: P})

    assert season.status(1) is MembershipStatus.WITHDRAWN
    assert [m.person.id for m in result.withdrawals] == [1]
    mails = [(e.person.id, e.template) for e in result.effects if isinstance(e, Notify)]
    assert (1, NotifyTemplate.WITHDRAWN_FOR_ABSENCE) in mails


def test_withdrawal_for_absence_promotes_the_waiting_list(season: Season) -> None:
    for n in (1, 2, 3):
        result = season.hold(meeting_day(n), {1: A, 2: P})

    assert season.status(99) is MembershipStatus.ACTIVE
    assert [m.person.id for m in result.promotions] == [99]
    mails = [(e.person.id, e.template) for e in result.effects if isinstance(e, Notify)]
    assert (99, NotifyTemplate.PROMOTED_FROM_WAITING_LIST) in mails
    assert waiting_list(season.memberships) == ()


def test_two_misses_in_a_row_are_not_enough(season: Season) -> None:
    season.hold(meeting_day(1), {1: A, 2: P})
    season.hold(meeting_day(2), {1: A, 2: P})

    assert season.status(1) is MembershipStatus.ACTIVE


def test_coordinator_agreement_for_the_third_absence_keeps_the_member(season: Season) -> None:
    season.hold(meeting_day(1), {1: A, 2: P})
    season.hold(meeting_day(2), {1: A, 2: P})
    result = season.hold(meeting_day(3), {1: AGREED, 2: P})

    assert season.status(1) is MembershipStatus.ACTIVE
    assert result.withdrawals == ()
    assert season.status(99) is MembershipStatus.WAITING


def test_agreed_absence_breaks_the_run_so_misses_either_side_are_not_in_a_row(season: Season) -> None:
    season.hold(meeting_day(1), {1: A, 2: P})
    season.hold(meeting_day(2), {1: A, 2: P})
    season.hold(meeting_day(3), {1: AGREED, 2: P})
    season.hold(meeting_day(4), {1: A, 2: P})
    season.hold(meeting_day(5), {1: A, 2: P})

    assert season.status(1) is MembershipStatus.ACTIVE

    season.hold(meeting_day(6), {1: A, 2: P})

    assert season.status(1) is MembershipStatus.WITHDRAWN


def test_presence_resets_the_run(season: Season) -> None:
    for n, mark in enumerate((A, A, P, A, A), start=1):
        season.hold(meeting_day(n), {1: mark, 2: P})

    assert season.status(1) is MembershipStatus.ACTIVE


def test_member_without_a_mark_counts_as_absent(season: Season) -> None:
    for n in (1, 2):
        season.hold(meeting_day(n), {2: P})
    result = season.hold(meeting_day(3), {2: P})

    assert season.status(1) is MembershipStatus.WITHDRAWN
    assert Mark(3, 1, A, "no mark recorded") in result.attendance


def test_only_meetings_held_after_joining_count(network: Body, person: PersonFactory) -> None:
    body = Body(id=network.id, name=network.name, kind=network.kind, capacity=5, absence_limit=3)
    memberships = apply(body, (), person(1), START).memberships
    season = Season(body, memberships)
    season.hold(meeting_day(1), {1: P})
    season.hold(meeting_day(2), {1: P})
    # person 2 joins the day after meeting 2; meetings 1 and 2 (with no mark for them) do not count
    season.memberships = apply(
        body, season.memberships, person(2), meeting_day(2) + timedelta(days=1)
    ).memberships

    season.hold(meeting_day(3), {1: P, 2: A})
    season.hold(meeting_day(4), {1: P, 2: A})

    assert season.status(2) is MembershipStatus.ACTIVE
    newcomer = next(m for m in season.memberships if m.person.id == 2)
    assert consecutive_misses(newcomer, season.meetings, season.attendance) == 2

    season.hold(meeting_day(5), {1: P, 2: A})

    assert season.status(2) is MembershipStatus.WITHDRAWN


def test_meeting_on_the_day_of_joining_does_not_count(network: Body, person: PersonFactory) -> None:
    body = Body(id=network.id, name=network.name, kind=network.kind, capacity=5, absence_limit=1)
    season = Season(body, apply(body, (), person(1), meeting_day(1)).memberships)

    result = season.hold(meeting_day(1), {})

    assert season.status(1) is MembershipStatus.ACTIVE
    assert result.attendance == ()


def test_rejoined_member_starts_a_fresh_run(season: Season, person: PersonFactory) -> None:
    for n in (1, 2, 3):
        season.hold(meeting_day(n), {1: A, 2: P})
    assert season.status(1) is MembershipStatus.WITHDRAWN
    season.memberships = apply(
        season.body, season.memberships, person(1), meeting_day(3) + timedelta(days=10)
    ).memberships
    assert season.status(1) is MembershipStatus.WAITING  # 99 took the seat; 1 queues again

    season.hold(meeting_day(4), {2: P, 99: A})

    rejoined = next(m for m in season.memberships if m.person.id == 1)
    assert consecutive_misses(rejoined, season.meetings, season.attendance) == 0


def test_body_without_absence_limit_never_withdraws(forum: Body, person: PersonFactory) -> None:
    season = Season(forum, apply(forum, (), person(1), START).memberships)

    for n in range(1, 7):
        season.hold(meeting_day(n), {1: A})

    assert season.status(1) is MembershipStatus.ACTIVE


def test_attendance_for_a_non_member_is_refused(season: Season) -> None:
    with pytest.raises(NotAMemberError):
        record_attendance(meeting(1, meeting_day(1)), season.memberships, (), 4242, P)


def test_attendance_for_someone_on_the_waiting_list_is_refused(season: Season) -> None:
    with pytest.raises(NotAMemberError):
        record_attendance(meeting(1, meeting_day(1)), season.memberships, (), 99, P)


def test_closed_attendance_cannot_be_edited(season: Season) -> None:
    season.hold(meeting_day(1), {1: P, 2: P})

    with pytest.raises(AttendanceClosedError):
        record_attendance(season.meetings[0], season.memberships, season.attendance, 1, A)


def test_closing_attendance_twice_is_refused(season: Season) -> None:
    season.hold(meeting_day(1), {1: P, 2: P})

    with pytest.raises(AttendanceClosedError):
        close_attendance(season.body, season.meetings, season.attendance, season.memberships, meeting_day(2))


def test_attendance_cannot_be_closed_before_the_last_session(season: Season) -> None:
    upcoming = meeting(1, meeting_day(1))

    with pytest.raises(NetworkError):
        close_attendance(season.body, [upcoming], (), season.memberships, meeting_day(1))


def test_a_later_mark_replaces_an_earlier_one(season: Season) -> None:
    held = meeting(1, meeting_day(1))
    marks = record_attendance(held, season.memberships, (), 1, A)

    marks = record_attendance(held, season.memberships, marks, 1, AGREED, note="syg")

    assert marks == (Mark(1, 1, AGREED, "syg"),)
