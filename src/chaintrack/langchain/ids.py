"""Run ids as text, computed once per run."""

from __future__ import annotations

import functools
from typing import Any


@functools.lru_cache(maxsize=4096)
def id_text(run_id: Any) -> str:
    """A run id as text: each run's id is written into several records and its span, and
    ``str(UUID)`` costs a microsecond each time."""
    return str(run_id)
