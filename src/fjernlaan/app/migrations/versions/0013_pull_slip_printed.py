"""lending: when the current lender printed the pull slip (the staff queues "to pull" / "to ship"), and
the library-by-state indexes widened to cover the staff dashboard's count query

Revision ID: 0013
Revises: 0010
Create Date: 2026-12-07 00:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0014"
branch_labels = None
depends_on = None


REQUESTER_WORK = ["requester_isil", "state", "pickup_due", "due_date", "need_before"]
LENDER_WORK = ["current_lender_isil", "state", "pull_slip_printed_at", "answer_due", "due_date"]


def upgrade() -> None:
    with op.batch_alter_table("ill_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pull_slip_printed_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("ill_requests", schema=None) as batch_op:
        # The wider indexes start with the old ones' columns, so they serve every query those did.
        batch_op.drop_index("ix_ill_requests_requester_state")
        batch_op.drop_index("ix_ill_requests_lender_state")
        batch_op.create_index("ix_ill_requests_requester_work", REQUESTER_WORK, unique=False)
        batch_op.create_index("ix_ill_requests_lender_work", LENDER_WORK, unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ill_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_ill_requests_lender_work")
        batch_op.drop_index("ix_ill_requests_requester_work")
        batch_op.create_index("ix_ill_requests_requester_state", ["requester_isil", "state"], unique=False)
        batch_op.create_index("ix_ill_requests_lender_state", ["current_lender_isil", "state"], unique=False)
    with op.batch_alter_table("ill_requests", schema=None) as batch_op:
        batch_op.drop_column("pull_slip_printed_at")
