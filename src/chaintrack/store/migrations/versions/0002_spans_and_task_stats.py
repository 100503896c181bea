"""The run tree's structure (``spans``) and per-task totals (``task_stats``), filled from the
span events already stored.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_BACKFILL_BATCH = 5_000


def upgrade() -> None:
    op.create_table(
        "spans",
        sa.Column("task_id", sa.String(32), primary_key=True),
        sa.Column("span_id", sa.String(64), primary_key=True),
        sa.Column("parent_id", sa.String(64), nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("start_time", sa.Float, nullable=False),
        sa.Column("end_time", sa.Float, nullable=False),
        sa.Column("latency_ms", sa.Float, nullable=True),
        sa.Column("prompt_tokens", sa.BigInteger, nullable=True),
        sa.Column("completion_tokens", sa.BigInteger, nullable=True),
        sa.Column("total_tokens", sa.BigInteger, nullable=True),
        sa.Column("model_name", sa.String(256), nullable=True),
        sa.Column("writer", sa.BigInteger, nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_spans_parent", "spans", ["task_id", "parent_id"])
    op.create_table(
        "task_stats",
        sa.Column("task_id", sa.String(32), primary_key=True),
        sa.Column("spans", sa.BigInteger, nullable=False),
        sa.Column("llm_calls", sa.BigInteger, nullable=False),
        sa.Column("prompt_tokens", sa.BigInteger, nullable=False),
        sa.Column("completion_tokens", sa.BigInteger, nullable=False),
        sa.Column("total_tokens", sa.BigInteger, nullable=False),
        sa.Column("errors", sa.BigInteger, nullable=False),
    )
    _backfill(op.get_bind())


def _backfill(conn: sa.Connection) -> None:
    """Index the span events written before this revision (in the migration's transaction)."""
    from sqlalchemy.dialects import postgresql, sqlite

    from chaintrack.store.spanindex import index_spans

    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    # The tables as this revision made them (later revisions add columns to schema.py's).
    reflected = sa.MetaData()
    tables = (
        sa.Table("spans", reflected, autoload_with=conn),
        sa.Table("task_stats", reflected, autoload_with=conn),
    )
    result = conn.execute(
        sa.text(
            "SELECT task_id, writer, seq, kind, ts, metric, variant, iter, value, level, text, "
            "data FROM events WHERE kind = 'span'"
        )
    )
    while rows := result.fetchmany(_BACKFILL_BATCH):
        index_spans(conn, insert, [tuple(r) for r in rows], tables)


def downgrade() -> None:
    op.drop_table("task_stats")
    op.drop_index("ix_spans_parent", table_name="spans")
    op.drop_table("spans")
