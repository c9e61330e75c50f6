"""Fresh databases for a benchmark run: a new schema in a PostgreSQL database, dropped afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

from sqlalchemy import text

from fjernlaan.db.engine import make_engine


@contextmanager
def postgres_schema(url: str) -> Iterator[str]:
    """The URL of a new, empty schema in the PostgreSQL database `url`; the schema is dropped after."""
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(url, null_pool=True)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in url else "?"
    try:
        yield f"{url}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
