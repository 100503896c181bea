"""Human feedback: a score, a thumbs up/down or a label that a person gives a task, one of its
spans or one of its examples, with a comment. Stored in the ``feedback`` table (revision 0006)
by the SQL store, added only (never changed), read per task or for several tasks at once (the
experiment compare view).
"""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from chaintrack.errors import InvalidArgumentError, TaskNotFoundError, invalid
from chaintrack.store.schema import feedback, spans, tasks

#: Where a feedback came from.
SOURCES = ("sdk", "api", "ui")
VALUE_TYPES = ("number", "bool", "label")
_MAX_NAME = 256
_MAX_LABEL = 256
_MAX_COMMENT = 10_000


@dataclass(frozen=True)
class FeedbackRecord:
    """One feedback as stored. ``value`` gives it back as given: a float, a bool or a str."""

    id: str
    task_id: str
    name: str
    value_type: str
    score: float | None
    label: str | None
    span_id: str | None = None
    example_id: str | None = None
    comment: str = ""
    author: str = ""
    source: str = "sdk"
    created: float = 0.0

    @property
    def value(self) -> float | bool | str | None:
        if self.value_type == "bool":
            return bool(self.score)
        if self.value_type == "label":
            return self.label
        return self.score

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "value": self.value}


def _optional_text(argument: str, value: Any, limit: int) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise invalid(argument, value, f"give a string of at most {limit} characters, or None")
    return value


def make_feedback(
    task_id: str,
    name: Any,
    value: Any,
    *,
    span_id: Any = None,
    example_id: Any = None,
    comment: Any = None,
    author: Any = None,
    source: str = "sdk",
    created: float | None = None,
) -> FeedbackRecord:
    """A validated feedback record; :class:`InvalidArgumentError` says what is wrong and how to
    give it (the SDK, the REST API and the web UI all validate through here)."""
    if not isinstance(name, str) or not name.strip() or len(name) > _MAX_NAME:
        raise invalid(
            "name", name, f"give the feedback a non-empty name of at most {_MAX_NAME} characters"
        )
    score: float | None = None
    label: str | None = None
    if isinstance(value, bool):
        value_type, score = "bool", 1.0 if value else 0.0
    elif isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise invalid("value", value, "a score must be a finite number")
        value_type, score = "number", float(value)
    elif isinstance(value, str):
        if not value.strip() or len(value) > _MAX_LABEL:
            raise invalid(
                "value", value, f"a label must be a non-empty string of at most {_MAX_LABEL} "
                "characters"
            )  # fmt: skip
        value_type, label = "label", value
    else:
        raise invalid(
            "value", value, "give a number (a score), a bool (thumbs up/down) or a string (a label)"
        )
    if comment is not None and (not isinstance(comment, str) or len(comment) > _MAX_COMMENT):
        raise invalid("comment", comment, f"give a string of at most {_MAX_COMMENT} characters")
    if source not in SOURCES:
        raise invalid("source", source, f"use one of {', '.join(SOURCES)}")
    return FeedbackRecord(
        id=uuid.uuid4().hex,
        task_id=task_id,
        name=name.strip(),
        value_type=value_type,
        score=score,
        label=label,
        span_id=_optional_text("span_id", span_id, 64),
        example_id=_optional_text("example_id", example_id, 256),
        comment=comment or "",
        author=_optional_text("author", author, 256) or "",
        source=source,
        created=time.time() if created is None else created,
    )


def feedback_from_dict(data: Any) -> FeedbackRecord:
    """A record read back from JSON (``to_dict``), validated again."""
    if not isinstance(data, dict):
        raise InvalidArgumentError("a feedback must be a JSON object")
    record = make_feedback(
        str(data.get("task_id", "")), data.get("name"), data.get("value"),
        span_id=data.get("span_id"), example_id=data.get("example_id"),
        comment=data.get("comment"), author=data.get("author"),
        source=str(data.get("source") or "api"),
        created=float(data["created"]) if isinstance(data.get("created"), (int, float)) else None,
    )  # fmt: skip
    given = data.get("id")
    if isinstance(given, str) and given.isalnum() and len(given) <= 32:
        record = FeedbackRecord(**{**asdict(record), "id": given})
    return record


def _record(row: Any) -> FeedbackRecord:
    return FeedbackRecord(**{k: row[k] for k in FeedbackRecord.__dataclass_fields__})


class FeedbackMixin:
    """The SQL store's feedback reads and writes."""

    _read_engine: Engine

    def _transaction(self, apply: Any) -> None:  # provided by SqlStore
        raise NotImplementedError

    def add_feedback(self, record: FeedbackRecord) -> FeedbackRecord:
        """Store ``record`` (once: adding the same id again changes nothing). The task must
        exist, and so must the span when one is named."""

        def apply(conn: Connection) -> None:
            if conn.execute(select(tasks.c.id).where(tasks.c.id == record.task_id)).first() is None:
                raise TaskNotFoundError(f"no task with id {record.task_id!r}")
            if record.span_id is not None:
                found = conn.execute(
                    select(spans.c.span_id).where(
                        spans.c.task_id == record.task_id, spans.c.span_id == record.span_id
                    )
                ).first()
                if found is None:
                    raise invalid(
                        "span_id", record.span_id,
                        f"task {record.task_id} has no span with this id (see task.get_spans())",
                    )  # fmt: skip
            stored = conn.execute(select(feedback.c.id).where(feedback.c.id == record.id)).first()
            if stored is None:
                conn.execute(insert(feedback).values(**asdict(record)))

        self._transaction(apply)
        return record

    def get_feedback(self, task_ids: list[str]) -> list[FeedbackRecord]:
        """Every feedback of these tasks, oldest first."""
        if not task_ids:
            return []
        stmt = (
            select(feedback)
            .where(feedback.c.task_id.in_(task_ids))
            .order_by(feedback.c.created, feedback.c.id)
        )
        with self._read_engine.connect() as conn:
            return [_record(r) for r in conn.execute(stmt).mappings()]
