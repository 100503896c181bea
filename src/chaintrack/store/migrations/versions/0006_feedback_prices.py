"""Human feedback (``feedback``: a score, a thumbs up/down or a label on a task, a span or an
example, with a comment and an author) and the price table behind each stored cost
(``spans.price_source``, ``task_stats.price_source``).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feedback",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("task_id", sa.String(32), nullable=False),
        sa.Column("span_id", sa.String(64), nullable=True),
        sa.Column("example_id", sa.String(256), nullable=True),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("value_type", sa.String(8), nullable=False),
        sa.Column("score", sa.Float, nullable=True),
        sa.Column("label", sa.Text, nullable=True),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("author", sa.String(256), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("created", sa.Float, nullable=False),
    )
    op.create_index("ix_feedback_task", "feedback", ["task_id", "created"])
    op.create_index("ix_feedback_example", "feedback", ["task_id", "example_id"])
    with op.batch_alter_table("spans") as batch:
        batch.add_column(sa.Column("price_source", sa.String(128), nullable=True))
    with op.batch_alter_table("task_stats") as batch:
        batch.add_column(sa.Column("price_source", sa.String(128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("task_stats") as batch:
        batch.drop_column("price_source")
    with op.batch_alter_table("spans") as batch:
        batch.drop_column("price_source")
    op.drop_index("ix_feedback_example", table_name="feedback")
    op.drop_index("ix_feedback_task", table_name="feedback")
    op.drop_table("feedback")
