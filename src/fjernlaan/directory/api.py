"""REST routes of the library directory: `/api/v1/libraries` and its policy and closure sub-resources."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from fjernlaan.accounts.model import require_library_admin, require_role
from fjernlaan.directory import service
from fjernlaan.directory.model import NATIONAL_FIELDS, LibraryType, Region
from fjernlaan.directory.schemas import (
    ClosureIn,
    ClosureOut,
    LibraryCreate,
    LibraryOut,
    LibraryPatch,
    PolicyBody,
    WorkingDayAnswer,
)
from fjernlaan.errors import PermissionDenied
from fjernlaan.fields import SaneDate
from fjernlaan.limits import INT_MAX
from fjernlaan.outbound_policy import check_endpoint
from fjernlaan.settings import Settings
from fjernlaan.web.deps import ClockDep, Page, PageDep, PrincipalDep, SessionDep, get_settings

SettingsDep = Annotated[Settings, Depends(get_settings)]

router = APIRouter(prefix="/api/v1/libraries", tags=["directory"])
IsilPath = Annotated[str, Path(max_length=16, description="the library's ISIL, e.g. DK-710100")]
ClosureId = Annotated[int, Path(ge=1, le=INT_MAX, description="the closure's id")]


@router.get("", response_model=Page[LibraryOut], summary="List libraries (any logged-in user)")
def list_libraries(
    session: SessionDep,
    principal: PrincipalDep,
    page: PageDep,
    type: LibraryType | None = None,
    region: Region | None = None,
    active: bool | None = None,
    q: Annotated[str | None, Query(max_length=100, description="part of the name or ISIL")] = None,
) -> Page[LibraryOut]:
    items, total = service.list_libraries(
        session,
        limit=page.limit,
        offset=page.offset,
        type=type.value if type else None,
        region=region.value if region else None,
        active=active,
        q=q,
    )
    return Page[LibraryOut](items=items, total=total, limit=page.limit, offset=page.offset)


@router.post("", response_model=LibraryOut, status_code=201, summary="Add a library (national admin)")
def create_library(
    body: LibraryCreate,
    session: SessionDep,
    principal: PrincipalDep,
    response: Response,
    settings: SettingsDep,
) -> LibraryOut:
    require_role(principal)
    if body.iso18626_endpoint:
        check_endpoint(body.iso18626_endpoint, settings)
    created = service.create_library(session, body)
    session.commit()
    response.headers["Location"] = f"/api/v1/libraries/{created.isil}"
    return created


@router.get("/{isil}", response_model=LibraryOut, summary="One library (any logged-in user)")
def get_library(isil: IsilPath, session: SessionDep, principal: PrincipalDep) -> LibraryOut:
    return service.get_library_out(session, isil)


@router.patch(
    "/{isil}", response_model=LibraryOut, summary="Change a library (its admin or a national admin)"
)
def patch_library(
    isil: IsilPath,
    body: LibraryPatch,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> LibraryOut:
    require_library_admin(principal, isil)
    national = sorted(body.model_fields_set & NATIONAL_FIELDS)
    # Where a library sits in the cooperation, and where the hub sends its ISO 18626 traffic, is the
    # national administrators' call: setting a field and clearing it (null or "") alike.
    if national and not principal.is_national_admin:
        raise PermissionDenied(f"only a national admin sets or clears {', '.join(national)}")
    if body.iso18626_endpoint:
        check_endpoint(body.iso18626_endpoint, settings)
    updated = service.update_library(session, isil, body, now=clock.now())
    session.commit()
    return updated


@router.get("/{isil}/policy", response_model=PolicyBody, summary="A library's lending policy")
def get_policy(isil: IsilPath, session: SessionDep, principal: PrincipalDep) -> PolicyBody:
    return PolicyBody.from_domain(service.get_policy(session, isil))


@router.put(
    "/{isil}/policy", response_model=PolicyBody, summary="Replace a library's lending policy (its admin)"
)
def put_policy(isil: IsilPath, body: PolicyBody, session: SessionDep, principal: PrincipalDep) -> PolicyBody:
    require_library_admin(principal, isil)
    stored = service.set_policy(session, isil, body.to_domain())
    session.commit()
    return PolicyBody.from_domain(stored)


@router.get("/{isil}/closures", response_model=list[ClosureOut], summary="A library's closures")
def list_closures(isil: IsilPath, session: SessionDep, principal: PrincipalDep) -> list[ClosureOut]:
    return [
        ClosureOut(id=cid, starts=c.starts, ends=c.ends, reason=c.reason)
        for cid, c in service.list_closures(session, isil)
    ]


@router.post(
    "/{isil}/closures",
    response_model=ClosureOut,
    status_code=201,
    summary="Add a closure (the library's admin)",
)
def add_closure(isil: IsilPath, body: ClosureIn, session: SessionDep, principal: PrincipalDep) -> ClosureOut:
    require_library_admin(principal, isil)
    closure_id = service.add_closure(session, isil, body)
    session.commit()
    return ClosureOut(id=closure_id, **body.model_dump())


@router.delete(
    "/{isil}/closures/{closure_id}", status_code=204, summary="Remove a closure (the library's admin)"
)
def delete_closure(
    isil: IsilPath, closure_id: ClosureId, session: SessionDep, principal: PrincipalDep
) -> Response:
    require_library_admin(principal, isil)
    service.delete_closure(session, isil, closure_id)
    session.commit()
    return Response(status_code=204)


@router.get(
    "/{isil}/working-days",
    response_model=WorkingDayAnswer,
    summary="The date n working days after a start date at this library",
)
def working_days(
    isil: IsilPath,
    session: SessionDep,
    principal: PrincipalDep,
    start: Annotated[SaneDate, Query()],
    n: Annotated[int, Query(ge=0, le=365)],
) -> WorkingDayAnswer:
    result = service.add_working_days(session, isil, start, n)
    return WorkingDayAnswer(isil=isil.upper(), start=start, working_days=n, date=result)
