"""Errors every area raises; the web layer turns them into problem+json answers."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A rule of the domain was broken; the message says which, in words a user understands."""

    status = 422
    title = "Invalid input"

    def __init__(
        self, message: str, *, field: str | None = None, extra: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.extra = extra or {}


class NotFound(DomainError):
    """The thing asked for does not exist."""

    status = 404
    title = "Not found"


class Conflict(DomainError):
    """The request clashes with the current state (duplicate, illegal transition, lost race)."""

    status = 409
    title = "Conflict"


class PermissionDenied(DomainError):
    """The caller is known but may not do this."""

    status = 403
    title = "Forbidden"


class NotAuthenticated(DomainError):
    """The caller did not say who they are, or the credentials are wrong."""

    status = 401
    title = "Not authenticated"
