"""when a peer's ISO 18626 endpoint last changed, and when its outbound token was stored

The hub's outbound credentials are never presented to an endpoint changed after they were issued:
these two timestamps let the sender compare.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 23:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fjernlaan.db.base import UtcDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("libraries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("iso18626_endpoint_changed_at", UtcDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("iso18626_peers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("outbound_token_set_at", UtcDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("iso18626_peers", schema=None) as batch_op:
        batch_op.drop_column("outbound_token_set_at")
    with op.batch_alter_table("libraries", schema=None) as batch_op:
        batch_op.drop_column("iso18626_endpoint_changed_at")
