"""iso18626: the bearer token each peer gave us to present when we post to it

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("iso18626_peers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("outbound_token", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("iso18626_peers", schema=None) as batch_op:
        batch_op.drop_column("outbound_token")
