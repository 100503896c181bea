"""Indexing the spans' text and totalling them off the write path: ``span_text_pending`` holds
the spans stored but not yet in the full-text index nor (``totals`` = 1) in the dashboards'
totals (``store/textindex.py`` moves them into both in bulk). The spans stored before this
revision are in the totals already (``totals`` = 0).

On SQLite the index's rows now carry their span's rowid (a search tests one span against the
index by it): the rows indexed before this revision are queued again, to be re-indexed under
their spans' rowids by the next catch-up (a text search, the server's indexer thread, the
SDK's writer), and the index starts empty. PostgreSQL's index is kept as it is.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_TEXT = "task_id, span_id, name, input, output, error"


def upgrade() -> None:
    op.create_table(
        "span_text_pending",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
        sa.Column("task_id", sa.String(32), nullable=False),
        sa.Column("span_id", sa.String(64), nullable=False),
        sa.Column("name", sa.Text, nullable=True),
        sa.Column("input", sa.Text, nullable=True),
        sa.Column("output", sa.Text, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("totals", sa.SmallInteger, nullable=False, server_default="0"),
    )
    conn = op.get_bind()
    if conn.dialect.name != "sqlite":
        return
    from chaintrack.store import searchtext

    # Constant names only.
    op.execute(
        f"INSERT INTO span_text_pending ({_TEXT}) SELECT {_TEXT} FROM span_text ORDER BY rowid"  # noqa: S608
    )
    searchtext.drop(conn)
    searchtext.create(conn)


def downgrade() -> None:
    conn = op.get_bind()
    # The texts not indexed yet go into the index as revision 0008 kept it.
    op.execute(
        f"INSERT INTO span_text ({_TEXT}) SELECT {_TEXT} FROM span_text_pending ORDER BY id"  # noqa: S608
        + (" ON CONFLICT DO NOTHING" if conn.dialect.name == "postgresql" else "")
    )
    op.drop_table("span_text_pending")
