"""The governing bodies of the lending cooperation: members, waiting lists, meetings, attendance, minutes.

Pure: no framework, no database, no mail. Every move is a function that takes the current state and
returns the new state together with the *effects* it implies (`Notify`, `AddToFeed`,
`PublishInNewsletter`), so the service layer can store the state and queue the mails in one
transaction.

The bodies (DESIGN.md §2): the ILL specialists' network ("Fremtidens Fjernlån", at most 40 members,
then a waiting list, two meetings a year held as an East and a West session with the same agenda,
automatic withdrawal after three consecutive missed meetings), the coordination forum (members
representing organisations, numbered agenda items, decisions) and the working groups the forum sets up.

Rules decided here (see the docstrings for the reasoning):

* Capacity `None` means unlimited. Active members never exceed the capacity; while anyone waits there
  is no vacancy, because a vacancy promotes the first on the waiting list at once.
* The waiting list is in order of application: the date applied, ties broken by the body's running
  application number (the order in which the applications were registered).
* A withdrawn or resigned person may apply again; the same membership record is reused (its history
  keeps growing) and the new application goes to the back of the queue.
* Absence: see `consecutive_misses`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from itertools import pairwise

from fjernlaan.errors import DomainError

# ---------------------------------------------------------------------------------------------------
# Errors


class NetworkError(DomainError):
    """A rule of the cooperation's bodies was broken."""


class AlreadyMemberError(NetworkError):
    """The person is already an active member of, or waiting for, the body."""


class NotAMemberError(NetworkError):
    """The person has no membership (or no active one) in the body."""


class IllegalMembershipMoveError(NetworkError):
    """The membership is not in a status that allows the move (e.g. resigning twice)."""


class AttendanceClosedError(NetworkError):
    """Attendance for the meeting has been closed and can no longer change."""


class MinutesError(NetworkError):
    """The minutes cannot be published or changed as asked."""


# ---------------------------------------------------------------------------------------------------
# Vocabulary


class BodyKind(StrEnum):
    """The kinds of governing body."""

    NETWORK = "network"
    FORUM = "forum"
    WORKING_GROUP = "working_group"


class MembershipStatus(StrEnum):
    """Where a person stands with a body."""

    ACTIVE = "active"
    WAITING = "waiting"
    WITHDRAWN = "withdrawn"
    RESIGNED = "resigned"


class AttendanceMark(StrEnum):
    """A member's attendance at one meeting."""

    PRESENT = "present"
    ABSENT = "absent"
    ABSENT_WITH_AGREEMENT = "absent_with_agreement"


class ActionItemStatus(StrEnum):
    """Progress of an action item from the minutes or a working group's task."""

    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class NotifyTemplate(StrEnum):
    """The mails the domain asks for; the notify area owns the texts."""

    APPLICATION_ACCEPTED = "network.application_accepted"
    PLACED_ON_WAITING_LIST = "network.placed_on_waiting_list"
    PROMOTED_FROM_WAITING_LIST = "network.promoted_from_waiting_list"
    RESIGNATION_CONFIRMED = "network.resignation_confirmed"
    WITHDRAWN = "network.withdrawn"
    WITHDRAWN_FOR_ABSENCE = "network.withdrawn_for_absence"
    MEETING_INVITATION = "network.meeting_invitation"
    MINUTES_PUBLISHED = "network.minutes_published"
    WORKING_GROUP_APPOINTED = "network.working_group_appointed"


# ---------------------------------------------------------------------------------------------------
# Effects


@dataclass(frozen=True, slots=True)
class Notify:
    """Send `person` the mail `template`, filled in with `context` (all values are text)."""

    person: Person
    template: NotifyTemplate
    context: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AddToFeed:
    """Add the published minutes to the body's Atom feed."""

    body_id: int
    minutes_id: int


@dataclass(frozen=True, slots=True)
class PublishInNewsletter:
    """Publish the minutes in the libraries' newsletter (e.g. "For biblioteker")."""

    newsletter: str
    body_id: int
    minutes_id: int


Effect = Notify | AddToFeed | PublishInNewsletter


# ---------------------------------------------------------------------------------------------------
# Bodies and people


@dataclass(frozen=True, slots=True)
class Body:
    """A governing body: the network, the forum or a working group.

    `capacity` None means unlimited; `absence_limit` None switches automatic withdrawal off.
    A working group has a `parent_id`: the forum (or other body) that set it up.
    """

    id: int
    name: str
    kind: BodyKind
    capacity: int | None = None
    absence_limit: int | None = None
    meetings_per_year: int | None = None
    coordinator_ids: tuple[int, ...] = ()
    parent_id: int | None = None
    mandate: str = ""
    email: str | None = None
    newsletter: str | None = None

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise NetworkError("a body needs a name", field="name")
        if self.capacity is not None and self.capacity < 1:
            raise NetworkError("capacity must be at least 1, or empty for unlimited", field="capacity")
        if self.absence_limit is not None and self.absence_limit < 1:
            raise NetworkError(
                "the absence limit must be at least 1, or empty for none", field="absence_limit"
            )
        if self.meetings_per_year is not None and not 0 <= self.meetings_per_year <= 52:
            raise NetworkError("meetings per year must be between 0 and 52", field="meetings_per_year")
        if self.kind is BodyKind.WORKING_GROUP and self.parent_id is None:
            raise NetworkError("a working group belongs to the body that set it up", field="parent_id")
        if self.kind is not BodyKind.WORKING_GROUP and self.parent_id is not None:
            raise NetworkError("only a working group has a parent body", field="parent_id")
        if self.parent_id is not None and self.parent_id == self.id:
            raise NetworkError("a body cannot be its own parent", field="parent_id")


@dataclass(frozen=True, slots=True)
class Person:
    """Someone who sits (or wants to sit) on a body; `organisation` is the library or organisation."""

    id: int
    name: str
    email: str
    organisation: str = ""
    role: str = ""
    library_isil: str | None = None

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise NetworkError("a person needs a name", field="name")
        if "@" not in self.email:
            raise NetworkError(f"{self.email!r} is not an e-mail address", field="email")


@dataclass(frozen=True, slots=True)
class StatusChange:
    """One step of a membership's history: on `at`, from `from_status` to `to_status`, because `why`."""

    at: date
    from_status: MembershipStatus | None
    to_status: MembershipStatus
    why: str = ""


@dataclass(frozen=True, slots=True)
class Membership:
    """A person's standing with one body.

    `applied_on` and `application_no` (the body's running count of applications) give the place in
    the waiting list; `joined_on` is the day the person last became active (None while waiting).
    `id` is None until the store has saved it.
    """

    body_id: int
    person: Person
    status: MembershipStatus
    applied_on: date
    application_no: int
    joined_on: date | None = None
    history: tuple[StatusChange, ...] = ()
    id: int | None = None

    @property
    def queue_key(self) -> tuple[date, int]:
        """The sort key of the waiting list: order of application."""
        return (self.applied_on, self.application_no)

    def moved(self, to: MembershipStatus, at: date, why: str) -> Membership:
        """This membership in status `to`, with the step appended to its history."""
        joined = at if to is MembershipStatus.ACTIVE else self.joined_on
        if to is MembershipStatus.WAITING:
            joined = None
        return replace(
            self,
            status=to,
            joined_on=joined,
            history=(*self.history, StatusChange(at, self.status, to, why)),
        )


@dataclass(frozen=True, slots=True)
class MembershipChange:
    """The outcome of a membership move.

    `memberships` is all of the body's memberships afterwards; `subject` the one the move was about;
    `promoted` the ones moved up from the waiting list as a consequence; `effects` what to send.
    """

    memberships: tuple[Membership, ...]
    subject: Membership | None
    promoted: tuple[Membership, ...] = ()
    effects: tuple[Effect, ...] = ()

    @property
    def changed(self) -> tuple[Membership, ...]:
        """Every membership the store must write."""
        return ((self.subject,) if self.subject is not None else ()) + self.promoted


def active_members(memberships: Iterable[Membership]) -> tuple[Membership, ...]:
    """The active members, in order of application."""
    return tuple(
        sorted((m for m in memberships if m.status is MembershipStatus.ACTIVE), key=lambda m: m.queue_key)
    )


def waiting_list(memberships: Iterable[Membership]) -> tuple[Membership, ...]:
    """The waiting list, first in line first (order of application, ties by application number)."""
    return tuple(
        sorted((m for m in memberships if m.status is MembershipStatus.WAITING), key=lambda m: m.queue_key)
    )


def has_vacancy(body: Body, memberships: Iterable[Membership]) -> bool:
    """True when one more person can become an active member."""
    return body.capacity is None or len(active_members(memberships)) < body.capacity


def _check_same_body(body: Body, memberships: Sequence[Membership]) -> None:
    for m in memberships:
        if m.body_id != body.id:
            raise NetworkError(f"membership of {m.person.name} belongs to another body", field="body_id")


def _find(memberships: Sequence[Membership], person_id: int) -> Membership | None:
    found = [m for m in memberships if m.person.id == person_id]
    if len(found) > 1:
        raise NetworkError("a person has at most one membership per body", field="person_id")
    return found[0] if found else None


def _replace_one(memberships: Sequence[Membership], new: Membership) -> tuple[Membership, ...]:
    out = tuple(new if m.person.id == new.person.id else m for m in memberships)
    if new not in out:
        out = (*out, new)
    return out


def _ctx(body: Body, **extra: str) -> dict[str, str]:
    return {"body_id": str(body.id), "body_name": body.name, **extra}


def promote_from_waiting_list(body: Body, memberships: Sequence[Membership], today: date) -> MembershipChange:
    """Fill every vacancy from the front of the waiting list and tell each promoted person by e-mail.

    Called after any move that may free a seat (resignation, withdrawal, a larger capacity); with no
    vacancy or nobody waiting it changes nothing.
    """
    _check_same_body(body, memberships)
    current = tuple(memberships)
    promoted: list[Membership] = []
    effects: list[Effect] = []
    for candidate in waiting_list(current):
        if not has_vacancy(body, current):
            break
        moved = candidate.moved(MembershipStatus.ACTIVE, today, "a seat became free")
        current = _replace_one(current, moved)
        promoted.append(moved)
        effects.append(Notify(moved.person, NotifyTemplate.PROMOTED_FROM_WAITING_LIST, _ctx(body)))
    return MembershipChange(current, None, tuple(promoted), tuple(effects))


def apply(body: Body, memberships: Sequence[Membership], person: Person, today: date) -> MembershipChange:
    """`person` applies to join `body`.

    With a free seat and nobody waiting the person becomes active at once; otherwise the person goes
    to the back of the waiting list. A withdrawn or resigned person may apply again: the same record is
    reused and the new application counts from today. Applying while active or waiting is refused.
    """
    _check_same_body(body, memberships)
    existing = _find(memberships, person.id)
    if existing is not None and existing.status in (MembershipStatus.ACTIVE, MembershipStatus.WAITING):
        what = "a member of" if existing.status is MembershipStatus.ACTIVE else "on the waiting list for"
        raise AlreadyMemberError(f"{person.name} is already {what} {body.name}", field="person_id")
    number = max((m.application_no for m in memberships), default=0) + 1
    if existing is None:
        base = Membership(
            body_id=body.id,
            person=person,
            status=MembershipStatus.WAITING,
            applied_on=today,
            application_no=number,
        )
        previous: MembershipStatus | None = None
    else:
        base = replace(existing, person=person, applied_on=today, application_no=number)
        previous = existing.status
    admitted = has_vacancy(body, memberships) and not waiting_list(memberships)
    to = MembershipStatus.ACTIVE if admitted else MembershipStatus.WAITING
    why = "applied; a seat was free" if admitted else "applied; the body is full"
    step = StatusChange(today, previous, to, why)
    joined = today if admitted else None
    subject = replace(base, status=to, joined_on=joined, history=(*base.history, step))
    current = _replace_one(memberships, subject)
    if admitted:
        effects: list[Effect] = [Notify(person, NotifyTemplate.APPLICATION_ACCEPTED, _ctx(body))]
        return MembershipChange(current, subject, (), tuple(effects))
    # A seat may be free with people waiting (capacity raised); fill it in queue order, which may
    # or may not reach the new applicant.
    filled = promote_from_waiting_list(body, current, today)
    subject = _find(filled.memberships, person.id) or subject
    promoted = tuple(m for m in filled.promoted if m.person.id != person.id)
    effects = list(filled.effects)
    if subject.status is MembershipStatus.WAITING:
        position = waiting_list(filled.memberships).index(subject) + 1
        effects.insert(
            0,
            Notify(person, NotifyTemplate.PLACED_ON_WAITING_LIST, _ctx(body, position=str(position))),
        )
    return MembershipChange(filled.memberships, subject, promoted, tuple(effects))


def _leave(
    body: Body,
    memberships: Sequence[Membership],
    person_id: int,
    today: date,
    to: MembershipStatus,
    why: str,
    template: NotifyTemplate,
    context: Mapping[str, str] | None = None,
) -> MembershipChange:
    _check_same_body(body, memberships)
    existing = _find(memberships, person_id)
    if existing is None:
        raise NotAMemberError(f"person {person_id} has no membership of {body.name}", field="person_id")
    if existing.status not in (MembershipStatus.ACTIVE, MembershipStatus.WAITING):
        raise IllegalMembershipMoveError(
            f"{existing.person.name} has already left {body.name} ({existing.status.value})", field="status"
        )
    subject = existing.moved(to, today, why)
    current = _replace_one(memberships, subject)
    effects: list[Effect] = [Notify(subject.person, template, _ctx(body, why=why, **(context or {})))]
    filled = promote_from_waiting_list(body, current, today)
    return MembershipChange(filled.memberships, subject, filled.promoted, (*effects, *filled.effects))


def resign(
    body: Body, memberships: Sequence[Membership], person_id: int, today: date, why: str = "resigned"
) -> MembershipChange:
    """The person resigns (an active member) or takes back the application (someone waiting).

    A freed seat goes to the first on the waiting list at once. Resigning twice is refused.
    """
    return _leave(
        body,
        memberships,
        person_id,
        today,
        MembershipStatus.RESIGNED,
        why,
        NotifyTemplate.RESIGNATION_CONFIRMED,
    )


def withdraw(
    body: Body, memberships: Sequence[Membership], person_id: int, today: date, why: str
) -> MembershipChange:
    """The coordinator withdraws the person from the body (or from its waiting list), saying why.

    A freed seat goes to the first on the waiting list at once. Withdrawing twice is refused.
    """
    if not why.strip():
        raise NetworkError("say why the person is withdrawn", field="why")
    return _leave(
        body, memberships, person_id, today, MembershipStatus.WITHDRAWN, why, NotifyTemplate.WITHDRAWN
    )


# ---------------------------------------------------------------------------------------------------
# Meetings


@dataclass(frozen=True, slots=True)
class MeetingSession:
    """One sitting of a meeting (e.g. East or West), with its host library, place and room.

    Times are wall-clock times in Copenhagen (naive), or aware datetimes.
    """

    key: str
    label: str
    starts: datetime
    ends: datetime
    host_library: str = ""
    place: str = ""
    room: str = ""
    host_isil: str | None = None

    def __post_init__(self) -> None:
        if not self.key.strip() or not self.key.replace("-", "").replace("_", "").isalnum():
            raise NetworkError("a session key is a short word of letters, digits, - or _", field="key")
        if self.ends <= self.starts:
            raise NetworkError("a session must end after it starts", field="ends")

    @property
    def location(self) -> str:
        """Host library, place and room, as one line."""
        return ", ".join(part for part in (self.host_library, self.place, self.room) if part.strip())


@dataclass(frozen=True, slots=True)
class AgendaItem:
    """A numbered agenda item with its presenter and papers (titles or links)."""

    number: int
    title: str
    presenter: str = ""
    papers: tuple[str, ...] = ()
    description: str = ""

    def __post_init__(self) -> None:
        if self.number < 1:
            raise NetworkError("agenda items are numbered from 1", field="number")
        if not self.title.strip():
            raise NetworkError("an agenda item needs a title", field="title")


@dataclass(frozen=True, slots=True)
class Meeting:
    """A meeting of a body: one agenda, shared by all its sessions (e.g. East and West)."""

    id: int
    body_id: int
    title: str
    sessions: tuple[MeetingSession, ...]
    agenda: tuple[AgendaItem, ...] = ()
    attendance_closed: bool = False
    # Raised each time the time or place changes; it is the iCalendar SEQUENCE of the sessions.
    revision: int = 0

    def __post_init__(self) -> None:
        if not self.sessions:
            raise NetworkError("a meeting has at least one session", field="sessions")
        keys = [s.key for s in self.sessions]
        if len(set(keys)) != len(keys):
            raise NetworkError("session keys must differ within a meeting", field="sessions")
        numbers = [item.number for item in self.agenda]
        if len(set(numbers)) != len(numbers):
            raise NetworkError("agenda item numbers must differ", field="agenda")

    @property
    def held_on(self) -> date:
        """The day of the meeting's first session: the date that counts for membership rules."""
        return min(s.starts for s in self.sessions).date()

    @property
    def ends_on(self) -> date:
        """The day of the meeting's last session."""
        return max(s.ends for s in self.sessions).date()

    @property
    def ordered_agenda(self) -> tuple[AgendaItem, ...]:
        """The agenda in item-number order."""
        return tuple(sorted(self.agenda, key=lambda item: item.number))


def numbered_agenda(items: Iterable[AgendaItem | str]) -> tuple[AgendaItem, ...]:
    """Number agenda items 1, 2, 3 … in the given order (plain strings become titles)."""
    out: list[AgendaItem] = []
    for n, item in enumerate(items, start=1):
        out.append(AgendaItem(n, item) if isinstance(item, str) else replace(item, number=n))
    return tuple(out)


def invitations(body: Body, meeting: Meeting, memberships: Sequence[Membership]) -> tuple[Notify, ...]:
    """One invitation mail per active member; the mail carries `calendar_feed.meeting_invitation`."""
    _check_same_body(body, memberships)
    if meeting.body_id != body.id:
        raise NetworkError("the meeting belongs to another body", field="meeting_id")
    context = _ctx(
        body, meeting_id=str(meeting.id), meeting_title=meeting.title, held_on=str(meeting.held_on)
    )
    return tuple(
        Notify(m.person, NotifyTemplate.MEETING_INVITATION, context) for m in active_members(memberships)
    )


@dataclass(frozen=True, slots=True)
class Attendance:
    """A member's mark for one meeting."""

    meeting_id: int
    person_id: int
    mark: AttendanceMark
    note: str = ""


def record_attendance(
    meeting: Meeting,
    memberships: Sequence[Membership],
    attendance: Sequence[Attendance],
    person_id: int,
    mark: AttendanceMark,
    note: str = "",
) -> tuple[Attendance, ...]:
    """Set `person_id`'s mark for `meeting`, replacing an earlier mark; returns the meeting's marks.

    Refused when attendance is closed or the person is not an active member of the meeting's body.
    """
    if meeting.attendance_closed:
        raise AttendanceClosedError(f"attendance for {meeting.title} is closed", field="meeting_id")
    member = next((m for m in memberships if m.person.id == person_id and m.body_id == meeting.body_id), None)
    if member is None or member.status is not MembershipStatus.ACTIVE:
        raise NotAMemberError(f"person {person_id} is not an active member of the body", field="person_id")
    kept = tuple(a for a in attendance if a.meeting_id == meeting.id and a.person_id != person_id)
    return (*kept, Attendance(meeting.id, person_id, mark, note))


def consecutive_misses(
    membership: Membership, meetings_in_order: Sequence[Meeting], attendance: Iterable[Attendance]
) -> int:
    """How many of the latest meetings in a row the member missed.

    The rule: "a member who misses three meetings in a row is withdrawn automatically unless the
    coordinator agreed otherwise". We read "in a row" as consecutive *meetings* of the body, and a
    miss as an absence the coordinator did not agree to. So:

    * PRESENT ends the run; so does ABSENT_WITH_AGREEMENT: the agreed absence is not a miss, and
      because the meetings either side of it are not adjacent, misses before and after it are not
      "in a row". (The other reading, skipping agreed absences, would withdraw a member who missed
      meetings 1, 2 and 4 with leave for 3, and let leave bridge any gap; we do not take it.)
    * A meeting with no mark counts as ABSENT (closing attendance writes those marks explicitly).
    * Only meetings held after the member last joined count (`held_on > joined_on`): a newcomer is
      never blamed for meetings before their time, nor for the meeting of the day they joined.
    """
    if membership.joined_on is None:
        return 0
    marks = {a.meeting_id: a.mark for a in attendance if a.person_id == membership.person.id}
    run = 0
    for meeting in reversed(meetings_in_order):
        if meeting.held_on <= membership.joined_on:
            break
        if marks.get(meeting.id, AttendanceMark.ABSENT) is not AttendanceMark.ABSENT:
            break
        run += 1
    return run


@dataclass(frozen=True, slots=True)
class AttendanceClosing:
    """The outcome of closing a meeting's attendance.

    `meeting` is now closed; `attendance` is the meeting's full set of marks (members without a mark
    got ABSENT); `memberships` the body's memberships afterwards; `withdrawals` and `promotions` the
    memberships that changed; `effects` the mails to send.
    """

    meeting: Meeting
    attendance: tuple[Attendance, ...]
    memberships: tuple[Membership, ...]
    withdrawals: tuple[Membership, ...]
    promotions: tuple[Membership, ...]
    effects: tuple[Effect, ...]


def close_attendance(
    body: Body,
    meetings_in_order: Sequence[Meeting],
    attendance: Sequence[Attendance],
    memberships: Sequence[Membership],
    today: date,
) -> AttendanceClosing:
    """Close attendance for the last meeting of `meetings_in_order` and apply the absence rule.

    `meetings_in_order` are the body's meetings held so far, oldest first, ending with the one to
    close; the earlier ones must already be closed. Every active member who joined before the meeting
    and has no mark is marked ABSENT. Then each active member whose run of `consecutive_misses`
    reaches the body's `absence_limit` is withdrawn and told why, and the freed seats go to the
    waiting list at once.
    """
    _check_same_body(body, memberships)
    if not meetings_in_order:
        raise NetworkError("no meeting to close", field="meeting_id")
    meeting = meetings_in_order[-1]
    for held in meetings_in_order:
        if held.body_id != body.id:
            raise NetworkError(f"meeting {held.id} belongs to another body", field="meeting_id")
    for earlier, later in pairwise(meetings_in_order):
        if later.held_on < earlier.held_on:
            raise NetworkError("meetings must be given oldest first", field="meetings")
    if meeting.attendance_closed:
        raise AttendanceClosedError(f"attendance for {meeting.title} is already closed", field="meeting_id")
    if any(not held.attendance_closed for held in meetings_in_order[:-1]):
        raise NetworkError("close attendance for earlier meetings first", field="meeting_id")
    if meeting.ends_on > today:
        raise NetworkError("attendance can be closed once the meeting has been held", field="meeting_id")
    known = {held.id for held in meetings_in_order}
    strangers = [a for a in attendance if a.meeting_id not in known]
    if strangers:
        raise NetworkError(f"attendance for unknown meeting {strangers[0].meeting_id}", field="attendance")
    members = {m.person.id: m for m in memberships}
    for a in attendance:
        if a.meeting_id == meeting.id and a.person_id not in members:
            raise NotAMemberError(f"person {a.person_id} is not a member of {body.name}", field="person_id")

    marked = {a.person_id for a in attendance if a.meeting_id == meeting.id}
    this_meeting = [a for a in attendance if a.meeting_id == meeting.id]
    for m in active_members(memberships):
        if m.person.id not in marked and m.joined_on is not None and m.joined_on < meeting.held_on:
            this_meeting.append(
                Attendance(meeting.id, m.person.id, AttendanceMark.ABSENT, "no mark recorded")
            )
    closed = replace(meeting, attendance_closed=True)
    history = (*meetings_in_order[:-1], closed)
    everything = [a for a in attendance if a.meeting_id != meeting.id] + this_meeting

    current = tuple(memberships)
    withdrawals: list[Membership] = []
    effects: list[Effect] = []
    if body.absence_limit is not None:
        for m in active_members(current):
            run = consecutive_misses(m, history, everything)
            if run < body.absence_limit:
                continue
            why = f"absent from {run} meetings in a row without the coordinator's agreement"
            moved = m.moved(MembershipStatus.WITHDRAWN, today, why)
            current = _replace_one(current, moved)
            withdrawals.append(moved)
            effects.append(
                Notify(
                    moved.person,
                    NotifyTemplate.WITHDRAWN_FOR_ABSENCE,
                    _ctx(body, why=why, missed=str(run), meeting_id=str(meeting.id)),
                )
            )
    filled = promote_from_waiting_list(body, current, today)
    return AttendanceClosing(
        meeting=closed,
        attendance=tuple(this_meeting),
        memberships=filled.memberships,
        withdrawals=tuple(withdrawals),
        promotions=filled.promoted,
        effects=(*effects, *filled.effects),
    )


# ---------------------------------------------------------------------------------------------------
# Minutes, decisions, working groups


@dataclass(frozen=True, slots=True)
class ActionItem:
    """Something someone must do by a date, recorded in the minutes."""

    number: int
    text: str
    owner: str
    due: date | None = None
    status: ActionItemStatus = ActionItemStatus.OPEN

    def __post_init__(self) -> None:
        if not self.text.strip():
            raise MinutesError("an action item needs a text", field="text")
        if not self.owner.strip():
            raise MinutesError("an action item needs an owner", field="owner")


@dataclass(frozen=True, slots=True)
class Decision:
    """A decision in the minutes; it may set up a working group of named organisations."""

    number: int
    text: str
    agenda_item: int | None = None
    working_group_name: str | None = None
    working_group_mandate: str = ""
    working_group_organisations: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.text.strip():
            raise MinutesError("a decision needs a text", field="text")
        if self.working_group_organisations and not self.working_group_name:
            raise MinutesError(
                "name the working group the organisations are to sit on", field="working_group_name"
            )

    @property
    def creates_working_group(self) -> bool:
        """True when the decision sets up a working group."""
        return bool(self.working_group_name)


@dataclass(frozen=True, slots=True)
class Minutes:
    """What a meeting discussed and decided, in Markdown, with decisions and action items."""

    id: int
    meeting_id: int
    body_id: int
    text_md: str = ""
    decisions: tuple[Decision, ...] = ()
    action_items: tuple[ActionItem, ...] = ()
    author: str = ""
    published_at: datetime | None = None

    @property
    def is_published(self) -> bool:
        """True once sent to the members and put in the feed."""
        return self.published_at is not None

    @property
    def is_empty(self) -> bool:
        """True when there is nothing to publish."""
        return not self.text_md.strip() and not self.decisions and not self.action_items

    def decision(self, number: int) -> Decision:
        """The decision with this number, or MinutesError."""
        for d in self.decisions:
            if d.number == number:
                return d
        raise MinutesError(f"the minutes have no decision {number}", field="decision")


def add_decision(minutes: Minutes, decision: Decision) -> Minutes:
    """The unpublished minutes with one more decision (numbers must differ)."""
    if minutes.is_published:
        raise MinutesError("published minutes cannot get new decisions", field="decisions")
    if any(d.number == decision.number for d in minutes.decisions):
        raise MinutesError(f"decision {decision.number} already exists", field="number")
    return replace(minutes, decisions=(*minutes.decisions, decision))


def add_action_item(minutes: Minutes, item: ActionItem) -> Minutes:
    """The unpublished minutes with one more action item (numbers must differ)."""
    if minutes.is_published:
        raise MinutesError("published minutes cannot get new action items", field="action_items")
    if any(a.number == item.number for a in minutes.action_items):
        raise MinutesError(f"action item {item.number} already exists", field="number")
    return replace(minutes, action_items=(*minutes.action_items, item))


def set_action_item_status(minutes: Minutes, number: int, status: ActionItemStatus) -> Minutes:
    """Follow up an action item (allowed after publishing: progress is tracked at later meetings)."""
    if not any(a.number == number for a in minutes.action_items):
        raise MinutesError(f"the minutes have no action item {number}", field="number")
    items = tuple(replace(a, status=status) if a.number == number else a for a in minutes.action_items)
    return replace(minutes, action_items=items)


def edit_minutes(minutes: Minutes, text_md: str) -> Minutes:
    """New Markdown text for unpublished minutes."""
    if minutes.is_published:
        raise MinutesError("published minutes cannot be rewritten", field="text_md")
    return replace(minutes, text_md=text_md)


def render_minutes_text(minutes: Minutes, labels: Mapping[str, str] | None = None) -> str:
    """The whole minutes as Markdown: the text, then the decisions and action items as lists.

    Used for the mail and the feed; headings are Danish unless `labels` says otherwise.
    """
    words = {"decisions": "Beslutninger", "actions": "Opgaver", "due": "frist", **(labels or {})}
    parts = [minutes.text_md.strip()] if minutes.text_md.strip() else []
    if minutes.decisions:
        lines = [f"## {words['decisions']}", ""]
        lines += [f"{d.number}. {d.text}" for d in sorted(minutes.decisions, key=lambda d: d.number)]
        parts.append("\n".join(lines))
    if minutes.action_items:
        lines = [f"## {words['actions']}", ""]
        for a in sorted(minutes.action_items, key=lambda a: a.number):
            due = f", {words['due']} {a.due.isoformat()}" if a.due else ""
            lines.append(f"{a.number}. {a.text} ({a.owner}{due}) [{a.status.value}]")
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


@dataclass(frozen=True, slots=True)
class MinutesPublication:
    """Published minutes and the mails and feed entries that follow."""

    minutes: Minutes
    effects: tuple[Effect, ...]


def publish_minutes(
    body: Body,
    meeting: Meeting,
    minutes: Minutes,
    memberships: Sequence[Membership],
    now: datetime,
) -> MinutesPublication:
    """Publish the minutes: send them to every active member, add them to the body's feed and, when the
    body has a newsletter, publish them there. Empty or already published minutes are refused."""
    _check_same_body(body, memberships)
    if minutes.body_id != body.id or meeting.body_id != body.id:
        raise MinutesError("the minutes belong to another body", field="body_id")
    if minutes.meeting_id != meeting.id:
        raise MinutesError("the minutes belong to another meeting", field="meeting_id")
    if minutes.is_published:
        raise MinutesError("the minutes are already published", field="published_at")
    if minutes.is_empty:
        raise MinutesError("empty minutes cannot be published", field="text_md")
    published = replace(minutes, published_at=now)
    context = _ctx(
        body,
        meeting_id=str(meeting.id),
        meeting_title=meeting.title,
        held_on=str(meeting.held_on),
        minutes_id=str(minutes.id),
    )
    effects: list[Effect] = [
        Notify(m.person, NotifyTemplate.MINUTES_PUBLISHED, context) for m in active_members(memberships)
    ]
    effects.append(AddToFeed(body.id, minutes.id))
    if body.newsletter:
        effects.append(PublishInNewsletter(body.newsletter, body.id, minutes.id))
    return MinutesPublication(published, tuple(effects))


@dataclass(frozen=True, slots=True)
class WorkingGroupTask:
    """An item on a working group's task list."""

    number: int
    text: str
    owner_organisation: str | None = None
    due: date | None = None
    status: ActionItemStatus = ActionItemStatus.OPEN

    def __post_init__(self) -> None:
        if not self.text.strip():
            raise NetworkError("a task needs a text", field="text")


@dataclass(frozen=True, slots=True)
class WorkingGroupCreation:
    """A new working group with its members (one per representative) and its task list."""

    body: Body
    memberships: tuple[Membership, ...]
    tasks: tuple[WorkingGroupTask, ...]
    effects: tuple[Effect, ...]
    decision: Decision


def create_working_group_from_decision(
    parent: Body,
    minutes: Minutes,
    decision_number: int,
    *,
    group_id: int,
    representatives: Sequence[Person],
    tasks: Sequence[WorkingGroupTask | str] = (),
    coordinator_ids: tuple[int, ...] = (),
    today: date,
) -> WorkingGroupCreation:
    """Set up the working group a decision in `parent`'s published minutes calls for.

    Each representative must come from one of the organisations the decision names (their
    `Person.organisation`); they become active members at once, as the decision appointed them.
    Tasks given as text are numbered in order. `group_id` is the id the store reserved for the group.
    """
    if parent.kind is BodyKind.WORKING_GROUP:
        raise NetworkError("a working group cannot set up another working group", field="parent_id")
    if minutes.body_id != parent.id:
        raise MinutesError("the minutes belong to another body", field="body_id")
    if not minutes.is_published:
        raise MinutesError("publish the minutes before acting on their decisions", field="published_at")
    decision = minutes.decision(decision_number)
    if not decision.creates_working_group or decision.working_group_name is None:
        raise MinutesError(f"decision {decision_number} does not set up a working group", field="decision")
    named = {org.casefold(): org for org in decision.working_group_organisations}
    seen: set[int] = set()
    for person in representatives:
        if person.organisation.casefold() not in named:
            raise NetworkError(
                f"{person.name} represents {person.organisation or 'no organisation'}, which decision "
                f"{decision_number} does not name",
                field="representatives",
            )
        if person.id in seen:
            raise NetworkError(f"{person.name} is named twice", field="representatives")
        seen.add(person.id)
    group = Body(
        id=group_id,
        name=decision.working_group_name,
        kind=BodyKind.WORKING_GROUP,
        parent_id=parent.id,
        mandate=decision.working_group_mandate or decision.text,
        coordinator_ids=coordinator_ids,
    )
    why = f"appointed by decision {decision_number} of {parent.name}"
    members = tuple(
        Membership(
            body_id=group.id,
            person=p,
            status=MembershipStatus.ACTIVE,
            applied_on=today,
            application_no=n,
            joined_on=today,
            history=(StatusChange(today, None, MembershipStatus.ACTIVE, why),),
        )
        for n, p in enumerate(representatives, start=1)
    )
    task_list: list[WorkingGroupTask] = []
    for n, task in enumerate(tasks, start=1):
        task_list.append(WorkingGroupTask(n, task) if isinstance(task, str) else replace(task, number=n))
    for task in task_list:
        if task.owner_organisation is not None and task.owner_organisation.casefold() not in named:
            raise NetworkError(
                f"task {task.number} is owned by {task.owner_organisation}, which is not in the group",
                field="tasks",
            )
    effects = tuple(
        Notify(m.person, NotifyTemplate.WORKING_GROUP_APPOINTED, _ctx(group, parent_name=parent.name))
        for m in members
    )
    return WorkingGroupCreation(group, members, tuple(task_list), effects, decision)


def unrepresented_organisations(creation: WorkingGroupCreation) -> tuple[str, ...]:
    """Organisations the decision named that have no representative yet."""
    present = {m.person.organisation.casefold() for m in creation.memberships}
    return tuple(o for o in creation.decision.working_group_organisations if o.casefold() not in present)
