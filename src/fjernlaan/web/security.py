"""Security headers on every answer, the caller's address and scheme behind a trusted proxy.

Imports no area: this is part of the HTTP kit under every area's routes.
"""

from __future__ import annotations

from fastapi import Request
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The app serves its own scripts and styles (htmx is a vendored static file), so 'self' is enough;
# no inline script or style, no framing, forms post only to the hub.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
# FastAPI's /docs and /redoc pages load Swagger UI and ReDoc from a CDN with an inline bootstrap script.
API_DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "font-src 'self' https://fonts.gstatic.com; worker-src 'self' blob:; connect-src 'self'; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
)
_API_DOCS = frozenset({"/docs", "/redoc", "/docs/oauth2-redirect"})
HSTS = "max-age=31536000"


def security_headers(path: str, scheme: str) -> dict[str, str]:
    """The headers every answer carries (HSTS only over https)."""
    headers = {
        "Content-Security-Policy": API_DOCS_POLICY if path in _API_DOCS else CONTENT_SECURITY_POLICY,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    }
    if scheme == "https":
        headers["Strict-Transport-Security"] = HSTS
    return headers


class SecurityHeaders:
    """Pure ASGI middleware: adds :func:`security_headers` to every HTTP answer (errors, static
    files and the ISO 18626 endpoint included), keeping any a route set itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; add the headers to the start of its answer."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = security_headers(scope["path"], scope.get("scheme", "http"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in extra.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


def is_https(request: Request) -> bool:
    """Whether cookies set on this answer must be ``Secure``: the request came over https (directly,
    or per ``X-Forwarded-Proto`` from a trusted proxy), or the ``secure_cookies`` setting says so."""
    return request.url.scheme == "https" or bool(request.app.state.settings.secure_cookies)


def client_address(request: Request) -> str:
    """The caller's address (the proxy's ``X-Forwarded-For`` when the proxy is trusted)."""
    return request.client.host if request.client else "unknown"


def scope_client_address(scope: Scope) -> str:
    """:func:`client_address` for pure ASGI code."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"
