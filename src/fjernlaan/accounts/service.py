"""Use cases of accounts: users, passwords (argon2id), login sessions, API tokens, the audit log,
patrons."""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from datetime import datetime, timedelta
from typing import Any, cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import BaseModel, ConfigDict, EmailStr, Field
from sqlalchemy import Table, bindparam, func, select
from sqlalchemy.orm import Session

from fjernlaan.accounts.model import (
    Actor,
    AuditEntry,
    Patron,
    PatronCategory,
    PatronPrincipal,
    Principal,
    Role,
    TokenInfo,
    UserSummary,
    check_new_user,
    check_pin,
)
from fjernlaan.accounts.store import ApiTokenRow, AuditRow, PatronRow, UserRow, UserSessionRow
from fjernlaan.clock import SYSTEM_CLOCK
from fjernlaan.directory.model import normalise_isil
from fjernlaan.directory.service import library_exists
from fjernlaan.errors import Conflict, DomainError, NotAuthenticated, NotFound
from fjernlaan.fields import CardNumber, Isil, Name

_hasher = PasswordHasher()  # argon2id with the library's recommended parameters
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
TOKEN_PREFIX = "fjl_"


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    if len(password) < 8:
        raise DomainError("a password needs at least 8 characters", field="password")
    return _hasher.hash(password)


def _principal(user: UserRow) -> Principal:
    return Principal(
        user_id=user.id, username=user.username, role=Role(user.role), library_isil=user.library_isil
    )


def add_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: Role,
    library_isil: str | None = None,
    display_name: str = "",
    email: str | None = None,
) -> Principal:
    """Create a user; the username must be new and the library must exist."""
    if not _USERNAME.match(username):
        raise DomainError(
            "a username is 2-64 characters: lower-case letters, digits, '.', '_' or '-'", field="username"
        )
    isil = normalise_isil(library_isil) if library_isil else None
    check_new_user(role, isil)
    if isil and not library_exists(session, isil):
        raise NotFound(f"no library with ISIL {isil}", field="library")
    if session.scalar(select(UserRow).where(UserRow.username == username)) is not None:
        raise Conflict(f"the username {username!r} is taken", field="username")
    user = UserRow(
        username=username,
        password_hash=hash_password(password),
        role=role.value,
        library_isil=isil,
        display_name=display_name or username,
        email=email,
    )
    session.add(user)
    session.flush()
    return _principal(user)


def user_exists(session: Session, user_id: int) -> bool:
    """True when a user has this id."""
    return session.get(UserRow, user_id) is not None


def find_user(session: Session, username: str) -> UserRow | None:
    """The user with this name, or None."""
    return session.scalar(select(UserRow).where(UserRow.username == username))


def authenticate(session: Session, username: str, password: str) -> Principal:
    """The principal for a correct username and password; NotAuthenticated otherwise."""
    user = find_user(session, username)
    if user is None or not user.active:
        # Hash anyway so a wrong username takes as long as a wrong password.
        _hasher.hash(password or "x")
        raise NotAuthenticated("wrong username or password")
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError) as exc:
        raise NotAuthenticated("wrong username or password") from exc
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return _principal(user)


def principal_by_id(session: Session, user_id: int) -> Principal | None:
    """The active user with this id, as a principal."""
    user = session.get(UserRow, user_id)
    if user is None or not user.active:
        return None
    return _principal(user)


def _token_hash(token: str) -> str:
    # Tokens are 256-bit random, so a fast hash is enough: nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()


DEFAULT_TOKEN_DAYS = 365


def issue_token(
    session: Session,
    username: str,
    label: str = "",
    *,
    now: datetime | None = None,
    days: int = DEFAULT_TOKEN_DAYS,
) -> str:
    """A new bearer token for the user, valid for ``days`` from ``now`` (default: the wall clock);
    only its hash is stored, so it is shown this once."""
    user = find_user(session, username)
    if user is None:
        raise NotFound(f"no user {username!r}", field="username")
    if not user.active:
        raise Conflict(f"{username} is deactivated", field="username")
    if not 1 <= days <= 3650:
        raise DomainError("a token lives 1 to 3,650 days", field="days")
    now = now or SYSTEM_CLOCK.now()
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiTokenRow(
            user_id=user.id,
            token_hash=_token_hash(token),
            label=label,
            created_at=now,
            expires_at=now + timedelta(days=days),
            revoked=False,
        )
    )
    session.flush()
    return token


# Every API call resolves its bearer token; the answer is reused for a few seconds so a busy client
# costs no query (and, on SQLite, no transaction) per call. Revoking a token through `revoke_token`
# forgets it at once in this process; other server processes notice within TOKEN_CACHE_SECONDS.
TOKEN_CACHE_SECONDS = 5.0
_TOKEN_CACHE_MAX = 10_000
_token_lock = threading.Lock()
_token_cache: dict[tuple[str, str], tuple[float, Principal, datetime | None]] = {}


def _bind_key(session: Session) -> str:
    bind = session.get_bind()
    return f"{id(bind)}:{bind.engine.url!r}"


def clear_token_cache() -> None:
    """Forget every cached token (tests that change users or tokens behind the service's back)."""
    with _token_lock:
        _token_cache.clear()


def _forget_user(user_id: int) -> None:
    # A deactivated user's tokens stop working in this process at once (the others: see above).
    with _token_lock:
        for key in [k for k, v in _token_cache.items() if v[1].user_id == user_id]:
            del _token_cache[key]


def cached_principal_for_token(session: Session, token: str, now: datetime) -> Principal | None:
    """The principal of a bearer token checked in the last TOKEN_CACHE_SECONDS, from memory (no I/O);
    None when it has to be looked up (or has expired since)."""
    key = (_bind_key(session), _token_hash(token))
    with _token_lock:
        hit = _token_cache.get(key)
    if hit is None or time.monotonic() - hit[0] >= TOKEN_CACHE_SECONDS:
        return None
    expires_at = hit[2]
    if expires_at is not None and now >= expires_at:
        return None
    return hit[1]


def principal_for_token(session: Session, token: str, now: datetime) -> Principal:
    """The principal a bearer token belongs to; NotAuthenticated for an unknown, revoked or expired
    one, or one whose user is deactivated. `now` dates the token's last use and checks its expiry."""
    cached = cached_principal_for_token(session, token, now)
    if cached is not None:
        return cached
    digest = _token_hash(token)
    key = (_bind_key(session), digest)
    now_mono = time.monotonic()
    row = session.scalar(select(ApiTokenRow).where(ApiTokenRow.token_hash == digest))
    if row is None or row.revoked:
        raise NotAuthenticated("unknown or revoked API token")
    if row.expires_at is not None and now >= row.expires_at:
        raise NotAuthenticated("this API token has expired")
    user = session.get(UserRow, row.user_id)
    if user is None or not user.active:
        raise NotAuthenticated("the token's user is deactivated")
    # Record use at most every ten minutes so reads do not turn into writes on every call.
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=10):
        row.last_used_at = now
    principal = _principal(user)
    with _token_lock:
        if len(_token_cache) >= _TOKEN_CACHE_MAX:
            _token_cache.clear()  # only valid tokens are cached, so this is rare; start afresh
        _token_cache[key] = (now_mono, principal, row.expires_at)
    return principal


def revoke_token(session: Session, token: str) -> None:
    """Revoke a bearer token: it stops working at once (other processes: within the cache time)."""
    digest = _token_hash(token)
    row = session.scalar(select(ApiTokenRow).where(ApiTokenRow.token_hash == digest))
    if row is None:
        raise NotFound("no such API token", field="token")
    _revoke(session, row)


def _revoke(session: Session, row: ApiTokenRow) -> None:
    row.revoked = True
    session.flush()
    with _token_lock:
        # Every engine of this process that cached the token forgets it (a key's engine id may even
        # have been reused by another engine since).
        for key in [key for key in _token_cache if key[1] == row.token_hash]:
            del _token_cache[key]


def _user(session: Session, username: str) -> UserRow:
    user = find_user(session, username)
    if user is None:
        raise NotFound(f"no user {username!r}", field="username")
    return user


def user_principal(session: Session, username: str) -> Principal:
    """A user (active or not) by name, as a principal; NotFound when there is none."""
    return _principal(_user(session, username))


def list_tokens(session: Session, username: str) -> list[TokenInfo]:
    """Every token of a user, newest first, revoked and expired ones included."""
    user = _user(session, username)
    rows = session.scalars(
        select(ApiTokenRow).where(ApiTokenRow.user_id == user.id).order_by(ApiTokenRow.id.desc())
    ).all()
    return [
        TokenInfo(
            id=row.id,
            username=user.username,
            label=row.label,
            created_at=row.created_at,
            expires_at=row.expires_at,
            last_used_at=row.last_used_at,
            revoked=row.revoked,
        )
        for row in rows
    ]


def revoke_token_id(session: Session, username: str, token_id: int) -> None:
    """Revoke one of a user's tokens by its id (as `list_tokens` shows it)."""
    user = _user(session, username)
    row = session.get(ApiTokenRow, token_id)
    if row is None or row.user_id != user.id:
        raise NotFound(f"{username} has no token {token_id}", field="token_id")
    _revoke(session, row)


def revoke_all_tokens(session: Session, username: str) -> int:
    """Revoke every token of a user; returns how many were still unrevoked."""
    user = _user(session, username)
    rows = session.scalars(
        select(ApiTokenRow).where(ApiTokenRow.user_id == user.id, ApiTokenRow.revoked.is_(False))
    ).all()
    for row in rows:
        _revoke(session, row)
    return len(rows)


def set_active(session: Session, username: str, active: bool, now: datetime) -> Principal:
    """Deactivate (or reactivate) a user. Deactivating ends their login sessions at once, and their
    tokens stop working (they are refused while the user is inactive, and forgotten by the cache)."""
    user = _user(session, username)
    user.active = active
    session.flush()
    if not active:
        end_all_sessions(session, user.id, now)
        _forget_user(user.id)
    return _principal(user)


# --------------------------------------------------------------------------------------------------
# Login sessions: the cookie holds a random id; the server keeps its hash, expiry and end.
# --------------------------------------------------------------------------------------------------


def start_session(
    session: Session,
    principal: Principal,
    now: datetime,
    max_age_seconds: int,
    *,
    ip: str | None = None,
    user_agent: str | None = None,
) -> str:
    """A new login session for the user; returns the id the cookie carries (only its hash is stored)."""
    raw = secrets.token_urlsafe(32)
    session.add(
        UserSessionRow(
            session_hash=_token_hash(raw),
            user_id=principal.user_id,
            created_at=now,
            expires_at=now + timedelta(seconds=max_age_seconds),
            ip=(ip or None) and ip[:64],
            user_agent=(user_agent or None) and user_agent[:200],
        )
    )
    session.flush()
    return raw


def principal_for_session(session: Session, session_id: str, now: datetime) -> Principal | None:
    """The user of a live login session: None when it ended (logout, deactivation) or expired."""
    row = session.scalar(select(UserSessionRow).where(UserSessionRow.session_hash == _token_hash(session_id)))
    if row is None or row.ended_at is not None or now >= row.expires_at:
        return None
    return principal_by_id(session, row.user_id)


def end_session(session: Session, session_id: str, now: datetime) -> Principal | None:
    """End a login session (logout); returns whose it was, or None when it was not live."""
    row = session.scalar(select(UserSessionRow).where(UserSessionRow.session_hash == _token_hash(session_id)))
    if row is None or row.ended_at is not None:
        return None
    row.ended_at = now
    session.flush()
    user = session.get(UserRow, row.user_id)
    return _principal(user) if user is not None else None


def end_all_sessions(session: Session, user_id: int, now: datetime) -> int:
    """End every live login session of a user; returns how many."""
    rows = session.scalars(
        select(UserSessionRow).where(UserSessionRow.user_id == user_id, UserSessionRow.ended_at.is_(None))
    ).all()
    for row in rows:
        row.ended_at = now
    session.flush()
    return len(rows)


# --------------------------------------------------------------------------------------------------
# The audit log
# --------------------------------------------------------------------------------------------------


def audit(
    session: Session,
    actor: Actor,
    action: str,
    now: datetime,
    *,
    target: str | None = None,
    via: str = "",
    detail: dict[str, Any] | None = None,
) -> None:
    """Write one audit entry in the caller's transaction (so it commits or rolls back with the action)."""
    session.add(
        AuditRow(
            at=now,
            user_id=actor.user_id,
            username=actor.username[:64],
            role=actor.role,
            library_isil=actor.library_isil,
            ip=actor.ip[:64] if actor.ip else None,
            action=action[:64],
            target=target[:200] if target else None,
            via=via[:200],
            detail=detail or {},
        )
    )
    mark_audited(session)
    session.flush()


AUDITED = "fjernlaan.audited"


def mark_audited(session: Session) -> None:
    """Tell the automatic audit of API writes that this transaction has its entry already."""
    session.info[AUDITED] = True


def list_audit(
    session: Session,
    *,
    limit: int = 100,
    offset: int = 0,
    library_isil: str | None = None,
    username: str | None = None,
    action: str | None = None,
) -> tuple[list[AuditEntry], int]:
    """Audit entries, newest first, optionally of one library's users, one user or one action."""
    query = select(AuditRow)
    if library_isil is not None:
        query = query.where(AuditRow.library_isil == normalise_isil(library_isil))
    if username is not None:
        query = query.where(AuditRow.username == username)
    if action is not None:
        query = query.where(AuditRow.action == action)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(AuditRow.id.desc()).limit(limit).offset(offset)).all()
    entries = [
        AuditEntry(
            id=row.id,
            at=row.at,
            username=row.username,
            user_id=row.user_id,
            role=row.role,
            library_isil=row.library_isil,
            ip=row.ip,
            action=row.action,
            target=row.target,
            via=row.via,
            detail=dict(row.detail or {}),
        )
        for row in rows
    ]
    return entries, total


class PatronIn(BaseModel):
    """A patron to register at their home library."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    card_number: CardNumber
    name: Name
    email: EmailStr | None = None
    category: PatronCategory = PatronCategory.ADULT
    home_library: Isil
    language: str = Field(default="da", pattern="^(da|en)$", max_length=2)


def add_patron(session: Session, data: PatronIn) -> PatronRow:
    """Register a patron; the card number is unique within the home library."""
    isil = normalise_isil(data.home_library)
    if not library_exists(session, isil):
        raise NotFound(f"no library with ISIL {isil}", field="home_library")
    clash = session.scalar(
        select(PatronRow).where(
            PatronRow.home_library_isil == isil, PatronRow.card_number == data.card_number
        )
    )
    if clash is not None:
        raise Conflict(f"card {data.card_number} is already registered at {isil}", field="card_number")
    row = PatronRow(
        card_number=data.card_number,
        name=data.name,
        email=data.email,
        category=data.category.value,
        home_library_isil=isil,
        language=data.language,
    )
    session.add(row)
    session.flush()
    return row


_PATRONS = cast(Table, PatronRow.__table__)
# Placing a request reads its patron every time: plain values from a statement built once.
_PATRON_BY_ID = select(*(_PATRONS.c[name] for name in Patron.__dataclass_fields__)).where(
    _PATRONS.c.id == bindparam("id")
)


def get_patron(session: Session, patron_id: int) -> Patron | None:
    """The patron with this id, or None."""
    row = session.execute(_PATRON_BY_ID, {"id": patron_id}).first()
    return Patron(*row) if row is not None else None


def find_patron(session: Session, home_library: str, card_number: str) -> PatronRow | None:
    """The patron with this card at this library, or None."""
    return session.scalar(
        select(PatronRow).where(
            PatronRow.home_library_isil == normalise_isil(home_library), PatronRow.card_number == card_number
        )
    )


def patron_with_card(session: Session, home_library: str, card_number: str) -> Patron | None:
    """The patron with this card at this library, as a domain value (what other areas need), or None."""
    row = find_patron(session, home_library, card_number)
    if row is None:
        return None
    return Patron(*(getattr(row, name) for name in Patron.__dataclass_fields__))


def patrons_by_id(session: Session, patron_ids: list[int]) -> list[Patron]:
    """The patrons with these ids (the ones that exist)."""
    if not patron_ids:
        return []
    rows = session.execute(
        select(*(_PATRONS.c[name] for name in Patron.__dataclass_fields__)).where(
            _PATRONS.c.id.in_(patron_ids)
        )
    ).all()
    return [Patron(*row) for row in rows]


def delete_patrons(session: Session, patron_ids: list[int]) -> int:
    """Delete these patrons outright (erasure: nothing of them is kept); returns how many."""
    if not patron_ids:
        return 0
    rows = session.scalars(select(PatronRow).where(PatronRow.id.in_(patron_ids))).all()
    for row in rows:
        session.delete(row)
    session.flush()
    return len(rows)


def list_users(session: Session, library_isil: str) -> list[UserSummary]:
    """The library's users (staff and administrators), by username."""
    rows = session.scalars(
        select(UserRow).where(UserRow.library_isil == normalise_isil(library_isil)).order_by(UserRow.username)
    )
    return [
        UserSummary(
            username=r.username,
            display_name=r.display_name,
            email=r.email,
            role=Role(r.role),
            library_isil=r.library_isil,
            active=r.active,
        )
        for r in rows
    ]


def set_password(session: Session, username: str, password: str) -> None:
    """Give the user a new password (an administrator's reset); the old one stops working at once."""
    user = find_user(session, username)
    if user is None:
        raise NotFound(f"no user {username!r}", field="username")
    user.password_hash = hash_password(password)
    session.flush()


# --- patron PINs (self-service login) -------------------------------------------------------------


def set_pin(session: Session, home_library: str, card_number: str, pin: str, now: datetime) -> PatronRow:
    """Give the patron a (new) PIN, stored as an argon2id hash like staff passwords."""
    value = check_pin(pin)
    row = find_patron(session, home_library, card_number)
    if row is None:
        raise NotFound(
            f"no patron with card {card_number} at {normalise_isil(home_library)}", field="card_number"
        )
    row.pin_hash = _hasher.hash(value)
    row.pin_set_at = now
    session.flush()
    return row


def patrons_with_card(session: Session, card_number: str) -> list[PatronRow]:
    """Every patron with this card number (card numbers are unique per library, not nationally)."""
    return list(
        session.scalars(
            select(PatronRow).where(PatronRow.card_number == card_number.strip()).order_by(PatronRow.id)
        )
    )


def _patron_principal(row: PatronRow) -> PatronPrincipal:
    return PatronPrincipal(
        patron_id=row.id,
        card_number=row.card_number,
        name=row.name,
        library_isil=row.home_library_isil,
        language=row.language,
    )


def authenticate_patron(session: Session, card_number: str, pin: str) -> PatronPrincipal:
    """The patron whose card and PIN these are; NotAuthenticated otherwise.

    The card alone finds the patron (a patron need not know their library's ISIL); should two
    libraries have issued the same card number, the PIN tells them apart. A card without a PIN, an
    unknown card and a wrong PIN are the same error and cost the same hashing time.
    """
    candidates = [row for row in patrons_with_card(session, card_number) if row.pin_hash]
    if not candidates:
        _hasher.hash(pin or "x")  # as long as a wrong PIN takes
        raise NotAuthenticated("wrong card number or PIN")
    for row in candidates:
        assert row.pin_hash is not None
        try:
            _hasher.verify(row.pin_hash, pin)
        except (VerificationError, InvalidHashError):
            continue
        if _hasher.check_needs_rehash(row.pin_hash):
            row.pin_hash = _hasher.hash(pin)
        return _patron_principal(row)
    raise NotAuthenticated("wrong card number or PIN")


def patron_principal_by_id(session: Session, patron_id: int) -> PatronPrincipal | None:
    """The patron behind a patron session, while they still have a PIN (staff clearing or erasing
    the patron ends the session)."""
    row = session.get(PatronRow, patron_id)
    if row is None or not row.pin_hash:
        return None
    return _patron_principal(row)
