"""A limit on the size of request bodies, answered with a 413 problem+json before a route runs."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fjernlaan.web.errors import problem


class BodyTooLarge(HTTPException):
    """The request body is over the limit (an HTTPException, so FastAPI's body parser lets it pass
    to the problem+json handler instead of calling it a parse error)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than the hub's limit of {limit:,} bytes")


class BodyLimit:
    """Refuse request bodies above `limit` bytes: by their Content-Length at once, and while they are
    read when the length is not declared (chunked), so no route ever holds more than the limit."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the declared length, then count what is received."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            await self._refuse(scope, send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if started:
                raise
            await self._refuse(scope, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        detail = BodyTooLarge(self.limit).detail
        response = problem(413, "Content too large", detail, scope.get("path", ""))
        response.headers["Connection"] = "close"

        async def no_body() -> Message:
            return {"type": "http.disconnect"}

        await response(scope, no_body, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None
