"""Mirror chaintrack tasks into ClearML with the official ``clearml`` SDK.

``push(task)`` / ``chaintrack clearml push TASK…`` copy an ended task into a ClearML server, or
into an offline session with ClearML's offline mode; ``CHAINTRACK_MIRROR=clearml`` pushes every
task in the background when it closes. See ``docs/clearml.md``.
"""

from chaintrack.clearml.push import PushResult, pending, push, push_many

__all__ = ["PushResult", "pending", "push", "push_many"]
