"""The tables of datasets and experiment results (revision 0005), on the store's ``metadata``.

A dataset version is one ``datasets`` row; its examples are ``dataset_rows`` keyed by a stable
example id (given, or derived from the example's content), so results line up across versions
and experiments. An experiment is a task of type ``testing``; each scored example (and
repetition) is one ``eval_results`` row, written as soon as it is scored, so that a stopped run
loses nothing and ``resume=`` finds what is missing. Inputs, outputs and scores are JSON text.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, Index, Integer, String, Table, Text

from chaintrack.store.schema import metadata

datasets = Table(
    "datasets",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("project", String(512), nullable=False),
    Column("name", String(512), nullable=False),
    Column("version", String(64), nullable=False),
    # The version this one was made from (None: the first version).
    Column("parent", String(32), nullable=True),
    # "draft" (rows may be added) or "final" (frozen; a change makes a new version).
    Column("status", String(16), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("created", Float, nullable=False),
    Column("finalized", Float, nullable=True),
    Column("rows", BigInteger, nullable=False, default=0),
    Index("ix_datasets_name", "project", "name", "created"),
)

dataset_rows = Table(
    "dataset_rows",
    metadata,
    Column("dataset_id", String(32), primary_key=True),
    Column("example_id", String(64), primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("inputs", Text, nullable=False),
    Column("expected", Text, nullable=True),
    Column("metadata", Text, nullable=False, default="{}"),
    Index("ix_dataset_rows_position", "dataset_id", "position"),
)

eval_results = Table(
    "eval_results",
    metadata,
    Column("task_id", String(32), primary_key=True),
    Column("example_id", String(64), primary_key=True),
    Column("repetition", Integer, primary_key=True, autoincrement=False),
    Column("dataset_id", String(32), nullable=False),
    Column("position", BigInteger, nullable=False),
    Column("output", Text, nullable=True),
    # {score name: {"value": number|null, "comment": str|null, "error": str|null, ...}}
    Column("scores", Text, nullable=False, default="{}"),
    Column("latency_ms", Float, nullable=True),
    Column("error", Text, nullable=True),
    # The root span of the example's run (the run tree's trace), in the same task.
    Column("trace_id", String(64), nullable=True),
    Column("created", Float, nullable=False),
    # The experiments run on a dataset (the Datasets page).
    Index("ix_eval_results_dataset", "dataset_id", "task_id"),
)
