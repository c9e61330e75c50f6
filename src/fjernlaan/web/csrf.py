"""Cross-site request forgery: one token, checked on every unsafe request that a cookie authenticates.

The token is an HMAC (keyed with ``secret_key``) of the caller's session cookie, or, before login, of a
random nonce in the ``fjl_csrf`` cookie. A page gets it as ``csrf_token`` in its template context and
sends it back either as the form field ``csrf_token`` or as the header ``X-CSRF-Token`` (htmx:
``hx-headers``). Binding it to the session means a cookie planted from a sibling host (which a plain
double-submit check would accept) is worth nothing: a token is valid only with the session it was made
for.

Requests with ``Authorization: Bearer`` carry no ambient authority and need no token. This module
imports no area.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from fastapi import Request

from fjernlaan.errors import PermissionDenied

SESSION_COOKIE = "fjl_session"
CSRF_COOKIE = "fjl_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


class CsrfFailed(PermissionDenied):
    """A cookie-authenticated unsafe request came without the right CSRF token."""

    title = "CSRF token missing or wrong"


def _secret(request: Request) -> bytes:
    return str(request.app.state.settings.secret_key).encode()


def _binding(request: Request) -> str | None:
    session = request.cookies.get(SESSION_COOKIE)
    if session:
        return "session|" + session
    nonce = request.cookies.get(CSRF_COOKIE)
    return "anonymous|" + nonce if nonce else None


def _mac(secret: bytes, binding: str) -> str:
    digest = hmac.new(secret, b"fjernlaan-csrf|" + binding.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def csrf_nonce(request: Request) -> str:
    """The value of the ``fjl_csrf`` cookie to (re)set on a page: the caller's own, or a new one."""
    return request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)


def csrf_token(request: Request, nonce: str | None = None) -> str:
    """The token for the caller's forms and htmx calls. ``nonce`` is the ``fjl_csrf`` cookie the
    response sets, for a caller who has none yet."""
    session = request.cookies.get(SESSION_COOKIE)
    binding = "session|" + session if session else "anonymous|" + (nonce or csrf_nonce(request))
    return _mac(_secret(request), binding)


def token_is_valid(request: Request, submitted: str | None) -> bool:
    """Whether ``submitted`` is the caller's CSRF token."""
    binding = _binding(request)
    if not submitted or binding is None:
        return False
    return hmac.compare_digest(_mac(_secret(request), binding), submitted.strip())


async def submitted_token(request: Request) -> str | None:
    """The token the request carries: the header, else the form field of a form body."""
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(_FORMS):
        form = await request.form()  # Starlette keeps it, so the route reads the same form again
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


def cookie_authenticated(request: Request) -> bool:
    """Whether the request would be authenticated by its session cookie (no Authorization header)."""
    return not request.headers.get("authorization") and bool(request.cookies.get(SESSION_COOKIE))


async def require_csrf(request: Request) -> None:
    """Dependency: refuse (403) an unsafe request that its session cookie authenticates unless it
    carries the CSRF token. Bearer-token and anonymous requests pass.

    Every route that identifies its caller through ``web.deps`` already runs this check; add it to a
    route or router of your own with ``dependencies=[Depends(require_csrf)]``.
    """
    if request.method in SAFE_METHODS or not cookie_authenticated(request):
        return
    if not token_is_valid(request, await submitted_token(request)):
        raise CsrfFailed(
            f"a request authenticated by the session cookie must carry the CSRF token (header "
            f"{CSRF_HEADER} or form field {CSRF_FIELD}); or use 'Authorization: Bearer <token>'"
        )
