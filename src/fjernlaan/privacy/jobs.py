"""The worker's erasure job (listed in `privacy/install.py`; the worker runs it on every pass)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from fjernlaan.privacy.service import erase
from fjernlaan.settings import Settings


def erase_due(session: Session, now: datetime, settings: Settings) -> int:
    """Erase the patron data of requests that ended more than the retention period ago; returns how
    many requests were anonymised. A pass with nothing due reads two indexed ranges and writes nothing."""
    return erase(session, now, settings.patron_data_retention_days).requests
