"""Every area's tables, imported in one place so the metadata Alembic compares against is whole."""

from __future__ import annotations

from types import ModuleType
from typing import Final

from sqlalchemy import MetaData

from fjernlaan.app.areas import AREAS
from fjernlaan.db import outbox
from fjernlaan.db.base import Base

#: The modules that define tables: each area's (its `install.AREA.tables`) and the outbox.
TABLE_MODULES: Final[tuple[ModuleType, ...]] = (
    *(area.tables for area in AREAS if area.tables is not None),
    outbox,
)


def metadata() -> MetaData:
    """The metadata of all tables."""
    return Base.metadata
