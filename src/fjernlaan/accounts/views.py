"""A library's users, for its administrators (`/admin/libraries/{isil}/users`, and `/admin/library/users`
for the logged-in admin's own library): list them, add a staff user, reset a password, deactivate or
reactivate a user, revoke their API tokens; and the audit log (`/admin/audit`).

A library admin manages the users of its own library; a national admin those of every library;
coordinators see the list and change nothing; staff without an admin role see none of it. The rules
are the API's (`accounts.api`): who may (de)activate a user or revoke a token (`can_manage_user`), and
whose audit entries an admin reads (a national admin every entry, a library admin its library's).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi import Path as FastPath
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from fjernlaan.accounts import service
from fjernlaan.accounts.model import (
    Actor,
    Principal,
    Role,
    UserSummary,
    can_manage_user,
    can_manage_users_of,
    require_user_admin,
)
from fjernlaan.directory import service as directory
from fjernlaan.errors import Conflict, DomainError, NotFound, PermissionDenied
from fjernlaan.web import kit
from fjernlaan.web.deps import ClockDep, OptionalPrincipal, SessionDep, client_ip, get_clock
from fjernlaan.web.i18n import N_, gettext

router = APIRouter(include_in_schema=False)
kit.add_template_dir("accounts", Path(__file__).parent / "templates" / "accounts")

ROLE_LABELS = {
    Role.STAFF: N_("ILL staff"),
    Role.LIBRARY_ADMIN: N_("Library administrator"),
    Role.COORDINATOR: N_("Coordinator"),
    Role.NATIONAL_ADMIN: N_("National administrator"),
}
#: Roles a library's administrator hands out; coordinators and national admins come from the CLI.
LIBRARY_ROLES = (Role.STAFF, Role.LIBRARY_ADMIN)
MESSAGES = {
    "username": N_("Use 2 to 64 characters: lower-case letters, digits, '.', '_' or '-'."),
    "username_taken": N_("That username is taken. Choose another."),
    "password": N_("A password needs at least 8 characters."),
    "display_name": N_("Write at most 200 characters."),
    "email": N_("Write an e-mail address such as navn@bibliotek.dk."),
    "role": N_("Choose a role."),
}
Text = Annotated[str, Form()]
AUDIT_PAGE = "/admin/audit"
MY_TOKENS = "/account/tokens"
kit.add_nav_item(N_("My API tokens"), MY_TOKENS, kit.STAFF_ROLES, order=98)
kit.add_nav_item(N_("Audit log"), AUDIT_PAGE, {kit.LIBRARY_ADMIN, kit.NATIONAL_ADMIN}, order=95)


def _may_view(principal: Principal, isil: str) -> bool:
    if principal.role in (Role.COORDINATOR, Role.NATIONAL_ADMIN):
        return True
    return principal.role is Role.LIBRARY_ADMIN and principal.works_at(isil)


def _users_path(principal: Principal, isil: str) -> str:
    if principal.role is Role.LIBRARY_ADMIN and principal.works_at(isil):
        return "/admin/library/users"
    return f"/admin/libraries/{isil}/users"


def _library(
    session: SessionDep, principal: Principal | None, isil: str, *, edit: bool
) -> tuple[Principal, str]:
    if principal is None:
        raise PermissionDenied("log in first")
    canonical = directory.get_library(session, isil).isil
    if not _may_view(principal, canonical) or (edit and not can_manage_users_of(principal, canonical)):
        raise PermissionDenied(f"only an administrator of {canonical} or a national admin manages its users")
    return principal, canonical


def _login(request: Request) -> RedirectResponse:
    return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)


def _user_of(session: SessionDep, isil: str, username: str) -> UserSummary:
    for user in service.list_users(session, isil):
        if user.username == username:
            return user
    raise NotFound(f"{isil} has no user {username!r}", field="username")


def users_page(
    request: Request,
    session: SessionDep,
    principal: Principal,
    isil: str,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    """The library's users and the form to add one."""
    lang = kit.request_language(request)
    library = directory.get_library(session, isil)
    return kit.render(
        request,
        "accounts/users.html",
        principal,
        status_code=status,
        library=library,
        users=service.list_users(session, isil),
        role_labels={r.value: gettext(label, lang) for r, label in ROLE_LABELS.items()},
        roles=[(r.value, gettext(ROLE_LABELS[r], lang)) for r in LIBRARY_ROLES],
        can_edit=can_manage_users_of(principal, isil),
        values=values or {"role": Role.STAFF.value},
        errors=errors or {},
        summary=[(f"field-{k}", v) for k, v in (errors or {}).items()],
        base=_users_path(principal, isil),
        action=f"/admin/libraries/{isil}/users",
        back="/admin/library"
        if _users_path(principal, isil) == "/admin/library/users"
        else f"/admin/libraries/{isil}",
    )


@router.get("/admin/library/users", response_class=HTMLResponse, response_model=None)
def own_users(request: Request, session: SessionDep, principal: OptionalPrincipal) -> Response:
    """The users of the administrator's own library."""
    if principal is None:
        return _login(request)
    if not principal.library_isil:
        raise PermissionDenied("you belong to no library")
    admin, isil = _library(session, principal, principal.library_isil, edit=False)
    return users_page(request, session, admin, isil)


@router.get("/admin/libraries/{isil}/users", response_class=HTMLResponse, response_model=None)
def library_users(request: Request, isil: str, session: SessionDep, principal: OptionalPrincipal) -> Response:
    """The users of one library."""
    if principal is None:
        return _login(request)
    admin, canonical = _library(session, principal, isil, edit=False)
    return users_page(request, session, admin, canonical)


@router.post("/admin/libraries/{isil}/users", response_model=None)
def add_user(
    request: Request,
    isil: str,
    session: SessionDep,
    principal: OptionalPrincipal,
    csrf_token: Text = "",
    username: Text = "",
    display_name: Text = "",
    email: Text = "",
    password: Text = "",
    role: Text = "",
) -> Response:
    """Add a staff user or library administrator to the library."""
    if principal is None:
        return _login(request)
    admin, canonical = _library(session, principal, isil, edit=True)
    lang = kit.request_language(request)
    if not kit.check_csrf(request, csrf_token):
        return _expired(request, _users_path(admin, canonical))
    values = {
        "username": username.strip(),
        "display_name": display_name.strip(),
        "email": email.strip(),
        "role": role,
    }
    errors: dict[str, str] = {}
    if role not in {r.value for r in LIBRARY_ROLES}:
        errors["role"] = gettext(MESSAGES["role"], lang)
    if len(values["display_name"]) > 200:
        errors["display_name"] = gettext(MESSAGES["display_name"], lang)
    if values["email"] and ("@" not in values["email"] or len(values["email"]) > 254):
        errors["email"] = gettext(MESSAGES["email"], lang)
    if len(password) < 8:
        errors["password"] = gettext(MESSAGES["password"], lang)
    if not errors:
        try:
            service.add_user(
                session,
                username=values["username"],
                password=password,
                role=Role(role),
                library_isil=canonical,
                display_name=values["display_name"],
                email=values["email"] or None,
            )
        except Conflict:
            errors["username"] = gettext(MESSAGES["username_taken"], lang)
        except DomainError as exc:
            name = exc.field if exc.field in MESSAGES else "username"
            errors[name] = gettext(MESSAGES[name], lang)
    if errors:
        session.rollback()
        return users_page(request, session, admin, canonical, values=values, errors=errors, status=422)
    session.commit()
    response = RedirectResponse(_users_path(admin, canonical), status_code=303)
    kit.flash(
        response, gettext("The user %(name)s is added.", lang) % {"name": values["username"]}, "success"
    )
    return response


def _expired(request: Request, back: str) -> Response:
    response = RedirectResponse(back, status_code=303)
    kit.flash(
        response, gettext("The form has expired. Please try again.", kit.request_language(request)), "error"
    )
    return response


def user_page(
    request: Request,
    session: SessionDep,
    principal: Principal,
    isil: str,
    user: UserSummary,
    *,
    error: str | None = None,
    status: int = 200,
) -> Response:
    """One user: their role, the password reset, (de)activation and their API tokens."""
    lang = kit.request_language(request)
    manages = can_manage_user(principal, user.role, user.library_isil)
    tokens = service.list_tokens(session, user.username) if manages else []
    return kit.render(
        request,
        "accounts/user.html",
        principal,
        status_code=status,
        user=user,
        isil=isil,
        role_label=gettext(ROLE_LABELS[user.role], lang),
        can_edit=can_manage_users_of(principal, isil)
        and user.role
        in LIBRARY_ROLES + ((Role.COORDINATOR, Role.NATIONAL_ADMIN) if principal.is_national_admin else ()),
        error=error,
        users_path=_users_path(principal, isil),
        action=f"/admin/libraries/{isil}/users/{user.username}/password",
        base=f"/admin/libraries/{isil}/users/{user.username}",
        can_switch=manages and user.username != principal.username,
        manages=manages,
        tokens=tokens,
        now=get_clock(request).now(),
    )


@router.get("/admin/libraries/{isil}/users/{username}", response_class=HTMLResponse, response_model=None)
def show_user(
    request: Request, isil: str, username: str, session: SessionDep, principal: OptionalPrincipal
) -> Response:
    """One user of a library."""
    if principal is None:
        return _login(request)
    admin, canonical = _library(session, principal, isil, edit=False)
    return user_page(request, session, admin, canonical, _user_of(session, canonical, username))


@router.post("/admin/libraries/{isil}/users/{username}/password", response_model=None)
def reset_password(
    request: Request,
    isil: str,
    username: str,
    session: SessionDep,
    principal: OptionalPrincipal,
    csrf_token: Text = "",
    password: Text = "",
) -> Response:
    """Give a user of the library a new password (the administrator tells it to them)."""
    if principal is None:
        return _login(request)
    admin, canonical = _library(session, principal, isil, edit=True)
    user = _user_of(session, canonical, username)
    lang = kit.request_language(request)
    if not kit.check_csrf(request, csrf_token):
        return _expired(request, f"/admin/libraries/{canonical}/users/{username}")
    if user.role not in LIBRARY_ROLES and not admin.is_national_admin:
        raise PermissionDenied("only a national admin resets a coordinator's or national admin's password")
    if len(password) < 8:
        return user_page(
            request, session, admin, canonical, user, error=gettext(MESSAGES["password"], lang), status=422
        )
    service.set_password(session, username, password)
    session.commit()
    response = RedirectResponse(_users_path(admin, canonical), status_code=303)
    kit.flash(response, gettext("The password of %(name)s is changed.", lang) % {"name": username}, "success")
    return response


def _managed_user(
    session: SessionDep, principal: Principal | None, isil: str, username: str
) -> tuple[Principal, str, UserSummary]:
    """The user of the library, if the principal may manage them as the API allows (their library's
    admin for staff and library admins, a national admin for everyone)."""
    admin, canonical = _library(session, principal, isil, edit=False)
    user = _user_of(session, canonical, username)
    require_user_admin(admin, username, user.role, user.library_isil)
    return admin, canonical, user


def _audit(
    request: Request, session: SessionDep, principal: Principal, action: str, now: datetime, target: str
) -> None:
    service.audit(
        session,
        Actor.of(principal, client_ip(request)),
        action,
        now,
        target=target,
        via=f"POST {request.url.path}",
    )


@router.post("/admin/libraries/{isil}/users/{username}/active", response_model=None)
def set_active(
    request: Request,
    isil: str,
    username: str,
    session: SessionDep,
    principal: OptionalPrincipal,
    clock: ClockDep,
    csrf_token: Text = "",
    active: Text = "",
) -> Response:
    """Deactivate a user (their login sessions end and their tokens stop working at once) or
    reactivate them. Nobody deactivates themself."""
    if principal is None:
        return _login(request)
    admin, canonical, user = _managed_user(session, principal, isil, username)
    lang = kit.request_language(request)
    back = f"/admin/libraries/{canonical}/users/{user.username}"
    if not kit.check_csrf(request, csrf_token):
        return _expired(request, back)
    wanted = active == "1"
    if not wanted and user.username == admin.username:
        raise DomainError("you cannot deactivate yourself", field="active")
    now = clock.now()
    service.set_active(session, user.username, wanted, now)
    _audit(
        request,
        session,
        admin,
        "user_activated" if wanted else "user_deactivated",
        now,
        f"user {user.username}",
    )
    session.commit()
    response = RedirectResponse(back, status_code=303)
    message = (
        N_("%(name)s can log in again.")
        if wanted
        else N_("%(name)s is deactivated: logged out everywhere, and their API tokens stop working.")
    )
    kit.flash(response, gettext(message, lang) % {"name": user.username}, "success")
    return response


@router.post("/admin/libraries/{isil}/users/{username}/tokens/{token_id}/revoke", response_model=None)
def revoke_token(
    request: Request,
    isil: str,
    username: str,
    token_id: Annotated[int, FastPath(ge=1, le=2**31 - 1)],
    session: SessionDep,
    principal: OptionalPrincipal,
    clock: ClockDep,
    csrf_token: Text = "",
) -> Response:
    """Revoke one of the user's API tokens; it stops working at once."""
    if principal is None:
        return _login(request)
    admin, canonical, user = _managed_user(session, principal, isil, username)
    lang = kit.request_language(request)
    back = f"/admin/libraries/{canonical}/users/{user.username}"
    if not kit.check_csrf(request, csrf_token):
        return _expired(request, back)
    service.revoke_token_id(session, user.username, token_id)
    _audit(request, session, admin, "token_revoked", clock.now(), f"user {user.username} token {token_id}")
    session.commit()
    response = RedirectResponse(back, status_code=303)
    kit.flash(response, gettext("The token is revoked.", lang), "success")
    return response


@router.get(MY_TOKENS, response_class=HTMLResponse, response_model=None)
def my_tokens(request: Request, session: SessionDep, principal: OptionalPrincipal) -> Response:
    """The logged-in user's own API tokens (every user manages their own, as the API allows)."""
    if principal is None:
        return _login(request)
    return kit.render(
        request,
        "accounts/my_tokens.html",
        principal,
        tokens=service.list_tokens(session, principal.username),
        now=get_clock(request).now(),
        base="/account",
    )


@router.post(MY_TOKENS + "/{token_id}/revoke", response_model=None)
def revoke_my_token(
    request: Request,
    token_id: Annotated[int, FastPath(ge=1, le=2**31 - 1)],
    session: SessionDep,
    principal: OptionalPrincipal,
    clock: ClockDep,
    csrf_token: Text = "",
) -> Response:
    """Revoke one of the user's own tokens; another user's token is not found."""
    if principal is None:
        return _login(request)
    if not kit.check_csrf(request, csrf_token):
        return _expired(request, MY_TOKENS)
    service.revoke_token_id(session, principal.username, token_id)
    _audit(
        request,
        session,
        principal,
        "token_revoked",
        clock.now(),
        f"user {principal.username} token {token_id}",
    )
    session.commit()
    response = RedirectResponse(MY_TOKENS, status_code=303)
    kit.flash(response, gettext("The token is revoked.", kit.request_language(request)), "success")
    return response


_AUDIT_COLUMNS = [
    kit.Column("at", N_("When"), sortable=False),
    kit.Column("username", N_("Who"), sortable=False, filter="text"),
    kit.Column("action", N_("Action"), sortable=False, filter="text"),
    kit.Column("target", N_("What"), sortable=False),
    kit.Column("ip", N_("From"), sortable=False),
]
_AUDIT_LIBRARY = kit.Column("library", N_("Library"), sortable=False, filter="text")


@router.get(AUDIT_PAGE, response_class=HTMLResponse, response_model=None)
def audit_log(request: Request, session: SessionDep, principal: OptionalPrincipal) -> Response:
    """The audit log, newest first and paged: a national admin reads every entry (and may narrow it
    to one library's users), a library admin the entries of its own library's users."""
    if principal is None:
        return _login(request)
    if principal.is_national_admin:
        columns = [*_AUDIT_COLUMNS[:2], _AUDIT_LIBRARY, *_AUDIT_COLUMNS[2:]]
    elif principal.role is Role.LIBRARY_ADMIN and principal.library_isil:
        columns = _AUDIT_COLUMNS
    else:
        raise PermissionDenied("only administrators read the audit log")
    query = kit.TableQuery.from_request(request, columns, per_page=50)
    filters = {k: v.strip()[:64] for k, v in query.filters.items() if v.strip()}
    scope = filters.get("library") if principal.is_national_admin else principal.library_isil
    entries, total = service.list_audit(
        session,
        limit=query.limit,
        offset=query.offset,
        library_isil=scope,
        username=filters.get("username"),
        action=filters.get("action"),
    )
    table = kit.Table(columns, entries, total, query, id="audit")
    return kit.render(request, "accounts/audit.html", principal, table=table)
