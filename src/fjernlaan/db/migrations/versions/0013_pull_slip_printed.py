"""lending: when the current lender printed the pull slip (the staff queues "to pull" / "to ship")

Revision ID: 0013
Revises: 0009
Create Date: 2026-12-07 00:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ill_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pull_slip_printed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ill_requests", schema=None) as batch_op:
        batch_op.drop_column("pull_slip_printed_at")
