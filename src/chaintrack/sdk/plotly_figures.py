"""Plotly JSON of each plot report, in the shapes ClearML's SDK gives them.

ClearML draws every plot with plotly.js; so does chaintrack. These functions build the same
figure dicts (traces, axis titles, ``barmode``, heat-map colour scale…) from the arguments of
``Logger.report_histogram`` and its siblings, so a plot looks alike in both UIs and a mirrored plot
arrives in ClearML as what ClearML itself would have reported.
"""

from __future__ import annotations

import base64
import datetime
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from chaintrack.errors import invalid

if TYPE_CHECKING:
    from chaintrack.sdk.plots import SeriesInfo

HISTOGRAM_MODES = ("stack", "group", "relative")
LINE_MODES = ("lines", "markers", "lines+markers")

# ClearML's default heat-map colours (viridis-like) and where they change.
_COLOR_STOPS = (0.0, 0.1, 0.2, 0.6, 0.9, 1.0)
_COLORS = (
    (71, 17, 100),
    (53, 92, 140),
    (37, 139, 141),
    (66, 189, 112),
    (141, 214, 68),
    (221, 226, 24),
)


def jsonable(value: Any) -> Any:
    """``value`` with numpy arrays and scalars, tuples, dates and non-finite floats turned into
    what JSON holds (NaN and ±inf become null: plotly.js leaves a gap there)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, Mapping):
        if "bdata" in value and "dtype" in value:
            return jsonable(_typed_array(value))
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f":
            numbers = value.astype(object)
            numbers[~np.isfinite(value)] = None
            return numbers.tolist()
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, (list, tuple, set, frozenset)):
        return _sequence(value)
    if isinstance(value, (datetime.date, datetime.datetime, datetime.time)):
        return value.isoformat()
    if hasattr(value, "isoformat"):  # pandas.Timestamp
        return value.isoformat()
    if hasattr(value, "tolist"):  # pandas Series / Index
        return jsonable(value.tolist())
    try:
        return float(value)  # Decimal, Fraction
    except (TypeError, ValueError):
        return str(value)


def _sequence(values: Any) -> list[Any]:
    # The common case, a list of plain numbers or strings, without a call per item.
    out: list[Any] = []
    for v in values:
        kind = type(v)
        if kind is float:
            out.append(v if v - v == 0.0 else None)  # NaN and ±inf give NaN here
        elif kind is int or kind is str or v is None or kind is bool:
            out.append(v)
        else:
            out.append(jsonable(v))
    return out


def _typed_array(spec: Mapping[str, Any]) -> Any:
    """A plotly.js typed array (``{"dtype": "f8", "bdata": base64, "shape": "2, 3"}``, how
    plotly 6 and later encode numpy arrays) as the numbers it holds: readers of stored plots and
    ClearML's UI expect plain lists."""
    raw = base64.b64decode(str(spec["bdata"]))
    array = np.frombuffer(raw, dtype=np.dtype(str(spec["dtype"])).newbyteorder("<"))
    shape = spec.get("shape")
    if shape:
        array = array.reshape([int(n) for n in str(shape).split(",")])
    return array


def merge(base: dict[str, Any], extra: Mapping[str, Any] | None) -> dict[str, Any]:
    """``extra`` merged into ``base`` recursively (ClearML's ``extra_layout``)."""
    for key, value in (extra or {}).items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            merge(base[key], value)
        else:
            base[key] = value
    return base


def _titled(title: str, comment: str | None) -> str:
    return title if not comment else f"{title}<br><sup>{comment}</sup>"


def _matrix(argument: str, value: Any, ndim: int | None = None) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise invalid(argument, value, "numbers (a list or a numpy array)") from None
    if ndim is not None and array.ndim != ndim:
        raise invalid(argument, value, f"a {ndim}-D array of numbers")
    return array


def histogram(
    title: str,
    series: str,
    values: Any,
    labels: Sequence[str] | None,
    xlabels: Sequence[Any] | None,
    xaxis: str | None,
    yaxis: str | None,
    mode: str | None,
    data_args: Mapping[str, Any] | None,
    extra_layout: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """Bars: one trace per row of ``values`` (ClearML's ``create_2d_histogram_plot``)."""
    mode = mode or "group"
    if mode not in HISTOGRAM_MODES:
        raise invalid("mode", mode, f"one of {', '.join(HISTOGRAM_MODES)}")
    rows = np.atleast_2d(_matrix("values", values))
    if rows.ndim != 2:
        raise invalid("values", values, "a vector or a 2-D array of bar heights")
    use_series = bool(labels) and bool(series)
    if labels is not None and xlabels is None:
        if len(labels) != rows.shape[0]:
            raise invalid("labels", labels, f"one label per row of values ({rows.shape[0]})")
        names = list(labels)
    elif xlabels is None:
        names = [series or ""] * rows.shape[0]
    else:
        if len(xlabels) != rows.shape[1]:
            raise invalid("xlabels", xlabels, f"one label per bar ({rows.shape[1]})")
        names = list(labels) * rows.shape[0] if labels and len(labels) == 1 else list(labels or [])
        names = names or [series or ""] * rows.shape[0]
    bins = list(xlabels) if xlabels is not None else list(range(rows.shape[1]))
    data = []
    for i in range(rows.shape[0]):
        trace: dict[str, Any] = {
            "name": names[i] if i < len(names) else None,
            "y": rows[i, :].tolist(),
            "x": bins,
            "type": "bar",
        }
        trace.update(data_args or {})
        data.append(trace)
    layout = {
        "title": series if use_series else title,
        "xaxis": {"title": xaxis},
        "yaxis": {"title": yaxis},
        "barmode": mode,
        "bargap": 0.08,
        "bargroupgap": 0,
    }
    return {"data": data, "layout": merge(layout, extra_layout)}


def _scatter_layout(
    title: str, xaxis: str | None, yaxis: str | None, comment: str | None
) -> dict[str, Any]:
    spikes = {
        "showspikes": True,
        "spikethickness": 1,
        "spikesnap": "cursor",
        "spikemode": "toaxis+across",
    }
    return {
        "title": _titled(title, comment),
        "xaxis": {"title": xaxis, **spikes},
        "yaxis": {"title": yaxis, **spikes},
    }


def line_plot(
    title: str,
    series: Sequence[SeriesInfo],
    xaxis: str | None,
    yaxis: str | None,
    mode: str,
    reverse_xaxis: bool,
    comment: str | None,
    extra_layout: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """Lines, one trace per :class:`SeriesInfo` (ClearML's ``create_line_plot``)."""
    if mode not in LINE_MODES:
        raise invalid("mode", mode, f"one of {', '.join(LINE_MODES)}")
    layout = _scatter_layout(title, xaxis, yaxis, comment)
    if reverse_xaxis:
        layout["xaxis"]["autorange"] = "reversed"
    data = [
        {
            "name": s.name,
            "x": s.data[:, 0].tolist(),
            "y": s.data[:, 1].tolist(),
            "mode": mode,
            "text": s.labels,
            "type": "scatter",
        }
        for s in series
    ]
    return {"data": data, "layout": merge(layout, extra_layout)}


def scatter3d(
    title: str,
    series: str,
    scatter: Any,
    xaxis: str | None,
    yaxis: str | None,
    zaxis: str | None,
    labels: Sequence[Any] | None,
    mode: str,
    fill: bool,
    comment: str | None,
    extra_layout: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """Points in 3-D: one N×3 array, or a list of them (ClearML's ``report_3d_scatter``)."""
    many = (
        isinstance(scatter, list)
        and bool(scatter)
        and (
            isinstance(scatter[0], np.ndarray)
            or (
                isinstance(scatter[0], list)
                and bool(scatter[0])
                and isinstance(scatter[0][0], list)
            )
        )
    )
    arrays = (
        [_matrix("scatter", s, 2) for s in scatter] if many else [_matrix("scatter", scatter, 2)]
    )
    layout = {
        "showlegend": True,
        "title": _titled(title, comment),
        "scene": {"xaxis": {"title": xaxis}, "yaxis": {"title": yaxis}, "zaxis": {"title": zaxis}},
    }
    data = []
    for i, points in enumerate(arrays):
        if points.shape[1] != 3:
            raise invalid("scatter", scatter, "(x, y, z) points: an N×3 array or a list of them")
        text: Any = labels
        if many and labels and isinstance(labels[min(i, len(labels) - 1)], list):
            text = labels[min(i, len(labels) - 1)]
        trace = {
            "name": series if not many else f"{series} {i}",
            "x": points[:, 0].tolist(),
            "y": points[:, 1].tolist(),
            "z": points[:, 2].tolist(),
            "text": text,
            "type": "scatter3d",
            "mode": mode,
            "marker": {
                "size": 5,
                "line": {"color": "rgba(217, 217, 217, 0.14)", "width": 0.8},
                "opacity": 0.8,
            },
        }
        if fill:
            trace["surfaceaxis"] = 2
        data.append(trace)
    return {"data": data, "layout": merge(layout, extra_layout)}


def _colorscale() -> tuple[list[list[Any]], dict[str, Any]]:
    scale = [
        [stop, "rgb({}, {}, {})".format(*color)]
        for stop, color in zip(_COLOR_STOPS, _COLORS, strict=True)
    ]
    return scale, {"tick0": 0, "tickmode": "array", "tickvals": list(_COLOR_STOPS[1:])}


def heatmap(
    title: str,
    series: str,
    matrix: Any,
    xaxis: str | None,
    yaxis: str | None,
    xlabels: Sequence[Any] | None,
    ylabels: Sequence[Any] | None,
    yaxis_reversed: bool,
    comment: str | None,
    extra_layout: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """A heat map (ClearML's ``create_value_matrix``): confusion matrices and value matrices."""
    values = _matrix("matrix", matrix, 2)
    trace: dict[str, Any] = {
        "x": list(xlabels) if xlabels is not None else None,
        "y": list(ylabels) if ylabels is not None else None,
        "z": values.tolist(),
        "type": "heatmap",
    }
    if not extra_layout:
        trace["colorscale"], trace["colorbar"] = _colorscale()
    layout: dict[str, Any] = {
        "showlegend": True,
        "title": _titled(title, comment),
        "xaxis": {"title": xaxis},
        "yaxis": {"title": yaxis},
        "name": series,
    }
    if yaxis_reversed:
        layout["yaxis"]["autorange"] = "reversed"
    return {"data": [trace], "layout": merge(layout, extra_layout)}


def surface(
    title: str,
    series: str,
    matrix: Any,
    xaxis: str | None,
    yaxis: str | None,
    zaxis: str | None,
    xlabels: Sequence[Any] | None,
    ylabels: Sequence[Any] | None,
    camera: Sequence[float] | None,
    comment: str | None,
    extra_layout: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """A 3-D surface of a matrix (ClearML's ``create_3d_surface``)."""
    values = _matrix("matrix", matrix, 2)
    scale, bar = _colorscale()
    trace = {
        "z": values.tolist(),
        "type": "surface",
        "showscale": False,
        "colorscale": scale,
        "colorbar": bar,
        "contours": {"y": {"show": False, "highlightcolor": "#fff4ff", "project": {"y": True}}},
    }

    def axis(name: str | None, labels: Sequence[Any] | None, ticks: int = 10) -> dict[str, Any]:
        return {
            "title": name,
            "showgrid": False,
            "nticks": ticks,
            "ticktext": list(labels) if labels else None,
            "tickvals": list(range(len(labels))) if labels else None,
        }

    scene: dict[str, Any] = {
        "xaxis": axis(xaxis, xlabels),
        "yaxis": axis(yaxis, ylabels),
        "zaxis": {"title": zaxis, "nticks": 5},
    }
    if camera:
        if len(camera) != 3:
            raise invalid("camera", camera, "the (x, y, z) of the eye")
        scene["camera"] = {"eye": {"x": camera[0], "y": camera[1], "z": camera[2]}}
    layout = {
        "scene": scene,
        "showlegend": False,
        "title": _titled(f"{title}/{series}", comment),
        "name": series,
    }
    return {"data": [trace], "layout": merge(layout, extra_layout)}
