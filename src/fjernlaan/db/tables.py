"""Every area's tables, imported in one place so the metadata Alembic compares against is whole."""

from __future__ import annotations

from sqlalchemy import MetaData

from fjernlaan.accounts import store as accounts_store
from fjernlaan.catalogue import store as catalogue_store
from fjernlaan.db import outbox
from fjernlaan.db.base import Base
from fjernlaan.directory import store as directory_store
from fjernlaan.iso18626 import store as iso18626_store
from fjernlaan.lending import store as lending_store
from fjernlaan.network import store as network_store

_AREAS = (
    accounts_store,
    catalogue_store,
    directory_store,
    iso18626_store,
    lending_store,
    network_store,
    outbox,
)


def metadata() -> MetaData:
    """The metadata of all tables."""
    return Base.metadata
