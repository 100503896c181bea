"""Writing one chaintrack task into an open ClearML task, through the official SDK's calls.

Everything but the final status: :mod:`chaintrack.clearml.push` opens the ClearML task, calls
:func:`replay`, and ends it.
"""

from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaintrack.clearml import mapping
from chaintrack.errors import StoreError
from chaintrack.sdk.artifacts import Artifact
from chaintrack.sdk.reading import as_text, scalar_value
from chaintrack.sdk.tables import to_dataframe
from chaintrack.store import params
from chaintrack.store.base import Store
from chaintrack.store.blobs import safe_segment
from chaintrack.store.records import (
    LOG,
    MEDIA,
    PLOT,
    SCALAR,
    SINGLE_VALUE_ITER,
    SINGLE_VALUE_METRIC,
    SPAN,
    TABLE,
    ModelRecord,
    TaskRecord,
)

#: Artifact types ClearML serializes itself (so ``.get()`` in ClearML gives the object back);
#: the others are uploaded as the stored file.
_AS_OBJECT = ("dict", "list", "pandas", "pandas-series", "numpy")
_LEVEL_NAMES = {0: "notset", 10: "debug", 20: "info", 30: "warning", 40: "error", 50: "critical"}
#: Properties user properties always carry, whatever their own section says.
PROPERTIES_SECTION = "properties"


@dataclass(frozen=True)
class Source:
    """The chaintrack task being pushed, and the store it is read from."""

    store: Store
    record: TaskRecord


def replay(source: Source, cm: Any, offline: bool, scratch: Path) -> None:
    """Copy ``source`` into the ClearML task ``cm``; ``scratch`` holds temporary files."""
    record = source.record
    _execution(record, cm)
    _parameters(source, cm)
    for c in source.store.get_configurations(record.id):
        cm.set_configuration_object(
            c.name, config_text=c.value, config_type=c.type or None, description=c.description
        )
    logger = cm.get_logger()
    _scalars(source, logger)
    _console(source, cm, logger, online=not offline)
    _tables_and_plots(source, logger)
    _media(source, logger)
    _spans(source, logger)
    _artifacts(source, cm)
    for model in source.store.get_models(record.id):
        if offline:
            _model_as_artifact(source, cm, model, scratch)
        else:
            _output_model(source, cm, model, scratch)


def _execution(record: TaskRecord, cm: Any) -> None:
    from clearml.backend_api.services import tasks as api

    if record.comment:
        cm.set_comment(record.comment)
    requirements = {"pip": "\n".join(record.packages)} if record.packages else None
    cm._update_script(api.Script(**mapping.script(record), requirements=requirements))
    if record.runtime:
        cm._edit(runtime={k: v for k, v in record.runtime.items() if v is not None})


def _parameters(source: Source, cm: Any) -> None:
    values: dict[str, str] = {}
    types: dict[str, str] = {}
    descriptions: dict[str, str] = {}
    properties: list[dict[str, str]] = []
    for p in source.store.get_parameters(source.record.id):
        text = as_text(params.decode(p.value, p.type))
        if p.section == PROPERTIES_SECTION:
            properties.append({"name": p.name, "value": text, "description": p.description})
            continue
        key = f"{p.section}/{p.name}"
        values[key] = text
        types[key] = p.type
        if p.description:
            descriptions[key] = p.description
    if values:
        cm.set_parameters(values, __parameters_types=types, __parameters_descriptions=descriptions)
    provenance = mapping.provenance(source.record, source.store.uri)
    properties.extend({"name": k, "value": v, "description": ""} for k, v in provenance.items())
    cm.set_user_properties(*properties)


def _scalars(source: Source, logger: Any) -> None:
    for e in source.store.get_events(source.record.id, SCALAR):
        value = scalar_value(e.value)
        if e.metric == SINGLE_VALUE_METRIC and e.iter == SINGLE_VALUE_ITER:
            logger.report_single_value(e.variant or "", value)
        else:
            logger.report_scalar(e.metric or "", e.variant or "", value, e.iter or 0)


def _console(source: Source, cm: Any, logger: Any, online: bool) -> None:
    for e in source.store.get_events(source.record.id, LOG):
        level = e.level or logging.INFO
        if online:
            _console_event(cm, e.text or "", level, e.ts)
        else:
            logger.report_text(e.text or "", level=level, print_console=False)


def _console_event(cm: Any, text: str, level: int, ts: float) -> None:
    """A console line with its own time and level, on a task made by ``Task.create``.

    The SDK's ``Logger.report_text`` sends such a task's lines with upper-case level names
    ("INFO"), which the server's event schema refuses, and with the time of the push; this builds
    the event the SDK's console handler would have sent.
    """
    from clearml.backend_interface.metrics.events import ConsoleEvent

    name = _LEVEL_NAMES.get(level // 10 * 10, "info")
    # ConsoleEvent is annotated with an int level but passes a str through as it is.
    event = ConsoleEvent(message=text, level=name, worker=cm.session.worker,  # type: ignore[arg-type]
                         timestamp=int(ts * 1000))  # fmt: skip
    cm._reporter._report(event)


def _tables_and_plots(source: Source, logger: Any) -> None:
    for e in source.store.get_events(source.record.id, TABLE):
        frame = _for_clearml(to_dataframe(e.data))
        logger.report_table(e.metric or "", e.variant or "", e.iter or 0, table_plot=frame)
    for e in source.store.get_events(source.record.id, PLOT):
        if isinstance(e.data, dict):
            logger.report_plotly(e.metric or "", e.variant or "", e.data, e.iter or 0)


def _media(source: Source, logger: Any) -> None:
    for e in source.store.get_events(source.record.id, MEDIA):
        data = e.data or {}
        where: dict[str, Any] = {}
        if data.get("uri"):
            where["local_path"] = str(source.store.blobs.local_path(data["uri"]))
        elif data.get("url"):
            where["url"] = data["url"]
        else:
            continue
        if data.get("extension"):
            where["file_extension"] = "." + str(data["extension"]).lstrip(".")
        logger.report_media(e.metric or "", e.variant or "", iteration=e.iter or 0, **where)


def _spans(source: Source, logger: Any) -> None:
    spans = [e.data for e in source.store.get_events(source.record.id, SPAN) if e.data]
    if not spans:
        return
    import pandas as pd

    frame = pd.DataFrame(mapping.span_rows(spans), columns=list(mapping.SPAN_TABLE_COLUMNS))
    logger.report_table(
        mapping.SPAN_TABLE_TITLE, mapping.SPAN_TABLE_SERIES, 0, table_plot=_for_clearml(frame)
    )


def _for_clearml(frame: Any) -> Any:
    # ClearML fills missing cells with the text "nan", which pandas refuses in float columns
    # (a warning now, an error in pandas 4): such columns go as objects.
    for position in range(frame.shape[1]):
        column = frame.iloc[:, position]
        if column.dtype.kind == "f" and column.isna().any():
            frame.isetitem(position, column.astype(object))
    return frame


def _artifacts(source: Source, cm: Any) -> None:
    for record in source.store.get_artifacts(source.record.id):
        artifact = Artifact(record, source.store.blobs)
        obj: Any = artifact.get() if record.type in _AS_OBJECT else artifact.get_local_copy()
        cm.upload_artifact(
            record.name,
            artifact_object=obj,
            metadata=artifact.metadata or None,
            preview=record.preview or None,
            wait_on_upload=True,
        )


def _model_file(source: Source, model: ModelRecord, scratch: Path) -> tuple[str | None, str | None]:
    """(a local weights file, or a remote URI to register) of a model; config-only models get
    their configuration written to a file, as ClearML's own LangChain handler stored its asset."""
    if model.uri:
        try:
            return str(source.store.blobs.local_path(model.uri)), None
        except StoreError:
            return None, model.uri
    folder = Path(tempfile.mkdtemp(dir=scratch))
    path = folder / f"{safe_segment(model.name) or 'model'}.json"
    path.write_text(model.config_text or "{}", encoding="utf-8")
    return str(path), None


def _output_model(source: Source, cm: Any, model: ModelRecord, scratch: Path) -> None:
    from clearml import OutputModel

    output = OutputModel(
        task=cm,
        name=model.name,
        framework=model.framework or None,
        config_text=model.config_text or None,
        tags=json.loads(model.tags) or None,
    )
    local, remote = _model_file(source, model, scratch)
    if local is not None:
        output.update_weights(weights_filename=local, async_enable=False, auto_delete_file=False)
    else:
        output.update_weights(register_uri=remote, async_enable=False)


def _model_as_artifact(source: Source, cm: Any, model: ModelRecord, scratch: Path) -> None:
    # Offline, clearml 2.1.12's OutputModel.update_weights raises (DummyModel has no 'locked'),
    # so a model travels as an artifact named after it, its details in the metadata.
    local, remote = _model_file(source, model, scratch)
    cm.upload_artifact(
        f"model {model.name}",
        artifact_object=local if local is not None else {"uri": remote},
        metadata={
            "model": model.name,
            "framework": model.framework,
            "mode": model.mode,
            "chaintrack_model_id": model.id,
            "config_text": model.config_text[:10_000],
        },
        wait_on_upload=True,
    )
