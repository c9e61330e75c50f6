"""iso18626: links between ILL requests and the peers taking part in them

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fjernlaan.db.base

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "iso18626_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("peer_isil", sa.String(length=16), nullable=False),
        sa.Column("peer_role", sa.String(length=16), nullable=False),
        sa.Column("requesting_agency_request_id", sa.String(length=200), nullable=False),
        sa.Column("supplying_agency_request_id", sa.String(length=200), nullable=True),
        sa.Column("our_agency_isil", sa.String(length=16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=True),
        sa.Column("created_at", fjernlaan.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["ill_requests.id"],
            name=op.f("fk_iso18626_links_request_id_ill_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_iso18626_links")),
        sa.UniqueConstraint(
            "peer_isil",
            "peer_role",
            "requesting_agency_request_id",
            name=op.f("uq_iso18626_links_peer_isil"),
        ),
    )
    with op.batch_alter_table("iso18626_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_iso18626_links_request_id"), ["request_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("iso18626_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_iso18626_links_request_id"))
    op.drop_table("iso18626_links")
