"""Alembic environment: runs migrations on the engine the caller configured."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from fjernlaan.app.migrate import include_object
from fjernlaan.app.tables import metadata

config = context.config
engine: Engine = config.attributes["engine"]

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata(),
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
