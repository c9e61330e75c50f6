"""Tables and queries of the ISO 18626 transport: peers' credentials and quirks, and the inbound log.

* :class:`PeerRow` — one per directory library that talks ISO 18626 to the hub: the credentials it
  presents (``accountId`` + ``securityCode`` and/or a bearer token, both stored only as hashes), the
  bearer token it gave us to present to it, and its quirks (:class:`~fjernlaan.iso18626.quirks.PeerProfile`).
* :class:`InboundMessageRow` — every message posted to ``/iso18626``, refused or not, with the exact
  confirmation bytes we answered. The ``dedupe_key`` (unique) is derived from the message's identity, so
  a peer's retry finds the first answer and gets it again byte for byte, and nothing is applied twice.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from fjernlaan.db.base import Base, UtcDateTime, utcnow
from fjernlaan.iso18626.model import Version
from fjernlaan.iso18626.quirks import Peer, PeerProfile

#: Bearer tokens we issue to peers carry this prefix, so a leaked one is recognisable in logs.
PEER_TOKEN_PREFIX = "fjlp_"


class PeerRow(Base):
    """A directory library that exchanges ISO 18626 messages with the hub."""

    __tablename__ = "iso18626_peers"

    library_isil: Mapped[str] = mapped_column(
        String(16), ForeignKey("libraries.isil", ondelete="CASCADE"), primary_key=True
    )
    account_id: Mapped[str | None] = mapped_column(String(200))
    # "salt$sha256hex"; see hash_secret for why a fast hash.
    security_code_hash: Mapped[str | None] = mapped_column(String(200))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    # The bearer token the peer issued to us, presented when we post to it. Unlike the credentials
    # above it cannot be a hash: we must send it. It is write-only in the API and the CLI.
    outbound_token: Mapped[str | None] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(16), default=Peer.GENERIC.value)
    unfilled_only_at_end_of_rota: Mapped[bool] = mapped_column(Boolean, default=False)
    version_override: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    @property
    def profile(self) -> PeerProfile:
        """The peer's quirks as the pure code sees them."""
        return PeerProfile(
            kind=Peer(self.kind),
            unfilled_only_at_end_of_rota=self.unfilled_only_at_end_of_rota,
            version_override=Version(self.version_override) if self.version_override else None,
        )


class InboundMessageRow(Base):
    """One message a peer (or anybody) posted to the endpoint, and what we answered."""

    __tablename__ = "iso18626_inbound"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    # The claimed sender as read from the message (not a foreign key: unknown senders are logged too).
    sender: Mapped[str | None] = mapped_column(String(200), index=True)
    kind: Mapped[str | None] = mapped_column(String(48))
    requesting_agency_request_id: Mapped[str | None] = mapped_column(String(200), index=True)
    # NULL for messages refused before the sender was authenticated: those are never deduplicated.
    dedupe_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    confirmation: Mapped[bytes] = mapped_column(LargeBinary, default=b"")
    message_status: Mapped[str] = mapped_column(String(8), default="ERROR")
    outcome: Mapped[str] = mapped_column(String(32), index=True)
    error_type: Mapped[str | None] = mapped_column(String(40))
    error_value: Mapped[str | None] = mapped_column(Text)
    times_received: Mapped[int] = mapped_column(Integer, default=1)
    last_received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class RequestLinkRow(Base):
    """An ILL request that a peer takes part in, and the ids both sides know it by.

    ``peer_role`` is ``requester`` when the peer borrows from the network (its request became ours) and
    ``supplier`` when the network borrows from it (one attempt of ours, at rota ``position``).
    ``our_agency_isil`` is who the hub is to the peer: the supplying agency the peer addressed, or the
    requesting agency we wrote in our request.
    """

    __tablename__ = "iso18626_links"
    __table_args__ = (UniqueConstraint("peer_isil", "peer_role", "requesting_agency_request_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("ill_requests.id", ondelete="CASCADE"), index=True
    )
    peer_isil: Mapped[str] = mapped_column(String(16))
    peer_role: Mapped[str] = mapped_column(String(16))
    requesting_agency_request_id: Mapped[str] = mapped_column(String(200))
    supplying_agency_request_id: Mapped[str | None] = mapped_column(String(200))
    our_agency_isil: Mapped[str] = mapped_column(String(16))
    position: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


# --------------------------------------------------------------------------------------------------
# Secrets
# --------------------------------------------------------------------------------------------------


def hash_token(token: str) -> str:
    """The stored form of a bearer token (256-bit random, so a plain SHA-256 is enough)."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_peer_token() -> str:
    """A fresh bearer token for a peer."""
    return PEER_TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str, salt: str | None = None) -> str:
    """The stored form of a security code: ``salt$sha256(salt + code)``.

    A fast salted hash rather than argon2: every inbound message carries the code, and at a national
    peak (100 messages a second) a deliberately slow hash would be most of the hub's CPU. Peers are told
    to use long random codes (docs/iso18626.md), which makes brute force pointless anyway.
    """
    salt = salt or secrets.token_hex(16)
    digest = hashlib.sha256((salt + secret).encode()).hexdigest()
    return f"{salt}${digest}"


def secret_matches(stored: str | None, presented: str | None) -> bool:
    """True when ``presented`` is the secret whose hash is ``stored`` (constant-time compare)."""
    if not stored or presented is None or "$" not in stored:
        return False
    salt, _, _ = stored.partition("$")
    return hmac.compare_digest(stored, hash_secret(presented, salt))


def token_matches(stored: str | None, presented: str | None) -> bool:
    """True when ``presented`` is the bearer token whose hash is ``stored``."""
    if not stored or not presented:
        return False
    return hmac.compare_digest(stored, hash_token(presented))


# --------------------------------------------------------------------------------------------------
# Queries
# --------------------------------------------------------------------------------------------------


def get_peer(session: Session, isil: str) -> PeerRow | None:
    """The peer row of a library, or None."""
    return session.get(PeerRow, isil)


def get_or_create_peer(session: Session, isil: str) -> PeerRow:
    """The peer row of a library, created with generic defaults when missing."""
    row = session.get(PeerRow, isil)
    if row is None:
        row = PeerRow(
            library_isil=isil,
            kind=Peer.GENERIC.value,
            unfilled_only_at_end_of_rota=False,
        )
        session.add(row)
        session.flush()
    return row


def inbound_by_key(session: Session, dedupe_key: str) -> InboundMessageRow | None:
    """The logged message with this identity, or None."""
    return session.scalar(select(InboundMessageRow).where(InboundMessageRow.dedupe_key == dedupe_key))


@dataclass(frozen=True, slots=True)
class PeerCredentials:
    """Which credentials are set for a peer (never the secrets themselves)."""

    account_id: str | None
    has_security_code: bool
    has_bearer_token: bool


def credentials_of(row: PeerRow) -> PeerCredentials:
    """What an admin may see of a peer's credentials."""
    return PeerCredentials(row.account_id, row.security_code_hash is not None, row.token_hash is not None)


def erase_inbound_bodies(session: Session, received_before: datetime) -> int:
    """Drop the raw bodies (which can hold patron data) of messages received before the given time.

    The identity, outcome and confirmation stay, so a very late retry is still answered the same way.
    Returns how many bodies were erased.
    """
    rows = session.scalars(
        select(InboundMessageRow).where(
            InboundMessageRow.received_at < received_before, InboundMessageRow.body.is_not(None)
        )
    ).all()
    for row in rows:
        row.body = None
    return len(rows)
