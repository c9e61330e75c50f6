"""REST routes of the governing bodies (`/api/v1/network/...`) and their public feeds (`/network/...`).

Coordinators of a body (and national administrators) change it; any logged-in user reads bodies,
meetings and published minutes; a member reads their own memberships. The feeds need no login:
like the newsletter they feed, they are public (the person feed sits behind an unguessable token).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

from fjernlaan.accounts.model import Principal, Role, require_role
from fjernlaan.clock import today
from fjernlaan.errors import DomainError, NotFound, PermissionDenied
from fjernlaan.limits import INT_MAX
from fjernlaan.network import model as m
from fjernlaan.network import service
from fjernlaan.network.schemas import (
    ActionItemIn,
    AgendaItemIn,
    ApplicationIn,
    AttendanceIn,
    AttendanceOut,
    BodyIn,
    BodyOut,
    CloseAttendanceIn,
    ClosingOut,
    DecisionIn,
    InvitationsOut,
    LeaveIn,
    MeetingIn,
    MeetingOut,
    MembershipMoveOut,
    MembershipOut,
    MeOut,
    MinutesIn,
    MinutesOut,
    MyBodyOut,
    PersonIn,
    PersonOut,
    StatusIn,
    TaskOut,
    WorkingGroupIn,
    WorkingGroupOut,
)
from fjernlaan.settings import Settings
from fjernlaan.web.deps import ClockDep, Page, PageDep, PrincipalDep, SessionDep, get_settings

router = APIRouter(prefix="/api/v1/network", tags=["network"])
feeds = APIRouter(prefix="/network", tags=["network feeds"])

BodyId = Annotated[int, Path(description="the body's id", ge=1, le=INT_MAX)]
MeetingId = Annotated[int, Path(description="the meeting's id", ge=1, le=INT_MAX)]
PersonId = Annotated[int, Path(description="the person's id", ge=1, le=INT_MAX)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def _base_url(request: Request, settings: Settings) -> str:
    return settings.base_url.rstrip("/")


def _is_member(session: SessionDep, principal: Principal, body_id: int) -> bool:
    me = service.person_for_user(session, principal.user_id)
    if me is None:
        return False
    return any(
        ms.person.id == me.id and ms.status is m.MembershipStatus.ACTIVE
        for ms in service.memberships(session, body_id)
    )


def _move(change: m.MembershipChange) -> MembershipMoveOut:
    assert change.subject is not None
    return MembershipMoveOut(
        membership=MembershipOut.of(change.subject),
        promoted=[MembershipOut.of(p) for p in change.promoted],
    )


# --- bodies and people ---------------------------------------------------------------------------


@router.get("/bodies", response_model=Page[BodyOut], summary="List bodies (any logged-in user)")
def list_bodies(
    session: SessionDep, principal: PrincipalDep, page: PageDep, kind: m.BodyKind | None = None
) -> Page[BodyOut]:
    items, total = service.list_bodies(session, limit=page.limit, offset=page.offset, kind=kind)
    return Page[BodyOut](
        items=[BodyOut.of(b) for b in items], total=total, limit=page.limit, offset=page.offset
    )


@router.post("/bodies", response_model=BodyOut, status_code=201, summary="Add a body (coordinator role)")
def create_body(body: BodyIn, session: SessionDep, principal: PrincipalDep, response: Response) -> BodyOut:
    require_role(principal, Role.COORDINATOR)
    coordinators = body.coordinator_user_ids or [principal.user_id]
    created = service.create_body(
        session,
        name=body.name,
        kind=body.kind,
        capacity=body.capacity,
        absence_limit=body.absence_limit,
        meetings_per_year=body.meetings_per_year,
        parent_id=body.parent_id,
        mandate=body.mandate,
        email=str(body.email) if body.email else None,
        newsletter=body.newsletter,
        coordinator_user_ids=coordinators,
    )
    session.commit()
    response.headers["Location"] = f"/api/v1/network/bodies/{created.id}"
    return BodyOut.of(created)


@router.get("/bodies/{body_id}", response_model=BodyOut, summary="One body (any logged-in user)")
def get_body(body_id: BodyId, session: SessionDep, principal: PrincipalDep) -> BodyOut:
    return BodyOut.of(service.get_body(session, body_id))


@router.post("/people", response_model=PersonOut, status_code=201, summary="Add a person (coordinator role)")
def create_person(body: PersonIn, session: SessionDep, principal: PrincipalDep) -> PersonOut:
    require_role(principal, Role.COORDINATOR)
    person = service.create_person(session, **body.model_dump(mode="json"))
    session.commit()
    return PersonOut.of(person)


@router.get("/people/{person_id}", response_model=PersonOut, summary="A person (coordinators, or themself)")
def get_person(person_id: PersonId, session: SessionDep, principal: PrincipalDep) -> PersonOut:
    row = service.person_row(session, person_id)
    if row.user_id != principal.user_id:
        require_role(principal, Role.COORDINATOR)
    return PersonOut.of(service.get_person(session, person_id))


@router.get("/me", response_model=MeOut, summary="The caller's bodies, upcoming meetings and calendar feed")
def me(
    session: SessionDep, principal: PrincipalDep, settings: SettingsDep, request: Request, clock: ClockDep
) -> MeOut:
    row = service.person_for_user(session, principal.user_id)
    if row is None:
        raise NotFound("you are not registered as a member of any body", field="user")
    return MeOut(
        person=PersonOut.of(service.get_person(session, row.id)),
        bodies=[
            MyBodyOut(body=BodyOut.of(b), membership=MembershipOut.of(ms))
            for b, ms in service.bodies_of_person(session, row.id)
        ],
        upcoming_meetings=[
            MeetingOut.of(x) for _, x in service.upcoming_meetings_for_person(session, row.id, today(clock))
        ],
        calendar_url=f"{_base_url(request, settings)}/network/people/{row.feed_token}/calendar.ics",
    )


# --- membership ---------------------------------------------------------------------------------


@router.get(
    "/bodies/{body_id}/members",
    response_model=Page[MembershipOut],
    summary="Memberships of a body (its coordinators and members); `status` filters, default active",
)
def list_members(
    body_id: BodyId,
    session: SessionDep,
    principal: PrincipalDep,
    page: PageDep,
    status: m.MembershipStatus | None = m.MembershipStatus.ACTIVE,
) -> Page[MembershipOut]:
    coordinating = service.can_coordinate(session, principal, body_id)
    if not coordinating and (
        status is not m.MembershipStatus.ACTIVE or not _is_member(session, principal, body_id)
    ):
        raise PermissionDenied("only the body's coordinators and members see its members")
    items, total = service.list_members(session, body_id, status=status, limit=page.limit, offset=page.offset)
    return Page[MembershipOut](
        items=[MembershipOut.of(x) for x in items], total=total, limit=page.limit, offset=page.offset
    )


@router.get(
    "/bodies/{body_id}/waiting-list",
    response_model=Page[MembershipOut],
    summary="The waiting list, first in line first (the body's coordinators)",
)
def waiting_list(
    body_id: BodyId, session: SessionDep, principal: PrincipalDep, page: PageDep
) -> Page[MembershipOut]:
    service.require_coordinator(session, principal, body_id)
    items, total = service.list_members(
        session, body_id, status=m.MembershipStatus.WAITING, limit=page.limit, offset=page.offset
    )
    return Page[MembershipOut](
        items=[MembershipOut.of(x) for x in items], total=total, limit=page.limit, offset=page.offset
    )


@router.post(
    "/bodies/{body_id}/applications",
    response_model=MembershipMoveOut,
    status_code=201,
    summary="Apply to join (coordinators; a user for themself); a full body puts them on the waiting list",
)
def apply(
    body_id: BodyId, body: ApplicationIn, session: SessionDep, principal: PrincipalDep, clock: ClockDep
) -> MembershipMoveOut:
    own = service.person_for_user(session, principal.user_id)
    if not (own is not None and body.person_id == own.id):
        service.require_coordinator(session, principal, body_id)
    if body.person is not None:
        person_id = service.create_person(session, **body.person.model_dump(mode="json")).id
    else:
        assert body.person_id is not None
        person_id = body.person_id
    change = service.apply(session, body_id, person_id, body.applied_on or today(clock))
    session.commit()
    return _move(change)


@router.post(
    "/bodies/{body_id}/members/{person_id}/resign",
    response_model=MembershipMoveOut,
    summary="Resign (the member themself or a coordinator); the first on the waiting list moves up",
)
def resign(
    body_id: BodyId,
    person_id: PersonId,
    body: LeaveIn,
    session: SessionDep,
    principal: PrincipalDep,
    clock: ClockDep,
) -> MembershipMoveOut:
    own = service.person_for_user(session, principal.user_id)
    if own is None or own.id != person_id:
        service.require_coordinator(session, principal, body_id)
    change = service.resign(session, body_id, person_id, today(clock), why=body.why or "resigned")
    session.commit()
    return _move(change)


@router.post(
    "/bodies/{body_id}/members/{person_id}/withdraw",
    response_model=MembershipMoveOut,
    summary="Withdraw a member, saying why (the body's coordinators)",
)
def withdraw(
    body_id: BodyId,
    person_id: PersonId,
    body: LeaveIn,
    session: SessionDep,
    principal: PrincipalDep,
    clock: ClockDep,
) -> MembershipMoveOut:
    service.require_coordinator(session, principal, body_id)
    if not body.why.strip():
        raise DomainError("say why the person is withdrawn", field="why")
    change = service.withdraw(session, body_id, person_id, body.why, today(clock))
    session.commit()
    return _move(change)


# --- meetings -----------------------------------------------------------------------------------


def _meeting_body(session: SessionDep, meeting_id: int) -> int:
    return service.get_meeting(session, meeting_id).body_id


@router.get("/bodies/{body_id}/meetings", response_model=Page[MeetingOut], summary="A body's meetings")
def list_meetings(
    body_id: BodyId, session: SessionDep, principal: PrincipalDep, page: PageDep
) -> Page[MeetingOut]:
    items, total = service.list_meetings(session, body_id, limit=page.limit, offset=page.offset)
    return Page[MeetingOut](
        items=[MeetingOut.of(x) for x in items], total=total, limit=page.limit, offset=page.offset
    )


@router.post(
    "/bodies/{body_id}/meetings",
    response_model=MeetingOut,
    status_code=201,
    summary="Plan a meeting with sessions and an agenda (the body's coordinators)",
)
def create_meeting(
    body_id: BodyId, body: MeetingIn, session: SessionDep, principal: PrincipalDep
) -> MeetingOut:
    service.require_coordinator(session, principal, body_id)
    agenda = [
        m.AgendaItem(
            number=item.number or n,
            title=item.title,
            presenter=item.presenter,
            papers=tuple(item.papers),
            description=item.description,
        )
        for n, item in enumerate(body.agenda, start=1)
    ]
    meeting = service.create_meeting(
        session, body_id, title=body.title, sessions=[s.to_domain() for s in body.sessions], agenda=agenda
    )
    session.commit()
    return MeetingOut.of(meeting)


@router.get("/meetings/{meeting_id}", response_model=MeetingOut, summary="A meeting with sessions and agenda")
def get_meeting(meeting_id: MeetingId, session: SessionDep, principal: PrincipalDep) -> MeetingOut:
    return MeetingOut.of(service.get_meeting(session, meeting_id))


@router.post(
    "/meetings/{meeting_id}/agenda",
    response_model=MeetingOut,
    status_code=201,
    summary="Add an agenda item (the body's coordinators)",
)
def add_agenda_item(
    meeting_id: MeetingId, body: AgendaItemIn, session: SessionDep, principal: PrincipalDep
) -> MeetingOut:
    service.require_coordinator(session, principal, _meeting_body(session, meeting_id))
    meeting = service.add_agenda_item(
        session,
        meeting_id,
        title=body.title,
        presenter=body.presenter,
        papers=body.papers,
        description=body.description,
        number=body.number,
    )
    session.commit()
    return MeetingOut.of(meeting)


@router.post(
    "/meetings/{meeting_id}/invitations",
    response_model=InvitationsOut,
    summary="Mail every active member an invitation with an .ics (the body's coordinators)",
)
def send_invitations(
    meeting_id: MeetingId,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    request: Request,
    clock: ClockDep,
) -> InvitationsOut:
    service.require_coordinator(session, principal, _meeting_body(session, meeting_id))
    queued = service.send_invitations(
        session, meeting_id, now=clock.now(), base_url=_base_url(request, settings)
    )
    session.commit()
    return InvitationsOut(queued=queued)


@router.get(
    "/meetings/{meeting_id}/attendance",
    response_model=list[AttendanceOut],
    summary="The meeting's attendance marks (the body's coordinators)",
)
def get_attendance(
    meeting_id: MeetingId, session: SessionDep, principal: PrincipalDep
) -> list[AttendanceOut]:
    service.require_coordinator(session, principal, _meeting_body(session, meeting_id))
    return [AttendanceOut.of(a) for a in service.attendance(session, meeting_id)]


@router.put(
    "/meetings/{meeting_id}/attendance/{person_id}",
    response_model=AttendanceOut,
    summary="Mark a member present, absent or absent with the coordinator's agreement",
)
def mark_attendance(
    meeting_id: MeetingId,
    person_id: PersonId,
    body: AttendanceIn,
    session: SessionDep,
    principal: PrincipalDep,
) -> AttendanceOut:
    service.require_coordinator(session, principal, _meeting_body(session, meeting_id))
    mark = service.mark_attendance(session, meeting_id, person_id, body.mark, body.note)
    session.commit()
    return AttendanceOut.of(mark)


@router.post(
    "/meetings/{meeting_id}/close-attendance",
    response_model=ClosingOut,
    summary="Close attendance; members at the absence limit are withdrawn and the waiting list moves",
)
def close_attendance(
    meeting_id: MeetingId,
    body: CloseAttendanceIn,
    session: SessionDep,
    principal: PrincipalDep,
    clock: ClockDep,
) -> ClosingOut:
    service.require_coordinator(session, principal, _meeting_body(session, meeting_id))
    closing = service.close_attendance(session, meeting_id, body.today or today(clock))
    session.commit()
    fresh = {ms.person.id: ms for ms in service.memberships(session, closing.meeting.body_id)}
    return ClosingOut(
        meeting=MeetingOut.of(service.get_meeting(session, meeting_id)),
        attendance=[AttendanceOut.of(a) for a in closing.attendance],
        withdrawn=[MembershipOut.of(fresh[w.person.id]) for w in closing.withdrawals],
        promoted=[MembershipOut.of(fresh[p.person.id]) for p in closing.promotions],
    )


# --- minutes ------------------------------------------------------------------------------------


@router.get(
    "/meetings/{meeting_id}/minutes",
    response_model=MinutesOut,
    summary="The meeting's minutes (published: any logged-in user; drafts: the coordinators)",
)
def get_minutes(meeting_id: MeetingId, session: SessionDep, principal: PrincipalDep) -> MinutesOut:
    minutes = service.get_minutes(session, meeting_id)
    if not minutes.is_published:
        service.require_coordinator(session, principal, minutes.body_id)
    return MinutesOut.of(minutes)


@router.put(
    "/meetings/{meeting_id}/minutes", response_model=MinutesOut, summary="Write the minutes (Markdown)"
)
def put_minutes(
    meeting_id: MeetingId, body: MinutesIn, session: SessionDep, principal: PrincipalDep
) -> MinutesOut:
    service.require_coordinator(session, principal, _meeting_body(session, meeting_id))
    minutes = service.write_minutes(session, meeting_id, body.text_md, body.author)
    session.commit()
    return MinutesOut.of(minutes)


@router.post(
    "/meetings/{meeting_id}/minutes/decisions",
    response_model=MinutesOut,
    status_code=201,
    summary="Record a decision (may name a working group and its organisations)",
)
def add_decision(
    meeting_id: MeetingId, body: DecisionIn, session: SessionDep, principal: PrincipalDep
) -> MinutesOut:
    service.require_coordinator(session, principal, _meeting_body(session, meeting_id))
    minutes = service.add_decision(session, meeting_id, **body.model_dump())
    session.commit()
    return MinutesOut.of(minutes)


@router.post(
    "/meetings/{meeting_id}/minutes/action-items",
    response_model=MinutesOut,
    status_code=201,
    summary="Record an action item (owner, due date)",
)
def add_action_item(
    meeting_id: MeetingId, body: ActionItemIn, session: SessionDep, principal: PrincipalDep
) -> MinutesOut:
    service.require_coordinator(session, principal, _meeting_body(session, meeting_id))
    minutes = service.add_action_item(session, meeting_id, **body.model_dump())
    session.commit()
    return MinutesOut.of(minutes)


@router.patch(
    "/meetings/{meeting_id}/minutes/action-items/{number}",
    response_model=MinutesOut,
    summary="Follow up an action item (open, done, cancelled)",
)
def set_action_item(
    meeting_id: MeetingId,
    number: Annotated[int, Path(ge=1, le=INT_MAX)],
    body: StatusIn,
    session: SessionDep,
    principal: PrincipalDep,
) -> MinutesOut:
    service.require_coordinator(session, principal, _meeting_body(session, meeting_id))
    minutes = service.set_action_item_status(session, meeting_id, number, body.status)
    session.commit()
    return MinutesOut.of(minutes)


@router.post(
    "/meetings/{meeting_id}/minutes/publish",
    response_model=MinutesOut,
    summary="Publish: mail every active member and add the minutes to the body's Atom feed",
)
def publish(
    meeting_id: MeetingId,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    request: Request,
    clock: ClockDep,
) -> MinutesOut:
    service.require_coordinator(session, principal, _meeting_body(session, meeting_id))
    minutes = service.publish_minutes(
        session, meeting_id, now=clock.now(), base_url=_base_url(request, settings)
    )
    session.commit()
    return MinutesOut.of(minutes)


@router.post(
    "/meetings/{meeting_id}/minutes/decisions/{number}/working-group",
    response_model=WorkingGroupOut,
    status_code=201,
    summary="Set up the working group a published decision calls for, with representatives and tasks",
)
def create_working_group(
    meeting_id: MeetingId,
    number: Annotated[int, Path(ge=1, le=INT_MAX)],
    body: WorkingGroupIn,
    session: SessionDep,
    principal: PrincipalDep,
    clock: ClockDep,
) -> WorkingGroupOut:
    service.require_coordinator(session, principal, _meeting_body(session, meeting_id))
    creation = service.create_working_group(
        session,
        meeting_id,
        number,
        representatives=body.representatives,
        tasks=[service.TaskIn(t.text, t.owner_organisation, t.due) for t in body.tasks],
        coordinator_user_ids=body.coordinator_user_ids or [principal.user_id],
        today=today(clock),
    )
    session.commit()
    group = creation.body.id
    members, _ = service.list_members(session, group, limit=1000)
    return WorkingGroupOut(
        body=BodyOut.of(service.get_body(session, group)),
        members=[MembershipOut.of(x) for x in members],
        tasks=[TaskOut.of(t) for t in service.working_group_tasks(session, group)],
        unrepresented_organisations=list(m.unrepresented_organisations(creation)),
    )


@router.get("/bodies/{body_id}/tasks", response_model=list[TaskOut], summary="A working group's task list")
def list_tasks(body_id: BodyId, session: SessionDep, principal: PrincipalDep) -> list[TaskOut]:
    return [TaskOut.of(t) for t in service.working_group_tasks(session, body_id)]


@router.patch(
    "/bodies/{body_id}/tasks/{number}", response_model=TaskOut, summary="Follow up a working group's task"
)
def set_task(
    body_id: BodyId,
    number: Annotated[int, Path(ge=1, le=INT_MAX)],
    body: StatusIn,
    session: SessionDep,
    principal: PrincipalDep,
) -> TaskOut:
    service.require_coordinator(session, principal, body_id)
    task = service.set_task_status(session, body_id, number, body.status)
    session.commit()
    return TaskOut.of(task)


@router.get(
    "/bodies/{body_id}/minutes",
    response_model=list[MinutesOut],
    summary="A body's published minutes, newest first",
)
def list_minutes(body_id: BodyId, session: SessionDep, principal: PrincipalDep) -> list[MinutesOut]:
    return [MinutesOut.of(x) for _, x in service.published_minutes(session, body_id)]


# --- public feeds -------------------------------------------------------------------------------

ICS = "text/calendar; charset=utf-8"


@feeds.get("/bodies/{body_id}/calendar.ics", summary="A body's meetings as an iCalendar feed (public)")
def body_calendar(
    body_id: BodyId, session: SessionDep, settings: SettingsDep, request: Request, clock: ClockDep
) -> Response:
    data = service.body_calendar(session, body_id, now=clock.now(), base_url=_base_url(request, settings))
    return Response(data, media_type=ICS)


@feeds.get(
    "/people/{token}/calendar.ics",
    summary="A person's meetings as an iCalendar feed (public, behind the person's feed token)",
)
def person_calendar(
    token: Annotated[str, Path(min_length=16, max_length=64)],
    session: SessionDep,
    settings: SettingsDep,
    request: Request,
    clock: ClockDep,
) -> Response:
    data = service.person_calendar(session, token, now=clock.now(), base_url=_base_url(request, settings))
    return Response(data, media_type=ICS)


@feeds.get("/bodies/{body_id}/minutes.atom", summary="A body's published minutes as an Atom feed (public)")
def minutes_atom(
    body_id: BodyId, session: SessionDep, settings: SettingsDep, request: Request, clock: ClockDep
) -> Response:
    data = service.minutes_atom(session, body_id, now=clock.now(), base_url=_base_url(request, settings))
    return Response(data, media_type="application/atom+xml; charset=utf-8")
