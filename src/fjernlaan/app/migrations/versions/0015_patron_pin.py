"""accounts: a patron's PIN (argon2id hash, like staff passwords) for patron self-service

Revision ID: 0015
Revises: 0010
Create Date: 2026-12-07 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("patrons", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pin_hash", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("pin_set_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("patrons", schema=None) as batch_op:
        batch_op.drop_column("pin_set_at")
        batch_op.drop_column("pin_hash")
