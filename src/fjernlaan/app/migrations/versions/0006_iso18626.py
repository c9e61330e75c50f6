"""iso18626: peers (credentials, quirks) and the inbound message log

Revision ID: 0006
Revises: 0002
Create Date: 2026-11-23 08:57:29.440708
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fjernlaan.db.base

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "iso18626_inbound",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("received_at", fjernlaan.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("sender", sa.String(length=200), nullable=True),
        sa.Column("kind", sa.String(length=48), nullable=True),
        sa.Column("requesting_agency_request_id", sa.String(length=200), nullable=True),
        sa.Column("dedupe_key", sa.String(length=64), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("confirmation", sa.LargeBinary(), nullable=False),
        sa.Column("message_status", sa.String(length=8), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("error_type", sa.String(length=40), nullable=True),
        sa.Column("error_value", sa.Text(), nullable=True),
        sa.Column("times_received", sa.Integer(), nullable=False),
        sa.Column("last_received_at", fjernlaan.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_iso18626_inbound")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_iso18626_inbound_dedupe_key")),
    )
    with op.batch_alter_table("iso18626_inbound", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_iso18626_inbound_outcome"), ["outcome"], unique=False)
        batch_op.create_index(batch_op.f("ix_iso18626_inbound_received_at"), ["received_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_iso18626_inbound_requesting_agency_request_id"),
            ["requesting_agency_request_id"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_iso18626_inbound_sender"), ["sender"], unique=False)

    op.create_table(
        "iso18626_peers",
        sa.Column("library_isil", sa.String(length=16), nullable=False),
        sa.Column("account_id", sa.String(length=200), nullable=True),
        sa.Column("security_code_hash", sa.String(length=200), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("unfilled_only_at_end_of_rota", sa.Boolean(), nullable=False),
        sa.Column("version_override", sa.String(length=8), nullable=True),
        sa.Column("created_at", fjernlaan.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", fjernlaan.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["library_isil"],
            ["libraries.isil"],
            name=op.f("fk_iso18626_peers_library_isil_libraries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("library_isil", name=op.f("pk_iso18626_peers")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_iso18626_peers_token_hash")),
    )


def downgrade() -> None:

    op.drop_table("iso18626_peers")
    with op.batch_alter_table("iso18626_inbound", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_iso18626_inbound_sender"))
        batch_op.drop_index(batch_op.f("ix_iso18626_inbound_requesting_agency_request_id"))
        batch_op.drop_index(batch_op.f("ix_iso18626_inbound_received_at"))
        batch_op.drop_index(batch_op.f("ix_iso18626_inbound_outcome"))

    op.drop_table("iso18626_inbound")
