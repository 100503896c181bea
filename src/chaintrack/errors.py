"""Exception types. Every message says what happened, why, and how to fix it."""

from __future__ import annotations


class ChainTrackError(Exception):
    """Base class of every error chaintrack raises on purpose."""


class ConfigurationError(ChainTrackError, ValueError):
    """An environment variable or setting has a value chaintrack cannot use."""


class InvalidArgumentError(ChainTrackError, ValueError):
    """A public function was called with an argument it cannot accept."""


class UnsupportedTypeError(ChainTrackError, TypeError):
    """An object of a type chaintrack cannot store (an artifact, a table, a media stream)."""


class StoreError(ChainTrackError):
    """The store cannot be opened, read or written."""


class StoreVersionError(StoreError):
    """The store was written by a newer chaintrack than this one."""


class StoreCorruptError(StoreError):
    """The store's files exist but are not a valid chaintrack store."""


class TaskNotFoundError(ChainTrackError, LookupError):
    """No task matches the id, project or name given."""


class TaskClosedError(ChainTrackError, RuntimeError):
    """A task (or a handler bound to it) was used after it was closed."""


class MissingDependencyError(ChainTrackError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


def invalid(argument: str, value: object, allowed: str) -> InvalidArgumentError:
    """The standard 'bad argument' error: names the argument, the value and what is allowed."""
    shown = repr(value)
    if len(shown) > 200:
        shown = shown[:197] + "..."
    return InvalidArgumentError(f"{argument}={shown} is not valid: {allowed}.")


def missing_dependency(module: str, extra: str, feature: str) -> MissingDependencyError:
    return MissingDependencyError(
        f"{feature} needs the Python package '{module}', which is not installed. "
        f"Install it with: pip install 'chaintrack[{extra}]'"
    )
