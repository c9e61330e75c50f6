"""Use cases of the governing bodies; each runs inside the caller's unit of work.

Every move loads the domain objects from the store, asks the pure model (`model.py`) what follows,
writes the new state and queues the mails the model asked for, all in the caller's transaction, so a
membership never changes without its mail and no mail leaves for a change that was rolled back.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any
from urllib.parse import urlparse

from pydantic import EmailStr, TypeAdapter, ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fjernlaan.accounts.model import Principal
from fjernlaan.accounts.service import user_exists
from fjernlaan.clock import start_of_day
from fjernlaan.directory.model import normalise_isil
from fjernlaan.directory.service import library_exists
from fjernlaan.errors import Conflict, DomainError, NotFound, PermissionDenied
from fjernlaan.limits import LONG_TEXT_MAX, NAME_MAX, TEXT_MAX, check_text, date_problem
from fjernlaan.network import atom, calendar_feed
from fjernlaan.network import model as m
from fjernlaan.network.store import (
    ActionItemRow,
    BodyCoordinatorRow,
    BodyRow,
    DecisionRow,
    MeetingRow,
    MembershipRow,
    MinutesRow,
    PersonRow,
    WorkingGroupTaskRow,
    attendance_for,
    body_from_row,
    columns_of,
    meeting_from_row,
    memberships_of,
    minutes_from_row,
    person_from_row,
    save_attendance,
    save_membership,
    tasks_of,
    write_action_item,
    write_agenda_item,
    write_body,
    write_decision,
    write_sessions,
)
from fjernlaan.notify.mail import Attachment
from fjernlaan.notify.service import queue_email

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
_email = TypeAdapter(EmailStr)


def _domain(base_url: str) -> str:
    return urlparse(base_url).hostname or "fjernlaan.local"


@contextmanager
def _rules() -> Iterator[None]:
    """Illegal moves (joining twice, leaving twice, closed attendance, published minutes) answer 409."""
    try:
        yield
    except (
        m.AlreadyMemberError,
        m.IllegalMembershipMoveError,
        m.AttendanceClosedError,
        m.NotAMemberError,
    ) as exc:
        raise Conflict(exc.message, field=exc.field) from exc
    except m.MinutesError as exc:
        # Acting on unpublished minutes, or changing published ones, is a move out of turn.
        if exc.field == "published_at" or ("published" in exc.message and "empty" not in exc.message):
            raise Conflict(exc.message, field=exc.field) from exc
        raise


# --- bodies -------------------------------------------------------------------------------------


def _body_row(session: Session, body_id: int) -> BodyRow:
    row = session.get(BodyRow, body_id)
    if row is None:
        raise NotFound(f"no body {body_id}", field="body_id")
    return row


def get_body(session: Session, body_id: int) -> m.Body:
    """The body with this id, or NotFound."""
    return body_from_row(session, _body_row(session, body_id))


def list_bodies(
    session: Session, *, limit: int = 100, offset: int = 0, kind: m.BodyKind | None = None
) -> tuple[list[m.Body], int]:
    """A page of bodies in id order, and how many there are."""
    query = select(BodyRow)
    if kind is not None:
        query = query.where(BodyRow.kind == kind.value)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(BodyRow.id).limit(limit).offset(offset))
    return [body_from_row(session, r) for r in rows], total


def create_body(
    session: Session,
    *,
    name: str,
    kind: m.BodyKind,
    capacity: int | None = None,
    absence_limit: int | None = None,
    meetings_per_year: int | None = None,
    parent_id: int | None = None,
    mandate: str = "",
    email: str | None = None,
    newsletter: str | None = None,
    coordinator_user_ids: Iterable[int] = (),
) -> m.Body:
    """Add a body; the model checks the rules (a working group has a parent, capacity at least 1 …)."""
    check_text("name", name, one_line=True, max_length=NAME_MAX)
    check_text("mandate", mandate, one_line=False, max_length=TEXT_MAX)
    check_text("newsletter", newsletter, one_line=True, max_length=NAME_MAX)
    coordinator_user_ids = tuple(coordinator_user_ids)
    for user_id in coordinator_user_ids:
        _require_user(session, user_id, "coordinator_user_ids")
    if parent_id is not None:
        _body_row(session, parent_id)
    # Validate before writing: id 0 stands in until the row has one.
    body = m.Body(
        id=0,
        name=name,
        kind=kind,
        capacity=capacity,
        absence_limit=absence_limit,
        meetings_per_year=meetings_per_year,
        parent_id=parent_id,
        mandate=mandate,
        email=email,
        newsletter=newsletter,
    )
    row = BodyRow()
    write_body(row, body)
    session.add(row)
    session.flush()
    for user_id in coordinator_user_ids:
        add_coordinator(session, row.id, user_id)
    return get_body(session, row.id)


def _require_user(session: Session, user_id: int, field: str) -> None:
    # Checked here: the database's foreign key would refuse it too, but as a server error.
    if not user_exists(session, user_id):
        raise DomainError(f"{field}: no user with id {user_id}", field=field)


def add_coordinator(session: Session, body_id: int, user_id: int) -> None:
    """Make a user a coordinator of the body (no-op when already one)."""
    _body_row(session, body_id)
    _require_user(session, user_id, "coordinator_user_ids")
    if session.get(BodyCoordinatorRow, (body_id, user_id)) is None:
        session.add(BodyCoordinatorRow(body_id=body_id, user_id=user_id))
        session.flush()


def can_coordinate(session: Session, principal: Principal, body_id: int) -> bool:
    """National admins and the coordinators of the body (or of the body that set up a working group)."""
    if principal.is_national_admin:
        return True
    row = _body_row(session, body_id)
    ids = {row.id} | ({row.parent_id} if row.parent_id is not None else set())
    found = session.scalar(
        select(BodyCoordinatorRow.user_id).where(
            BodyCoordinatorRow.body_id.in_(ids), BodyCoordinatorRow.user_id == principal.user_id
        )
    )
    return found is not None


def require_coordinator(session: Session, principal: Principal, body_id: int) -> None:
    """Refuse (403) unless the principal coordinates the body or administers the hub."""
    if not can_coordinate(session, principal, body_id):
        name = _body_row(session, body_id).name
        raise PermissionDenied(f"only the coordinators of {name} or a national administrator may do this")


def coordinated_bodies(session: Session, principal: Principal) -> list[m.Body]:
    """The bodies the principal may coordinate."""
    bodies, _ = list_bodies(session, limit=10_000)
    return [b for b in bodies if can_coordinate(session, principal, b.id)]


# --- people -------------------------------------------------------------------------------------


def _check_email(value: str) -> str:
    try:
        return str(_email.validate_python(value.strip()))
    except ValidationError as exc:
        raise DomainError(f"{value!r} is not an e-mail address", field="email") from exc


def _person_row(session: Session, person_id: int) -> PersonRow:
    row = session.get(PersonRow, person_id)
    if row is None:
        raise NotFound(f"no person {person_id}", field="person_id")
    return row


def get_person(session: Session, person_id: int) -> m.Person:
    """The person with this id, or NotFound."""
    return person_from_row(_person_row(session, person_id))


def person_row(session: Session, person_id: int) -> PersonRow:
    """The stored person (with language, user and feed token), or NotFound."""
    return _person_row(session, person_id)


def person_by_email(session: Session, email: str) -> PersonRow | None:
    """The person with this e-mail address (any case), if known."""
    return session.scalar(select(PersonRow).where(func.lower(PersonRow.email) == email.strip().lower()))


def person_for_user(session: Session, user_id: int) -> PersonRow | None:
    """The person a hub user is, if linked."""
    return session.scalar(select(PersonRow).where(PersonRow.user_id == user_id))


def person_by_feed_token(session: Session, token: str) -> PersonRow:
    """The person whose calendar feed this token opens, or NotFound."""
    row = session.scalar(select(PersonRow).where(PersonRow.feed_token == token))
    if row is None:
        raise NotFound("no calendar feed at this address", field="token")
    return row


def create_person(
    session: Session,
    *,
    name: str,
    email: str,
    organisation: str = "",
    role: str = "",
    library_isil: str | None = None,
    user_id: int | None = None,
    language: str = "da",
) -> m.Person:
    """Add a person; the e-mail address must be new."""
    check_text("name", name, one_line=True, max_length=NAME_MAX)
    check_text("organisation", organisation, one_line=True, max_length=NAME_MAX)
    check_text("role", role, one_line=True, max_length=NAME_MAX)
    if user_id is not None:
        _require_user(session, user_id, "user_id")
    address = _check_email(email)
    isil = None
    if library_isil is not None and library_isil.strip():
        isil = normalise_isil(library_isil)
        if not library_exists(session, isil):
            raise DomainError(f"no library with ISIL {isil} in the directory", field="library_isil")
    m.Person(id=0, name=name, email=address, organisation=organisation, role=role, library_isil=isil)
    if person_by_email(session, address) is not None:
        raise Conflict(f"a person with e-mail {address} already exists", field="email")
    if language not in ("da", "en"):
        raise DomainError("language must be da or en", field="language")
    row = PersonRow(
        name=name.strip(),
        email=address,
        organisation=organisation.strip(),
        role=role.strip(),
        library_isil=isil,
        user_id=user_id,
        language=language,
        feed_token=secrets.token_urlsafe(24),
    )
    session.add(row)
    session.flush()
    return person_from_row(row)


def link_user(session: Session, person_id: int, user_id: int) -> None:
    """Let a hub user act as this person (see their own bodies and meetings)."""
    _require_user(session, user_id, "user_id")
    _person_row(session, person_id).user_id = user_id
    session.flush()


# --- mails ----------------------------------------------------------------------------------------


def _template_file(template: m.NotifyTemplate) -> str:
    # "network.promoted_from_waiting_list" → notify/templates/network_promoted_from_waiting_list.da.txt
    return template.value.replace(".", "_")


def _queue_notify(
    session: Session,
    effect: m.Notify,
    key: str,
    now: datetime,
    extra: Mapping[str, str] | None = None,
    attachments: tuple[Attachment, ...] = (),
) -> None:
    row = session.get(PersonRow, effect.person.id)
    lang = row.language if row is not None else "da"
    context: dict[str, Any] = {"person_name": effect.person.name, **effect.context, **(extra or {})}
    queue_email(
        session,
        to=[effect.person.email],
        template=_template_file(effect.template),
        lang=lang,
        context=context,
        idempotency_key=f"network:{effect.template.value}:{key}",
        now=now,
    )


def _membership_effects(
    session: Session,
    memberships: Sequence[m.Membership],
    effects: Iterable[m.Effect],
    ids: Mapping[int, int],
    today: date,
) -> None:
    """Queue the mails of a membership move; each key names the membership and its history step.

    Membership moves are dated by day, so their mails are queued at the start of that day in
    Copenhagen: due at once, and dated by the use case rather than the wall clock.
    """
    now = start_of_day(today)
    by_person = {ms.person.id: ms for ms in memberships}
    for effect in effects:
        if not isinstance(effect, m.Notify):
            continue
        ms = by_person[effect.person.id]
        context: dict[str, str] = {}
        if effect.template is m.NotifyTemplate.PLACED_ON_WAITING_LIST:
            context["position"] = effect.context.get("position", "")
        key = f"{ms.body_id}:{ids[effect.person.id]}:{len(ms.history)}"
        _queue_notify(session, effect, key, now, context)


def _save_change(session: Session, change: m.MembershipChange) -> dict[int, int]:
    ids: dict[int, int] = {}
    for ms in change.changed:
        ids[ms.person.id] = save_membership(session, ms)
    return ids


# --- membership -----------------------------------------------------------------------------------


def memberships(session: Session, body_id: int) -> list[m.Membership]:
    """Every membership of the body (any status)."""
    _body_row(session, body_id)
    return memberships_of(session, body_id)


def list_members(
    session: Session,
    body_id: int,
    *,
    status: m.MembershipStatus | None = m.MembershipStatus.ACTIVE,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[m.Membership], int]:
    """A page of the body's memberships in order of application (active ones by default)."""
    everything = memberships(session, body_id)
    if status is m.MembershipStatus.WAITING:
        chosen = list(m.waiting_list(everything))
    elif status is m.MembershipStatus.ACTIVE:
        chosen = list(m.active_members(everything))
    elif status is None:
        chosen = everything
    else:
        chosen = [x for x in everything if x.status is status]
    return chosen[offset : offset + limit], len(chosen)


def membership_of(session: Session, body_id: int, person_id: int) -> m.Membership:
    """One person's membership of the body, or NotFound."""
    for ms in memberships(session, body_id):
        if ms.person.id == person_id:
            return ms
    raise NotFound(f"person {person_id} has no membership of body {body_id}", field="person_id")


def apply(session: Session, body_id: int, person_id: int, today: date) -> m.MembershipChange:
    """The person applies: a free seat makes them active, a full body puts them on the waiting list."""
    body = get_body(session, body_id)
    person = get_person(session, person_id)
    with _rules():
        change = m.apply(body, memberships_of(session, body_id), person, today)
    ids = _save_change(session, change)
    _membership_effects(session, change.memberships, change.effects, ids, today)
    return _with_ids(change, ids)


def resign(
    session: Session, body_id: int, person_id: int, today: date, why: str = "resigned"
) -> m.MembershipChange:
    """The person resigns (or withdraws the application); the first on the waiting list moves up."""
    check_text("why", why, one_line=False, max_length=TEXT_MAX)
    body = get_body(session, body_id)
    with _rules():
        change = m.resign(body, memberships_of(session, body_id), person_id, today, why or "resigned")
    ids = _save_change(session, change)
    _membership_effects(session, change.memberships, change.effects, ids, today)
    return _with_ids(change, ids)


def withdraw(session: Session, body_id: int, person_id: int, why: str, today: date) -> m.MembershipChange:
    """The coordinator withdraws the person, saying why; the first on the waiting list moves up."""
    check_text("why", why, one_line=False, max_length=TEXT_MAX)
    body = get_body(session, body_id)
    with _rules():
        change = m.withdraw(body, memberships_of(session, body_id), person_id, today, why)
    ids = _save_change(session, change)
    _membership_effects(session, change.memberships, change.effects, ids, today)
    return _with_ids(change, ids)


def _with_ids(change: m.MembershipChange, ids: Mapping[int, int]) -> m.MembershipChange:
    # The stored memberships carry their ids, which callers (API, CLI) show.
    def stamp(ms: m.Membership) -> m.Membership:
        return replace(ms, id=ids.get(ms.person.id, ms.id))

    return m.MembershipChange(
        tuple(stamp(x) for x in change.memberships),
        stamp(change.subject) if change.subject else None,
        tuple(stamp(x) for x in change.promoted),
        change.effects,
    )


def bodies_of_person(session: Session, person_id: int) -> list[tuple[m.Body, m.Membership]]:
    """The bodies the person has a membership of (any status), with that membership."""
    rows = session.scalars(select(MembershipRow.body_id).where(MembershipRow.person_id == person_id))
    out = []
    for body_id in sorted(set(rows)):
        out.append((get_body(session, body_id), membership_of(session, body_id, person_id)))
    return out


# --- meetings -------------------------------------------------------------------------------------


def _meeting_row(session: Session, meeting_id: int) -> MeetingRow:
    row = session.get(MeetingRow, meeting_id)
    if row is None:
        raise NotFound(f"no meeting {meeting_id}", field="meeting_id")
    return row


def get_meeting(session: Session, meeting_id: int) -> m.Meeting:
    """The meeting with its sessions and agenda, or NotFound."""
    return meeting_from_row(session, _meeting_row(session, meeting_id))


def _wall_clock(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(calendar_feed.COPENHAGEN).replace(tzinfo=None)


def create_meeting(
    session: Session,
    body_id: int,
    *,
    title: str,
    sessions: Sequence[m.MeetingSession],
    agenda: Sequence[m.AgendaItem | str] = (),
) -> m.Meeting:
    """Plan a meeting with its sessions (e.g. East and West) and one numbered agenda."""
    _body_row(session, body_id)
    if not title.strip():
        raise DomainError("a meeting needs a title", field="title")
    local = tuple(replace(s, starts=_wall_clock(s.starts), ends=_wall_clock(s.ends)) for s in sessions)
    items = tuple(agenda) if all(isinstance(a, m.AgendaItem) for a in agenda) else m.numbered_agenda(agenda)
    meeting = m.Meeting(id=0, body_id=body_id, title=title.strip(), sessions=local, agenda=items)  # type: ignore[arg-type]
    row = MeetingRow(body_id=body_id, title=meeting.title, held_on=meeting.held_on, revision=0)
    session.add(row)
    session.flush()
    write_sessions(session, row.id, meeting.sessions)
    for item in meeting.agenda:
        write_agenda_item(session, row.id, item)
    session.flush()
    return get_meeting(session, row.id)


def add_agenda_item(
    session: Session,
    meeting_id: int,
    *,
    title: str,
    presenter: str = "",
    papers: Sequence[str] = (),
    description: str = "",
    number: int | None = None,
) -> m.Meeting:
    """Add a numbered item to the meeting's agenda (the next number unless one is given)."""
    meeting = get_meeting(session, meeting_id)
    if meeting.attendance_closed:
        raise Conflict("the meeting is over; its agenda cannot change", field="meeting_id")
    n = number if number is not None else max((a.number for a in meeting.agenda), default=0) + 1
    item = m.AgendaItem(
        number=n, title=title.strip(), presenter=presenter, papers=tuple(papers), description=description
    )
    if any(a.number == n for a in meeting.agenda):
        raise Conflict(f"agenda item {n} already exists", field="number")
    write_agenda_item(session, meeting_id, item)
    session.flush()
    return get_meeting(session, meeting_id)


def list_meetings(
    session: Session, body_id: int, *, limit: int = 100, offset: int = 0, from_day: date | None = None
) -> tuple[list[m.Meeting], int]:
    """A page of the body's meetings, oldest first (from a day on, when given)."""
    _body_row(session, body_id)
    query = select(MeetingRow).where(MeetingRow.body_id == body_id)
    if from_day is not None:
        query = query.where(MeetingRow.held_on >= from_day)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(MeetingRow.held_on, MeetingRow.id).limit(limit).offset(offset))
    return [meeting_from_row(session, r) for r in rows], total


def _sessions_text(meeting: m.Meeting) -> str:
    lines = []
    for s in meeting.sessions:
        when = f"{s.starts:%d.%m.%Y %H:%M}–{s.ends:%H:%M}"
        label = f"{s.label}: " if s.label else ""
        lines.append(f"  {label}{when}, {s.location}".rstrip(", "))
    return "\n".join(lines)


def _agenda_text(meeting: m.Meeting) -> str:
    lines = []
    for item in meeting.ordered_agenda:
        presenter = f" ({item.presenter})" if item.presenter else ""
        lines.append(f"  {item.number}. {item.title}{presenter}")
        lines.extend(f"     - {paper}" for paper in item.papers)
    return "\n".join(lines) or "  -"


def send_invitations(
    session: Session, meeting_id: int, *, now: datetime, base_url: str = DEFAULT_BASE_URL
) -> int:
    """Mail every active member an invitation with the meeting's .ics; returns how many were queued.

    Sending again for the same revision of the meeting queues nothing new (idempotency keys).
    """
    row = _meeting_row(session, meeting_id)
    meeting = meeting_from_row(session, row)
    body = get_body(session, meeting.body_id)
    members = memberships_of(session, body.id)
    organizer = m.Person(id=0, name=body.name, email=body.email or f"fjernlaan@{_domain(base_url)}")
    moment = now
    extra = {
        "sessions_text": _sessions_text(meeting),
        "agenda_text": _agenda_text(meeting),
        "calendar_url": f"{base_url.rstrip('/')}/network/bodies/{body.id}/calendar.ics",
    }
    notes = m.invitations(body, meeting, members)
    for note in notes:
        ics = calendar_feed.meeting_invitation(
            body,
            meeting,
            [note.person],
            organizer=organizer,
            domain=_domain(base_url),
            stamp=moment,
            url=f"{base_url.rstrip('/')}/network/meetings/{meeting.id}",
        )
        key = f"{meeting.id}:r{meeting.revision}:{note.person.id}"
        person = session.get(PersonRow, note.person.id)
        lang = person.language if person is not None else "da"
        queue_email(
            session,
            to=[note.person.email],
            template=_template_file(note.template),
            lang=lang,
            context={"person_name": note.person.name, **note.context, **extra},
            idempotency_key=f"network:{note.template.value}:{key}",
            attachments=(Attachment("invitation.ics", "text/calendar", ics),),
            now=moment,
        )
    row.invited_revision = meeting.revision
    session.flush()
    return len(notes)


def attendance(session: Session, meeting_id: int) -> list[m.Attendance]:
    """The meeting's attendance marks."""
    _meeting_row(session, meeting_id)
    return attendance_for(session, [meeting_id])


def mark_attendance(
    session: Session, meeting_id: int, person_id: int, mark: m.AttendanceMark, note: str = ""
) -> m.Attendance:
    """Record a member's mark for the meeting (replacing an earlier one) while attendance is open."""
    meeting = get_meeting(session, meeting_id)
    with _rules():
        # Only the member's own record matters to the rule; loading the whole body is needless work.
        mine_only = memberships_of(session, meeting.body_id, person_id)
        marks = m.record_attendance(
            meeting,
            mine_only,
            attendance_for(session, [meeting_id]),
            person_id,
            mark,
            note,
        )
    mine = next(a for a in marks if a.person_id == person_id)
    save_attendance(session, [mine])
    return mine


def close_attendance(session: Session, meeting_id: int, today: date) -> m.AttendanceClosing:
    """Close attendance and withdraw members who reached the absence limit; the waiting list moves."""
    target = _meeting_row(session, meeting_id)
    body = get_body(session, target.body_id)
    rows = session.scalars(
        select(MeetingRow).where(MeetingRow.body_id == body.id).order_by(MeetingRow.held_on, MeetingRow.id)
    ).all()
    held: list[m.Meeting] = []
    for row in rows:
        held.append(meeting_from_row(session, row))
        if row.id == meeting_id:
            break
    try:
        with _rules():
            closing = m.close_attendance(
                body,
                held,
                attendance_for(session, [x.id for x in held]),
                memberships_of(session, body.id),
                today,
            )
    except m.NetworkError as exc:
        if exc.field == "meeting_id":
            raise Conflict(exc.message, field=exc.field) from exc
        raise
    target.attendance_closed = True
    save_attendance(session, closing.attendance)
    ids: dict[int, int] = {}
    for ms in (*closing.withdrawals, *closing.promotions):
        ids[ms.person.id] = save_membership(session, ms)
    _membership_effects(session, closing.memberships, closing.effects, ids, today)
    return closing


def upcoming_meetings_for_person(
    session: Session, person_id: int, today: date
) -> list[tuple[m.Body, m.Meeting]]:
    """Meetings from today on of the bodies the person is an active member of, soonest first."""
    day = today
    out: list[tuple[m.Body, m.Meeting]] = []
    for body, ms in bodies_of_person(session, person_id):
        if ms.status is not m.MembershipStatus.ACTIVE:
            continue
        meetings, _ = list_meetings(session, body.id, limit=1000, from_day=day)
        out.extend((body, x) for x in meetings)
    return sorted(out, key=lambda pair: (pair[1].held_on, pair[1].id))


# --- minutes --------------------------------------------------------------------------------------


def _minutes_row(session: Session, meeting_id: int, create: bool = False) -> MinutesRow:
    meeting = _meeting_row(session, meeting_id)
    row = session.scalar(select(MinutesRow).where(MinutesRow.meeting_id == meeting_id))
    if row is None:
        if not create:
            raise NotFound(f"meeting {meeting_id} has no minutes yet", field="meeting_id")
        row = MinutesRow(meeting_id=meeting_id, body_id=meeting.body_id, text_md="", author="")
        session.add(row)
        session.flush()
    return row


def get_minutes(session: Session, meeting_id: int) -> m.Minutes:
    """The meeting's minutes, or NotFound."""
    return minutes_from_row(session, _minutes_row(session, meeting_id))


def minutes_by_id(session: Session, minutes_id: int) -> m.Minutes:
    """Minutes by their own id, or NotFound."""
    row = session.get(MinutesRow, minutes_id)
    if row is None:
        raise NotFound(f"no minutes {minutes_id}", field="minutes_id")
    return minutes_from_row(session, row)


def write_minutes(session: Session, meeting_id: int, text_md: str, author: str | None = None) -> m.Minutes:
    """Write (or rewrite) the meeting's unpublished minutes."""
    check_text("text_md", text_md, one_line=False, max_length=LONG_TEXT_MAX)
    check_text("author", author, one_line=True, max_length=NAME_MAX)
    row = _minutes_row(session, meeting_id, create=True)
    with _rules():
        edited = m.edit_minutes(minutes_from_row(session, row), text_md)
    row.text_md = edited.text_md
    if author is not None:
        row.author = author.strip()
    session.flush()
    return minutes_from_row(session, row)


def add_decision(
    session: Session,
    meeting_id: int,
    *,
    text: str,
    number: int | None = None,
    agenda_item: int | None = None,
    working_group_name: str | None = None,
    working_group_mandate: str = "",
    working_group_organisations: Sequence[str] = (),
) -> m.Minutes:
    """Record a decision in the unpublished minutes (numbered next unless a number is given)."""
    check_text("text", text, one_line=False, max_length=TEXT_MAX)
    check_text("working_group_name", working_group_name, one_line=True, max_length=NAME_MAX)
    check_text("working_group_mandate", working_group_mandate, one_line=False, max_length=TEXT_MAX)
    for organisation in working_group_organisations:
        check_text("working_group_organisations", organisation, one_line=True, max_length=NAME_MAX)
    row = _minutes_row(session, meeting_id, create=True)
    minutes = minutes_from_row(session, row)
    n = number if number is not None else max((d.number for d in minutes.decisions), default=0) + 1
    if agenda_item is not None:
        meeting = get_meeting(session, meeting_id)
        if all(a.number != agenda_item for a in meeting.agenda):
            raise DomainError(f"the agenda has no item {agenda_item}", field="agenda_item")
    decision = m.Decision(
        number=n,
        text=text.strip(),
        agenda_item=agenda_item,
        working_group_name=(working_group_name or "").strip() or None,
        working_group_mandate=working_group_mandate,
        working_group_organisations=tuple(o.strip() for o in working_group_organisations if o.strip()),
    )
    with _rules():
        m.add_decision(minutes, decision)
    write_decision(session, row.id, decision)
    session.flush()
    return minutes_from_row(session, row)


def add_action_item(
    session: Session,
    meeting_id: int,
    *,
    text: str,
    owner: str,
    due: date | None = None,
    number: int | None = None,
) -> m.Minutes:
    """Record an action item (owner, due date) in the unpublished minutes."""
    check_text("text", text, one_line=False, max_length=TEXT_MAX)
    check_text("owner", owner, one_line=True, max_length=NAME_MAX)
    if due is not None and (problem := date_problem(due)):
        raise DomainError(f"due: {problem}", field="due")
    row = _minutes_row(session, meeting_id, create=True)
    minutes = minutes_from_row(session, row)
    n = number if number is not None else max((a.number for a in minutes.action_items), default=0) + 1
    item = m.ActionItem(number=n, text=text.strip(), owner=owner.strip(), due=due)
    with _rules():
        m.add_action_item(minutes, item)
    write_action_item(session, row.id, item)
    session.flush()
    return minutes_from_row(session, row)


def set_action_item_status(
    session: Session, meeting_id: int, number: int, status: m.ActionItemStatus
) -> m.Minutes:
    """Follow up an action item (also after publishing)."""
    row = _minutes_row(session, meeting_id)
    m.set_action_item_status(minutes_from_row(session, row), number, status)
    item = session.scalar(
        select(ActionItemRow).where(ActionItemRow.minutes_id == row.id, ActionItemRow.number == number)
    )
    assert item is not None  # the model checked it exists
    item.status = status.value
    session.flush()
    return minutes_from_row(session, row)


def publish_minutes(
    session: Session, meeting_id: int, *, now: datetime, base_url: str = DEFAULT_BASE_URL
) -> m.Minutes:
    """Publish: mail the minutes to every active member; the body's Atom feed (read by the newsletter)
    lists them from now on."""
    row = _minutes_row(session, meeting_id)
    meeting = get_meeting(session, meeting_id)
    body = get_body(session, meeting.body_id)
    moment = now
    with _rules():
        publication = m.publish_minutes(
            body, meeting, minutes_from_row(session, row), memberships_of(session, body.id), moment
        )
    row.published_at = moment
    session.flush()
    extra = {
        "minutes_text": m.render_minutes_text(publication.minutes),
        "minutes_url": f"{base_url.rstrip('/')}/network/bodies/{body.id}/minutes/{row.id}",
        "feed_url": f"{base_url.rstrip('/')}/network/bodies/{body.id}/minutes.atom",
    }
    for effect in publication.effects:
        # AddToFeed and PublishInNewsletter need no action: the feed lists every published minutes,
        # and the newsletter ("For biblioteker") reads the feed.
        if isinstance(effect, m.Notify):
            _queue_notify(session, effect, f"{row.id}:{effect.person.id}", moment, extra)
    return minutes_from_row(session, row)


def published_minutes(session: Session, body_id: int) -> list[tuple[m.Meeting, m.Minutes]]:
    """The body's published minutes with their meetings, newest first."""
    _body_row(session, body_id)
    rows = session.scalars(
        select(MinutesRow)
        .where(MinutesRow.body_id == body_id, MinutesRow.published_at.is_not(None))
        .order_by(MinutesRow.published_at.desc(), MinutesRow.id.desc())
    )
    return [(get_meeting(session, r.meeting_id), minutes_from_row(session, r)) for r in rows]


# --- working groups -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskIn:
    """A task for a new working group."""

    text: str
    owner_organisation: str | None = None
    due: date | None = None


def create_working_group(
    session: Session,
    meeting_id: int,
    decision_number: int,
    *,
    representatives: Sequence[int],
    tasks: Sequence[TaskIn | str] = (),
    coordinator_user_ids: Iterable[int] = (),
    today: date,
) -> m.WorkingGroupCreation:
    """Set up the working group a published decision calls for, with its members and task list."""
    coordinator_user_ids = tuple(coordinator_user_ids)
    for user_id in coordinator_user_ids:
        _require_user(session, user_id, "coordinator_user_ids")
    minutes_row = _minutes_row(session, meeting_id)
    parent = get_body(session, minutes_row.body_id)
    decision_row = session.scalar(
        select(DecisionRow).where(
            DecisionRow.minutes_id == minutes_row.id, DecisionRow.number == decision_number
        )
    )
    if decision_row is None:
        raise NotFound(f"the minutes have no decision {decision_number}", field="decision")
    if decision_row.working_group_id is not None:
        raise Conflict(
            f"decision {decision_number} already set up working group {decision_row.working_group_id}",
            field="decision",
        )
    people = [get_person(session, pid) for pid in representatives]
    # The group's row comes first: the model needs the id it will have.
    group_row = BodyRow(
        name=decision_row.working_group_name or "working group",
        kind=m.BodyKind.WORKING_GROUP.value,
        parent_id=parent.id,
        mandate="",
    )
    session.add(group_row)
    session.flush()
    with _rules():
        creation = m.create_working_group_from_decision(
            parent,
            minutes_from_row(session, minutes_row),
            decision_number,
            group_id=group_row.id,
            representatives=people,
            tasks=[
                t if isinstance(t, str) else m.WorkingGroupTask(0, t.text, t.owner_organisation, t.due)
                for t in tasks
            ],
            today=today,
        )
    write_body(group_row, creation.body)
    for user_id in coordinator_user_ids:
        add_coordinator(session, group_row.id, user_id)
    ids: dict[int, int] = {}
    for ms in creation.memberships:
        ids[ms.person.id] = save_membership(session, ms)
    for task in creation.tasks:
        session.add(WorkingGroupTaskRow(body_id=group_row.id, **columns_of(task, WorkingGroupTaskRow)))
    decision_row.working_group_id = group_row.id
    session.flush()
    extra = {
        "mandate": creation.body.mandate,
        "tasks_text": "\n".join(f"  {t.number}. {t.text}" for t in creation.tasks) or "  -",
    }
    for effect in creation.effects:
        if isinstance(effect, m.Notify):
            _queue_notify(session, effect, f"{group_row.id}:{effect.person.id}", start_of_day(today), extra)
    return creation


def working_group_tasks(session: Session, body_id: int) -> list[m.WorkingGroupTask]:
    """A working group's task list."""
    _body_row(session, body_id)
    return tasks_of(session, body_id)


def set_task_status(
    session: Session, body_id: int, number: int, status: m.ActionItemStatus
) -> m.WorkingGroupTask:
    """Follow up a working group's task."""
    row = session.scalar(
        select(WorkingGroupTaskRow).where(
            WorkingGroupTaskRow.body_id == body_id, WorkingGroupTaskRow.number == number
        )
    )
    if row is None:
        raise NotFound(f"body {body_id} has no task {number}", field="number")
    row.status = status.value
    session.flush()
    return next(t for t in tasks_of(session, body_id) if t.number == number)


def working_group_of(session: Session, meeting_id: int, decision_number: int) -> int | None:
    """The id of the working group a decision set up, if it has."""
    minutes_row = _minutes_row(session, meeting_id)
    return session.scalar(
        select(DecisionRow.working_group_id).where(
            DecisionRow.minutes_id == minutes_row.id, DecisionRow.number == decision_number
        )
    )


# --- feeds ----------------------------------------------------------------------------------------


def body_calendar(
    session: Session, body_id: int, *, now: datetime, base_url: str = DEFAULT_BASE_URL
) -> bytes:
    """The body's calendar feed (.ics)."""
    body = get_body(session, body_id)
    meetings, _ = list_meetings(session, body_id, limit=10_000)
    return calendar_feed.body_feed(body, meetings, domain=_domain(base_url), stamp=now)


def person_calendar(
    session: Session, token: str, *, now: datetime, base_url: str = DEFAULT_BASE_URL
) -> bytes:
    """A person's calendar feed (.ics): the meetings of every body they are an active member of."""
    row = person_by_feed_token(session, token)
    pairs: list[tuple[m.Body, m.Meeting]] = []
    for body, ms in bodies_of_person(session, row.id):
        if ms.status is m.MembershipStatus.ACTIVE:
            meetings, _ = list_meetings(session, body.id, limit=10_000)
            pairs.extend((body, x) for x in meetings)
    return calendar_feed.person_feed(person_from_row(row), pairs, domain=_domain(base_url), stamp=now)


def minutes_atom(session: Session, body_id: int, *, now: datetime, base_url: str = DEFAULT_BASE_URL) -> bytes:
    """The body's Atom feed of published minutes."""
    body = get_body(session, body_id)
    return atom.minutes_feed(
        body, published_minutes(session, body_id), base_url=base_url, author=body.name, now=now
    )


# --- import ---------------------------------------------------------------------------------------

IMPORT_COLUMNS = ("name", "email", "organisation", "role", "library_isil")


@dataclass
class ImportReport:
    """What a member import did: counts and every skipped row with its position and reason."""

    read: int = 0
    people_created: int = 0
    active: int = 0
    waiting: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)


def import_members(
    session: Session, body_id: int, rows: Iterable[Mapping[str, Any]], today: date
) -> ImportReport:
    """Apply each row's person to the body, in file order (which is the order of application).

    A known e-mail address reuses the person; bad rows and people already active or waiting are skipped
    and reported with their position (1 = the first row after the header).
    """
    _body_row(session, body_id)
    report = ImportReport()
    day = today
    for position, raw in enumerate(rows, start=1):
        report.read += 1
        try:
            if None in raw:
                raise DomainError("the row has more values than the header has columns")
            values = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
            if not values.get("name"):
                raise DomainError("name is empty", field="name")
            if not values.get("email"):
                raise DomainError("email is empty", field="email")
            address = _check_email(values["email"])
            existing = person_by_email(session, address)
            if existing is not None:
                current = next(
                    (x for x in memberships_of(session, body_id) if x.person.id == existing.id), None
                )
                if current is not None and current.status in (
                    m.MembershipStatus.ACTIVE,
                    m.MembershipStatus.WAITING,
                ):
                    raise DomainError(f"{existing.name} is already {current.status.value} in this body")
                person_id = existing.id
            else:
                person_id = create_person(
                    session,
                    name=values["name"],
                    email=address,
                    organisation=values.get("organisation", ""),
                    role=values.get("role", ""),
                    library_isil=values.get("library_isil") or None,
                ).id
                report.people_created += 1
            change = apply(session, body_id, person_id, day)
        except DomainError as exc:
            where = f"{exc.field}: " if exc.field and exc.field not in exc.message else ""
            report.skipped.append((position, f"{where}{exc.message}"))
            continue
        assert change.subject is not None
        if change.subject.status is m.MembershipStatus.ACTIVE:
            report.active += 1
        else:
            report.waiting += 1
    return report
