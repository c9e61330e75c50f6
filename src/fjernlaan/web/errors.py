"""Errors as RFC 9457 problem details (`application/problem+json`), never a bare 500 page."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from fjernlaan.errors import DomainError

PROBLEM = "application/problem+json"
log = logging.getLogger("fjernlaan.web")


def problem(status: int, title: str, detail: str, instance: str, **extra: Any) -> JSONResponse:
    """A problem+json response."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    body["instance"] = instance
    body.update({k: v for k, v in extra.items() if v is not None})
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    if status == 429 and isinstance(extra.get("retry_after"), int):
        headers["Retry-After"] = str(extra["retry_after"])
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


def install_error_handlers(app: FastAPI) -> None:
    """Turn domain errors, validation errors and crashes into problem+json answers."""

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return problem(exc.status, exc.title, exc.message, request.url.path, field=exc.field, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _field_errors(exc)
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return problem(422, "Invalid input", detail, request.url.path, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, str(exc.detail), str(exc.detail), request.url.path)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(
            500, "Internal error", "the hub hit an unexpected error; it is logged", request.url.path
        )
