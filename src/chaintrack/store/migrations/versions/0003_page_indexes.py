"""Indexes for the task page on large tasks: events of a kind in time order (console, media,
tables), scalar series in iteration order (the Scalars tab thins them in SQL), root spans by
start time (the trace view).

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


def downgrade() -> None:
    op.drop_index("ix_spans_start", table_name="spans")
    op.drop_index("ix_events_scalars", table_name="events")
    op.drop_index("ix_events_time", table_name="events")
