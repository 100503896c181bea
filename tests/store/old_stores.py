"""Stores as older chaintracks left them, and the span events the store tests write."""

from __future__ import annotations

import json

from alembic import command
from sqlalchemy import create_engine, text

from chaintrack.store import migrate, schema
from chaintrack.store.records import SPAN


def span_event(task_id: str, seq: int, span_id: str, parent: str | None = None, **fields: object):  # type: ignore[no-untyped-def]
    payload = {
        "span_id": span_id,
        "parent_id": parent,
        "kind": "chain",
        "name": span_id,
        "start_time": 100.0 + seq,
        "end_time": 100.5 + seq,
        "latency_ms": 500.0,
        "status": "ok",
        "error": None,
        "input": "in",
        "output": "out",
    }
    payload.update(fields)
    return (
        task_id,
        1,
        seq,
        SPAN,
        payload["end_time"],
        None,
        None,
        None,
        None,
        None,
        None,
        json.dumps(payload),
    )


def first_revision_store(uri: str) -> None:
    """A store made by chaintrack at revision 0001, with a task and one LLM span event."""
    engine = create_engine(uri.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        command.upgrade(migrate.alembic_config(conn), "0001")  # type: ignore[arg-type]
        conn.execute(
            text(
                "INSERT INTO tasks (id, project, name, type, status, status_reason, tags, "
                'system_tags, comment, "user", created, last_update, script, runtime, '
                "packages) VALUES ('a', 'p', 'n', 'inference', 'completed', '', '[]', '[]', '', "
                "'', 1, 1, '{}', '{}', '[]')"
            )
        )
        row = span_event("a", 1, "s", kind="llm", total_tokens=12)
        columns = schema.EVENT_COLUMNS
        conn.execute(
            text(
                f"INSERT INTO events ({', '.join(columns)}) "
                f"VALUES ({', '.join(':' + c for c in columns)})"
            ),
            dict(zip(columns, row, strict=True)),
        )
    engine.dispose()
