"""What an area hands the composition root (`fjernlaan.app`): one `Area` record, in `<area>/install.py`.

An area plugs in by being listed in `fjernlaan.app.areas.AREAS`, never by a side effect of importing a
module. The root includes the area's routers and middleware in the web app, runs its timers and jobs
and sends its outbox channels in the worker, and connects the hooks one area offers another (an
ISO 18626 message handler, a listener for applied lending actions, a count on the staff dashboard)
through named extension points, so neither area imports the other's wiring.

This module is kit: it names no area.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import ModuleType
from typing import Any, Protocol

from fastapi import APIRouter
from sqlalchemy.orm import Session
from starlette.types import ASGIApp

from fjernlaan.db.uow import Database
from fjernlaan.settings import Settings


class Sender(Protocol):
    """Delivers one outbox payload to its destination; raises on failure so the message is retried.

    ``db`` is for what the sender must read at sending time (a peer's current credentials, say), in a
    short unit of work of its own: the outbox row is not locked while the sender waits on the network.
    """

    def __call__(self, settings: Settings, payload: dict[str, Any], destination: str, db: Database) -> None:
        """Deliver ``payload`` to ``destination``."""


Timer = Callable[[Session, datetime], int]
"""Does one area's due work at the given clock inside a unit of work; returns how many things it did."""

Job = Callable[[Session, datetime, Settings], int]
"""A timer that also reads the hub's settings (the privacy erasure reads the retention period)."""


@dataclass(frozen=True, slots=True)
class Hook:
    """One area's contribution to an extension point another area (or the same one) offers: the root
    calls the point's function with ``args`` once per process, before serving or working."""

    point: str
    args: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Area:
    """Everything the composition root needs from one area."""

    name: str
    routers: tuple[APIRouter, ...] = ()
    #: ASGI middleware classes (added innermost, before the kit's own).
    middleware: tuple[Callable[[ASGIApp], ASGIApp], ...] = ()
    #: Run on every worker pass, in the order of their names across all areas.
    timers: Mapping[str, Timer] = field(default_factory=dict)
    #: Like timers, with the settings; run after every timer.
    jobs: Mapping[str, Job] = field(default_factory=dict)
    #: Outbox channel → the function that delivers its messages.
    senders: Mapping[str, Sender] = field(default_factory=dict)
    #: Extension points this area offers, by name (``"iso18626.handler"``): the function a hook's args go to.
    extension_points: Mapping[str, Callable[..., None]] = field(default_factory=dict)
    #: What this area plugs into extension points (its own or another area's).
    hooks: tuple[Hook, ...] = ()
    #: The module that defines the area's tables (imported so the metadata Alembic compares is whole).
    tables: ModuleType | None = None
