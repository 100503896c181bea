"""Span search and dashboards: indexes for searches across tasks in time order, the full-text
index of the spans' text (``span_text``: SQLite FTS5 trigram, PostgreSQL pg_trgm), the hourly
totals the dashboards read (``span_rollups``) and saved searches. The spans stored before this
revision are indexed and totalled here.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_BATCH = 5_000
_SPAN_INDEXES = (
    ("ix_spans_time", ["start_time"]),
    ("ix_spans_kind_time", ["kind", "start_time"]),
    ("ix_spans_model_time", ["model_name", "start_time"]),
    ("ix_spans_status_time", ["status", "start_time"]),
    ("ix_spans_latency", ["latency_ms"]),
    ("ix_spans_tokens", ["total_tokens"]),
)


def upgrade() -> None:
    for name, columns in _SPAN_INDEXES:
        op.create_index(name, "spans", columns)
    op.create_table(
        "span_rollups",
        sa.Column("task_id", sa.String(32), primary_key=True),
        sa.Column("hour", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("model", sa.String(256), primary_key=True),
        sa.Column("bucket", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("calls", sa.BigInteger, nullable=False),
        sa.Column("errors", sa.BigInteger, nullable=False),
        sa.Column("latency_ms", sa.Float, nullable=False),
        sa.Column("prompt_tokens", sa.BigInteger, nullable=False),
        sa.Column("completion_tokens", sa.BigInteger, nullable=False),
        sa.Column("total_tokens", sa.BigInteger, nullable=False),
        sa.Column("cost_usd", sa.Float, nullable=True),
    )
    op.create_index("ix_span_rollups_hour", "span_rollups", ["hour", "task_id"])
    op.create_table(
        "saved_searches",
        sa.Column("project", sa.String(512), primary_key=True),
        sa.Column("name", sa.String(256), primary_key=True),
        sa.Column("query", sa.Text, nullable=False),
        sa.Column("created", sa.Float, nullable=False),
    )
    conn = op.get_bind()
    from chaintrack.store import searchtext

    searchtext.create(conn)
    _backfill(conn)


def _backfill(conn: sa.Connection) -> None:
    """Index and total the spans stored before this revision (in the migration's
    transaction), reading each span's payload once."""
    from sqlalchemy.dialects import postgresql, sqlite

    from chaintrack.store import rollups, searchtext

    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    result = conn.execute(
        sa.text(
            "SELECT s.task_id, s.span_id, s.name, s.kind, s.status, s.start_time, "
            "s.latency_ms, s.prompt_tokens, s.completion_tokens, s.total_tokens, "
            "s.model_name, s.cost_usd, e.data FROM spans s LEFT JOIN events e "
            "ON e.task_id = s.task_id AND e.kind = 'span' AND e.writer = s.writer "
            "AND e.seq = s.seq"
        ),
        execution_options={"stream_results": True},
    )
    while chunk := result.mappings().fetchmany(_BATCH):
        rows = [dict(r) for r in chunk]
        texts = []
        for row in rows:
            try:
                payload = json.loads(row["data"]) if row["data"] else {}
            except ValueError:
                payload = {}
            payload = payload if isinstance(payload, dict) else {}
            texts.append(searchtext.text_row(row["task_id"], row["span_id"], row["name"], payload))
        searchtext.insert_rows(conn, texts)
        rollups.add_rows(conn, insert, rows)


def downgrade() -> None:
    from chaintrack.store import searchtext

    searchtext.drop(op.get_bind())
    op.drop_table("saved_searches")
    op.drop_index("ix_span_rollups_hour", table_name="span_rollups")
    op.drop_table("span_rollups")
    for name, _ in reversed(_SPAN_INDEXES):
        op.drop_index(name, table_name="spans")
