"""The accounts area's `PrincipalSource` for the HTTP kit: the principal behind a bearer token, a
login session or a patron session, and the automatic audit of writes.

The app factory sets `app.state.principals = PRINCIPALS`; `fjernlaan.web.deps` calls it, so the kit
never imports this area.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from fjernlaan.accounts import audit, service
from fjernlaan.identity import Actor, PatronPrincipal, Principal
from fjernlaan.web.deps import PrincipalSource


class AccountPrincipals:
    """Principals from the accounts tables (users, sessions, tokens, patrons)."""

    def cached_for_token(self, session: Session, token: str, now: datetime) -> Principal | None:
        """See :func:`fjernlaan.accounts.service.cached_principal_for_token`."""
        return service.cached_principal_for_token(session, token, now)

    def for_token(self, session: Session, token: str, now: datetime) -> Principal:
        """See :func:`fjernlaan.accounts.service.principal_for_token`."""
        return service.principal_for_token(session, token, now)

    def for_session(self, session: Session, session_id: str, now: datetime) -> Principal | None:
        """See :func:`fjernlaan.accounts.service.principal_for_session`."""
        return service.principal_for_session(session, session_id, now)

    def patron(self, session: Session, patron_id: int) -> PatronPrincipal | None:
        """See :func:`fjernlaan.accounts.service.patron_principal_by_id`."""
        return service.patron_principal_by_id(session, patron_id)

    def audit_writes(
        self,
        session: Session,
        actor: Actor,
        *,
        action: str,
        via: str,
        target: str | None,
        clock: Callable[[], datetime],
    ) -> None:
        """See :func:`fjernlaan.accounts.audit.watch_writes`."""
        audit.watch_writes(session, actor, action=action, via=via, target=target, clock=clock)


PRINCIPALS: PrincipalSource = AccountPrincipals()
