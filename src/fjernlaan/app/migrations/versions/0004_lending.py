"""lending: requests, rota entries (with reasons, and exclusions), attempts, events

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-23 08:53:26.851392
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fjernlaan.db.base

revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ill_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("service_type", sa.String(length=16), nullable=False),
        sa.Column("delivered_as", sa.String(length=16), nullable=True),
        sa.Column("requester_isil", sa.String(length=16), nullable=False),
        sa.Column("pickup_isil", sa.String(length=16), nullable=False),
        sa.Column("patron_id", sa.Integer(), nullable=True),
        sa.Column("patron_category", sa.String(length=16), nullable=False),
        sa.Column("placed_by", sa.String(length=16), nullable=False),
        sa.Column("record_pk", sa.Integer(), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("citation", sa.JSON(), nullable=False),
        sa.Column("needs_sourcing", sa.Boolean(), nullable=False),
        sa.Column("principles_version", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=True),
        sa.Column("current_lender_isil", sa.String(length=16), nullable=True),
        sa.Column("renewals_used", sa.Integer(), nullable=False),
        sa.Column("need_before", sa.Date(), nullable=True),
        sa.Column("pickup_window_days", sa.Integer(), nullable=False),
        sa.Column("answer_due", sa.Date(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("pickup_due", sa.Date(), nullable=True),
        sa.Column("next_reminder_on", sa.Date(), nullable=True),
        sa.Column("reminders_sent", sa.Integer(), nullable=False),
        sa.Column("next_deadline", sa.Date(), nullable=True),
        sa.Column("attention", sa.String(length=16), nullable=True),
        sa.Column("replacement_charge_dkk", sa.Float(), nullable=True),
        sa.Column("created_at", fjernlaan.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", fjernlaan.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", fjernlaan.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["patron_id"], ["patrons.id"], name=op.f("fk_ill_requests_patron_id_patrons"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["pickup_isil"], ["libraries.isil"], name=op.f("fk_ill_requests_pickup_isil_libraries")
        ),
        sa.ForeignKeyConstraint(
            ["requester_isil"], ["libraries.isil"], name=op.f("fk_ill_requests_requester_isil_libraries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ill_requests")),
    )
    with op.batch_alter_table("ill_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ill_requests_answer_due"), ["answer_due"], unique=False)
        batch_op.create_index(batch_op.f("ix_ill_requests_attention"), ["attention"], unique=False)
        batch_op.create_index(batch_op.f("ix_ill_requests_due_date"), ["due_date"], unique=False)
        batch_op.create_index("ix_ill_requests_lender_state", ["current_lender_isil", "state"], unique=False)
        batch_op.create_index(batch_op.f("ix_ill_requests_need_before"), ["need_before"], unique=False)
        batch_op.create_index(batch_op.f("ix_ill_requests_next_deadline"), ["next_deadline"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_ill_requests_next_reminder_on"), ["next_reminder_on"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_ill_requests_patron_id"), ["patron_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ill_requests_pickup_due"), ["pickup_due"], unique=False)
        batch_op.create_index(batch_op.f("ix_ill_requests_record_pk"), ["record_pk"], unique=False)
        batch_op.create_index("ix_ill_requests_requester_state", ["requester_isil", "state"], unique=False)
        batch_op.create_index(batch_op.f("ix_ill_requests_state"), ["state"], unique=False)

    op.create_table(
        "ill_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("isil", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("condition", sa.Text(), nullable=True),
        sa.Column("fee_dkk", sa.Float(), nullable=True),
        sa.Column("answer_due", sa.Date(), nullable=True),
        sa.Column("created_at", fjernlaan.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("shipped_at", fjernlaan.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", fjernlaan.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["ill_requests.id"],
            name=op.f("fk_ill_attempts_request_id_ill_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ill_attempts")),
    )
    with op.batch_alter_table("ill_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ill_attempts_created_at"), ["created_at"], unique=False)
        batch_op.create_index("ix_ill_attempts_isil_state", ["isil", "state"], unique=False)
        batch_op.create_index(batch_op.f("ix_ill_attempts_request_id"), ["request_id"], unique=False)

    op.create_table(
        "ill_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("at", fjernlaan.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("side", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("from_state", sa.String(length=32), nullable=True),
        sa.Column("to_state", sa.String(length=32), nullable=False),
        sa.Column("by_role", sa.String(length=24), nullable=False),
        sa.Column("by_user", sa.String(length=64), nullable=True),
        sa.Column("by_isil", sa.String(length=16), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=True),
        sa.Column("isil", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["ill_requests.id"],
            name=op.f("fk_ill_events_request_id_ill_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ill_events")),
    )
    with op.batch_alter_table("ill_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ill_events_request_id"), ["request_id"], unique=False)

    op.create_table(
        "ill_rota_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=True),
        sa.Column("isil", sa.String(length=16), nullable=False),
        sa.Column("tier", sa.String(length=32), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("via_isil", sa.String(length=16), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("terms", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["ill_requests.id"],
            name=op.f("fk_ill_rota_entries_request_id_ill_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ill_rota_entries")),
    )
    with op.batch_alter_table("ill_rota_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ill_rota_entries_request_id"), ["request_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ill_rota_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ill_rota_entries_request_id"))

    op.drop_table("ill_rota_entries")
    with op.batch_alter_table("ill_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ill_events_request_id"))

    op.drop_table("ill_events")
    with op.batch_alter_table("ill_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ill_attempts_request_id"))
        batch_op.drop_index("ix_ill_attempts_isil_state")
        batch_op.drop_index(batch_op.f("ix_ill_attempts_created_at"))

    op.drop_table("ill_attempts")
    with op.batch_alter_table("ill_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ill_requests_state"))
        batch_op.drop_index("ix_ill_requests_requester_state")
        batch_op.drop_index(batch_op.f("ix_ill_requests_record_pk"))
        batch_op.drop_index(batch_op.f("ix_ill_requests_pickup_due"))
        batch_op.drop_index(batch_op.f("ix_ill_requests_patron_id"))
        batch_op.drop_index(batch_op.f("ix_ill_requests_next_reminder_on"))
        batch_op.drop_index(batch_op.f("ix_ill_requests_next_deadline"))
        batch_op.drop_index(batch_op.f("ix_ill_requests_need_before"))
        batch_op.drop_index("ix_ill_requests_lender_state")
        batch_op.drop_index(batch_op.f("ix_ill_requests_due_date"))
        batch_op.drop_index(batch_op.f("ix_ill_requests_attention"))
        batch_op.drop_index(batch_op.f("ix_ill_requests_answer_due"))

    op.drop_table("ill_requests")
