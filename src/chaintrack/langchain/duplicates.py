"""One handler attached twice to the same run: its events are recorded once.

LangChain drops a handler that is already attached when it adds one (a model's own
``callbacks=[handler]`` beside the run's config), but a list of callbacks is taken as it is:
``merge_configs`` of two configs that both carry the handler, or ``callbacks=[handler, handler]``,
gives every run of the invocation the handler twice, and each callback arrives twice, one
delivery right after the other. The second start of a run that is already open tells how many
times the handler is attached to it; each later event of that run then arrives that many times
in a row, and the repeats are dropped before they become records.
"""

from __future__ import annotations

from typing import Any

STARTS = frozenset(
    ("on_llm_start", "on_chat_model_start", "on_chain_start", "on_tool_start", "on_retriever_start")
)
ENDS = frozenset(
    (
        "on_llm_end", "on_chain_end", "on_tool_end", "on_retriever_end",
        "on_llm_error", "on_chain_error", "on_tool_error", "on_retriever_error",
    )
)  # fmt: skip


class Duplicates:
    """Tells repeated deliveries of one event apart. Not thread-safe (the recorder's thread)."""

    def __init__(self) -> None:
        #: Open runs: how many times the handler is attached to each.
        self.copies: dict[Any, int] = {}
        #: Runs whose last event is still to arrive again: (action, deliveries left).
        self.pending: dict[Any, tuple[str, int]] = {}

    def repeated(self, action: str, run_id: Any) -> bool:
        """Whether this event of ``run_id`` is a repeat of the one just recorded."""
        if run_id is None:
            return False
        if action in STARTS:
            if run_id in self.copies:  # the same run starting again: attached once more
                self.copies[run_id] += 1
                return True
            self.copies[run_id] = 1
            return False
        pending = self.pending.get(run_id)
        if pending is not None and pending[0] == action:
            left = pending[1] - 1
            if left:
                self.pending[run_id] = (action, left)
            else:
                del self.pending[run_id]
                if action in ENDS:
                    self.copies.pop(run_id, None)
            return True
        copies = self.copies.get(run_id, 1)
        if copies > 1:
            self.pending[run_id] = (action, copies - 1)
        elif action in ENDS:
            self.copies.pop(run_id, None)
        return False
