"""Words the SDK, the store and the server share: task types, statuses, table titles.

They live with the store so that the server (which reads tasks) never imports the SDK (which
writes them).
"""

from __future__ import annotations

#: ClearML's task types.
TASK_TYPES = (
    "training",
    "testing",
    "inference",
    "data_processing",
    "application",
    "monitor",
    "controller",
    "optimizer",
    "service",
    "qc",
    "custom",
)
#: ClearML's task statuses.
STATUSES = (
    "created",
    "queued",
    "in_progress",
    "stopped",
    "completed",
    "failed",
    "published",
    "closed",
)
#: The LangChain handler's two tables of a session (the seed's names).
ACTION_RECORDS = "Action Records"
SESSION_ANALYSIS = "Session Analysis"
