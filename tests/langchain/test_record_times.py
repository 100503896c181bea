"""Record times are written as ``datetime.isoformat`` writes them, by a faster path."""

from __future__ import annotations

import datetime as dt

from hypothesis import example, given
from hypothesis import strategies as st

from chaintrack.langchain.records import iso


def reference(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, tz=dt.timezone.utc).isoformat(timespec="microseconds")


@given(st.floats(min_value=0, max_value=4e9, allow_nan=False))
@example(1.9999995)  # rounds up into the next second
@example(1733443200.9999996)
@example(1.0000005)  # half a microsecond: half to even, as datetime rounds
@example(0.0)
def test_a_record_time_is_the_iso_text_of_datetime(ts: float) -> None:
    assert iso(ts) == reference(ts)


def test_a_missing_time_stays_missing() -> None:
    assert iso(None) is None
