"""Server-rendered pages of the bodies: coordinators run members, meetings, attendance and minutes;
members see their bodies, upcoming meetings and minutes. Every form carries the CSRF token."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from fjernlaan.accounts.model import Principal
from fjernlaan.clock import today
from fjernlaan.errors import DomainError, NotFound, PermissionDenied
from fjernlaan.limits import INT_MAX
from fjernlaan.network import model as m
from fjernlaan.network import service
from fjernlaan.web.deps import OptionalPrincipal, SessionDep, get_clock, get_settings
from fjernlaan.web.i18n import N_, pick_language, translate
from fjernlaan.web.kit import LANG_COOKIE, STAFF_ROLES, add_nav_item, check_csrf, render

router = APIRouter(prefix="/network", include_in_schema=False)
add_nav_item(N_("Networks and forums"), "/network", STAFF_ROLES, order=70)
# Ids in page paths are bounded like the API's (a larger number overflowed the database driver).
PageId = Annotated[int, Path(ge=1, le=INT_MAX)]
CsrfField = Annotated[str, Form()]


def _login(request: Request) -> RedirectResponse:
    return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)


def _back(path: str, error: str | None = None) -> RedirectResponse:
    suffix = f"?error={quote(error)}" if error else "?ok=1"
    return RedirectResponse(path + suffix, status_code=303)


def _lang(request: Request) -> str:
    return pick_language(request.query_params.get("lang"), request.cookies.get(LANG_COOKIE))


def _post(
    request: Request,
    principal: Principal | None,
    csrf_token: str,
    back: str,
    action: Callable[[Principal], None],
) -> Response:
    """Run a form's action: log-in and CSRF checks first; a broken rule comes back as a message."""
    if principal is None:
        return _login(request)
    if not check_csrf(request, csrf_token):
        return _back(back, translate("csrf_failed", _lang(request)))
    try:
        action(principal)
    except DomainError as exc:
        return _back(back, exc.message)
    return _back(back)


@router.get("", response_class=HTMLResponse, response_model=None)
def network_home(request: Request, session: SessionDep, principal: OptionalPrincipal) -> Response:
    if principal is None:
        return _login(request)
    me = service.person_for_user(session, principal.user_id)
    mine = service.bodies_of_person(session, me.id) if me else []
    upcoming = service.upcoming_meetings_for_person(session, me.id, today(get_clock(request))) if me else []
    bodies, _ = service.list_bodies(session, limit=1000)
    coordinated = {b.id for b in service.coordinated_bodies(session, principal)}
    return render(
        request,
        "network/home.html",
        principal,
        me=me,
        mine=mine,
        upcoming=upcoming,
        bodies=bodies,
        coordinated=coordinated,
    )


@router.get("/bodies/{body_id}", response_class=HTMLResponse, response_model=None)
def body_page(
    request: Request, body_id: PageId, session: SessionDep, principal: OptionalPrincipal
) -> Response:
    if principal is None:
        return _login(request)
    body = service.get_body(session, body_id)
    coordinating = service.can_coordinate(session, principal, body_id)
    everything = service.memberships(session, body_id)
    me = service.person_for_user(session, principal.user_id)
    member = me is not None and any(
        x.person.id == me.id and x.status is m.MembershipStatus.ACTIVE for x in everything
    )
    meetings, _ = service.list_meetings(session, body_id, limit=1000)
    return render(
        request,
        "network/body.html",
        principal,
        body=body,
        coordinating=coordinating,
        show_members=coordinating or member,
        active=m.active_members(everything),
        waiting=m.waiting_list(everything),
        former=[
            x for x in everything if x.status in (m.MembershipStatus.WITHDRAWN, m.MembershipStatus.RESIGNED)
        ],
        meetings=meetings,
        published=service.published_minutes(session, body_id),
        tasks=service.working_group_tasks(session, body_id),
        error=request.query_params.get("error"),
        ok=request.query_params.get("ok"),
    )


@router.post("/bodies/{body_id}/apply", response_model=None)
def apply_form(
    request: Request,
    body_id: PageId,
    session: SessionDep,
    principal: OptionalPrincipal,
    name: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    organisation: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    csrf_token: CsrfField = "",
) -> Response:
    def action(who: Principal) -> None:
        service.require_coordinator(session, who, body_id)
        known = service.person_by_email(session, email) if email.strip() else None
        person_id = (
            known.id
            if known is not None
            else service.create_person(
                session, name=name, email=email, organisation=organisation, role=role
            ).id
        )
        service.apply(session, body_id, person_id, today(get_clock(request)))
        session.commit()

    return _post(request, principal, csrf_token, f"/network/bodies/{body_id}", action)


@router.post("/bodies/{body_id}/members/{person_id}/{move}", response_model=None)
def leave_form(
    request: Request,
    body_id: PageId,
    person_id: PageId,
    move: str,
    session: SessionDep,
    principal: OptionalPrincipal,
    why: Annotated[str, Form()] = "",
    csrf_token: CsrfField = "",
) -> Response:
    def action(who: Principal) -> None:
        if move not in ("resign", "withdraw"):
            raise NotFound(f"no such move {move!r}", field="move")
        own = service.person_for_user(session, who.user_id)
        if not (move == "resign" and own is not None and own.id == person_id):
            service.require_coordinator(session, who, body_id)
        if move == "resign":
            service.resign(
                session, body_id, person_id, today(get_clock(request)), why=why.strip() or "resigned"
            )
        else:
            service.withdraw(session, body_id, person_id, why, today(get_clock(request)))
        session.commit()

    return _post(request, principal, csrf_token, f"/network/bodies/{body_id}", action)


@router.get("/meetings/{meeting_id}", response_class=HTMLResponse, response_model=None)
def meeting_page(
    request: Request, meeting_id: PageId, session: SessionDep, principal: OptionalPrincipal
) -> Response:
    if principal is None:
        return _login(request)
    meeting = service.get_meeting(session, meeting_id)
    body = service.get_body(session, meeting.body_id)
    coordinating = service.can_coordinate(session, principal, body.id)
    marks = {a.person_id: a for a in service.attendance(session, meeting_id)} if coordinating else {}
    members = m.active_members(service.memberships(session, body.id)) if coordinating else ()
    marked_people = {x.person.id for x in members}
    # After closing, withdrawn members keep their marks on the page.
    extra = (
        [
            x
            for x in service.memberships(session, body.id)
            if x.person.id in marks and x.person.id not in marked_people
        ]
        if coordinating
        else []
    )
    try:
        minutes: m.Minutes | None = service.get_minutes(session, meeting_id)
    except NotFound:
        minutes = None
    return render(
        request,
        "network/meeting.html",
        principal,
        body=body,
        meeting=meeting,
        coordinating=coordinating,
        members=[*members, *extra],
        marks=marks,
        marks_kinds=list(m.AttendanceMark),
        minutes=minutes,
        error=request.query_params.get("error"),
        ok=request.query_params.get("ok"),
    )


@router.post("/meetings/{meeting_id}/attendance", response_model=None)
async def attendance_form(
    request: Request, meeting_id: PageId, session: SessionDep, principal: OptionalPrincipal
) -> Response:
    form = await request.form()
    csrf_token = str(form.get("csrf_token", ""))

    def action(who: Principal) -> None:
        meeting = service.get_meeting(session, meeting_id)
        service.require_coordinator(session, who, meeting.body_id)
        for key, value in form.multi_items():
            if not key.startswith("mark_") or not str(value):
                continue
            try:
                person_id = int(key.removeprefix("mark_"))
                mark = m.AttendanceMark(str(value))
                if not 1 <= person_id <= INT_MAX:
                    raise ValueError(key)
            except ValueError as exc:
                raise DomainError(f"{key}: {value!r} is not an attendance mark", field=key) from exc
            service.mark_attendance(
                session, meeting_id, person_id, mark, str(form.get(f"note_{person_id}", ""))
            )
        session.commit()

    return _post(request, principal, csrf_token, f"/network/meetings/{meeting_id}", action)


@router.post("/meetings/{meeting_id}/{step}", response_model=None)
def meeting_step_form(
    request: Request,
    meeting_id: PageId,
    step: str,
    session: SessionDep,
    principal: OptionalPrincipal,
    csrf_token: CsrfField = "",
) -> Response:
    def action(who: Principal) -> None:
        meeting = service.get_meeting(session, meeting_id)
        service.require_coordinator(session, who, meeting.body_id)
        base_url = get_settings(request).base_url
        if step == "close-attendance":
            service.close_attendance(session, meeting_id, today(get_clock(request)))
        elif step == "invite":
            service.send_invitations(session, meeting_id, now=get_clock(request).now(), base_url=base_url)
        else:
            raise NotFound(f"no such step {step!r}", field="step")
        session.commit()

    return _post(request, principal, csrf_token, f"/network/meetings/{meeting_id}", action)


@router.get("/meetings/{meeting_id}/minutes", response_class=HTMLResponse, response_model=None)
def minutes_page(
    request: Request, meeting_id: PageId, session: SessionDep, principal: OptionalPrincipal
) -> Response:
    if principal is None:
        return _login(request)
    meeting = service.get_meeting(session, meeting_id)
    body = service.get_body(session, meeting.body_id)
    coordinating = service.can_coordinate(session, principal, body.id)
    try:
        minutes: m.Minutes | None = service.get_minutes(session, meeting_id)
    except NotFound:
        minutes = None
    if not coordinating and (minutes is None or not minutes.is_published):
        raise PermissionDenied("the minutes are not published yet")
    return render(
        request,
        "network/minutes.html",
        principal,
        body=body,
        meeting=meeting,
        minutes=minutes,
        coordinating=coordinating,
        error=request.query_params.get("error"),
        ok=request.query_params.get("ok"),
    )


@router.post("/meetings/{meeting_id}/minutes/{step}", response_model=None)
def minutes_form(
    request: Request,
    meeting_id: PageId,
    step: str,
    session: SessionDep,
    principal: OptionalPrincipal,
    csrf_token: CsrfField = "",
    text_md: Annotated[str, Form()] = "",
    author: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
    owner: Annotated[str, Form()] = "",
    due: Annotated[str, Form()] = "",
    working_group_name: Annotated[str, Form()] = "",
    working_group_organisations: Annotated[str, Form()] = "",
) -> Response:
    def action(who: Principal) -> None:
        meeting = service.get_meeting(session, meeting_id)
        service.require_coordinator(session, who, meeting.body_id)
        if step == "save":
            service.write_minutes(session, meeting_id, text_md, author or None)
        elif step == "decisions":
            service.add_decision(
                session,
                meeting_id,
                text=text,
                working_group_name=working_group_name or None,
                working_group_organisations=working_group_organisations.splitlines(),
            )
        elif step == "action-items":
            try:
                due_day = date.fromisoformat(due) if due.strip() else None
            except ValueError as exc:
                raise DomainError(f"due: {due!r} is not a date (YYYY-MM-DD)", field="due") from exc
            service.add_action_item(session, meeting_id, text=text, owner=owner, due=due_day)
        elif step == "publish":
            service.publish_minutes(
                session, meeting_id, now=get_clock(request).now(), base_url=get_settings(request).base_url
            )
        else:
            raise NotFound(f"no such step {step!r}", field="step")
        session.commit()

    return _post(request, principal, csrf_token, f"/network/meetings/{meeting_id}/minutes", action)


@router.get("/bodies/{body_id}/minutes/{minutes_id}", response_class=HTMLResponse, response_model=None)
def published_minutes_page(
    request: Request, body_id: PageId, minutes_id: PageId, session: SessionDep, principal: OptionalPrincipal
) -> Response:
    """The public page of published minutes (the Atom feed's entries link here)."""
    minutes = service.minutes_by_id(session, minutes_id)
    if minutes.body_id != body_id or not minutes.is_published:
        raise NotFound(f"no published minutes {minutes_id} in body {body_id}", field="minutes_id")
    meeting = service.get_meeting(session, minutes.meeting_id)
    body = service.get_body(session, body_id)
    return render(
        request,
        "network/minutes.html",
        principal,
        body=body,
        meeting=meeting,
        minutes=minutes,
        coordinating=False,
        error=None,
        ok=None,
    )
