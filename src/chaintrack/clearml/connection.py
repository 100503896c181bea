"""Getting the ``clearml`` SDK ready for a push: import it, settle its settings, check the server.

Credentials and servers come from ClearML's own configuration: ``clearml.conf`` (made by
``clearml-init``; ``CLEARML_CONFIG_FILE`` points elsewhere) or the ``CLEARML_API_HOST``,
``CLEARML_API_ACCESS_KEY`` and ``CLEARML_API_SECRET_KEY`` variables. chaintrack checks them, and
that the API server answers, before it creates anything, so a wrong setting gives one clear error
instead of the SDK's long retries.

Two ClearML settings are overridden in the pushing process (measured with clearml 2.1.12):
``sdk.development.report_use_subprocess`` and ``vcs_repo_detect_async`` are turned off, which
takes ``Task.close()`` from 11-12 s (and an occasional hang of minutes) to about 10 ms, and
the SDK's package-update check (a request to updates.clear.ml) is skipped.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from chaintrack.errors import MirrorError, missing_dependency

#: ClearML's automatic framework bindings, all turned off: the mirror replays recorded data.
FRAMEWORKS = (
    "matplotlib", "tensorflow", "tensorboard", "pytorch", "xgboost", "scikit", "fastai",
    "lightgbm", "hydra", "detect_repository", "tfdefines", "joblib", "megengine", "catboost",
    "gradio", "jsonargparse",
)  # fmt: skip
PING_TIMEOUT = 5.0
_prepared = False


@dataclass(frozen=True)
class Server:
    """The ClearML server a push goes to."""

    api_host: str
    web_host: str


def load() -> ModuleType:
    """The ``clearml`` package, set up for pushing (once per process)."""
    global _prepared
    try:
        import clearml
    except ImportError:
        raise missing_dependency("clearml", "clearml", "Mirroring to ClearML") from None
    if not _prepared:
        from clearml.config import ConfigWrapper
        from clearml.utilities.check_updates import CheckPackageUpdates

        development = {"report_use_subprocess": False, "vcs_repo_detect_async": False}
        ConfigWrapper.set_overrides({"sdk": {"development": development}})
        CheckPackageUpdates._package_version_checked = True
        _prepared = True
    return clearml


def offline_from_environment() -> bool:
    """Whether ClearML's own offline mode is on (``CLEARML_OFFLINE_MODE``, read as ClearML does)."""
    from clearml.backend_api.session.defs import ENV_OFFLINE_MODE

    return bool(ENV_OFFLINE_MODE.get(default=False))


def server() -> Server:
    """The configured server; raises :class:`MirrorError` when there are no credentials."""
    from clearml.backend_api.session.defs import ENV_ACCESS_KEY, ENV_AUTH_TOKEN, ENV_SECRET_KEY
    from clearml.backend_api.session.session import Session
    from clearml.config import config_obj

    def setting(env: Any, key: str) -> str:
        return str(env.get(default=config_obj.get(key, None)) or "")

    has_keys = setting(ENV_ACCESS_KEY, "api.credentials.access_key") and setting(
        ENV_SECRET_KEY, "api.credentials.secret_key"
    )
    if not has_keys and not ENV_AUTH_TOKEN.get():
        raise MirrorError(
            "ClearML has no credentials, so nothing can be pushed. Run `clearml-init` (it writes "
            "~/clearml.conf), or set CLEARML_API_HOST, CLEARML_API_ACCESS_KEY and "
            "CLEARML_API_SECRET_KEY; or write an offline session instead with --offline "
            "(CLEARML_OFFLINE_MODE=1). Your tasks are unchanged in chaintrack."
        )
    api_host = Session.get_api_server_host()
    try:
        web_host = Session.get_app_server_host()
    except ValueError:  # not derivable from the API host: ClearML needs CLEARML_WEB_HOST
        web_host = api_host
    return Server(api_host, web_host)


def check_reachable(api_host: str, timeout: float = PING_TIMEOUT) -> None:
    """Raise :class:`MirrorError` unless the API server answers HTTP at all."""
    if not api_host.lower().startswith(("http://", "https://")):
        raise MirrorError(
            f"the ClearML API server {api_host!r} is not an http(s):// address; fix "
            "CLEARML_API_HOST or api.api_server in clearml.conf"
        )
    request = urllib.request.Request(f"{api_host}/debug.ping", method="GET")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout):  # noqa: S310 (http(s) only)
            return
    except urllib.error.HTTPError:
        return  # it answered: an error status still means the server is there
    except (OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        raise MirrorError(
            f"the ClearML server {api_host} cannot be reached ({reason}). Check CLEARML_API_HOST "
            "or api.api_server in clearml.conf, and that the server is up; then push again with "
            "`chaintrack clearml push TASK`. Your tasks are unchanged in chaintrack."
        ) from None
