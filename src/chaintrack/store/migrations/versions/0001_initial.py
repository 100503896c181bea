"""The first schema: tasks, parameters, configurations, events, artifacts, models.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tasks",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("project", sa.String(512), nullable=False),
        sa.Column("name", sa.String(512), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("status_reason", sa.Text, nullable=False),
        sa.Column("tags", sa.Text, nullable=False),
        sa.Column("system_tags", sa.Text, nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("parent", sa.String(32), nullable=True),
        sa.Column("user", sa.String(256), nullable=False),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("started", sa.Float, nullable=True),
        sa.Column("completed", sa.Float, nullable=True),
        sa.Column("last_update", sa.Float, nullable=False),
        sa.Column("script", sa.Text, nullable=False),
        sa.Column("runtime", sa.Text, nullable=False),
        sa.Column("packages", sa.Text, nullable=False),
    )
    op.create_index("ix_tasks_project", "tasks", ["project"])
    op.create_index("ix_tasks_status", "tasks", ["status"])
    op.create_index("ix_tasks_created", "tasks", ["created"])
    op.create_table(
        "parameters",
        sa.Column("task_id", sa.String(32), primary_key=True),
        sa.Column("section", sa.String(256), primary_key=True),
        sa.Column("name", sa.String(512), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
    )
    op.create_table(
        "configurations",
        sa.Column("task_id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(256), primary_key=True),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "events",
        sa.Column("task_id", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("writer", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("ts", sa.Float, nullable=False),
        sa.Column("metric", sa.String(512), nullable=True),
        sa.Column("variant", sa.String(512), nullable=True),
        sa.Column("iter", sa.BigInteger, nullable=True),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("level", sa.Integer, nullable=True),
        sa.Column("text", sa.Text, nullable=True),
        sa.Column("data", sa.Text, nullable=True),
    )
    op.create_table(
        "artifacts",
        sa.Column("task_id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(512), primary_key=True),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("uri", sa.Text, nullable=False),
        sa.Column("content_size", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("timestamp", sa.Float, nullable=False),
        sa.Column("preview", sa.Text, nullable=False),
        sa.Column("meta", sa.Text, nullable=False),
    )
    op.create_table(
        "models",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("task_id", sa.String(32), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("name", sa.String(512), nullable=False),
        sa.Column("framework", sa.String(128), nullable=False),
        sa.Column("config_text", sa.Text, nullable=False),
        sa.Column("uri", sa.Text, nullable=False),
        sa.Column("tags", sa.Text, nullable=False),
        sa.Column("created", sa.Float, nullable=False),
    )
    op.create_index("ix_models_task_id", "models", ["task_id"])


def downgrade() -> None:
    for name in ("models", "artifacts", "events", "configurations", "parameters", "tasks"):
        op.drop_table(name)
