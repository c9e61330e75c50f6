"""accounts and privacy: server-side login sessions, token expiry, the audit log; when a request's
patron data was erased

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 23:40:00
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from alembic import op

from fjernlaan.db.base import UtcDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# Tokens issued before tokens expired get the default lifetime from their creation.
_LEGACY_TOKEN_DAYS = 365


def upgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", UtcDateTime(timezone=True), nullable=True))
    tokens = sa.table(
        "api_tokens",
        sa.column("id", sa.Integer),
        sa.column("created_at", UtcDateTime(timezone=True)),
        sa.column("expires_at", UtcDateTime(timezone=True)),
    )
    connection = op.get_bind()
    for token_id, created in connection.execute(sa.select(tokens.c.id, tokens.c.created_at)).all():
        connection.execute(
            tokens.update()
            .where(tokens.c.id == token_id)
            .values(expires_at=created + timedelta(days=_LEGACY_TOKEN_DAYS))
        )

    with op.batch_alter_table("ill_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("personal_data_erased_at", UtcDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_ill_requests_ended_at"), ["ended_at"], unique=False)

    op.create_table(
        "user_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_sessions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_sessions")),
        sa.UniqueConstraint("session_hash", name=op.f("uq_user_sessions_session_hash")),
    )
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_sessions_user_id"), ["user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_user_sessions_expires_at"), ["expires_at"], unique=False)

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.Column("role", sa.String(length=20), nullable=True),
        sa.Column("library_isil", sa.String(length=16), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("via", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        for column in ("at", "user_id", "username", "library_isil", "action"):
            batch_op.create_index(batch_op.f(f"ix_audit_log_{column}"), [column], unique=False)


def downgrade() -> None:
    op.drop_table("audit_log")
    op.drop_table("user_sessions")
    with op.batch_alter_table("ill_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ill_requests_ended_at"))
        batch_op.drop_column("personal_data_erased_at")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
