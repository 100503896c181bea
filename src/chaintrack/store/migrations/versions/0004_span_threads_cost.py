"""Spans carry the conversation they belong to (``thread_id``), the trace they are part of
(``trace_id``: the root run of a LangChain run tree, or an OpenTelemetry trace id) and what the
model call cost (``cost_usd``, NULL when the model has no known price: unknown, never $0);
each task's total cost is kept beside its other span totals.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("spans") as batch:
        batch.add_column(sa.Column("thread_id", sa.String(256), nullable=True))
        batch.add_column(sa.Column("trace_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("cost_usd", sa.Float, nullable=True))
    op.create_index("ix_spans_thread", "spans", ["task_id", "thread_id", "start_time"])
    with op.batch_alter_table("task_stats") as batch:
        batch.add_column(sa.Column("cost_usd", sa.Float, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("task_stats") as batch:
        batch.drop_column("cost_usd")
    op.drop_index("ix_spans_thread", table_name="spans")
    with op.batch_alter_table("spans") as batch:
        batch.drop_column("cost_usd")
        batch.drop_column("trace_id")
        batch.drop_column("thread_id")
