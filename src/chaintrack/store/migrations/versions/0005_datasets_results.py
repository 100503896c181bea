"""Datasets (versions and their examples) and experiment results, one row per scored example
(see ``chaintrack/store/evaltables.py``).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("project", sa.String(512), nullable=False),
        sa.Column("name", sa.String(512), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("parent", sa.String(32), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("finalized", sa.Float, nullable=True),
        sa.Column("rows", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_datasets_name", "datasets", ["project", "name", "created"])
    op.create_table(
        "dataset_rows",
        sa.Column("dataset_id", sa.String(32), primary_key=True),
        sa.Column("example_id", sa.String(64), primary_key=True),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("inputs", sa.Text, nullable=False),
        sa.Column("expected", sa.Text, nullable=True),
        sa.Column("metadata", sa.Text, nullable=False),
    )
    op.create_index("ix_dataset_rows_position", "dataset_rows", ["dataset_id", "position"])
    op.create_table(
        "eval_results",
        sa.Column("task_id", sa.String(32), primary_key=True),
        sa.Column("example_id", sa.String(64), primary_key=True),
        sa.Column("repetition", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("dataset_id", sa.String(32), nullable=False),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("output", sa.Text, nullable=True),
        sa.Column("scores", sa.Text, nullable=False),
        sa.Column("latency_ms", sa.Float, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("trace_id", sa.String(64), nullable=True),
        sa.Column("created", sa.Float, nullable=False),
    )
    op.create_index("ix_eval_results_dataset", "eval_results", ["dataset_id", "task_id"])


def downgrade() -> None:
    op.drop_index("ix_eval_results_dataset", table_name="eval_results")
    op.drop_table("eval_results")
    op.drop_index("ix_dataset_rows_position", table_name="dataset_rows")
    op.drop_table("dataset_rows")
    op.drop_index("ix_datasets_name", table_name="datasets")
    op.drop_table("datasets")
