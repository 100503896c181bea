"""Indexes for the task page on large tasks: events of a kind in time order (console, media,
tables), scalar series in iteration order (the Scalars tab thins them in SQL), root spans by
start time (the trace view); and each task's number of events of each kind (``event_counts``),
counted from the events already stored.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_SCALARS = sa.text("kind = 'scalar'")


def upgrade() -> None:
    op.create_index("ix_events_time", "events", ["task_id", "kind", "ts", "writer", "seq"])
    op.create_index(
        "ix_events_scalars",
        "events",
        ["task_id", "metric", "variant", "iter", "ts", "writer", "seq"],
        sqlite_where=_SCALARS,
        postgresql_where=_SCALARS,
    )
    op.create_index("ix_spans_start", "spans", ["task_id", "start_time", "span_id"])
    op.create_table(
        "event_counts",
        sa.Column("task_id", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("events", sa.BigInteger, nullable=False),
    )
    op.execute(
        "INSERT INTO event_counts (task_id, kind, events) "
        "SELECT task_id, kind, count(*) FROM events GROUP BY task_id, kind"
    )


def downgrade() -> None:
    op.drop_table("event_counts")
    op.drop_index("ix_spans_start", table_name="spans")
    op.drop_index("ix_events_scalars", table_name="events")
    op.drop_index("ix_events_time", table_name="events")
