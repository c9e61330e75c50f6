"""Runtime settings, read from the environment (prefix `FJERNLAAN_`) and an optional `.env` file."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from fjernlaan.limits import REQUEST_BODY_MAX_BYTES


class Settings(BaseSettings):
    """Every knob the hub has; defaults give the embedded single-process setup on SQLite."""

    model_config = SettingsConfigDict(env_prefix="FJERNLAAN_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///var/fjernlaan.db"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    secret_key: str = "dev-only-change-me-in-production"
    base_url: str = "http://127.0.0.1:8000"
    hub_isil: str = "DK-800010"
    active_principles: str = "dk-2012"
    default_language: str = "da"
    session_max_age_seconds: int = 8 * 3600
    patron_data_retention_days: int = Field(default=90, ge=1)
    # Lifetime of a new API token unless its issuer asks for another (1-3,650 days).
    api_token_days: int = Field(default=365, ge=1, le=3650)

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_sender: str = "fjernlaan@localhost"

    iso18626_max_bytes: int = 1_000_000
    iso18626_xsd_dir: Path | None = None
    # The bearer token the hub presents when it posts to peers (None: send no Authorization header).
    iso18626_outbound_token: str | None = None
    iso18626_send_timeout_seconds: float = Field(default=30.0, gt=0)
    # When the hub-wide outbound token was issued (ISO 8601). It is never presented to an endpoint
    # changed after this; unset, only to endpoints unchanged since they were first stored.
    iso18626_outbound_token_issued_at: datetime | None = None
    # Peers' endpoints: https to public addresses only, unless the address is in one of these ranges
    # (comma-separated CIDR, e.g. "10.20.0.0/16"), where plain http and private addresses are allowed.
    iso18626_endpoint_allowlist: str = ""
    # Development and tests: allow http and loopback/private/link-local endpoints anywhere.
    iso18626_allow_local_endpoints: bool = False
    # Unknown or unauthenticated senders' messages are logged with at most this much of their body.
    iso18626_unauthenticated_log_bytes: int = Field(default=2048, ge=0, le=1_000_000)

    # Rate limits ("N/second|minute|hour|day", the `limits` notation) and where their counters live:
    # memory:// counts per process; redis://host:6379 shares the counters between processes.
    rate_limit_storage_uri: str = "memory://"
    login_rate_limit_per_username: str = "10/minute"
    login_rate_limit_per_address: str = "60/minute"
    iso18626_rate_limit_per_address: str = "6000/minute"
    # Messages refused as unreadable, from unknown senders or unauthenticated, per source address;
    # beyond it the source gets 429 without its messages being read or logged.
    iso18626_refused_rate_limit_per_address: str = "60/minute"
    # Password checks run on their own threads, never the request thread pool; beyond this many
    # waiting, a login is answered 429 at once.
    password_hash_threads: int = Field(default=2, ge=1, le=64)
    password_hash_queue: int = Field(default=16, ge=1, le=10_000)

    # Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (comma-separated
    # addresses or CIDR ranges; "*" for any). Others' headers are ignored.
    trusted_proxies: str = "127.0.0.1,::1"
    # Always mark cookies Secure (they are anyway when the request came over https).
    secure_cookies: bool = False

    # Request bodies above this many bytes are refused with 413 (the ISO 18626 endpoint has its own,
    # smaller limit above, answered in ISO 18626).
    max_request_body_bytes: int = Field(default=REQUEST_BODY_MAX_BYTES, ge=1024)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; tests build their own `Settings`)."""
    return Settings()
