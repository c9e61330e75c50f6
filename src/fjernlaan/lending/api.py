"""REST routes of lending: place requests, act on them, edit the rota, read and list them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from fjernlaan.accounts.model import Principal
from fjernlaan.clock import today
from fjernlaan.errors import PermissionDenied
from fjernlaan.lending import service, shaping
from fjernlaan.lending.model import Action, RequesterState, Role, Side
from fjernlaan.lending.schemas import (
    ActionIn,
    AddLenderIn,
    MessageIn,
    MessageOut,
    PlaceRequestIn,
    RequestOut,
    RequestSummary,
    RotaOrderIn,
)
from fjernlaan.limits import INT_MAX
from fjernlaan.settings import Settings
from fjernlaan.web.deps import SESSION_COOKIE, ClockDep, Page, PageDep, PrincipalDep, SessionDep
from fjernlaan.web.kit import CSRF_HEADER, check_csrf

router = APIRouter(prefix="/api/v1/requests", tags=["lending"])

RequestId = Annotated[int, Path(ge=1, le=INT_MAX, description="the request's id")]


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


@router.post("", status_code=201, response_model=RequestOut, summary="Place a request for a patron")
async def place_request(
    body: PlaceRequestIn,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: PrincipalDep,
    clock: ClockDep,
) -> RequestOut:
    """Staff of the borrowing library place a request for a patron (or pass on the patron's own), from a
    catalogue record id or a free-form citation. The hub builds the rota under the network's active
    principles and asks the first lender; a citation waits in `sourcing` for staff to add lenders."""
    # The busiest write of the API: its database work runs in the thread pool in one trip, while the
    # dependencies and the answer's serialisation stay on the event loop.
    placed = await run_in_threadpool(
        _place, session, body, principal, _settings(request).active_principles, clock.now()
    )
    response.headers["Location"] = f"/api/v1/requests/{placed.id}"
    return placed


def _place(
    session: Session, body: PlaceRequestIn, principal: Principal, principles: str, now: datetime
) -> RequestOut:
    request_id = service.place(session, body, principal, principles, now)
    session.commit()  # durable before the 201 leaves
    return shaping.view(session, request_id, principal)


@router.get("", response_model=Page[RequestSummary], summary="List requests")
def list_requests(
    session: SessionDep,
    principal: PrincipalDep,
    page: PageDep,
    clock: ClockDep,
    side: Annotated[Side | None, Query(description="requester: we borrow; supplier: we were asked")] = None,
    state: Annotated[
        list[RequesterState] | None, Query(max_length=50, description="requester-side states")
    ] = None,
    library: Annotated[str | None, Query(max_length=16, description="default: the caller's library")] = None,
    needs_attention: Annotated[bool, Query(description="only requests waiting for this library")] = False,
    deadline_within: Annotated[
        int | None, Query(ge=0, le=3650, description="a deadline within this many days")
    ] = None,
) -> Page[RequestSummary]:
    """Requests of a library, newest first, filtered by side, state, needs-attention and deadline."""
    filters = service.ListFilter(
        side=side,
        states=tuple(state or ()),
        library=library,
        needs_attention=needs_attention,
        deadline_within_days=deadline_within,
    )
    items, total = service.list_requests(session, principal, filters, page.limit, page.offset, today(clock))
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/{request_id}", response_model=RequestOut, summary="A request with both sides and its timeline")
def get_request(
    request_id: RequestId,
    session: SessionDep,
    principal: PrincipalDep,
    as_role: Annotated[Role | None, Query(description="national administrators: view as this role")] = None,
) -> RequestOut:
    """Both sides, the rota with reasons (and the excluded libraries), every event, and the actions the
    caller may take now with the fields each needs. A lender never sees the patron."""
    return shaping.view(session, request_id, principal, as_role)


@router.post(
    "/{request_id}/actions/{action}",
    response_model=RequestOut,
    summary="Take an action on a request",
    responses={409: {"description": "not allowed now: the body has `state` and `allowed_actions`"}},
)
def take_action(
    request_id: RequestId,
    action: Action,
    session: SessionDep,
    principal: PrincipalDep,
    clock: ClockDep,
    body: ActionIn | None = None,
) -> RequestOut:
    """One step of the request: the lender answers (`will_supply`, `unfilled`, `ship`, …), the borrowing
    library receives, checks out, renews, returns. 409 with the current state and the allowed actions
    when the step is not allowed now; 422 naming the field when one it needs is missing."""
    body = body or ActionIn()
    service.act(session, request_id, action, principal, body, clock.now())
    session.commit()
    return shaping.view(session, request_id, principal, body.as_role)


@router.post("/{request_id}/rota/order", response_model=RequestOut, summary="Reorder the rota")
def reorder_rota(
    request_id: RequestId, body: RotaOrderIn, session: SessionDep, principal: PrincipalDep, clock: ClockDep
) -> RequestOut:
    """The named lenders (not yet asked) first, in the given order; lenders already asked keep their place."""
    service.reorder_rota(session, request_id, body.isils, principal, clock.now())
    session.commit()
    return shaping.view(session, request_id, principal)


@router.post("/{request_id}/rota/lenders", response_model=RequestOut, summary="Add a lender to the rota")
def add_lender(
    request_id: RequestId, body: AddLenderIn, session: SessionDep, principal: PrincipalDep, clock: ClockDep
) -> RequestOut:
    """Add a lender by hand, at the end or at a position not yet asked (also one the builder excluded)."""
    service.add_rota_lender(
        session, request_id, body.isil, body.reason, body.position, principal, clock.now()
    )
    session.commit()
    return shaping.view(session, request_id, principal)


@router.get(
    "/{request_id}/messages",
    response_model=list[MessageOut],
    summary="Messages between the two libraries of a request",
)
def list_messages(request_id: RequestId, session: SessionDep, principal: PrincipalDep) -> list[MessageOut]:
    """The messages the caller's library sent or received on the request, oldest first, each with
    `read_at` (when the receiving library opened it). Staff of the borrowing library and of the
    lenders asked; 404 for anyone else. Reading here marks nothing read: opening the request's page does."""
    return [MessageOut.model_validate(m) for m in service.list_messages(session, request_id, principal)]


@router.post(
    "/{request_id}/messages",
    status_code=201,
    response_model=MessageOut,
    summary="Write to the other library of a request",
)
def post_message(
    request_id: RequestId,
    body: MessageIn,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    clock: ClockDep,
) -> MessageOut:
    """The borrowing library writes to the lender asked now, that lender to the borrowing library.
    With a bearer token, or with the session cookie and the page's CSRF token in `X-CSRF-Token`."""
    by_cookie = not request.headers.get("authorization") and request.cookies.get(SESSION_COOKIE)
    if by_cookie and not check_csrf(request):
        raise PermissionDenied(f"a request made with the session cookie must send the {CSRF_HEADER} header")
    message = service.post_message(session, request_id, principal, body.body, clock.now())
    session.commit()
    return MessageOut.model_validate(message)
