"""Daily totals for the dashboards (``span_rollups_daily`` per project, kind, model and latency
bucket; ``span_rollups_task_daily`` per task and latency bucket), so that a month of a million
spans is read from a few ten thousand rows whatever the number of tasks. Filled here from the
hourly totals of revision 0007.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _sums() -> list[sa.Column[object]]:
    return [
        sa.Column("calls", sa.BigInteger, nullable=False),
        sa.Column("errors", sa.BigInteger, nullable=False),
        sa.Column("latency_ms", sa.Float, nullable=False),
        sa.Column("prompt_tokens", sa.BigInteger, nullable=False),
        sa.Column("completion_tokens", sa.BigInteger, nullable=False),
        sa.Column("total_tokens", sa.BigInteger, nullable=False),
        sa.Column("cost_usd", sa.Float, nullable=True),
    ]


_TOTALS = ("SUM(r.calls), SUM(r.errors), SUM(r.latency_ms), SUM(r.prompt_tokens), "
           "SUM(r.completion_tokens), SUM(r.total_tokens), SUM(r.cost_usd)")  # fmt: skip
_NAMES = "calls, errors, latency_ms, prompt_tokens, completion_tokens, total_tokens, cost_usd"


def upgrade() -> None:
    op.create_table(
        "span_rollups_daily",
        sa.Column("project", sa.String(512), primary_key=True),
        sa.Column("day", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("model", sa.String(256), primary_key=True),
        sa.Column("bucket", sa.Integer, primary_key=True, autoincrement=False),
        *_sums(),
    )
    op.create_index("ix_span_rollups_daily_day", "span_rollups_daily", ["day"])
    op.create_table(
        "span_rollups_task_daily",
        sa.Column("task_id", sa.String(32), primary_key=True),
        sa.Column("day", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("bucket", sa.Integer, primary_key=True, autoincrement=False),
        *_sums(),
    )
    op.create_index("ix_span_rollups_task_daily_day", "span_rollups_task_daily", ["day", "task_id"])
    # Integer division of the hour (a BIGINT) gives the day on both databases.
    op.execute(
        f"INSERT INTO span_rollups_daily (project, day, kind, model, bucket, {_NAMES}) "  # noqa: S608
        f"SELECT COALESCE(t.project, ''), r.hour / 24, r.kind, r.model, r.bucket, {_TOTALS} "
        "FROM span_rollups r LEFT JOIN tasks t ON t.id = r.task_id "
        "GROUP BY COALESCE(t.project, ''), r.hour / 24, r.kind, r.model, r.bucket"
    )
    op.execute(
        f"INSERT INTO span_rollups_task_daily (task_id, day, bucket, {_NAMES}) "  # noqa: S608
        f"SELECT r.task_id, r.hour / 24, r.bucket, {_TOTALS} FROM span_rollups r "
        "GROUP BY r.task_id, r.hour / 24, r.bucket"
    )


def downgrade() -> None:
    op.drop_index("ix_span_rollups_task_daily_day", table_name="span_rollups_task_daily")
    op.drop_table("span_rollups_task_daily")
    op.drop_index("ix_span_rollups_daily_day", table_name="span_rollups_daily")
    op.drop_table("span_rollups_daily")
