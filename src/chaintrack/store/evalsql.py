"""Datasets and experiment results in a SQL store (SQLite and PostgreSQL): the methods of
:class:`~chaintrack.store.evalrecords.EvalStore` that :class:`~chaintrack.store.sql.SqlStore`
gets from this mixin. Every query binds its values; none is built from user text."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, case, func, literal, select, update

from chaintrack.errors import DatasetNotFoundError, InvalidArgumentError
from chaintrack.store.evalrecords import (
    DRAFT,
    DatasetRecord,
    ExampleRecord,
    ResultRecord,
    TraceTotals,
)
from chaintrack.store.evaltables import dataset_rows, datasets, eval_results
from chaintrack.store.queries import MAX_TRACE_SPANS, _depth_first
from chaintrack.store.schema import spans
from chaintrack.store.views import LLM_SPAN_KINDS

#: Rows per INSERT statement (11 bound values each; SQLite allows 32,766 per statement).
_CHUNK = 1_000


class EvalSqlMixin:
    """Datasets and results; relies on SqlStore's engines, transactions and upserts."""

    _read_engine: Any
    dialect: str

    _transaction: Any
    _span_payloads: Any
    _upsert: Any

    # -- datasets --------------------------------------------------------------------------

    def put_dataset(self, record: DatasetRecord) -> None:
        row = dict(record.__dict__)
        self._transaction(lambda conn: conn.execute(self._upsert(datasets, [row], ["id"]), [row]))

    def add_dataset_rows(self, dataset_id: str, rows: list[ExampleRecord]) -> int:
        count: list[int] = []

        def apply(conn: Connection) -> None:
            found = conn.execute(
                select(datasets.c.status, datasets.c.rows).where(datasets.c.id == dataset_id)
            ).first()
            if found is None:
                raise DatasetNotFoundError(f"no dataset with id {dataset_id!r}")
            if found.status != DRAFT:
                raise InvalidArgumentError(
                    f"dataset {dataset_id!r} is finalized: its rows cannot change; add rows "
                    "through Dataset.add_rows, which makes a new version"
                )
            ids = [r.example_id for r in rows]
            existing: set[str] = set()
            for start in range(0, len(ids), _CHUNK):
                part = ids[start : start + _CHUNK]
                existing.update(conn.execute(
                    select(dataset_rows.c.example_id).where(
                        dataset_rows.c.dataset_id == dataset_id,
                        dataset_rows.c.example_id.in_(part),
                    )
                ).scalars())  # fmt: skip
            if existing:
                index, example = next((i, r) for i, r in enumerate(rows)
                                      if r.example_id in existing)  # fmt: skip
                raise InvalidArgumentError(
                    f"row {index}: example id {example.example_id!r} is in the dataset "
                    "already; give the row another id (or leave it out); no row was added"
                )
            values = [{"dataset_id": dataset_id, **r.__dict__} for r in rows]
            for start in range(0, len(values), _CHUNK):
                conn.execute(dataset_rows.insert(), values[start : start + _CHUNK])
            total = int(found.rows) + len(rows)
            conn.execute(update(datasets).where(datasets.c.id == dataset_id).values(rows=total))
            count.append(total)

        self._transaction(apply)
        return count[-1]

    def get_dataset(self, dataset_id: str) -> DatasetRecord:
        with self._read_engine.connect() as conn:
            row = conn.execute(select(datasets).where(datasets.c.id == dataset_id)).mappings()
            found = row.first()
        if found is None:
            raise DatasetNotFoundError(f"no dataset with id {dataset_id!r}")
        return DatasetRecord(**dict(found))

    def find_datasets(
        self, project: str | None = None, name: str | None = None
    ) -> list[DatasetRecord]:
        stmt = select(datasets)
        if project is not None:
            stmt = stmt.where(datasets.c.project == project)
        if name is not None:
            stmt = stmt.where(datasets.c.name == name)
        stmt = stmt.order_by(datasets.c.created.desc(), datasets.c.id.desc())
        with self._read_engine.connect() as conn:
            return [DatasetRecord(**dict(r)) for r in conn.execute(stmt).mappings()]

    def dataset_rows(
        self, dataset_id: str, offset: int = 0, limit: int | None = None
    ) -> list[ExampleRecord]:
        stmt = (
            select(
                dataset_rows.c.example_id,
                dataset_rows.c.position,
                dataset_rows.c.inputs,
                dataset_rows.c.expected,
                dataset_rows.c.metadata,
            )
            .where(dataset_rows.c.dataset_id == dataset_id)
            .order_by(dataset_rows.c.position, dataset_rows.c.example_id)
            .offset(offset)
        )
        if limit is not None:
            stmt = stmt.limit(limit)
        with self._read_engine.connect() as conn:
            return [ExampleRecord(**dict(r)) for r in conn.execute(stmt).mappings()]

    def dataset_experiments(self, dataset_id: str) -> list[str]:
        stmt = (
            select(eval_results.c.task_id)
            .where(eval_results.c.dataset_id == dataset_id)
            .group_by(eval_results.c.task_id)
            .order_by(func.min(eval_results.c.created))
        )
        with self._read_engine.connect() as conn:
            return [str(t) for t in conn.execute(stmt).scalars()]

    # -- results ---------------------------------------------------------------------------

    def write_results(self, rows: list[ResultRecord]) -> None:
        if not rows:
            return
        values = [dict(r.__dict__) for r in rows]
        keys = ["task_id", "example_id", "repetition"]

        def apply(conn: Connection) -> None:
            for start in range(0, len(values), _CHUNK):
                part = values[start : start + _CHUNK]
                conn.execute(self._upsert(eval_results, part, keys), part)

        self._transaction(apply)

    def get_results(self, task_id: str) -> list[ResultRecord]:
        stmt = (
            select(eval_results)
            .where(eval_results.c.task_id == task_id)
            .order_by(eval_results.c.position, eval_results.c.example_id, eval_results.c.repetition)
        )
        with self._read_engine.connect() as conn:
            return [ResultRecord(**dict(r)) for r in conn.execute(stmt).mappings()]

    def trace_totals(self, task_id: str) -> list[TraceTotals]:
        # Each root span's descendants, by a recursive walk down ``ix_spans_parent``: spans
        # carry their trace id only when their producer set it.
        tree = (
            select(spans.c.span_id.label("root"), spans.c.span_id.label("span_id"))
            .where(spans.c.task_id == task_id, spans.c.parent_id.is_(None))
            .cte("tree", recursive=True)
        )
        child = spans.alias("child")
        tree = tree.union_all(
            select(tree.c.root, child.c.span_id).where(
                child.c.task_id == task_id, child.c.parent_id == tree.c.span_id
            )
        )
        is_llm = spans.c.kind.in_(sorted(LLM_SPAN_KINDS))
        stmt = (
            select(
                tree.c.root,
                func.sum(case((is_llm, spans.c.total_tokens))),
                func.sum(spans.c.cost_usd),
                func.sum(case((is_llm, 1), else_=0)),
                func.count(spans.c.cost_usd),
            )
            .select_from(
                tree.join(
                    spans, and_(spans.c.task_id == task_id, spans.c.span_id == tree.c.span_id)
                )
            )
            .group_by(tree.c.root)
        )
        with self._read_engine.connect() as conn:
            rows = conn.execute(stmt).all()
        return [
            TraceTotals(
                trace_id=str(root),
                total_tokens=None if tokens is None else int(tokens),
                cost_usd=None if cost is None else float(cost),
                llm_calls=int(calls or 0),
                priced_calls=int(priced or 0),
            )
            for root, tokens, cost, calls, priced in rows
        ]

    def trace_spans(self, task_id: str, trace_id: str) -> list[dict[str, Any]]:
        tree = (
            select(spans.c.span_id, literal(0).label("depth"))
            .where(spans.c.task_id == task_id, spans.c.span_id == trace_id)
            .cte("tree", recursive=True)
        )
        child = spans.alias("child")
        tree = tree.union_all(
            select(child.c.span_id, tree.c.depth + 1).where(
                child.c.task_id == task_id, child.c.parent_id == tree.c.span_id,
                tree.c.depth < 200,
            )
        )  # fmt: skip
        stmt = (
            select(spans, tree.c.depth)
            .join(tree, and_(spans.c.task_id == task_id, spans.c.span_id == tree.c.span_id))
            .limit(MAX_TRACE_SPANS)
        )
        with self._read_engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(stmt).mappings()]
            ordered = _depth_first([trace_id], rows)
            payloads = self._span_payloads(conn, task_id, ordered)
        found = []
        for row in ordered:
            payload = payloads.get((row["writer"], row["seq"]))
            if not isinstance(payload, dict):
                payload = {k: v for k, v in row.items() if k not in ("task_id", "writer", "seq")}
            found.append({**payload, "depth": row["depth"]})
        return found
