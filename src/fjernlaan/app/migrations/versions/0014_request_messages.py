"""lending: messages between the two libraries of a request, and the reply-by date of a condition

Revision ID: 0014
Revises: 0010
Create Date: 2026-12-07 00:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fjernlaan.db.base

revision = "0014"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ill_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("from_isil", sa.String(length=16), nullable=False),
        sa.Column("to_isil", sa.String(length=16), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", fjernlaan.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("read_at", fjernlaan.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["ill_requests.id"],
            name=op.f("fk_ill_messages_request_id_ill_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ill_messages")),
    )
    with op.batch_alter_table("ill_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ill_messages_request_id"), ["request_id"], unique=False)
        batch_op.create_index("ix_ill_messages_to_read", ["to_isil", "read_at"], unique=False)
    with op.batch_alter_table("ill_attempts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reply_by", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ill_attempts", schema=None) as batch_op:
        batch_op.drop_column("reply_by")
    with op.batch_alter_table("ill_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_ill_messages_to_read")
        batch_op.drop_index(batch_op.f("ix_ill_messages_request_id"))
    op.drop_table("ill_messages")
