"""What a task records about its run: script/git state, installed packages and host runtime."""

from __future__ import annotations

import codecs
import getpass
import importlib.metadata
import os
import platform
import re
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

__all__ = ["capture_packages", "capture_runtime", "capture_script", "current_user"]

_GIT_TIMEOUT = 5.0
_MAX_DIFF_BYTES = 5 * 1024 * 1024
_NOT_A_SCRIPT = frozenset({"", "-c", "-m", "-"})


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str] | None:
    """Run one git command; None when git is missing, times out or cannot start."""
    env = dict(os.environ)
    # Never prompt for credentials, and never take index.lock: this runs on a background
    # thread while the user may be running git commands in the same checkout.
    env.update(GIT_TERMINAL_PROMPT="0", GIT_OPTIONAL_LOCKS="0")
    try:
        return subprocess.run(
            ["git", *args],
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=_GIT_TIMEOUT,
            cwd=cwd,
            env=env,
            check=False,
        )
    except (OSError, subprocess.SubprocessError, ValueError):
        return None


def _strip_credentials(url: str) -> str:
    """Drop secrets from a remote URL.

    For http(s) any user info goes (``https://token@host`` is a credential too); for other
    schemes only the password goes, since ``ssh://git@host`` needs its user name.
    scp-like remotes (``git@host:org/repo``) carry no password and are kept as they are.
    """
    if "://" not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    userinfo, sep, hostport = parts.netloc.rpartition("@")
    if not sep:
        return url
    if parts.scheme.lower() in ("http", "https"):
        netloc = hostport
    else:
        user = userinfo.partition(":")[0]
        netloc = f"{user}@{hostport}" if user else hostport
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _pick_remote(remote_v: str) -> str:
    """The fetch URL of ``origin`` from ``git remote -v`` output, else the first remote's."""
    urls: dict[str, str] = {}
    for line in remote_v.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0] not in urls:
            urls[fields[0]] = fields[1]
    url = urls.get("origin") or next(iter(urls.values()), "")
    return _strip_credentials(url)


def _read_script(path: Path, max_bytes: int) -> str:
    try:
        with path.open("rb") as fh:
            data = fh.read(max(0, max_bytes))
    except OSError:
        return ""
    # An incremental decoder with final=False drops a multi-byte character cut by the limit.
    return codecs.getincrementaldecoder("utf-8")(errors="replace").decode(data, final=False)


def _resolve_entry(entry_point: str | None) -> tuple[str, Path | None]:
    raw = entry_point if entry_point is not None else (sys.argv[0] if sys.argv else "")
    if raw in _NOT_A_SCRIPT:
        return raw, None
    try:
        path = Path(raw).resolve()
        if path.is_file():
            return raw, path
    except (OSError, RuntimeError, ValueError):
        pass
    return raw, None


def _relative(path: Path, root: Path) -> str | None:
    try:
        rel = path.relative_to(root)
    except ValueError:
        return None
    return rel.as_posix()


def capture_script(
    entry_point: str | None = None, max_script_bytes: int = 1_000_000
) -> dict[str, str]:
    """The ClearML "script" section; unknown fields are empty strings, git failures are silent."""
    raw, script = _resolve_entry(entry_point)
    info = dict.fromkeys(
        ("repository", "branch", "version_num", "diff", "entry_point", "working_dir"), ""
    )
    info["binary"] = f"python{sys.version_info.major}.{sys.version_info.minor}"
    info["script_text"] = ""
    info["entry_point"] = script.name if script is not None else raw
    try:
        cwd: Path | None = Path.cwd().resolve()
    except OSError:
        cwd = None
    info["working_dir"] = str(cwd) if cwd is not None else ""

    git_cwd = script.parent if script is not None else cwd
    root: Path | None = None
    if git_cwd is not None:
        # One call for root, commit and branch; "--abbrev-ref" applies to the revs after it.
        rev = _git(["rev-parse", "--show-toplevel", "HEAD", "--abbrev-ref", "HEAD"], git_cwd)
        lines = rev.stdout.splitlines() if rev is not None else []
        if lines and os.path.isabs(lines[0]):
            root = Path(lines[0]).resolve()
        if rev is not None and rev.returncode == 0 and len(lines) >= 3:
            info["version_num"] = lines[1].strip()
            branch = lines[2].strip()
            info["branch"] = "" if branch == "HEAD" else branch  # detached HEAD

    if root is None:
        if script is not None:
            info["script_text"] = _read_script(script, max_script_bytes)
        return info

    if script is not None:
        info["entry_point"] = _relative(script, root) or script.name
    if cwd is not None:
        info["working_dir"] = _relative(cwd, root) or str(cwd)
    remote = _git(["remote", "-v"], root)
    if remote is not None and remote.returncode == 0:
        info["repository"] = _pick_remote(remote.stdout)
    if info["version_num"]:
        diff = _git(["diff", "--no-color", "--no-ext-diff", "HEAD"], root)
        if diff is not None and diff.returncode == 0:
            info["diff"] = _cap_utf8(diff.stdout, _MAX_DIFF_BYTES)
    return info


def _cap_utf8(text: str, max_bytes: int) -> str:
    if len(text) * 4 <= max_bytes:  # cannot exceed the cap even if every char took 4 bytes
        return text
    return text.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore")


def _dist_line(dist: importlib.metadata.Distribution) -> str | None:
    # A wheel's folder is named ``<name>-<version>.dist-info`` (a '-' in the name is written
    # '_'), so reading the name is enough: parsing every METADATA file costs ~30 ms of task
    # start for a hundred packages. Other layouts (egg-info) fall back to the metadata.
    folder = getattr(dist, "_path", None)
    if isinstance(folder, Path) and folder.suffix == ".dist-info":
        name, sep, version = folder.stem.partition("-")
        if sep and name and version and "-" not in version:
            return f"{name}=={version}"
    try:
        meta = dist.metadata
        # get_all(): indexing a missing key is deprecated on Python 3.12+.
        name = (meta.get_all("Name") or [""])[0]
        version = (meta.get_all("Version") or [""])[0]
    except Exception:  # a broken dist-info must not break task start
        return None
    return f"{name}=={version}" if name and version else None


def capture_packages() -> list[str]:
    """Installed distributions as ``name==version``, one per distribution name.

    When a name is installed twice (several sys.path entries), the first one found wins,
    which is the one ``import`` would use.
    """
    seen: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        line = _dist_line(dist)
        if line is not None:
            key = re.sub(r"[-_.]+", "-", line.partition("==")[0]).lower()
            seen.setdefault(key, line)
    return sorted(seen.values(), key=lambda line: (line.lower(), line))


def current_user() -> str:
    """The login name, or "unknown" when neither the environment nor passwd knows it."""
    try:
        return getpass.getuser() or "unknown"
    except Exception:  # OSError on 3.13+, KeyError before
        return "unknown"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                key, sep, value = line.partition(":")
                if sep and key.strip() == "model name" and value.strip():
                    return value.strip()
    except OSError:
        pass
    return platform.processor()


def _memory_total_mb() -> int:
    try:
        with open("/proc/meminfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) // 1024  # reported in kB
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1024 * 1024)
    except (AttributeError, OSError, ValueError):
        return 0


def capture_runtime() -> dict[str, str | int | float]:
    """Interpreter, OS and host facts recorded with every task."""
    try:
        hostname = socket.gethostname()
    except OSError:
        hostname = platform.node()
    return {
        "python_version": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "os": platform.platform(),
        "os_name": platform.system(),
        "hostname": hostname,
        "cpu_count": os.cpu_count() or 0,
        "cpu_model": _cpu_model(),
        "memory_total_mb": max(0, _memory_total_mb()),
        "user": current_user(),
        "pid": os.getpid(),
        "executable": sys.executable,
    }
