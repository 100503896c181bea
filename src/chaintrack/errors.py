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


class StoreUnavailableError(StoreError):
    """The store cannot be reached for now (a tracking server is down or overloaded); writing
    again later can succeed. The background writer keeps the events and retries."""


class StoreVersionError(StoreError):
    """The store was written by a newer chaintrack than this one."""


class StoreCorruptError(StoreError):
    """The store's files exist but are not a valid chaintrack store."""


class TaskNotFoundError(ChainTrackError, LookupError):
    """No task matches the id, project or name given."""


class TaskClosedError(ChainTrackError, RuntimeError):
    """A task (or a handler bound to it) was used after it was closed."""


class MirrorError(ChainTrackError):
    """A task could not be pushed to ClearML (no credentials, server unreachable, a refused
    call). Nothing recorded in chaintrack is changed by a failed push."""


class NotSupportedError(ChainTrackError, NotImplementedError):
    """A ClearML SDK call that chaintrack does not offer (remote execution, agents, queues…);
    the message says why and what to do instead."""


class MissingDependencyError(ChainTrackError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


def _shown(value: object) -> str:
    shown = repr(value)
    return shown if len(shown) <= 200 else shown[:197] + "..."


def invalid(argument: str, value: object, allowed: str) -> InvalidArgumentError:
    """The standard 'bad argument' error: names the argument, the value and what is allowed."""
    return InvalidArgumentError(f"{argument}={_shown(value)} is not valid: {allowed}.")


def unsupported(argument: str, value: object, allowed: str) -> UnsupportedTypeError:
    """The standard 'unsupported type' error: the argument, the value, its type and what works."""
    kind = type(value)
    name = kind.__qualname__
    if kind.__module__ != "builtins":
        name = f"{kind.__module__}.{name}"
    return UnsupportedTypeError(
        f"{argument}={_shown(value)} (a {name}) is not supported: {allowed}."
    )


def missing_dependency(module: str, extra: str, feature: str) -> MissingDependencyError:
    return MissingDependencyError(
        f"{feature} needs the Python package '{module}', which is not installed. "
        f"Install it with: pip install 'chaintrack[{extra}]'"
    )


class DatasetNotFoundError(ChainTrackError, LookupError):
    """No dataset matches the id, project, name or version given."""
