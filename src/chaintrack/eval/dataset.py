"""``Dataset``: versioned examples for experiments, in ClearML's dialect (``Dataset.create``,
``Dataset.get``, ``finalize``, ``list_datasets``), kept in the same store as tasks."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from chaintrack.errors import DatasetNotFoundError, InvalidArgumentError, invalid
from chaintrack.eval.rows import check_rows, file_rows, frame_rows
from chaintrack.store import open_store
from chaintrack.store.base import Store
from chaintrack.store.evalrecords import DRAFT, FINAL, DatasetRecord, ExampleRecord

log = logging.getLogger("chaintrack")
FIRST_VERSION = "1.0.0"


def _next_version(version: str) -> str:
    """``1.0.0`` → ``1.0.1``; a version without a trailing number gets ``.1``."""
    match = re.search(r"(\d+)$", version)
    if match is None:
        return version + ".1"
    return version[: match.start()] + str(int(match.group(1)) + 1)


def _name(argument: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise invalid(argument, value, "a non-empty string")
    return value


class Dataset:
    """One version of a dataset: its examples (``inputs``, ``expected``, ``metadata``, a
    stable ``id``). A draft takes rows; ``finalize()`` freezes it, and a later change makes a
    new draft version whose parent is the frozen one."""

    def __init__(self, store: Store, record: DatasetRecord) -> None:
        self._store = store
        self._record = record

    # -- creating and finding -------------------------------------------------------------

    @classmethod
    def create(
        cls,
        dataset_name: str,
        dataset_project: str,
        dataset_version: str | None = None,
        parent_datasets: Sequence[str | Dataset] | None = None,
        description: str | None = None,
    ) -> Dataset:
        """A new draft version. With ``parent_datasets`` (ids or Datasets) it starts with
        their examples; without ``dataset_version`` it is the next version of the dataset
        (``1.0.0`` for a new one)."""
        name = _name("dataset_name", dataset_name)
        project = _name("dataset_project", dataset_project)
        store = open_store()
        existing = store.find_datasets(project, name)
        if dataset_version is None:
            version = _next_version(existing[0].version) if existing else FIRST_VERSION
        else:
            version = _name("dataset_version", dataset_version)
            if any(d.version == version for d in existing):
                raise InvalidArgumentError(
                    f"dataset {project}/{name} has a version {version!r} already; pass another "
                    "dataset_version, or leave it out for the next one"
                )
        parents = [p.id if isinstance(p, Dataset) else str(p) for p in parent_datasets or ()]
        inherited: dict[str, ExampleRecord] = {}
        for parent in parents:
            for row in store.dataset_rows(store.get_dataset(parent).id):
                inherited.setdefault(row.example_id, row)
        record = DatasetRecord(
            id=uuid.uuid4().hex, project=project, name=name, version=version, status=DRAFT,
            created=time.time(), parent=parents[0] if parents else None,
            description=description or "",
        )  # fmt: skip
        store.put_dataset(record)
        dataset = cls(store, record)
        if inherited:
            rows = [ExampleRecord(r.example_id, i, r.inputs, r.expected, r.metadata)
                    for i, r in enumerate(inherited.values())]  # fmt: skip
            record.rows = store.add_dataset_rows(record.id, rows)
        return dataset

    @classmethod
    def get(
        cls,
        dataset_name: str | None = None,
        dataset_project: str | None = None,
        dataset_version: str | None = None,
        dataset_id: str | None = None,
    ) -> Dataset:
        """A dataset version by id, or by project and name (``dataset_version``, else the
        newest finalized version, else the newest draft)."""
        store = open_store()
        if dataset_id is not None:
            return cls(store, store.get_dataset(str(dataset_id)))
        if dataset_name is None:
            raise InvalidArgumentError("Dataset.get needs dataset_id= or dataset_name=")
        found = store.find_datasets(dataset_project, dataset_name)
        if dataset_version is not None:
            found = [d for d in found if d.version == dataset_version]
        if not found:
            where = f"{dataset_project}/{dataset_name}" if dataset_project else dataset_name
            version = f" version {dataset_version!r}" if dataset_version else ""
            raise DatasetNotFoundError(
                f"no dataset {where!r}{version} in {store.uri}; Dataset.list_datasets() shows "
                "the datasets there"
            )
        final = [d for d in found if d.status == FINAL]
        return cls(store, (final or found)[0])

    @classmethod
    def import_file(
        cls,
        path: str | Path,
        dataset_name: str,
        dataset_project: str,
        *,
        file_format: str | None = None,
        input_columns: Sequence[str] | None = None,
        expected_column: str = "expected",
        id_column: str = "id",
        metadata_columns: Sequence[str] = (),
        dataset_version: str | None = None,
        description: str | None = None,
        finalize: bool = False,
    ) -> Dataset:
        """A new version holding the rows of a CSV or JSONL file. A JSONL object with an
        ``inputs`` dict is a row as is; otherwise (and in CSV) every column but the expected,
        id and metadata columns is an input (or only ``input_columns``)."""
        rows = file_rows(
            Path(path).expanduser(), file_format, input_columns=list(input_columns or []),
            expected_column=expected_column, id_column=id_column,
            metadata_columns=list(metadata_columns),
        )  # fmt: skip
        check_rows(rows)  # a bad file creates no dataset
        dataset = cls.create(dataset_name, dataset_project, dataset_version,
                             description=description)  # fmt: skip
        dataset.add_rows(rows)
        return dataset.finalize() if finalize else dataset

    @staticmethod
    def list_datasets(dataset_project: str | None = None) -> list[dict[str, Any]]:
        """Every dataset version (newest first) as dicts: id, project, name, version, status,
        parent, rows, created, description."""
        return [dict(d.__dict__) for d in open_store().find_datasets(dataset_project)]

    # -- changing ---------------------------------------------------------------------------

    def add_rows(self, rows: Iterable[Mapping[str, Any]] | Any) -> Dataset:
        """Add examples: dicts with an ``inputs`` dict and optionally ``expected``,
        ``metadata`` and ``id``, or a pandas DataFrame (an ``inputs`` column, or one column
        per input beside ``expected``, ``metadata`` and ``id``). All are checked first: a bad
        row raises an error naming it and nothing is added."""
        if hasattr(rows, "to_dict") and hasattr(rows, "columns"):
            listed: list[Any] = frame_rows(rows, input_columns=None, expected_column="expected",
                                           id_column="id", metadata_columns=[])  # fmt: skip
        elif isinstance(rows, (Mapping, str, bytes)):
            raise invalid("rows", rows, "a list of row dicts or a pandas DataFrame")
        else:
            listed = list(rows)
        records = check_rows(listed, start=self._record.rows)
        if self._record.status == FINAL:
            self._new_version()
            records = check_rows(listed, start=self._record.rows)
        self._record.rows = self._store.add_dataset_rows(self.id, records)
        return self

    def _new_version(self) -> None:
        frozen = self._record
        child = Dataset.create(frozen.name, frozen.project, parent_datasets=[frozen.id],
                               description=frozen.description)  # fmt: skip
        log.info("chaintrack: dataset %s/%s %s is finalized; changes go to new version %s",
                 frozen.project, frozen.name, frozen.version, child.version)  # fmt: skip
        self._record = child._record

    def finalize(self) -> Dataset:
        """Freeze this version: experiments refer to it by id and version from now on."""
        if self._record.status != FINAL:
            self._record.status, self._record.finalized = FINAL, time.time()
            self._store.put_dataset(self._record)
        return self

    # -- reading ----------------------------------------------------------------------------

    @property
    def id(self) -> str:
        return self._record.id

    @property
    def version(self) -> str:
        return self._record.version

    @property
    def name(self) -> str:
        return self._record.name

    @property
    def project(self) -> str:
        return self._record.project

    @property
    def parent(self) -> str | None:
        return self._record.parent

    @property
    def is_final(self) -> bool:
        return self._record.status == FINAL

    @property
    def record(self) -> DatasetRecord:
        return self._record

    def __len__(self) -> int:
        return self._record.rows

    def __repr__(self) -> str:
        return (f"<Dataset {self.project}/{self.name} {self.version} ({self._record.status}, "
                f"{len(self)} rows) id={self.id}>")  # fmt: skip

    def examples(self) -> list[ExampleRecord]:
        return self._store.dataset_rows(self.id)

    def to_dataframe(self) -> Any:
        """The examples as a DataFrame: id, inputs, expected, metadata (decoded)."""
        import pandas as pd

        rows = [
            {"id": r.example_id, "inputs": json.loads(r.inputs),
             "expected": None if r.expected is None else json.loads(r.expected),
             "metadata": json.loads(r.metadata)}
            for r in self.examples()
        ]  # fmt: skip
        return pd.DataFrame(rows, columns=["id", "inputs", "expected", "metadata"], dtype=object)
