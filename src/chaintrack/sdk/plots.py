"""Plot reports of the ``Logger`` in ClearML's names: Plotly figures, matplotlib, histograms,
scatter and line plots, matrices, surfaces and images.

Each report becomes one event of kind ``plot`` holding Plotly JSON (``{"data", "layout"}``),
built in the caller's thread from what the caller passed (so later changes to an array or a
figure change nothing recorded). Images are debug samples (``media`` events), as in ClearML.
"""

from __future__ import annotations

import io
import json
import types
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, ClassVar

from chaintrack.errors import InvalidArgumentError, invalid, missing_dependency, unsupported
from chaintrack.store.records import PLOT


class SeriesInfo:
    """One line of ``Logger.report_line_plot``: a name, an N×2 array of (x, y), optional labels
    (one hover text per point). ``Logger.SeriesInfo(name=..., data=..., labels=...)``."""

    def __init__(self, name: str, data: Any, labels: Sequence[str] | None = None) -> None:
        import numpy as np

        array = np.asarray(data)
        if array.ndim != 2 or array.shape[1] != 2:
            raise invalid("data", data, "an N×2 array of (x, y) points")
        if labels is not None and len(labels) != array.shape[0]:
            raise invalid("labels", labels, f"one label per point ({array.shape[0]})")
        self.name = str(name)
        self.data = array
        self.labels = list(labels) if labels is not None else None

    def __repr__(self) -> str:
        return f"SeriesInfo(name={self.name!r}, points={self.data.shape[0]})"


def _deprecated(old: str, new: str) -> None:
    # The same warning ClearML gives, pointing at the caller's line.
    warnings.warn(
        f"Logger.{old} is deprecated; use Logger.{new} instead.", DeprecationWarning, stacklevel=3
    )


def _figures() -> Any:
    from chaintrack.sdk import plotly_figures

    return plotly_figures


def _iteration(value: Any) -> int:
    from chaintrack.sdk.logger import _iteration as whole

    return whole(value or 0)  # ClearML: iteration=None is 0


def plotly_json(figure: Any) -> dict[str, Any]:
    """A plotly ``Figure`` (or anything with ``to_plotly_json``) or a figure dict, as JSON data."""
    if isinstance(figure, Mapping):
        plot = dict(figure)
    elif hasattr(figure, "to_plotly_json"):
        plot = figure.to_plotly_json()
    else:
        raise unsupported("figure", figure, "a plotly Figure or a dict with 'data' and 'layout'")
    if not isinstance(plot.get("data", []), (list, tuple)):
        raise invalid("figure", figure, "a figure whose 'data' is a list of traces")
    # Read now, into plain lists: later changes to the figure or its arrays change nothing.
    result: dict[str, Any] = _figures().jsonable(plot)
    result.setdefault("data", [])
    result.setdefault("layout", {})
    return result


def matplotlib_to_plotly(figure: Any) -> dict[str, Any] | None:
    """The figure converted by plotly's matplotlib exporter (the converter ClearML ships a copy
    of), or None when it cannot convert all of it (images, some artists): then the figure is
    stored as a PNG, as ClearML does."""
    try:
        from plotly.tools import mpl_to_plotly
    except ImportError:
        return None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            converted = mpl_to_plotly(figure)
        except Exception:  # the exporter does not know every artist
            return None
    # The exporter warns when it leaves something out ("can't import images…").
    if any(issubclass(w.category, UserWarning) and "plotly" in w.filename for w in caught):
        return None
    plot = plotly_json(converted)
    return plot if plot["data"] else None


def _png_of_array(image: Any) -> bytes:
    import numpy as np

    try:
        from PIL import Image
    except ImportError as exc:
        raise missing_dependency("PIL", "plots", "report_image(image=<array>)") from exc
    if isinstance(image, Image.Image):
        picture = image
    else:
        array = np.asarray(image)
        if array.ndim == 3 and array.shape[2] == 1:
            array = array[:, :, 0]
        if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
            raise invalid("image", image, "an H×W (grey), H×W×3 (RGB) or H×W×4 (RGBA) array")
        if array.dtype != np.uint8:
            # ClearML's reading of a float image: values in [0, 1] are scaled to [0, 255].
            values = array.astype(float)
            if values.size and np.nanmax(values) <= 1.0:
                values = values * 255.0
            array = np.clip(np.nan_to_num(values), 0, 255).astype(np.uint8)
        picture = Image.fromarray(array)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


class LoggerPlots:
    """The plot reports of :class:`~chaintrack.sdk.logger.Logger` (mixed into it)."""

    SeriesInfo: ClassVar[type[SeriesInfo]] = SeriesInfo
    if TYPE_CHECKING:  # provided by Logger

        def _event(
            self,
            kind: str,
            metric: str | None,
            variant: str | None,
            iteration: int | None,
            value: float | None = None,
            level: int | None = None,
            text: str | None = None,
            data: str | None = None,
        ) -> None: ...
        def report_media(
            self,
            title: str,
            series: str,
            iteration: int = 0,
            local_path: str | Path | None = None,
            stream: IO[bytes] | IO[str] | bytes | str | None = None,
            url: str | None = None,
            file_extension: str | None = None,
            max_history: int = -1,
            delete_after_upload: bool = False,
        ) -> None: ...

    #: ``Logger.matplotlib_force_report_non_interactive(True)``: matplotlib figures as PNGs.
    _matplotlib_as_png: ClassVar[bool] = False

    def _plot(self, title: str, series: str, iteration: Any, plot: dict[str, Any],
              converted: bool = False) -> None:  # fmt: skip
        text = json.dumps(plot if converted else _figures().jsonable(plot), allow_nan=False)
        self._event(PLOT, str(title), str(series), _iteration(iteration), data=text)

    def report_plotly(
        self, title: str, series: str, figure: Any, iteration: int | None = None
    ) -> None:
        """A Plotly figure as it is: a ``plotly.graph_objects.Figure`` or its dict."""
        plot = plotly_json(figure)
        layout = plot["layout"] if isinstance(plot["layout"], dict) else {}
        layout["title"] = series  # as ClearML: the plot is titled by its series
        plot["layout"] = layout
        self._plot(title, series, iteration, plot, converted=True)

    def report_matplotlib_figure(
        self,
        title: str,
        series: str,
        figure: Any,
        iteration: int | None = None,
        report_image: bool = False,
        report_interactive: bool = True,
    ) -> None:
        """A matplotlib figure (or ``matplotlib.pyplot`` for its current figure): a Plotly plot
        when it converts; a PNG debug sample when it does not, or when ``report_image=True``
        or ``report_interactive=False``."""
        if isinstance(figure, types.ModuleType) and hasattr(figure, "gcf"):
            figure = figure.gcf()  # the pyplot module
        if not hasattr(figure, "savefig"):
            raise unsupported("figure", figure, "a matplotlib Figure or matplotlib.pyplot")
        as_png = report_image or not report_interactive or type(self)._matplotlib_as_png
        plot = None if as_png else matplotlib_to_plotly(figure)
        if plot is not None:
            self._plot(title, series, iteration, plot, converted=True)
            return
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        self.report_media(
            title, series, _iteration(iteration), stream=buffer.getvalue(), file_extension="png"
        )

    @classmethod
    def matplotlib_force_report_non_interactive(cls, force: bool) -> None:
        """Store every matplotlib figure as a PNG debug sample (``True``) or convert it."""
        LoggerPlots._matplotlib_as_png = bool(force)

    def report_histogram(
        self,
        title: str,
        series: str,
        values: Sequence[float] | Any,
        iteration: int | None = None,
        labels: Sequence[str] | None = None,
        xlabels: Sequence[str] | None = None,
        xaxis: str | None = None,
        yaxis: str | None = None,
        mode: str | None = None,
        data_args: Mapping[str, Any] | None = None,
        extra_layout: Mapping[str, Any] | None = None,
    ) -> None:
        """Bars of already counted values: one series per row of ``values``."""
        plot = _figures().histogram(
            str(title),
            str(series),
            values,
            labels,
            xlabels,
            xaxis,
            yaxis,
            mode,
            data_args,
            extra_layout,
        )
        self._plot(title, series, iteration, plot)

    def report_vector(
        self,
        title: str,
        series: str,
        values: Sequence[float] | Any,
        iteration: int | None = None,
        labels: Sequence[str] | None = None,
        xlabels: Sequence[str] | None = None,
        xaxis: str | None = None,
        yaxis: str | None = None,
        mode: str | None = None,
        extra_layout: Mapping[str, Any] | None = None,
    ) -> None:
        """Deprecated in ClearML: ``report_histogram``."""
        _deprecated("report_vector", "report_histogram")
        self.report_histogram(
            title,
            series,
            values,
            iteration or 0,
            labels=labels,
            xlabels=xlabels,
            xaxis=xaxis,
            yaxis=yaxis,
            mode=mode,
            extra_layout=extra_layout,
        )

    def report_line_plot(
        self,
        title: str,
        series: Sequence[Any],
        xaxis: str,
        yaxis: str,
        mode: str = "lines",
        iteration: int | None = None,
        reverse_xaxis: bool = False,
        comment: str | None = None,
        extra_layout: Mapping[str, Any] | None = None,
    ) -> None:
        """Lines, one per ``Logger.SeriesInfo`` (deprecated in ClearML for report_scatter2d)."""
        _deprecated("report_line_plot", "report_scatter2d")
        infos = [SeriesInfo(**s) if isinstance(s, Mapping) else s for s in series]
        if not all(isinstance(s, SeriesInfo) for s in infos):
            raise invalid("series", series, "a list of Logger.SeriesInfo(name=, data=, labels=)")
        plot = _figures().line_plot(
            str(title), infos, xaxis, yaxis, mode, reverse_xaxis, comment, extra_layout
        )
        self._plot(title, "", iteration, plot)  # ClearML files a line plot under series ""

    def report_scatter2d(
        self,
        title: str,
        series: str,
        scatter: Any,
        iteration: int | None = None,
        xaxis: str | None = None,
        yaxis: str | None = None,
        labels: Sequence[str] | None = None,
        mode: str = "lines",
        comment: str | None = None,
        extra_layout: Mapping[str, Any] | None = None,
    ) -> None:
        """(x, y) points: an N×2 array or a list of pairs."""
        try:
            info = SeriesInfo(
                str(series), list(scatter) if not hasattr(scatter, "shape") else scatter, labels
            )
        except InvalidArgumentError:
            raise invalid(
                "scatter", scatter, "(x, y) points: an N×2 array or a list of pairs"
            ) from None
        plot = _figures().line_plot(
            str(title), [info], xaxis, yaxis, mode, False, comment, extra_layout
        )
        self._plot(title, series, iteration, plot)

    def report_scatter3d(
        self,
        title: str,
        series: str,
        scatter: Any,
        iteration: int | None = None,
        xaxis: str | None = None,
        yaxis: str | None = None,
        zaxis: str | None = None,
        labels: Sequence[Any] | None = None,
        mode: str = "markers",
        fill: bool = False,
        comment: str | None = None,
        extra_layout: Mapping[str, Any] | None = None,
    ) -> None:
        """(x, y, z) points: an N×3 array, or a list of them for several series."""
        plot = _figures().scatter3d(
            str(title),
            str(series),
            scatter,
            xaxis,
            yaxis,
            zaxis,
            labels,
            mode,
            fill,
            comment,
            extra_layout,
        )
        self._plot(title, series, iteration, plot)

    def report_confusion_matrix(
        self,
        title: str,
        series: str,
        matrix: Any,
        iteration: int | None = None,
        xaxis: str | None = None,
        yaxis: str | None = None,
        xlabels: Sequence[str] | None = None,
        ylabels: Sequence[str] | None = None,
        yaxis_reversed: bool = False,
        comment: str | None = None,
        extra_layout: Mapping[str, Any] | None = None,
    ) -> None:
        """A heat map of a matrix (a confusion matrix: rows are truths, columns predictions)."""
        plot = _figures().heatmap(
            str(title),
            str(series),
            matrix,
            xaxis,
            yaxis,
            xlabels,
            ylabels,
            yaxis_reversed,
            comment,
            extra_layout,
        )
        self._plot(title, series, iteration, plot)

    def report_matrix(
        self,
        title: str,
        series: str,
        matrix: Any,
        iteration: int | None = None,
        xaxis: str | None = None,
        yaxis: str | None = None,
        xlabels: Sequence[str] | None = None,
        ylabels: Sequence[str] | None = None,
        yaxis_reversed: bool = False,
        extra_layout: Mapping[str, Any] | None = None,
    ) -> None:
        """Deprecated in ClearML: ``report_confusion_matrix``."""
        _deprecated("report_matrix", "report_confusion_matrix")
        self.report_confusion_matrix(
            title,
            series,
            matrix,
            iteration or 0,
            xaxis=xaxis,
            yaxis=yaxis,
            xlabels=xlabels,
            ylabels=ylabels,
            yaxis_reversed=yaxis_reversed,
            extra_layout=extra_layout,
        )

    def report_surface(
        self,
        title: str,
        series: str,
        matrix: Any,
        iteration: int | None = None,
        xaxis: str | None = None,
        yaxis: str | None = None,
        zaxis: str | None = None,
        xlabels: Sequence[str] | None = None,
        ylabels: Sequence[str] | None = None,
        camera: Sequence[float] | None = None,
        comment: str | None = None,
        extra_layout: Mapping[str, Any] | None = None,
    ) -> None:
        """A matrix drawn as a 3-D surface."""
        plot = _figures().surface(
            str(title),
            str(series),
            matrix,
            xaxis,
            yaxis,
            zaxis,
            xlabels,
            ylabels,
            camera,
            comment,
            extra_layout,
        )
        self._plot(title, series, iteration, plot)

    def report_image(
        self,
        title: str,
        series: str,
        iteration: int | None = None,
        local_path: str | Path | None = None,
        image: Any = None,
        matrix: Any = None,
        max_image_history: int | None = None,
        delete_after_upload: bool = False,
        url: str | None = None,
    ) -> None:
        """An image debug sample: a numpy array, a PIL image, a file, or a URL (a URL is stored
        as a link and never downloaded). ``matrix=`` is ClearML's deprecated name of ``image=``."""
        given = [
            n
            for n, v in (
                ("local_path", local_path or None),
                ("url", url or None),
                ("image", image),
                ("matrix", matrix),
            )
            if v is not None
        ]
        if len(given) != 1:
            raise InvalidArgumentError(
                "report_image needs exactly one of local_path=, url=, image= (or its old name "
                f"matrix=); got {', '.join(given) or 'none'}"
            )
        if matrix is not None:
            warnings.warn(
                "'matrix' variable is deprecated; use 'image' instead.",
                DeprecationWarning,
                stacklevel=2,
            )
            image = matrix
        history = -1 if max_image_history is None else int(max_image_history)
        if url:
            self.report_media(
                title, series, _iteration(iteration), url=str(url), max_history=history
            )
        elif local_path:
            self.report_media(
                title,
                series,
                _iteration(iteration),
                local_path=local_path,
                max_history=history,
                delete_after_upload=delete_after_upload,
            )
        else:
            if not hasattr(image, "shape") and not hasattr(image, "save"):
                raise unsupported("image", image, "a numpy array or a PIL image")
            self.report_media(
                title,
                series,
                _iteration(iteration),
                stream=_png_of_array(image),
                file_extension="png",
                max_history=history,
            )

    def report_image_and_upload(
        self,
        title: str,
        series: str,
        iteration: int | None = None,
        path: str | Path | None = None,
        matrix: Any = None,
        max_image_history: int | None = None,
        delete_after_upload: bool = False,
    ) -> None:
        """Deprecated in ClearML: ``report_image``."""
        _deprecated("report_image_and_upload", "report_image")
        self.report_image(
            title,
            series,
            iteration or 0,
            local_path=path,
            image=matrix,
            max_image_history=max_image_history,
            delete_after_upload=delete_after_upload,
        )
