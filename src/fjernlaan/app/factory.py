"""The FastAPI application factory: the kit's middleware and pages around every area's routes."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from sqlalchemy import text
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from fjernlaan import __version__, web
from fjernlaan.accounts.principals import PRINCIPALS
from fjernlaan.app.areas import AREAS, install_areas
from fjernlaan.clock import SYSTEM_CLOCK, Clock
from fjernlaan.db.engine import make_engine
from fjernlaan.db.uow import Database
from fjernlaan.settings import Settings, get_settings
from fjernlaan.web.body_limit import BodyLimit
from fjernlaan.web.errors import install_error_handlers, problem
from fjernlaan.web.passwords import PasswordGate
from fjernlaan.web.ratelimit import RateLimiter
from fjernlaan.web.security import SecurityHeaders

log = logging.getLogger("fjernlaan")

STATIC = Path(web.__file__).parent / "static"


class Health(BaseModel):
    """What `/health` reports."""

    status: str
    database: str
    version: str


@asynccontextmanager
async def _frozen_heap(_app: FastAPI) -> AsyncIterator[None]:
    # Everything built before serving (modules, the app, its routes and models) lives as long as the
    # process. Without this, every full collection of the cyclic garbage collector walked all of it
    # again: 150-450 ms with the whole process stopped, every few seconds under load (the slowest 1 %
    # of answers). Frozen, those objects are left out of collections; garbage is still freed.
    gc.collect()
    gc.freeze()
    yield


def create_served_app() -> FastAPI:
    """The application as `fjernlaan serve` runs it in each server process: `create_app` whose
    startup moves everything built so far out of the garbage collector's way (`gc.freeze`). Only for
    a process that serves one app for its whole life: frozen objects are never collected as cycles."""
    return create_app(lifespan=_frozen_heap)


def create_app(
    settings: Settings | None = None,
    database: Database | None = None,
    *,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    """Build the hub's web application on the settings' database (or the one given); `lifespan`
    runs around serving (startup and shutdown). Every route takes the time from `clock` (the system
    clock unless a test gives a fixed one), through `app.state.clock` and `ClockDep`."""
    settings = settings or get_settings()
    install_areas()
    db = database or Database(make_engine(settings.database_url))
    app = FastAPI(
        title="fjernlaan",
        version=__version__,
        summary="Interlibrary-loan hub of a national library network",
        description=(
            "REST API of the hub. Authenticate with `Authorization: Bearer <token>` "
            "(`fjernlaan users token USER` prints one). Errors are RFC 9457 problem details. "
            "Lists take `limit` (1-1,000) and `offset`."
        ),
        docs_url="/docs",
        openapi_url="/openapi.json",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.clock = clock or SYSTEM_CLOCK
    app.state.principals = PRINCIPALS
    app.state.rate_limiter = RateLimiter(settings.rate_limit_storage_uri)
    app.state.password_gate = PasswordGate(settings.password_hash_threads, settings.password_hash_queue)
    install_error_handlers(app)

    @app.get("/health", response_model=Health, tags=["operations"], summary="Liveness and database check")
    def health() -> object:
        try:
            with db.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:  # any failure to reach the database means unhealthy
            log.warning("health check failed: %s", exc)
            return problem(503, "Unhealthy", f"database unreachable: {type(exc).__name__}", "/health")
        return Health(status="ok", database=db.dialect, version=__version__)

    for area in AREAS:
        for router in area.routers:
            app.include_router(router)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    for area in AREAS:
        for middleware in area.middleware:
            app.add_middleware(middleware)
    # Inside the header and proxy middleware (so a 413 carries the security headers), outside the
    # rest: bodies above the limit are refused with 413 before
    # any route (the ISO 18626 fast path included) reads them, so no one fills memory or the database
    # through a text field.
    app.add_middleware(BodyLimit, limit=settings.max_request_body_bytes)
    # Outermost: every answer gets the headers, and the trusted proxy's X-Forwarded-For/-Proto are
    # applied before anything reads the caller's address or scheme (rate limits, Secure cookies).
    app.add_middleware(SecurityHeaders)
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)  # type: ignore[arg-type]
    return app
