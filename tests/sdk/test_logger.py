"""``task.get_logger()``: scalars, single values, text, tables and media, and their errors."""

from __future__ import annotations

import io
import logging
import math
import sqlite3
import struct
import threading
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from chaintrack import Logger, Task
from chaintrack.errors import InvalidArgumentError, UnsupportedTypeError


@pytest.fixture
def task() -> Task:
    return Task.init(project_name="proj", task_name="logger")


@pytest.fixture
def logger(task: Task) -> Logger:
    return task.get_logger()


def _png(width: int = 2, height: int = 1) -> bytes:
    """A small valid PNG file."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def test_get_logger_is_one_logger_per_task(task: Task) -> None:
    assert task.get_logger() is task.get_logger()
    assert isinstance(task.get_logger(), Logger)


# -- scalars ------------------------------------------------------------------------------


def test_report_scalar_builds_series_per_title(task: Task, logger: Logger) -> None:
    for i, (train, val) in enumerate([(1.0, 1.2), (0.5, 0.8), (0.25, 0.7)]):
        logger.report_scalar("loss", "train", train, iteration=i)
        logger.report_scalar("loss", "validation", val, iteration=i)
    logger.report_scalar("latency", "p50 ms", 120, iteration=10)

    assert task.get_reported_scalars() == {
        "loss": {
            "train": {"x": [0, 1, 2], "y": [1.0, 0.5, 0.25]},
            "validation": {"x": [0, 1, 2], "y": [1.2, 0.8, 0.7]},
        },
        "latency": {"p50 ms": {"x": [10], "y": [120.0]}},
    }
    last = task.get_last_scalar_metrics()["loss"]["train"]
    assert last == {
        "last": 0.25, "min": 0.25, "max": 1.0, "mean": 1.75 / 3, "count": 3.0,
        "last_iteration": 2.0,
    }  # fmt: skip


def test_report_scalar_accepts_what_clearml_converts_with_float(task: Task, logger: Logger) -> None:
    # ClearML's report_scalar calls float(value): numpy numbers, bools and numeric strings
    # are numbers to a ClearML user, so chaintrack accepts the same values.
    logger.report_scalar("s", "numpy", np.float32(1.5), np.int64(1))
    logger.report_scalar("s", "numpy", np.int32(2), 2)
    logger.report_scalar("s", "bool", True, 0)
    logger.report_scalar("s", "text", "2.5", 0)
    assert task.get_reported_scalars()["s"] == {
        "numpy": {"x": [1, 2], "y": [1.5, 2.0]},
        "bool": {"x": [0], "y": [1.0]},
        "text": {"x": [0], "y": [2.5]},
    }


def test_nan_and_infinite_scalars_come_back(task: Task, logger: Logger) -> None:
    # Regression: SQLite stores a NaN REAL as NULL, so a NaN loss came back as None and
    # get_last_scalar_metrics() failed on it.
    logger.report_scalar("loss", "train", float("nan"), 0)
    logger.report_scalar("loss", "train", float("inf"), 1)
    logger.report_single_value("diverged", float("nan"))

    ys = task.get_reported_scalars()["loss"]["train"]["y"]
    assert math.isnan(ys[0])
    assert ys[1] == math.inf
    assert math.isnan(task.get_reported_single_values()["diverged"])
    assert task.get_last_scalar_metrics()["loss"]["train"]["last"] == math.inf


@pytest.mark.parametrize("value", ["abc", None, [1.0], {"v": 1}, object(), 10**400])
def test_report_scalar_with_a_non_number_names_the_value(logger: Logger, value: object) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        logger.report_scalar("loss", "train", value, iteration=0)  # type: ignore[arg-type]
    message = str(info.value)
    assert message.startswith(f"value={value!r}"[:50])
    assert "a number" in message


def test_report_scalar_with_a_bad_iteration_names_it(logger: Logger) -> None:
    with pytest.raises(InvalidArgumentError, match=r"iteration='first' is not valid: a number"):
        logger.report_scalar("loss", "train", 1.0, iteration="first")  # type: ignore[arg-type]
    # Decision: 2.5 is refused rather than silently stored as iteration 2.
    with pytest.raises(InvalidArgumentError, match=r"iteration=2\.5 is not valid: a whole number"):
        logger.report_scalar("loss", "train", 1.0, iteration=2.5)  # type: ignore[arg-type]


@pytest.mark.parametrize("iteration", [2**63, -(2**63) - 1, 1e30])
def test_an_iteration_that_does_not_fit_the_store_is_refused_at_the_call(
    task: Task, logger: Logger, iteration: float, caplog: pytest.LogCaptureFixture
) -> None:
    # Regression: 2**63 was accepted, then failed in the writer thread (logged as an error,
    # the point lost to a "failed" spool file).
    for report in (
        lambda: logger.report_scalar("loss", "train", 1.0, iteration),  # type: ignore[arg-type]
        lambda: logger.report_table("t", "s", iteration=iteration, table_plot=[["a"], [1]]),  # type: ignore[arg-type]
        lambda: logger.report_media("m", "s", iteration=iteration, stream="x"),  # type: ignore[arg-type]
    ):
        with pytest.raises(InvalidArgumentError) as info:
            report()
        assert str(info.value).startswith(f"iteration={iteration!r} is not valid")
    logger.report_scalar("loss", "train", 1.0, 2**63 - 1)
    logger.report_scalar("loss", "train", 2.0, np.float64(3.0))  # type: ignore[arg-type]
    assert task.get_reported_scalars()["loss"]["train"]["x"] == [2**63 - 1, 3]
    assert "could not be written" not in caplog.text


def test_reports_from_many_threads_are_all_stored(task: Task, logger: Logger) -> None:
    def report(series: str) -> None:
        for i in range(250):
            logger.report_scalar("load", series, float(i), i)

    threads = [threading.Thread(target=report, args=(f"t{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    scalars = task.get_reported_scalars()["load"]
    assert sorted(scalars) == ["t0", "t1", "t2", "t3"]
    for points in scalars.values():
        assert points == {"x": list(range(250)), "y": [float(i) for i in range(250)]}


def test_reports_after_close_are_stored_and_the_status_stays(task: Task, logger: Logger) -> None:
    task.close()
    logger.report_scalar("late", "s", 1.0, 0)
    loaded = Task.get_task(task_id=task.id)
    assert loaded.get_reported_scalars() == {"late": {"s": {"x": [0], "y": [1.0]}}}
    assert loaded.get_status() == "completed"


# -- single values ------------------------------------------------------------------------


def test_report_single_value_is_separate_from_scalars(task: Task, logger: Logger) -> None:
    logger.report_single_value("accuracy", 0.92)
    logger.report_single_value("prompts", 250)
    logger.report_single_value("accuracy", 0.93)  # the last report wins
    logger.report_scalar("loss", "train", 1.0, 0)

    assert task.get_reported_single_values() == {"accuracy": 0.93, "prompts": 250.0}
    assert list(task.get_reported_scalars()) == ["loss"]


def test_report_single_value_with_a_non_number(logger: Logger) -> None:
    with pytest.raises(InvalidArgumentError, match=r"value='high' is not valid: a number"):
        logger.report_single_value("accuracy", "high")  # type: ignore[arg-type]


# -- text ---------------------------------------------------------------------------------


def test_report_text_reports_and_prints(
    task: Task, logger: Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    logger.report_text("starting")
    logger.report_text("a warning\nover two lines", level=logging.WARNING)
    logger.report_text("quiet", print_console=False)
    logger.report_text(42)  # not a string: reported as str(msg)

    assert capsys.readouterr().out == "starting\na warning\nover two lines\n42\n"
    assert task.get_reported_console_output() == [
        "starting",
        "a warning",
        "over two lines",
        "quiet",
        "42",
    ]
    assert task.get_reported_console_output(number_of_reports=2) == ["quiet", "42"]
    levels = [level for _, level, _ in task.get_reported_console_events()]
    assert levels == [logging.INFO, logging.WARNING, logging.INFO, logging.INFO]


def test_report_text_with_a_bad_level(logger: Logger) -> None:
    with pytest.raises(InvalidArgumentError, match=r"level='loud' is not valid"):
        logger.report_text("x", level="loud")  # type: ignore[arg-type]


# -- tables -------------------------------------------------------------------------------


def test_report_table_dataframe_rows_and_csv(task: Task, logger: Logger, tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"prompt": ["hi", "bye"], "tokens": [3, 5], "score": [0.5, np.nan], "ok": [True, False]}
    )
    logger.report_table("Session Analysis", "frame", iteration=0, table_plot=frame)
    logger.report_table("Session Analysis", "rows", table_plot=[["a", "b"], [1, "x"], [2, "y"]])
    csv_file = tmp_path / "scores.csv"
    csv_file.write_text("name,value\nalpha,1\nbeta,2\n", encoding="utf-8")
    logger.report_table("files", "csv arg", csv=csv_file)
    logger.report_table("files", "path as table_plot", table_plot=str(csv_file))

    tables = task.get_reported_tables()
    pd.testing.assert_frame_equal(tables["Session Analysis"]["frame"], frame)
    pd.testing.assert_frame_equal(
        tables["Session Analysis"]["rows"],
        pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}),
    )
    # CSV cells are text, as in the file; no type guessing.
    expected_csv = pd.DataFrame({"name": ["alpha", "beta"], "value": ["1", "2"]})
    pd.testing.assert_frame_equal(tables["files"]["csv arg"], expected_csv)
    pd.testing.assert_frame_equal(tables["files"]["path as table_plot"], expected_csv)


def test_report_table_keeps_a_meaningful_index(task: Task, logger: Logger) -> None:
    frame = pd.DataFrame({"score": [0.1, 0.2]}, index=pd.Index(["q1", "q2"], name="question"))
    logger.report_table("t", "s", table_plot=frame)
    pd.testing.assert_frame_equal(task.get_reported_tables()["t"]["s"], frame)


def test_report_table_last_report_and_by_iteration(task: Task, logger: Logger) -> None:
    for i in range(3):
        logger.report_table("progress", "s", iteration=i, table_plot=[["step"], [i]])
    assert task.get_reported_tables()["progress"]["s"]["step"].tolist() == [2]
    assert task.get_reported_tables(iteration=1)["progress"]["s"]["step"].tolist() == [1]


@pytest.mark.parametrize("table", [42, {"a": [1, 2]}, {1, 2}])
def test_report_table_rejects_what_is_not_tabular(logger: Logger, table: object) -> None:
    with pytest.raises(UnsupportedTypeError) as info:
        logger.report_table("t", "s", table_plot=table)
    message = str(info.value)
    assert message.startswith(f"table_plot={table!r}")
    assert "not tabular" in message
    assert "DataFrame" in message


def test_report_table_rejects_malformed_rows(logger: Logger) -> None:
    with pytest.raises(InvalidArgumentError, match=r"row 2 has 1 cells but the header has 2"):
        logger.report_table("t", "s", table_plot=[["a", "b"], [1, 2], [3]])
    with pytest.raises(InvalidArgumentError, match=r"table_plot=\[\] is not valid.*header"):
        logger.report_table("t", "s", table_plot=[])
    with pytest.raises(InvalidArgumentError, match=r"list of lists, header first"):
        logger.report_table("t", "s", table_plot=["a", "b"])
    with pytest.raises(InvalidArgumentError, match=r"needs table_plot="):
        logger.report_table("t", "s")
    with pytest.raises(InvalidArgumentError, match=r"url=.*not supported"):
        logger.report_table("t", "s", url="https://example.com/t.csv")


def test_report_table_reads_utf8_csv_with_a_bom_and_refuses_other_encodings(
    task: Task, logger: Logger, tmp_path: Path
) -> None:
    excel = tmp_path / "excel.csv"
    excel.write_bytes("\ufeffname,city\nZoë,Zürich\n".encode())
    logger.report_table("t", "excel", csv=excel)
    assert task.get_reported_tables()["t"]["excel"].to_dict("records") == [
        {"name": "Zoë", "city": "Zürich"}
    ]
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("name\nZoë\n".encode("latin-1"))
    with pytest.raises(InvalidArgumentError) as info:
        logger.report_table("t", "latin1", csv=latin1)
    assert f"csv={str(latin1)!r}" in str(info.value)
    assert "UTF-8" in str(info.value)


def test_report_table_with_a_missing_csv_names_the_path(logger: Logger, tmp_path: Path) -> None:
    missing = tmp_path / "missing.csv"
    with pytest.raises(InvalidArgumentError) as info:
        logger.report_table("t", "s", csv=missing)
    assert f"csv={str(missing)!r}" in str(info.value)
    assert "existing CSV file" in str(info.value)
    with pytest.raises(InvalidArgumentError, match=r"table_plot='no/such\.csv'"):
        logger.report_table("t", "s", table_plot="no/such.csv")


# -- media --------------------------------------------------------------------------------


def test_report_media_html_image_text_and_url(task: Task, logger: Logger, tmp_path: Path) -> None:
    image = tmp_path / "attention.png"
    image.write_bytes(_png())
    notes = tmp_path / "notes.txt"
    notes.write_text("line one\n", encoding="utf-8")

    logger.report_media("answers", "html", iteration=3, stream="<b>hi</b>", file_extension="html")
    logger.report_media("plots", "attention", iteration=1, local_path=image)
    logger.report_media("notes", "text", local_path=str(notes))
    logger.report_media("bytes", "png", stream=io.BytesIO(_png(1, 1)), file_extension=".png")
    logger.report_media("remote", "page", url="https://example.com/report.html?x=1")

    samples = {(s.title, s.series): s for s in task.get_debug_samples()}
    assert len(samples) == 5

    html = samples["answers", "html"]
    assert (html.iteration, html.mime_type, html.url) == (3, "text/html", None)
    assert html.local_path is not None
    assert Path(html.local_path).read_text(encoding="utf-8") == "<b>hi</b>"

    png = samples["plots", "attention"]
    assert (png.iteration, png.mime_type) == (1, "image/png")
    assert png.local_path is not None
    assert Path(png.local_path).read_bytes() == image.read_bytes()
    assert Path(png.local_path) != image  # a copy in the store, not the user's file

    text = samples["notes", "text"]
    assert text.mime_type == "text/plain"
    assert text.local_path is not None
    assert Path(text.local_path).read_text(encoding="utf-8") == "line one\n"

    stream = samples["bytes", "png"]
    assert stream.mime_type == "image/png"
    assert stream.local_path is not None
    assert Path(stream.local_path).read_bytes() == _png(1, 1)

    remote = samples["remote", "page"]
    assert remote.url == "https://example.com/report.html?x=1"
    assert remote.local_path is None
    assert remote.mime_type == "text/html"


def test_report_media_every_iteration_is_kept(task: Task, logger: Logger) -> None:
    for i in range(3):
        logger.report_media("a", "b", iteration=i, stream=f"step {i}", file_extension="txt")
    samples = task.get_debug_samples()
    assert [s.iteration for s in samples] == [0, 1, 2]
    contents = [Path(s.local_path).read_text() for s in samples if s.local_path]
    assert contents == ["step 0", "step 1", "step 2"]


def test_report_media_with_a_missing_file_names_it(logger: Logger, tmp_path: Path) -> None:
    missing = tmp_path / "missing.png"
    with pytest.raises(InvalidArgumentError) as info:
        logger.report_media("t", "s", local_path=missing)
    assert f"local_path={str(missing)!r}" in str(info.value)
    assert "existing file" in str(info.value)


def test_report_media_needs_exactly_one_source(logger: Logger) -> None:
    with pytest.raises(InvalidArgumentError, match="exactly one of local_path=, stream= or url="):
        logger.report_media("t", "s")
    with pytest.raises(InvalidArgumentError, match="exactly one of"):
        logger.report_media("t", "s", stream="x", url="https://example.com/x.html")


def test_logger_flush_stores_what_was_reported(
    task: Task, logger: Logger, chaintrack_home: Path
) -> None:
    logger.report_scalar("a", "b", 1.0, 0)
    assert logger.flush() is True
    # Read with a separate connection: Task's own readers flush before reading.
    with sqlite3.connect(chaintrack_home / "chaintrack.db") as db:
        rows = db.execute("SELECT metric, variant, value FROM events WHERE task_id = ?", (task.id,))
        assert rows.fetchall() == [("a", "b", 1.0)]
