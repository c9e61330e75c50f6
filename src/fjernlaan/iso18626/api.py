"""HTTP: the ISO 18626 endpoint peers post to, and the national admins' peer settings.

``POST /iso18626`` answers every message with its confirmation as ``application/xml`` and HTTP 200, OK
or ERROR alike; nothing a peer (or an attacker) sends makes it answer 500. A source address over its
rate limit (all messages, or messages refused before their sender was authenticated) gets 429 with
``Retry-After``, and its message is neither read nor logged.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from fjernlaan.accounts.model import require_role
from fjernlaan.db.uow import Database
from fjernlaan.iso18626 import inbound, peers
from fjernlaan.iso18626.model import ErrorType, Iso18626Error, Version
from fjernlaan.iso18626.quirks import Peer
from fjernlaan.iso18626.reader import sniff_message_kind
from fjernlaan.iso18626.writer import build_confirmation
from fjernlaan.settings import Settings
from fjernlaan.web.deps import ClockDep, PrincipalDep, SessionDep, get_clock
from fjernlaan.web.ratelimit import RateLimiter
from fjernlaan.web.security import client_address

log = logging.getLogger("fjernlaan.iso18626")

XML = "application/xml"
router = APIRouter(tags=["iso18626"])
peers_router = APIRouter(prefix="/api/v1/libraries", tags=["iso18626"])


# --------------------------------------------------------------------------------------------------
# The endpoint
# --------------------------------------------------------------------------------------------------


def _bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


async def _read_limited(request: Request, limit: int) -> tuple[bytes, bool]:
    """The body, and whether it was longer than ``limit`` (then only its start is kept)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return b"", True
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return b"".join(chunks)[:1024], True
        chunks.append(chunk)
    return b"".join(chunks), False


def _last_resort(now: datetime) -> bytes:
    try:
        exc = Iso18626Error(ErrorType.UNRECOGNISED_DATA_VALUE, "the hub could not process this message")
        return build_confirmation(exc, timestamp_received=now, timestamp=now)
    except Exception:  # building a fixed confirmation cannot really fail; never answer 500 anyway
        return b'<?xml version="1.0" encoding="UTF-8"?>\n<ISO18626Message/>'


#: Outcomes of messages refused before their sender was authenticated: these count against the
#: source's refused-message limit.
REFUSED_UNAUTHENTICATED = frozenset(
    {inbound.Outcome.INVALID, inbound.Outcome.UNKNOWN_SENDER, inbound.Outcome.UNAUTHENTICATED}
)


def _answer(
    db: Database,
    settings: Settings,
    body: bytes,
    oversize: bool,
    bearer: str | None,
    content_type: str,
    now: datetime,
) -> tuple[bytes, inbound.Outcome]:
    limit = settings.iso18626_max_bytes
    log_bytes = settings.iso18626_unauthenticated_log_bytes
    try:
        with db.unit_of_work() as session:
            if oversize:
                exc = Iso18626Error(
                    ErrorType.BADLY_FORMED_MESSAGE,
                    f"message is more than the limit of {limit} bytes",
                    sniff_message_kind(body),
                )
                refused = inbound.refuse(session, body, exc, now, log_bytes)
                return refused.confirmation, refused.outcome
            reception = inbound.receive(
                session,
                body,
                bearer_token=bearer,
                now=now,
                max_bytes=limit,
                content_type=content_type,
                refused_log_bytes=log_bytes,
            )
            return reception.confirmation, reception.outcome
    except Exception:  # the transaction was rolled back; the peer gets ERROR and may send again
        log.exception("ISO 18626 message could not be processed")
    try:
        confirmation = inbound.internal_error_confirmation(body, now)
    except Exception:
        return _last_resort(now), inbound.Outcome.INTERNAL_ERROR
    try:
        with db.unit_of_work() as session:
            inbound.log_internal_error(session, body, confirmation, now, limit)
    except Exception:
        log.exception("could not log the failed ISO 18626 message")
    return confirmation, inbound.Outcome.INTERNAL_ERROR


def _rate_limited(request: Request, settings: Settings) -> int | None:
    """Seconds the source must wait, or None: every message counts against the source's limit, and
    a source whose messages were refused unauthenticated too often is not heard until it has room."""
    limiter: RateLimiter = request.app.state.rate_limiter
    source = client_address(request)
    wait = limiter.hit(settings.iso18626_rate_limit_per_address, "iso18626", source)
    if wait is None:
        wait = limiter.check(settings.iso18626_refused_rate_limit_per_address, "iso18626-refused", source)
    return wait


@router.post(
    "/iso18626",
    response_class=Response,
    summary="ISO 18626 endpoint for peers (answers every message with its confirmation)",
    responses={200: {"content": {XML: {}}, "description": "the confirmation, messageStatus OK or ERROR"}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {XML: {"schema": {"type": "string"}}, "text/xml": {"schema": {"type": "string"}}},
        }
    },
)
async def iso18626_endpoint(request: Request) -> Response:
    """Take one ISO 18626 message (``text/xml`` or ``application/xml``) from a peer.

    Peers authenticate with ``Authorization: Bearer <token>`` or with requestingAgencyAuthentication
    (accountId, securityCode) in the message header.
    """
    now = get_clock(request).now()
    settings: Settings = request.app.state.settings
    db: Database = request.app.state.db
    wait = _rate_limited(request, settings)
    if wait is not None:
        return Response(
            content=f"too many messages from this address; try again in {wait} s\n",
            status_code=429,
            media_type="text/plain",
            headers={"Retry-After": str(wait)},
        )
    try:
        body, oversize = await _read_limited(request, settings.iso18626_max_bytes)
    except Exception:  # a client that hangs up mid-body; answer anyway
        body, oversize = b"", False
    bearer = _bearer(request.headers.get("authorization"))
    content_type = request.headers.get("content-type", "")
    confirmation, outcome = await run_in_threadpool(
        _answer, db, settings, body, oversize, bearer, content_type, now
    )
    if outcome in REFUSED_UNAUTHENTICATED:
        limiter: RateLimiter = request.app.state.rate_limiter
        limiter.hit(
            settings.iso18626_refused_rate_limit_per_address, "iso18626-refused", client_address(request)
        )
    return Response(content=confirmation, media_type=XML)


class FastIso18626:
    """Pure ASGI middleware that answers ``POST /iso18626`` itself, before FastAPI's routing.

    The endpoint is the hub's busiest and needs nothing of the framework (no dependencies, no
    validation, no JSON): going through FastAPI's exception, exit-stack and routing layers for every
    message cost more CPU than parsing it. The answer is the route's own (:func:`_answer`); the route
    stays for the OpenAPI description and for an app built without this middleware.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer POST /iso18626; pass everything else on."""
        if scope["type"] != "http" or scope["path"] != "/iso18626" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        response = await iso18626_endpoint(Request(scope, receive))
        await response(scope, receive, send)


# --------------------------------------------------------------------------------------------------
# Peer settings (national admins)
# --------------------------------------------------------------------------------------------------


class PeerOut(BaseModel):
    """A library's ISO 18626 peer settings; credentials show only whether they are set."""

    library_isil: str
    configured: bool
    endpoint: str | None
    directory_version: Version | None
    version: Version = Field(description="the version the hub speaks to this peer")
    account_id: str | None
    has_security_code: bool
    has_bearer_token: bool
    has_outbound_token: bool = Field(
        description="whether the peer gave us a bearer token of its own to present when we post to it"
    )
    kind: Peer
    unfilled_only_at_end_of_rota: bool
    version_override: Version | None


PeerIsil = Annotated[str, Path(max_length=16, description="the peer library's ISIL")]


class PeerIn(BaseModel):
    """New peer settings. ``account_id``, ``security_code`` and ``outbound_token`` change only when
    present (null clears); the security code and the outbound token are write-only."""

    model_config = ConfigDict(extra="forbid")

    account_id: Annotated[str | None, Field(max_length=200)] = None
    security_code: Annotated[str | None, Field(min_length=8, max_length=200)] = None
    outbound_token: str | None = Field(
        default=None,
        max_length=500,
        description=(
            "the bearer token this peer issued to us, presented as 'Authorization: Bearer …' on every "
            "message we post to it; without one the hub's FJERNLAAN_ISO18626_OUTBOUND_TOKEN is presented"
        ),
    )
    kind: Peer = Peer.GENERIC
    unfilled_only_at_end_of_rota: bool = False
    version_override: Version | None = None


class PeerToken(BaseModel):
    """A new bearer token for a peer, shown this once."""

    library_isil: str
    token: str


def peer_out(view: peers.PeerView) -> PeerOut:
    """The API view of a peer."""
    return PeerOut(
        library_isil=view.library_isil,
        configured=view.configured,
        endpoint=view.endpoint,
        directory_version=view.directory_version,
        version=view.version,
        account_id=view.account_id,
        has_security_code=view.has_security_code,
        has_bearer_token=view.has_bearer_token,
        has_outbound_token=view.has_outbound_token,
        kind=view.profile.kind,
        unfilled_only_at_end_of_rota=view.profile.unfilled_only_at_end_of_rota,
        version_override=view.profile.version_override,
    )


@peers_router.get(
    "/{isil}/iso18626-peer",
    response_model=PeerOut,
    summary="A library's ISO 18626 peer settings (national admin)",
)
def get_peer(isil: PeerIsil, session: SessionDep, principal: PrincipalDep) -> PeerOut:
    require_role(principal)
    return peer_out(peers.peer_view(session, isil))


@peers_router.put(
    "/{isil}/iso18626-peer",
    response_model=PeerOut,
    summary="Set a library's ISO 18626 peer settings (national admin)",
)
def put_peer(
    isil: PeerIsil, body: PeerIn, session: SessionDep, principal: PrincipalDep, clock: ClockDep
) -> PeerOut:
    require_role(principal)
    given = body.model_fields_set
    view = peers.set_peer(
        session,
        isil,
        account_id=body.account_id if "account_id" in given else peers.KEEP,
        security_code=body.security_code if "security_code" in given else peers.KEEP,
        kind=body.kind,
        unfilled_only_at_end_of_rota=body.unfilled_only_at_end_of_rota,
        version_override=body.version_override,
        outbound_token=body.outbound_token if "outbound_token" in given else peers.KEEP,
        now=clock.now(),
    )
    session.commit()
    return peer_out(view)


@peers_router.post(
    "/{isil}/iso18626-peer/token",
    response_model=PeerToken,
    status_code=201,
    summary="Issue a new bearer token for a peer, replacing the old one (national admin)",
)
def new_peer_token(isil: PeerIsil, session: SessionDep, principal: PrincipalDep) -> PeerToken:
    require_role(principal)
    token = peers.issue_peer_token(session, isil)
    view = peers.peer_view(session, isil)
    session.commit()
    return PeerToken(library_isil=view.library_isil, token=token)
