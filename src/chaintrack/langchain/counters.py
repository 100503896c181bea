"""The 13 running counters of the original handler, and what each callback advances."""

from __future__ import annotations

#: The counters every record carries, in this order (the original's names and order).
COUNTER_NAMES = (
    "step",
    "starts",
    "ends",
    "errors",
    "text_ctr",
    "chain_starts",
    "chain_ends",
    "llm_starts",
    "llm_ends",
    "llm_streams",
    "tool_starts",
    "tool_ends",
    "agent_ends",
)

_START = ("step", "starts")
_END = ("step", "ends")
_ERROR = ("step", "errors")

#: The counters each action advances, once per callback (not once per record).
INCREMENTS: dict[str, tuple[str, ...]] = {
    "on_llm_start": ("step", "llm_starts", "starts"),
    "on_chat_model_start": ("step", "llm_starts", "starts"),
    "on_llm_new_token": ("step", "llm_streams"),
    "on_llm_end": ("step", "llm_ends", "ends"),
    "on_llm_error": _ERROR,
    "on_chain_start": ("step", "chain_starts", "starts"),
    "on_chain_end": ("step", "chain_ends", "ends"),
    "on_chain_error": _ERROR,
    "on_tool_start": ("step", "tool_starts", "starts"),
    "on_tool_end": ("step", "tool_ends", "ends"),
    "on_tool_error": _ERROR,
    "on_retriever_start": _START,
    "on_retriever_end": _END,
    "on_retriever_error": _ERROR,
    "on_text": ("step", "text_ctr"),
    # The original also counted tool_starts and starts here, so one tool call showed two starts
    # and one end: the tool's own on_tool_start counts it (seed defect 4).
    "on_agent_action": ("step",),
    "on_agent_finish": ("step", "agent_ends", "ends"),
    "on_custom_event": ("step",),
    "on_retry": ("step",),
}
#: A streamed token that is not recorded on its own still counts in llm_streams, not in step
#: (step numbers the records).
SILENT_TOKEN = ("llm_streams",)

_INDEX = {name: i for i, name in enumerate(COUNTER_NAMES)}


class Counters:
    """The running counters. Not thread-safe: one thread (the recorder's) advances them."""

    __slots__ = ("_values",)

    def __init__(self) -> None:
        self._values = [0] * len(COUNTER_NAMES)

    def advance(self, names: tuple[str, ...]) -> dict[str, int]:
        """Advance ``names`` by one each and return the snapshot taken after."""
        values = self._values
        for name in names:
            values[_INDEX[name]] += 1
        return dict(zip(COUNTER_NAMES, values, strict=True))

    def snapshot(self) -> dict[str, int]:
        return dict(zip(COUNTER_NAMES, self._values, strict=True))

    def reset(self) -> None:
        self._values = [0] * len(COUNTER_NAMES)
