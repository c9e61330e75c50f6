"""directory: ISILs in canonical form (upper case) in every table

ISO 15511 compares ISILs without regard to case; the hub now stores one spelling (upper case), so
`SE-l` and `SE-L` can no longer both exist. A library stored with lower-case letters is moved to its
canonical ISIL, and every column that holds an ISIL follows. When both spellings exist the migration
stops and names them: merging two libraries is a decision for an administrator, not for a migration.

Revision ID: 0012
Revises: 0009
Create Date: 2026-12-06 23:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def _isil_columns(bind: sa.engine.Connection) -> list[tuple[str, str]]:
    # Every column that holds an ISIL, found by name, so a table added later is covered too.
    inspector = sa.inspect(bind)
    found = []
    for table in inspector.get_table_names():
        if table == "alembic_version":
            continue
        for column in inspector.get_columns(table):
            name = column["name"]
            if name == "transport_hub" or name == "isil" or name.endswith("_isil"):
                found.append((table, name))
    return found


def upgrade() -> None:
    bind = op.get_bind()
    libraries = sa.table("libraries", sa.column("isil"))
    stored = [isil for (isil,) in bind.execute(sa.select(libraries.c.isil))]
    canonical = {isil: isil.upper() for isil in stored if isil != isil.upper()}
    clashes = sorted(f"{old} / {new}" for old, new in canonical.items() if new in stored)
    if clashes:
        raise RuntimeError(
            "these libraries differ only in the case of their ISIL; merge or remove one of each pair "
            "before upgrading: " + ", ".join(clashes)
        )
    if canonical:
        # Copy each library to its canonical ISIL, point every ISIL column at the copy, then drop the
        # old row: foreign keys never see a missing library on either database.
        columns = [c["name"] for c in sa.inspect(bind).get_columns("libraries")]
        table = sa.table("libraries", *(sa.column(c) for c in columns))
        for old, new in canonical.items():
            row = bind.execute(sa.select(table).where(table.c.isil == old)).mappings().one()
            bind.execute(table.insert().values({**row, "isil": new}))
    for table_name, column_name in _isil_columns(bind):
        if table_name == "libraries" and column_name == "isil":
            continue
        column = sa.column(column_name, sa.String)
        target = sa.table(table_name, column)
        bind.execute(
            target.update()
            .where(column != sa.func.upper(column))
            .values({column_name: sa.func.upper(column)})
        )
    for old in canonical:
        bind.execute(libraries.delete().where(libraries.c.isil == old))


def downgrade() -> None:
    # The old spellings are not kept: canonical ISILs are valid under the previous revision too.
    pass
