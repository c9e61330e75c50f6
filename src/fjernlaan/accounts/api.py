"""REST routes of accounts: who am I, users, patrons."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict, EmailStr, Field

from fjernlaan.accounts import service
from fjernlaan.accounts.model import (
    PatronCategory,
    Role,
    require_library_admin,
    require_role,
    require_staff_of,
)
from fjernlaan.accounts.store import PatronRow
from fjernlaan.directory.model import normalise_isil
from fjernlaan.errors import NotFound, PermissionDenied
from fjernlaan.web.deps import ClockDep, PrincipalDep, SessionDep

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

    username: str
    password: str = Field(min_length=8)
    role: Role
    library_isil: str | None = None
    display_name: str = ""
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
    response.headers["Location"] = f"/api/v1/patrons/{row.home_library_isil}/{row.card_number}"
    return _patron_out(row)


@router.get(
    "/patrons/{isil}/{card_number}",
    response_model=PatronOut,
    summary="A patron by card (home library staff only)",
)
def get_patron(
    isil: Annotated[str, Path()],
    card_number: Annotated[str, Path(max_length=64)],
    session: SessionDep,
    principal: PrincipalDep,
) -> PatronOut:
    require_staff_of(principal, normalise_isil(isil))
    row = service.find_patron(session, isil, card_number)
    if row is None:
        raise NotFound(f"no patron with card {card_number} at {isil}", field="card_number")
    return _patron_out(row)


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
    isil: Annotated[str, Path()],
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
