"""ISO 18626 peers: a directory library's peer settings (credentials, quirks, the version spoken),
as administrators set them and as the inbound path and the outbox read them (cached for a few seconds).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Final

from sqlalchemy.orm import Session

from fjernlaan.db.base import utcnow
from fjernlaan.directory import service as directory
from fjernlaan.directory.model import Iso18626Entry, normalise_isil
from fjernlaan.errors import DomainError, NotFound
from fjernlaan.iso18626.model import (
    Version,
)
from fjernlaan.iso18626.quirks import (
    Peer,
    PeerProfile,
)
from fjernlaan.iso18626.store import (
    get_or_create_peer,
    get_peer,
    hash_secret,
    hash_token,
    new_peer_token,
)
from fjernlaan.ttl_cache import TtlCache

# --------------------------------------------------------------------------------------------------
# Peer settings, cached
# --------------------------------------------------------------------------------------------------

#: How long a process reuses a peer's settings and credential hashes before reading them again.
PEER_CACHE_SECONDS: Final = 5.0


@dataclass(frozen=True, slots=True)
class PeerSettings:
    """What the inbound path and the outbox need of a peer: its directory entry's ISO 18626 fields,
    its credential hashes and its quirks (one query, then reused for :data:`PEER_CACHE_SECONDS`)."""

    isil: str
    active: bool
    endpoint: str | None
    directory_version: str | None
    account_id: str | None
    security_code_hash: str | None
    token_hash: str | None
    profile: PeerProfile

    @property
    def version(self) -> Version:
        """The version we speak to the peer: its override, else the directory's, else 2017."""
        if self.profile.version_override is not None:
            return self.profile.version_override
        return Version(self.directory_version) if self.directory_version else Version.V2017


# Peers' settings per database for a few seconds.
# Every inbound message names its sender, and at a peak most come from a handful of peers: reading
# the same two rows for each would be a third of the queries of a simple message. Changes made
# through :func:`set_peer` or :func:`issue_peer_token` clear the cache of this process at once;
# other server processes see them within PEER_CACHE_SECONDS (as with staff bearer tokens).
# Only peers are cached, never an unknown sender, so a new peer is recognised at once.
_peers: TtlCache[PeerSettings] = TtlCache(PEER_CACHE_SECONDS)


def clear_peer_cache() -> None:
    """Forget cached peer settings (done by set_peer and issue_peer_token; tests that change peer
    rows directly call it)."""
    _peers.clear()


def _db_key(session: Session) -> str:
    # Keyed by the connection pool, which an engine shares with its read-only variant (`read_only`):
    # a message's sender is identified through one and its answer queued through the other.
    engine = session.get_bind().engine
    return f"{id(engine.pool)}:{engine.url!r}"


def peer_settings(session: Session, isil: str) -> PeerSettings | None:
    """The settings of the peer with this (normalised) ISIL, or None when the library is not a peer."""
    key = (_db_key(session), isil)
    cached = _peers.get(key)
    if cached is not None:
        return cached
    row = get_peer(session, isil)
    if row is None:
        return None
    library = directory.iso18626_entry(session, isil)
    if library is None:  # pragma: no cover - a peer row refers to a directory library
        return None
    settings = PeerSettings(
        isil=isil,
        active=library.active,
        endpoint=library.endpoint,
        directory_version=library.version.value if library.version else None,
        account_id=row.account_id,
        security_code_hash=row.security_code_hash,
        token_hash=row.token_hash,
        profile=row.profile,
    )
    _peers.put(key, settings)
    return settings


# --------------------------------------------------------------------------------------------------
# Peers
# --------------------------------------------------------------------------------------------------


class _Keep(Enum):
    KEEP = "keep"


KEEP: Final = _Keep.KEEP
"""Leave this setting as it is (for :func:`set_peer`)."""


@dataclass(frozen=True, slots=True)
class PeerView:
    """A peer as an administrator sees it: whether credentials are set, never the secrets."""

    library_isil: str
    configured: bool
    endpoint: str | None
    directory_version: Version | None
    version: Version
    account_id: str | None
    has_security_code: bool
    has_bearer_token: bool
    has_outbound_token: bool
    profile: PeerProfile


def directory_entry(session: Session, isil: str) -> Iso18626Entry:
    """The directory's ISO 18626 fields of a library; NotFound when there is no library ``isil``."""
    key = normalise_isil(isil)
    library = directory.iso18626_entry(session, key)
    if library is None:
        raise NotFound(f"no library with ISIL {key}", field="isil")
    return library


def effective_version(library: Iso18626Entry, profile: PeerProfile) -> Version:
    """The version we speak to a peer: its override, else the directory's, else 2017."""
    if profile.version_override is not None:
        return profile.version_override
    if library.version:
        return Version(library.version.value)
    return Version.V2017


def peer_view(session: Session, isil: str) -> PeerView:
    """The peer settings of a directory library (defaults when none are set)."""
    library = directory_entry(session, isil)
    row = get_peer(session, library.isil)
    profile = row.profile if row else PeerProfile()
    return PeerView(
        library_isil=library.isil,
        configured=row is not None,
        endpoint=library.endpoint,
        directory_version=Version(library.version.value) if library.version else None,
        version=effective_version(library, profile),
        account_id=row.account_id if row else None,
        has_security_code=bool(row and row.security_code_hash),
        has_bearer_token=bool(row and row.token_hash),
        has_outbound_token=bool(row and row.outbound_token),
        profile=profile,
    )


def set_peer(
    session: Session,
    isil: str,
    *,
    account_id: str | _Keep | None = KEEP,
    security_code: str | _Keep | None = KEEP,
    kind: Peer | None = None,
    unfilled_only_at_end_of_rota: bool | None = None,
    version_override: Version | _Keep | None = KEEP,
    outbound_token: str | _Keep | None = KEEP,
    now: datetime | None = None,
) -> PeerView:
    """Create or change a library's peer settings; ``KEEP`` (or None for the flags) leaves a setting.

    ``now`` dates a new outbound token (the caller's clock; the wall clock when not given).

    ``security_code`` is stored hashed; None clears it. ``outbound_token`` is the bearer token the peer
    issued to us (see :func:`check_outbound_token`); None clears it, and the hub's
    ``iso18626_outbound_token`` setting is presented to this peer again.
    """
    library = directory_entry(session, isil)
    row = get_or_create_peer(session, library.isil)
    if not isinstance(account_id, _Keep):
        row.account_id = (account_id.strip() or None) if account_id else None
    if not isinstance(security_code, _Keep):
        if security_code is not None and len(security_code) < 8:
            raise DomainError("a securityCode needs at least 8 characters", field="security_code")
        row.security_code_hash = hash_secret(security_code) if security_code else None
    if kind is not None:
        row.kind = kind.value
    if unfilled_only_at_end_of_rota is not None:
        row.unfilled_only_at_end_of_rota = unfilled_only_at_end_of_rota
    if not isinstance(version_override, _Keep):
        row.version_override = version_override.value if version_override else None
    if not isinstance(outbound_token, _Keep):
        row.outbound_token = check_outbound_token(outbound_token) if outbound_token is not None else None
        row.outbound_token_set_at = (now or utcnow()) if outbound_token is not None else None
    session.flush()
    clear_peer_cache()
    return peer_view(session, library.isil)


#: RFC 6750's b64token: what a bearer token may hold, so it can travel in an HTTP header unchanged.
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
OUTBOUND_TOKEN_MAX = 500


def check_outbound_token(token: str) -> str:
    """The token a peer gave us, stripped of surrounding blanks; DomainError if it cannot be a bearer
    token (empty, too long, or with characters an HTTP Authorization header cannot carry)."""
    token = token.strip()
    if not token:
        raise DomainError(
            "the outbound token is empty (use null, or --clear, to remove it)", field="outbound_token"
        )
    if len(token) > OUTBOUND_TOKEN_MAX:
        raise DomainError(
            f"the outbound token has {len(token)} characters; at most {OUTBOUND_TOKEN_MAX}",
            field="outbound_token",
        )
    if not _B64TOKEN.fullmatch(token):
        raise DomainError(
            "the outbound token may hold only letters A-Z a-z, digits and - . _ ~ + / (then any '='): "
            "a bearer token as RFC 6750 defines it",
            field="outbound_token",
        )
    return token


def issue_peer_token(session: Session, isil: str) -> str:
    """A new bearer token for the peer (replacing any earlier one); only its hash is stored."""
    library = directory_entry(session, isil)
    row = get_or_create_peer(session, library.isil)
    token = new_peer_token()
    row.token_hash = hash_token(token)
    session.flush()
    clear_peer_cache()
    return token
