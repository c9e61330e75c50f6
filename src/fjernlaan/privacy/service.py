"""Use cases of privacy: erase patrons' data the retention period after their requests end, and show
a patron everything the hub holds about them.

Erasure, per ended request past the retention period:

* the request is detached from its patron (`patron_id` NULL) and its free text scrubbed (citation
  notes, event reasons, conditions); states, libraries, dates and the patron category stay, so the
  statistics are the same before and after;
* every outbox message of the request (the patron's e-mails, ISO 18626 messages) loses its contents;
* the raw bodies of ISO 18626 messages about the request are dropped (a peer's request can name its
  patron), and so are bodies older than the retention period that belong to no request;
* a patron no request refers to any more is deleted.

It runs as the worker's daily job (`privacy.erase`) and as `fjernlaan privacy erase [--dry-run]`.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from fjernlaan.accounts import service as accounts
from fjernlaan.accounts.model import Actor, Patron, PatronPrincipal, Principal, require_staff_of
from fjernlaan.db import outbox
from fjernlaan.directory.model import normalise_isil
from fjernlaan.errors import NotFound
from fjernlaan.iso18626 import erasure as iso18626_erasure
from fjernlaan.lending import service as lending
from fjernlaan.privacy.model import ErasureReport, PersonalData, Scrubber, erasure_cutoff

log = logging.getLogger("fjernlaan.privacy")
BATCH = 200
WORKER = Actor(username="worker")


def _personal(patron: Patron) -> PersonalData:
    return PersonalData(name=patron.name, card_number=patron.card_number, email=patron.email)


def erase(
    session: Session,
    now: datetime,
    retention_days: int,
    *,
    dry_run: bool = False,
    actor: Actor = WORKER,
    via: str = "worker",
) -> ErasureReport:
    """Erase the personal data of every request that ended more than ``retention_days`` before
    ``now`` (see the module's docstring); with ``dry_run`` only count. The run is audited (a dry run
    too: someone looked), in the caller's transaction."""
    cutoff = erasure_cutoff(now, retention_days)
    report = _count(session, cutoff) if dry_run else _erase(session, now, cutoff)
    if dry_run or via != "worker" or report.requests or report.inbound_bodies or report.patrons:
        # Every run someone started, and every worker pass that erased something (not the idle ones).
        action = "privacy_erase_dry_run" if dry_run else "privacy_erase"
        accounts.audit(session, actor, action, now, via=via, detail=report.as_dict())
        # Counts only: the log never names a patron.
        log.info("privacy erasure%s: %s", " (dry run)" if dry_run else "", report.as_dict())
    return report


def _count(session: Session, cutoff: datetime) -> ErasureReport:
    requests, patron_ids = lending.count_ended_unerased(session, cutoff)
    ids = [r.id for r in lending.ended_unerased(session, cutoff, limit=10**9)]
    still_used = _patrons_kept(session, patron_ids, set(ids))
    messages = len(outbox.messages_with_prefix(session, [f"lending:{i}:" for i in ids]))
    bodies = iso18626_erasure.count_bodies(session, ids, cutoff)
    return ErasureReport(cutoff, True, requests, len(patron_ids - still_used), messages, bodies)


def _patrons_kept(session: Session, patron_ids: set[int], erased_requests: set[int]) -> set[int]:
    # A patron stays while a request outside this run still refers to them (an open one, say).
    return lending.patrons_with_requests(session, patron_ids, excluding=erased_requests)


def _erase(session: Session, now: datetime, cutoff: datetime) -> ErasureReport:
    requests = messages = bodies = 0
    touched_patrons: set[int] = set()
    while True:
        batch = lending.ended_unerased(session, cutoff, limit=BATCH)
        if not batch:
            break
        patron_ids = {r.patron_id for r in batch if r.patron_id is not None}
        touched_patrons |= patron_ids
        scrubber = Scrubber(_personal(p) for p in accounts.patrons_by_id(session, sorted(patron_ids)))
        ids = [r.id for r in batch]
        lending.anonymise(session, ids, scrubber, now)
        messages += outbox.erase_messages(session, [f"lending:{i}:" for i in ids], scrubber.plain, now)
        bodies += iso18626_erasure.erase_request_bodies(session, ids)
        requests += len(ids)
    bodies += iso18626_erasure.erase_unlinked_bodies(session, cutoff)
    orphans = touched_patrons - lending.patrons_with_requests(session, touched_patrons)
    patrons = accounts.delete_patrons(session, sorted(orphans))
    return ErasureReport(cutoff, False, requests, patrons, messages, bodies)


def patron_data(
    session: Session, principal: Principal, isil: str, card_number: str, retention_days: int
) -> dict[str, Any]:
    """Everything the hub holds about a patron, for the patron (through staff of their home library):
    the patron record, every request with its timeline, and the e-mails sent to them."""
    home = normalise_isil(isil)
    require_staff_of(principal, home)
    patron = accounts.find_patron(session, home, card_number)
    if patron is None:
        raise NotFound(f"no patron with card {card_number} at {home}", field="card_number")
    return _export(session, patron, retention_days)


class _PatronRecord(Protocol):
    """What the export reads of a stored patron (accounts' row, without importing accounts' store)."""

    id: int
    card_number: str
    name: str
    email: str | None
    category: str
    home_library_isil: str
    language: str
    created_at: datetime


def own_data(session: Session, patron: PatronPrincipal, retention_days: int) -> dict[str, Any]:
    """The same export for the logged-in patron themself: their own data and nobody else's (the
    patron is the session's; no card number is taken from the caller)."""
    known = accounts.get_patron(session, patron.patron_id)
    row = accounts.find_patron(session, known.home_library_isil, known.card_number) if known else None
    if row is None or row.id != patron.patron_id:
        raise NotFound("no such patron")
    return _export(session, row, retention_days)


def _export(session: Session, patron: _PatronRecord, retention_days: int) -> dict[str, Any]:
    requests = lending.requests_of_patron(session, patron.id)
    mails = outbox.messages_with_prefix(session, [f"lending:{r['id']}:patron:" for r in requests], "email")
    return {
        "patron": {
            "card_number": patron.card_number,
            "name": patron.name,
            "email": patron.email,
            "category": patron.category,
            "home_library": patron.home_library_isil,
            "language": patron.language,
            "registered_at": patron.created_at.isoformat(),
        },
        "requests": requests,
        "emails": [
            {
                "queued_at": m.created_at.isoformat(),
                "status": m.status,
                "sent_at": m.sent_at.isoformat() if m.sent_at else None,
                "to": m.destination,
                "subject": m.payload.get("subject") if isinstance(m.payload, dict) else None,
                "body": m.payload.get("body") if isinstance(m.payload, dict) else None,
            }
            for m in mails
        ],
        "retention": {
            "days": retention_days,
            "rule": "the patron's data is erased this many days after each request ends",
        },
    }
