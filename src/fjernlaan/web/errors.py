"""Errors as RFC 9457 problem details (`application/problem+json`), never a bare 500 page."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from fjernlaan.errors import DomainError
from fjernlaan.web.i18n import N_, gettext
from fjernlaan.web.kit import render, request_language

PROBLEM = "application/problem+json"
log = logging.getLogger("fjernlaan.web")


def problem(status: int, title: str, detail: str, instance: str, **extra: Any) -> JSONResponse:
    """A problem+json response."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    body["instance"] = instance
    body.update({k: v for k, v in extra.items() if v is not None})
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors = []
    for error in exc.errors():
        location = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path")]
        ctx = error.get("ctx") or {}
        message = str(ctx.get("error", "")) or error.get("msg", "invalid")
        if message.startswith("Value error, "):
            message = message.removeprefix("Value error, ")
        errors.append({"field": ".".join(location) or "body", "message": message, "type": error.get("type")})
    return errors


def wants_page(request: Request) -> bool:
    """True for a browser asking for a page (not the API, not a machine): it gets the HTML error page."""
    path = request.url.path
    if path.startswith(("/api/", "/sru", "/iso18626")) or request.headers.get("authorization"):
        return False
    return "text/html" in request.headers.get("accept", "")


def error_page(request: Request, status: int, detail: str | None = None) -> Response:
    """The error page in the kit's layout (message translated; no internals shown)."""
    lang = request_language(request)
    headings = {
        403: N_("You may not do this"),
        404: N_("The page was not found"),
        500: N_("Something went wrong"),
    }
    heading = gettext(headings.get(status, headings[500]), lang)
    message = detail or gettext(N_("Try again, or go back to the front page."), lang)
    return render(request, "error.html", None, status_code=status, heading=heading, message=message)


def install_error_handlers(app: FastAPI) -> None:
    """Turn domain errors, validation errors and crashes into problem+json answers."""

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        if wants_page(request) and exc.status in (403, 404):
            return error_page(request, exc.status)
        return problem(exc.status, exc.title, exc.message, request.url.path, field=exc.field, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _field_errors(exc)
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return problem(422, "Invalid input", detail, request.url.path, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if wants_page(request) and exc.status_code in (403, 404):
            return error_page(request, exc.status_code)
        return problem(exc.status_code, str(exc.detail), str(exc.detail), request.url.path)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        if wants_page(request):
            return error_page(request, 500)
        return problem(
            500, "Internal error", "the hub hit an unexpected error; it is logged", request.url.path
        )
