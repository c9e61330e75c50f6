"""Runtime settings, read from the environment (prefix `FJERNLAAN_`) and an optional `.env` file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; tests build their own `Settings`)."""
    return Settings()
