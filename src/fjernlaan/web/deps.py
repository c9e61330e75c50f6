"""What every route needs: the database, the caller, paging."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query, Request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from pydantic import BaseModel
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from fjernlaan.accounts.model import Principal
from fjernlaan.accounts.service import principal_by_id, principal_for_token
from fjernlaan.db.engine import read_only
from fjernlaan.db.uow import Database
from fjernlaan.errors import NotAuthenticated
from fjernlaan.settings import Settings

SESSION_COOKIE = "fjl_session"
_READ_ONLY_METHODS = frozenset({"GET", "HEAD"})
T = TypeVar("T")


def get_db(request: Request) -> Database:
    """The hub's database."""
    db: Database = request.app.state.db
    return db


def get_settings(request: Request) -> Settings:
    """The settings the app was built with."""
    settings: Settings = request.app.state.settings
    return settings


def unit_of_work(db: Annotated[Database, Depends(get_db)]) -> Iterator[Session]:
    """A session for the route.

    Routes that change data commit explicitly with `session.commit()` before they return, so a change
    is durable before the answer leaves; whatever is left uncommitted is rolled back.
    """
    session = db._sessions()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


def session_serializer(settings: Settings) -> URLSafeTimedSerializer:
    """Signs and checks the UI's session cookie."""
    return URLSafeTimedSerializer(settings.secret_key, salt="fjernlaan-session")


def _principal_from_request(request: Request, session: Session) -> Principal | None:
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthenticated("use 'Authorization: Bearer <token>'")
        return principal_for_token(session, token.strip())
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        settings = get_settings(request)
        try:
            data = session_serializer(settings).loads(cookie, max_age=settings.session_max_age_seconds)
        except (BadSignature, SignatureExpired):
            return None
        if isinstance(data, dict) and isinstance(data.get("uid"), int):
            return principal_by_id(session, data["uid"])
    return None


def optional_principal(
    request: Request, session: Annotated[Session, Depends(unit_of_work)]
) -> Principal | None:
    """The caller, when they said who they are.

    Finding the caller may write (a token's last use), so it commits first. After that, a GET or HEAD
    route's unit of work only reads: on SQLite it then takes no write lock, so reads never queue
    behind writers.
    """
    principal = _principal_from_request(request, session)
    session.commit()
    bind = session.get_bind()
    if request.method in _READ_ONLY_METHODS and isinstance(bind, Engine):
        session.bind = read_only(bind)
    return principal


def current_principal(
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> Principal:
    """The caller; 401 when anonymous."""
    if principal is None:
        raise NotAuthenticated("log in or send an API token (Authorization: Bearer …)")
    return principal


SessionDep = Annotated[Session, Depends(unit_of_work)]
PrincipalDep = Annotated[Principal, Depends(current_principal)]


@dataclass(frozen=True)
class PageParams:
    """`limit` (1-1,000) and `offset`, the same on every list in the API."""

    limit: int
    offset: int


def page_params(
    limit: Annotated[int, Query(ge=1, le=1000, description="items per page, at most 1,000")] = 100,
    offset: Annotated[int, Query(ge=0, description="items to skip")] = 0,
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
