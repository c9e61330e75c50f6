"""Every area's tables, imported in one place so the metadata Alembic compares against is whole."""

from __future__ import annotations

from sqlalchemy import MetaData

from fjernlaan.accounts import store as accounts_store
from fjernlaan.db import outbox
from fjernlaan.db.base import Base
from fjernlaan.directory import store as directory_store
from fjernlaan.network import store as network_store

_AREAS = (accounts_store, directory_store, network_store, outbox)


def metadata() -> MetaData:
    """The metadata of all tables."""
    return Base.metadata
