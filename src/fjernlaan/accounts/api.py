"""REST routes of accounts: who am I, users (tokens, deactivation, sessions), the audit log, patrons."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, EmailStr, Field

from fjernlaan.accounts import service
from fjernlaan.accounts.model import (
    Actor,
    PatronCategory,
    Principal,
    Role,
    require_library_admin,
    require_role,
    require_staff_of,
    require_user_admin,
)
from fjernlaan.accounts.store import PatronRow
from fjernlaan.directory.model import normalise_isil
from fjernlaan.errors import DomainError, NotFound, PermissionDenied
from fjernlaan.fields import CardNumber, Isil, ShortText
from fjernlaan.settings import Settings
from fjernlaan.web.deps import ClockDep, Page, PageDep, PrincipalDep, SessionDep, client_ip

router = APIRouter(prefix="/api/v1", tags=["accounts"])


class Me(BaseModel):
    """The caller."""

    user_id: int
    username: str
    role: Role
    library_isil: str | None


class UserIn(BaseModel):
    """A user to create."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=2, max_length=64)
    password: str = Field(min_length=8, max_length=1024)
    role: Role
    library_isil: Isil | None = None
    display_name: ShortText = ""
    email: EmailStr | None = None


class PatronOut(BaseModel):
    """A patron as their home library's staff sees them."""

    id: int
    card_number: str
    name: str
    email: str | None
    category: PatronCategory
    home_library: str


@router.get("/me", response_model=Me, summary="The caller (any logged-in user)")
def me(principal: PrincipalDep) -> Me:
    return Me(
        user_id=principal.user_id,
        username=principal.username,
        role=principal.role,
        library_isil=principal.library_isil,
    )


@router.post(
    "/users", response_model=Me, status_code=201, summary="Add a user (a library's admin or national admin)"
)
def add_user(body: UserIn, session: SessionDep, principal: PrincipalDep) -> Me:
    if body.role in (Role.NATIONAL_ADMIN, Role.COORDINATOR):
        require_role(principal)
    else:
        if not body.library_isil:
            raise PermissionDenied(f"a {body.role.value} user must belong to a library")
        require_library_admin(principal, normalise_isil(body.library_isil))
    created = service.add_user(
        session,
        username=body.username,
        password=body.password,
        role=body.role,
        library_isil=body.library_isil,
        display_name=body.display_name,
        email=body.email,
    )
    session.commit()
    return Me(
        user_id=created.user_id,
        username=created.username,
        role=created.role,
        library_isil=created.library_isil,
    )


def _patron_out(row: PatronRow) -> PatronOut:
    return PatronOut(
        id=row.id,
        card_number=row.card_number,
        name=row.name,
        email=row.email,
        category=PatronCategory(row.category),
        home_library=row.home_library_isil,
    )


@router.post(
    "/patrons", response_model=PatronOut, status_code=201, summary="Register a patron (home library staff)"
)
def add_patron(
    body: service.PatronIn, session: SessionDep, principal: PrincipalDep, response: Response
) -> PatronOut:
    require_staff_of(principal, normalise_isil(body.home_library))
    row = service.add_patron(session, body)
    session.commit()
    # Quoted: a header is Latin-1, and the card number is the client's text.
    response.headers["Location"] = (
        f"/api/v1/patrons/{row.home_library_isil}/{quote(row.card_number, safe='')}"
    )
    return _patron_out(row)


@router.get(
    "/patrons/{isil}/{card_number}",
    response_model=PatronOut,
    summary="A patron by card (home library staff only)",
)
def get_patron(
    isil: Annotated[str, Path(max_length=16)],
    card_number: Annotated[CardNumber, Path()],
    session: SessionDep,
    principal: PrincipalDep,
) -> PatronOut:
    require_staff_of(principal, normalise_isil(isil))
    row = service.find_patron(session, isil, card_number)
    if row is None:
        raise NotFound(f"no patron with card {card_number} at {isil}", field="card_number")
    return _patron_out(row)


# --------------------------------------------------------------------------------------------------
# Revocation: tokens, deactivation, sessions; and the audit log
# --------------------------------------------------------------------------------------------------

UsernamePath = Annotated[str, Path(min_length=2, max_length=64)]


class TokenOut(BaseModel):
    """An API token as its owner and administrators see it (never the token itself)."""

    id: int
    label: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked: bool
    usable: bool


class TokenIn(BaseModel):
    """A token to issue."""

    model_config = ConfigDict(extra="forbid")

    label: str = Field(default="", max_length=100)
    days: int | None = Field(default=None, ge=1, le=3650, description="lifetime; default: the hub's setting")


class TokenIssued(BaseModel):
    """A new token: shown this once."""

    token: str
    expires_at: datetime


class UserPatch(BaseModel):
    """What an administrator may change of a user here."""

    model_config = ConfigDict(extra="forbid")

    active: bool


class UserOut(BaseModel):
    """A user as an administrator sees them."""

    username: str
    role: Role
    library_isil: str | None
    active: bool


class AuditOut(BaseModel):
    """One audit entry: who, what, when, from where."""

    id: int
    at: datetime
    username: str | None
    role: str | None
    library_isil: str | None
    ip: str | None
    action: str
    target: str | None
    via: str
    detail: dict[str, Any]


def _may_manage(session: SessionDep, principal: Principal, username: str, *, self_ok: bool) -> Principal:
    user = service.user_principal(session, username)
    if self_ok and user.user_id == principal.user_id:
        return user
    require_user_admin(principal, username, user.role, user.library_isil)
    return user


@router.get(
    "/users/{username}/tokens",
    response_model=list[TokenOut],
    summary="A user's API tokens (the user, their library's admin, or a national admin)",
)
def list_user_tokens(
    username: UsernamePath, session: SessionDep, principal: PrincipalDep, clock: ClockDep
) -> list[TokenOut]:
    _may_manage(session, principal, username, self_ok=True)
    now = clock.now()
    return [
        TokenOut(
            id=t.id,
            label=t.label,
            created_at=t.created_at,
            expires_at=t.expires_at,
            last_used_at=t.last_used_at,
            revoked=t.revoked,
            usable=t.usable_at(now),
        )
        for t in service.list_tokens(session, username)
    ]


@router.post(
    "/users/{username}/tokens",
    response_model=TokenIssued,
    status_code=201,
    summary="Issue an API token that expires (the user, their library's admin, or a national admin)",
)
def issue_user_token(
    username: UsernamePath,
    body: TokenIn,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    clock: ClockDep,
) -> TokenIssued:
    _may_manage(session, principal, username, self_ok=True)
    settings: Settings = request.app.state.settings
    days = body.days or settings.api_token_days
    now = clock.now()
    token = service.issue_token(session, username, body.label, now=now, days=days)
    service.audit(
        session,
        Actor.of(principal, client_ip(request)),
        "token_issued",
        now,
        target=f"user {username}",
        via=f"POST {request.url.path}",
        detail={"label": body.label, "days": days},
    )
    session.commit()
    return TokenIssued(token=token, expires_at=now + timedelta(days=days))


@router.delete(
    "/users/{username}/tokens/{token_id}",
    status_code=204,
    summary="Revoke one of a user's API tokens (it stops working at once)",
)
def revoke_user_token(
    username: UsernamePath,
    token_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    clock: ClockDep,
) -> Response:
    _may_manage(session, principal, username, self_ok=True)
    service.revoke_token_id(session, username, token_id)
    service.audit(
        session,
        Actor.of(principal, client_ip(request)),
        "token_revoked",
        clock.now(),
        target=f"user {username} token {token_id}",
        via=f"DELETE {request.url.path}",
    )
    session.commit()
    return Response(status_code=204)


@router.patch(
    "/users/{username}",
    response_model=UserOut,
    summary="Deactivate or reactivate a user (their library's admin or a national admin)",
)
def patch_user(
    username: UsernamePath,
    body: UserPatch,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    clock: ClockDep,
) -> UserOut:
    """A deactivated user's login sessions end and their tokens stop working at once."""
    _may_manage(session, principal, username, self_ok=False)
    if not body.active and service.user_principal(session, username).user_id == principal.user_id:
        raise DomainError("you cannot deactivate yourself", field="active")
    now = clock.now()
    user = service.set_active(session, username, body.active, now)
    service.audit(
        session,
        Actor.of(principal, client_ip(request)),
        "user_activated" if body.active else "user_deactivated",
        now,
        target=f"user {username}",
        via=f"PATCH {request.url.path}",
    )
    session.commit()
    return UserOut(username=user.username, role=user.role, library_isil=user.library_isil, active=body.active)


@router.delete(
    "/users/{username}/sessions",
    status_code=204,
    summary="End every login session of a user (the user, their library's admin, or a national admin)",
)
def end_user_sessions(
    username: UsernamePath, request: Request, session: SessionDep, principal: PrincipalDep, clock: ClockDep
) -> Response:
    user = _may_manage(session, principal, username, self_ok=True)
    now = clock.now()
    ended = service.end_all_sessions(session, user.user_id, now)
    service.audit(
        session,
        Actor.of(principal, client_ip(request)),
        "sessions_ended",
        now,
        target=f"user {username}",
        via=f"DELETE {request.url.path}",
        detail={"sessions": ended},
    )
    session.commit()
    return Response(status_code=204)


@router.get(
    "/audit",
    response_model=Page[AuditOut],
    summary="The audit log, newest first (national admin: all; library admin: their library's users)",
)
def read_audit(
    session: SessionDep,
    principal: PrincipalDep,
    page: PageDep,
    username: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    library: Annotated[
        str | None, Query(max_length=16, description="national admin: one library's users")
    ] = None,
) -> Page[AuditOut]:
    if principal.is_national_admin:
        scope = library
    elif principal.role is Role.LIBRARY_ADMIN and principal.library_isil:
        scope = principal.library_isil
    else:
        raise PermissionDenied("only administrators read the audit log")
    entries, total = service.list_audit(
        session, limit=page.limit, offset=page.offset, library_isil=scope, username=username, action=action
    )
    items = [
        AuditOut(
            id=e.id,
            at=e.at,
            username=e.username,
            role=e.role,
            library_isil=e.library_isil,
            ip=e.ip,
            action=e.action,
            target=e.target,
            via=e.via,
            detail=e.detail,
        )
        for e in entries
    ]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


class PinIn(BaseModel):
    """A patron's new PIN (digits; it is stored only as an argon2id hash)."""

    model_config = ConfigDict(extra="forbid")

    pin: str = Field(min_length=4, max_length=12, pattern=r"^[0-9]+$")


@router.put(
    "/patrons/{isil}/{card_number}/pin",
    status_code=204,
    summary="Set a patron's PIN for self-service login (home library staff only)",
)
def set_patron_pin(
    isil: Annotated[str, Path(max_length=16)],
    card_number: Annotated[str, Path(max_length=64)],
    body: PinIn,
    session: SessionDep,
    principal: PrincipalDep,
    clock: ClockDep,
) -> Response:
    require_staff_of(principal, normalise_isil(isil))
    service.set_pin(session, isil, card_number, body.pin, clock.now())
    session.commit()
    return Response(status_code=204)
