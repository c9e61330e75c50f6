"""A library's users, for its administrators (`/admin/libraries/{isil}/users`, and `/admin/library/users`
for the logged-in admin's own library): list them, add a staff user, reset a password.

A library admin manages the users of its own library; a national admin those of every library;
coordinators see the list and change nothing; staff without an admin role see none of it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from fjernlaan.accounts import service
from fjernlaan.accounts.model import Principal, Role, UserSummary, can_manage_users_of
from fjernlaan.directory import service as directory
from fjernlaan.errors import Conflict, DomainError, NotFound, PermissionDenied
from fjernlaan.web import kit
from fjernlaan.web.deps import OptionalPrincipal, SessionDep
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
    """One user: their role, and the password reset."""
    lang = kit.request_language(request)
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
