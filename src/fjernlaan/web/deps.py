"""What every route needs: the database, the caller, paging."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Generic, Protocol, TypeVar

from fastapi import Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from pydantic import BaseModel
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from fjernlaan.clock import Clock
from fjernlaan.db.engine import read_only
from fjernlaan.db.uow import Database
from fjernlaan.errors import NotAuthenticated
from fjernlaan.identity import Actor, PatronPrincipal, Principal
from fjernlaan.limits import INT_MAX
from fjernlaan.settings import Settings
from fjernlaan.web.csrf import SESSION_COOKIE, require_csrf
from fjernlaan.web.ratelimit import RateLimiter

__all__ = ["SESSION_COOKIE", "PrincipalSource"]
_READ_ONLY_METHODS = frozenset({"GET", "HEAD"})
T = TypeVar("T")


class PrincipalSource(Protocol):
    """Where the kit finds who is calling, and how it audits what they write.

    The kit imports no area: the app factory puts the accounts area's implementation
    (`fjernlaan.accounts.principals.PRINCIPALS`) on `app.state.principals`, and the dependencies
    below call it.
    """

    def cached_for_token(self, session: Session, token: str, now: datetime) -> Principal | None:
        """The principal of a bearer token seen a moment ago, from memory (no I/O); None when it has
        to be looked up."""
        ...

    def for_token(self, session: Session, token: str, now: datetime) -> Principal:
        """The principal of a bearer token; NotAuthenticated for one that is unknown or no longer
        valid (this may write: the token's last use)."""
        ...

    def for_session(self, session: Session, session_id: str, now: datetime) -> Principal | None:
        """The user of a live login session (the session cookie's `sid`); None when it ended."""
        ...

    def patron(self, session: Session, patron_id: int) -> PatronPrincipal | None:
        """The patron of a patron session (the session cookie's `pid`); None when it ended."""
        ...

    def audit_writes(
        self,
        session: Session,
        actor: Actor,
        *,
        action: str,
        via: str,
        target: str | None,
        clock: Callable[[], datetime],
    ) -> None:
        """Give every transaction this session commits from now on an audit entry by ``actor``."""
        ...


def get_principals(request: Request) -> PrincipalSource:
    """The app's principal source (`app.state.principals`, set by the app factory)."""
    principals: PrincipalSource = request.app.state.principals
    return principals


def get_db(request: Request) -> Database:
    """The hub's database."""
    db: Database = request.app.state.db
    return db


def get_clock(request: Request) -> Clock:
    """The app's clock (`create_app(clock=...)`): every route takes its time from here."""
    clock: Clock = request.app.state.clock
    return clock


ClockDep = Annotated[Clock, Depends(get_clock)]


def get_settings(request: Request) -> Settings:
    """The settings the app was built with."""
    settings: Settings = request.app.state.settings
    return settings


async def unit_of_work(request: Request) -> AsyncIterator[Session]:
    """A session for the route.

    Routes that change data commit explicitly with `session.commit()` before they return, so a change
    is durable before the answer leaves; whatever is left uncommitted is rolled back.

    Opening a session does no I/O, so this runs on the event loop instead of taking two trips through
    the thread pool per request; only a session that still holds a transaction (a route that failed,
    or one that read after its commit) is rolled back and closed in the pool, because that talks to
    the database.
    """
    session = get_db(request)._sessions()
    try:
        yield session
    finally:
        if session.in_transaction():
            await run_in_threadpool(_rollback_and_close, session)
        else:
            session.close()


def _rollback_and_close(session: Session) -> None:
    try:
        session.rollback()
    finally:
        session.close()


def get_rate_limiter(request: Request) -> RateLimiter:
    """The app's rate limiter (counters in the storage the settings name)."""
    limiter: RateLimiter = request.app.state.rate_limiter
    return limiter


def session_serializer(settings: Settings) -> URLSafeTimedSerializer:
    """Signs and checks the UI's session cookie."""
    return URLSafeTimedSerializer(settings.secret_key, salt="fjernlaan-session")


def _principal_from_request(request: Request, session: Session) -> Principal | None:
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthenticated("use 'Authorization: Bearer <token>'")
        return get_principals(request).for_token(session, token.strip(), get_clock(request).now())
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        settings = get_settings(request)
        try:
            data = session_serializer(settings).loads(cookie, max_age=settings.session_max_age_seconds)
        except (BadSignature, SignatureExpired):
            return None
        # The cookie only names a server-side session: logout, expiry or deactivation end it there,
        # whatever the browser still holds.
        if isinstance(data, dict) and isinstance(data.get("sid"), str):
            return get_principals(request).for_session(session, data["sid"], get_clock(request).now())
    return None


def client_ip(request: Request) -> str | None:
    """The caller's address (the proxy's forwarded one when uvicorn trusts the proxy)."""
    return request.client.host if request.client else None


def _audit_writes(request: Request, session: Session, principal: Principal) -> None:
    # Every transaction a writing route commits gets its audit entry in that same transaction.
    endpoint = request.scope.get("endpoint")
    params = request.scope.get("path_params") or {}
    get_principals(request).audit_writes(
        session,
        Actor.of(principal, client_ip(request)),
        action=getattr(endpoint, "__name__", "api"),
        via=f"{request.method} {request.url.path}",
        target=" ".join(f"{k}={v}" for k, v in params.items()) or None,
        clock=get_clock(request).now,
    )


async def optional_principal(
    request: Request, session: Annotated[Session, Depends(unit_of_work)]
) -> Principal | None:
    """The caller, when they said who they are.

    A bearer token seen in the last few seconds is answered from the token cache on the event loop
    (no I/O). Anything else is looked up in the thread pool; that may write (a token's last use), so
    it commits. After that, a GET or HEAD route's unit of work only reads: on SQLite it then takes no
    write lock, so reads never queue behind writers.

    An unsafe API request that only the session cookie authenticates must carry the CSRF token
    (:func:`fjernlaan.web.csrf.require_csrf`); a bare cookie is refused with 403 before anything runs.
    Pages check the token of their forms themselves (``check_csrf``), so they can show a message.
    """
    if request.url.path.startswith("/api/"):
        await require_csrf(request)
    principal = _cached_principal(request, session)
    if principal is None:
        principal = await run_in_threadpool(_principal_and_commit, request, session)
    if request.method in _READ_ONLY_METHODS:
        _only_reads(session)
    elif principal is not None:
        _audit_writes(request, session, principal)
    return principal


def _only_reads(session: Session) -> None:
    # From here on the session's transactions only read: on SQLite they take no write lock.
    bind = session.get_bind()
    if isinstance(bind, Engine):
        session.bind = read_only(bind)


def _cached_principal(request: Request, session: Session) -> Principal | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return get_principals(request).cached_for_token(session, token.strip(), get_clock(request).now())


def _principal_and_commit(request: Request, session: Session) -> Principal | None:
    principal = _principal_from_request(request, session)
    session.commit()
    return principal


async def current_principal(
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> Principal:
    """The caller; 401 when anonymous."""
    if principal is None:
        raise NotAuthenticated("log in or send an API token (Authorization: Bearer …)")
    return principal


SessionDep = Annotated[Session, Depends(unit_of_work)]


def session_data(request: Request) -> dict[str, object] | None:
    """The signed session cookie's content, or None (absent, forged or expired)."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    settings = get_settings(request)
    try:
        data = session_serializer(settings).loads(cookie, max_age=settings.session_max_age_seconds)
    except (BadSignature, SignatureExpired):
        return None
    return data if isinstance(data, dict) else None


def _patron_and_finish(request: Request, session: Session) -> PatronPrincipal | None:
    data = session_data(request)
    patron_id = data.get("pid") if data else None
    patron = get_principals(request).patron(session, patron_id) if isinstance(patron_id, int) else None
    session.commit()
    return patron


async def optional_patron(
    request: Request, session: Annotated[Session, Depends(unit_of_work)]
) -> PatronPrincipal | None:
    """The patron of a patron session (card and PIN login), or None. A patron session is a session
    cookie with `pid` instead of a staff user's `uid`, so staff dependencies never see a patron."""
    patron = await run_in_threadpool(_patron_and_finish, request, session)
    if request.method in _READ_ONLY_METHODS:
        _only_reads(session)
    return patron


OptionalPatronDep = Annotated[PatronPrincipal | None, Depends(optional_patron)]


async def read_only_unit_of_work(session: SessionDep) -> Session:
    """The session of a route that only reads whoever calls it (SRU, for one): on SQLite it takes
    no write lock, so it neither queues behind writers nor holds others up while it reads."""
    _only_reads(session)
    return session


ReadOnlySessionDep = Annotated[Session, Depends(read_only_unit_of_work)]
PrincipalDep = Annotated[Principal, Depends(current_principal)]
OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]


@dataclass(frozen=True)
class PageParams:
    """`limit` (1-1,000) and `offset`, the same on every list in the API."""

    limit: int
    offset: int


def page_params(
    limit: Annotated[int, Query(ge=1, le=1000, description="items per page, at most 1,000")] = 100,
    offset: Annotated[int, Query(ge=0, le=INT_MAX, description="items to skip")] = 0,
) -> PageParams:
    """Paging parameters of a list route."""
    return PageParams(limit=limit, offset=offset)


PageDep = Annotated[PageParams, Depends(page_params)]


class Page(BaseModel, Generic[T]):
    """One page of a list."""

    items: list[T]
    total: int
    limit: int
    offset: int
