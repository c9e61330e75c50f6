"""The automatic audit of API writes: every transaction a logged-in caller commits through a writing
route (POST, PUT, PATCH, DELETE) gets one audit entry, written in that same transaction, naming the
route, its path parameters and the rows it changed (table and key, never their contents, so the log
holds no patron data).

Use cases that write a more telling entry themselves (`service.audit`: logins, token revocations,
deactivations, erasure runs) mark the transaction, and the automatic entry is left out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from fjernlaan.accounts.model import Actor
from fjernlaan.accounts.service import AUDITED, audit
from fjernlaan.accounts.store import AuditRow

_WATCH = "fjernlaan.audit_watch"
_MAX_CHANGES = 50


@dataclass
class _Watch:
    actor: Actor
    action: str
    via: str
    target: str | None
    clock: Callable[[], datetime]
    changes: list[str] = field(default_factory=list)


def watch_writes(
    session: Session,
    actor: Actor,
    *,
    action: str,
    via: str,
    target: str | None,
    clock: Callable[[], datetime],
) -> None:
    """Audit every commit of this session from now on as ``action`` by ``actor``."""
    session.info[_WATCH] = _Watch(actor, action, via, target, clock)
    session.info.pop(AUDITED, None)


def _describe(obj: Any, verb: str) -> str | None:
    if isinstance(obj, AuditRow):
        return None
    table = getattr(obj, "__tablename__", type(obj).__name__)
    identity = inspect(obj).identity
    key = ",".join(str(part) for part in identity) if identity else "?"
    return f"{verb} {table}:{key}"


@event.listens_for(Session, "after_flush")
def _collect(session: Session, _context: object) -> None:
    watch: _Watch | None = session.info.get(_WATCH)
    if watch is None:
        return
    for verb, objects in (("add", session.new), ("change", session.dirty), ("delete", session.deleted)):
        for obj in objects:
            if verb == "change" and not session.is_modified(obj):
                continue
            described = _describe(obj, verb)
            if described is not None and len(watch.changes) < _MAX_CHANGES:
                watch.changes.append(described)


@event.listens_for(Session, "before_commit")
def _write_entry(session: Session) -> None:
    watch: _Watch | None = session.info.get(_WATCH)
    if watch is None:
        return
    session.flush()  # the changes of this transaction, collected above
    if session.info.get(AUDITED):
        return
    detail: dict[str, Any] = {"changes": list(watch.changes)}
    audit(
        session, watch.actor, watch.action, watch.clock(), target=watch.target, via=watch.via, detail=detail
    )


def _reset(session: Session) -> None:
    watch: _Watch | None = session.info.get(_WATCH)
    if watch is not None:
        watch.changes.clear()
    session.info.pop(AUDITED, None)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    _reset(session)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    _reset(session)
