"""Tests for chaintrack.sdk.environment against real git repositories."""

from __future__ import annotations

import getpass
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from chaintrack.sdk import environment
from chaintrack.sdk.environment import (
    capture_packages,
    capture_runtime,
    capture_script,
    current_user,
)

SCRIPT_KEYS = {
    "repository",
    "branch",
    "version_num",
    "diff",
    "entry_point",
    "working_dir",
    "binary",
    "script_text",
}
BINARY = f"python{sys.version_info.major}.{sys.version_info.minor}"

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


@pytest.fixture(autouse=True)
def _isolated_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the developer's git config out and stop discovery above the temp dir."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(var, raising=False)


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        [
            "git",
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.com",
            "-c",
            "commit.gpgsign=false",
            *args,
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "train.py").write_text("print('v1')\n")
    (root / "README.md").write_text("readme\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    return root


@needs_git
def test_git_repo_fields(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    git(repo, "remote", "add", "backup", "https://bob:hunter2@mirror.example.com/org/repo.git")
    git(repo, "remote", "add", "origin", "https://alice:s3cret@example.com/org/repo.git")
    (repo / "pkg" / "train.py").write_text("print('v2 unstaged')\n")
    (repo / "staged.txt").write_text("staged content\n")
    git(repo, "add", "staged.txt")
    (repo / "untracked.txt").write_text("not in the diff\n")
    monkeypatch.chdir(repo / "pkg")

    info = capture_script(entry_point=str(repo / "pkg" / "train.py"))

    assert set(info) == SCRIPT_KEYS
    assert info["repository"] == "https://example.com/org/repo.git"
    assert not any("s3cret" in v or "hunter2" in v for v in info.values())
    assert info["branch"] == "main"
    assert info["version_num"] == git(repo, "rev-parse", "HEAD")
    assert re.fullmatch(r"[0-9a-f]{40}", info["version_num"])
    assert "+print('v2 unstaged')" in info["diff"]
    assert "-print('v1')" in info["diff"]
    assert "+staged content" in info["diff"]
    assert "untracked.txt" not in info["diff"]
    assert info["entry_point"] == "pkg/train.py"
    assert info["working_dir"] == "pkg"
    assert info["binary"] == BINARY
    assert info["script_text"] == ""


@needs_git
def test_first_remote_used_without_origin(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    git(repo, "remote", "add", "upstream", "ssh://git:pw@host.example.com/org/repo.git")
    monkeypatch.chdir(repo)
    info = capture_script(entry_point=str(repo / "pkg" / "train.py"))
    assert info["repository"] == "ssh://git@host.example.com/org/repo.git"
    assert info["working_dir"] == "."
    assert info["diff"] == ""  # clean tree


@needs_git
def test_detached_head_has_no_branch(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    git(repo, "checkout", "-q", "--detach")
    monkeypatch.chdir(repo)
    info = capture_script(entry_point=str(repo / "pkg" / "train.py"))
    assert info["branch"] == ""
    assert info["version_num"] == git(repo, "rev-parse", "HEAD")
    assert info["repository"] == ""


@needs_git
def test_git_is_called_at_most_three_times(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    git(repo, "remote", "add", "origin", "https://example.com/r.git")
    (repo / "README.md").write_text("changed\n")
    calls: list[list[str]] = []
    real_run = subprocess.run

    def counting_run(args: list[str], **kwargs: object) -> object:
        calls.append(args)
        return real_run(args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(subprocess, "run", counting_run)
    info = capture_script(entry_point=str(repo / "pkg" / "train.py"))
    assert info["repository"] == "https://example.com/r.git"
    assert "+changed" in info["diff"]
    assert len(calls) == 3
    assert all(call[0] == "git" for call in calls)


@needs_git
def test_diff_is_capped(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (repo / "README.md").write_text("é" * 5000 + "\n")
    monkeypatch.chdir(repo)
    full = capture_script(entry_point=str(repo / "pkg" / "train.py"))["diff"]
    assert len(full.encode()) > 10_000
    monkeypatch.setattr(environment, "_MAX_DIFF_BYTES", 1001)
    capped = capture_script(entry_point=str(repo / "pkg" / "train.py"))["diff"]
    assert 990 <= len(capped.encode()) <= 1001
    assert full.startswith(capped)


def test_script_outside_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "plain"
    work.mkdir()
    script = work / "job.py"
    script.write_text("import sys\nprint('standalone')\n")
    monkeypatch.chdir(work)

    info = capture_script(entry_point=str(script))

    assert set(info) == SCRIPT_KEYS
    assert info["script_text"] == "import sys\nprint('standalone')\n"
    assert info["entry_point"] == "job.py"
    assert info["working_dir"] == str(work.resolve())
    for key in ("repository", "branch", "version_num", "diff"):
        assert info[key] == "", key


def test_script_text_truncated_on_character_boundary(tmp_path: Path) -> None:
    script = tmp_path / "big.py"
    script.write_text("# " + "é" * 100, encoding="utf-8")  # "# " then 2-byte characters
    text = capture_script(entry_point=str(script), max_script_bytes=7)["script_text"]
    assert text == "# éé"  # the third "é" was cut in half by the limit and is dropped


def test_default_entry_point_comes_from_argv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = tmp_path / "from_argv.py"
    script.write_text("x = 1\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["from_argv.py", "--flag"])
    info = capture_script()
    assert info["entry_point"] == "from_argv.py"
    assert info["script_text"] == "x = 1\n"


@pytest.mark.parametrize("argv", [["-c"], [""], [], ["no_such_file.py"]])
def test_interactive_entry_point(
    argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", argv)
    info = capture_script()
    assert info["entry_point"] == (argv[0] if argv else "")
    assert info["script_text"] == ""
    assert info["binary"] == BINARY


def test_missing_git_binary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = tmp_path / "s.py"
    script.write_text("pass\n")
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    monkeypatch.setenv("PATH", str(empty_bin))
    info = capture_script(entry_point=str(script))
    assert info["version_num"] == ""
    assert info["script_text"] == "pass\n"  # treated as "not in git"


@needs_git
def test_git_timeout_gives_empty_fields(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def timing_out(args: list[str], **kwargs: object) -> object:
        raise subprocess.TimeoutExpired(args, 5)

    monkeypatch.setattr(subprocess, "run", timing_out)
    info = capture_script(entry_point=str(repo / "pkg" / "train.py"))
    assert info["version_num"] == info["branch"] == info["diff"] == info["repository"] == ""
    assert info["entry_point"] == "train.py"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:tok@github.com/o/r.git", "https://github.com/o/r.git"),
        ("https://ghp_token@github.com/o/r.git", "https://github.com/o/r.git"),
        ("http://u:p@host:8080/r", "http://host:8080/r"),
        ("ssh://git:pw@host/r.git", "ssh://git@host/r.git"),
        ("ssh://git@host/r.git", "ssh://git@host/r.git"),
        ("git@github.com:o/r.git", "git@github.com:o/r.git"),
        ("https://github.com/o/r.git", "https://github.com/o/r.git"),
        ("/srv/git/r.git", "/srv/git/r.git"),
    ],
)
def test_strip_credentials(url: str, expected: str) -> None:
    assert environment._strip_credentials(url) == expected


def test_packages() -> None:
    packages = capture_packages()
    assert f"pytest=={importlib.metadata.version('pytest')}" in packages
    assert packages == sorted(packages, key=lambda p: (p.lower(), p))
    names = [p.partition("==")[0] for p in packages]
    assert all(p.count("==") == 1 and p.partition("==")[2] for p in packages)
    canonical = [re.sub(r"[-_.]+", "-", n).lower() for n in names]
    assert len(canonical) == len(set(canonical))


def test_runtime() -> None:
    runtime = capture_runtime()
    expected_types: dict[str, type] = {
        "python_version": str,
        "python_implementation": str,
        "os": str,
        "os_name": str,
        "hostname": str,
        "cpu_count": int,
        "cpu_model": str,
        "memory_total_mb": int,
        "user": str,
        "pid": int,
        "executable": str,
    }
    assert set(runtime) == set(expected_types)
    for key, typ in expected_types.items():
        assert isinstance(runtime[key], typ), key
    assert runtime["python_version"].startswith(f"{sys.version_info.major}.")  # type: ignore[union-attr]
    assert runtime["pid"] == os.getpid()
    assert runtime["executable"] == sys.executable
    assert runtime["cpu_count"] == (os.cpu_count() or 0)
    if sys.platform.startswith("linux"):
        assert runtime["memory_total_mb"] > 0  # type: ignore[operator]
        assert runtime["os_name"] == "Linux"


def test_current_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGNAME", "ada")
    assert current_user() == "ada"

    def no_user() -> str:
        raise OSError("no user")

    monkeypatch.setattr(getpass, "getuser", no_user)
    assert current_user() == "unknown"
    assert capture_runtime()["user"] == "unknown"
