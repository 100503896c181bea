"""Any LangChain object as JSON, for the output model ``flush_tracker`` stores.

``asset.save(path)`` (or ``save_agent`` for an agent executor) where the object has it, as the
original handler did; otherwise (chat models, LCEL runnables, LangGraph graphs, anything) a
description: LangChain's own serialization when the object supports it, the graph's nodes and
edges, and its ``repr``. Never an exception.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
import warnings
from pathlib import Path
from typing import Any

from chaintrack.langchain import values as v

_REPR_LIMIT = 10_000


def asset_json(asset: Any) -> str:
    """The asset as JSON text (indented)."""
    # LangChain's own serializers warn about fields they cannot represent (pydantic's
    # "serializer warnings"); those say nothing to the user of the handler.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        saved = _saved(asset)
        if saved is not None:
            return saved
        try:
            return json.dumps(describe(asset), indent=2, ensure_ascii=False, default=str)
        except Exception as exc:  # last resort: still a JSON document
            return json.dumps({"type": _type_name(asset), "error": f"{type(exc).__name__}: {exc}"})


def _saved(asset: Any) -> str | None:
    with tempfile.TemporaryDirectory(prefix="chaintrack-asset-") as folder:
        path = Path(folder) / "asset.json"
        for method in ("save", "save_agent"):
            save = getattr(asset, method, None)
            if not callable(save):
                continue
            try:
                save(path)
                text = path.read_text(encoding="utf-8")
                json.loads(text)
            except Exception:  # not savable (ValueError, NotImplementedError, …): go on
                path.unlink(missing_ok=True)
                continue
            return text
    return None


def _type_name(asset: Any) -> str:
    kind = type(asset)
    return f"{kind.__module__}.{kind.__qualname__}"


def describe(asset: Any) -> dict[str, Any]:
    """A faithful JSON description of an object that cannot save itself."""
    found: dict[str, Any] = {"type": _type_name(asset)}
    name = getattr(asset, "name", None)
    if isinstance(name, str):
        found["name"] = name
    serialized = _serialized(asset)
    if serialized is not None:
        found["langchain"] = serialized
    graph = _graph(asset)
    if graph is not None:
        found["graph"] = graph
    try:
        found["repr"] = v.clip(repr(asset), _REPR_LIMIT)
    except Exception as exc:
        found["repr"] = f"<repr failed: {type(exc).__name__}>"
    return found


def _serialized(asset: Any) -> Any:
    try:
        from langchain_core.load import dumpd

        data = dumpd(asset)
    except Exception:
        return None
    if isinstance(data, dict) and data.get("type") == "not_implemented":
        return None
    return v.jsonable(data)


def _graph(asset: Any) -> dict[str, Any] | None:
    get_graph = getattr(asset, "get_graph", None)
    if not callable(get_graph):
        return None
    try:
        graph = get_graph()
        nodes = [
            {"id": str(key), "name": str(getattr(node, "name", key))}
            for key, node in graph.nodes.items()
        ]
        edges = [
            {
                "source": str(e.source),
                "target": str(e.target),
                "conditional": bool(e.conditional),
                "data": None if e.data is None else str(e.data),
            }
            for e in graph.edges
        ]
        result: dict[str, Any] = {"nodes": nodes, "edges": edges}
        # Drawing is a convenience; the nodes and edges are the structure.
        with contextlib.suppress(Exception):
            result["mermaid"] = graph.draw_mermaid()
        return result
    except Exception:
        return None
