"""``chaintrack db current`` and ``chaintrack db upgrade`` on each SQL backend."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from old_stores import first_revision_store
from sqlalchemy import create_engine, text

from chaintrack import cli
from chaintrack.store import migrate
from chaintrack.store.schema import HEAD_REVISION
from chaintrack.store.sql import SqlStore
from pgserver import PostgresServer


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(["db", *args])
    out, err = capsys.readouterr()
    return code, out.strip(), err.strip()


def shown(uri: str) -> str:
    return uri.replace(":chaintrack-test@", ":***@")


def test_upgrading_a_first_revision_store(
    new_database: Callable[[], str], capsys: pytest.CaptureFixture[str]
) -> None:
    uri = new_database()
    first_revision_store(uri)
    assert run(capsys, "current", uri) == (
        0,
        f"{shown(uri)}: revision 0001, newest is {HEAD_REVISION} "
        "(`chaintrack db upgrade` migrates it)",
        "",
    )
    assert run(capsys, "upgrade", uri) == (
        0,
        f"{shown(uri)}: upgraded from revision 0001 to {HEAD_REVISION}",
        "",
    )
    store = SqlStore(uri)
    try:
        assert store.opened_at_revision == HEAD_REVISION  # opening had nothing left to do
        assert store.task_summary("a").stats.total_tokens == 12  # 0002's backfill ran
    finally:
        store.close()
    assert run(capsys, "upgrade", uri) == (
        0,
        f"{shown(uri)}: already up to date (revision {HEAD_REVISION})",
        "",
    )
    assert run(capsys, "current", uri)[1] == f"{shown(uri)}: revision {HEAD_REVISION} (up to date)"


def test_an_empty_database_gets_a_new_store(
    postgres_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "current", postgres_uri)
    assert (code, out.split(": ", 1)[1]) == (
        0,
        f"empty database, no chaintrack store yet (newest revision {HEAD_REVISION}; "
        "`chaintrack db upgrade` creates it)",
    )
    assert run(capsys, "upgrade", postgres_uri)[1].endswith(
        f": created a new store at revision {HEAD_REVISION}"
    )
    engine = create_engine(postgres_uri.replace("postgresql://", "postgresql+psycopg://"))
    assert migrate.current_revision(engine) == HEAD_REVISION
    engine.dispose()


def test_a_sqlite_path_is_a_store_and_a_missing_file_is_not_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "typo.db"
    assert run(capsys, "upgrade", str(missing)) == (
        1,
        "",
        f"chaintrack: error: there is no store at {missing}: no such file",
    )
    assert not missing.exists()
    SqlStore(f"sqlite:///{tmp_path / 'tasks.db'}").close()
    code, out, _ = run(capsys, "current", str(tmp_path / "tasks.db"))
    assert (code, out) == (0, f"sqlite:///{tmp_path / 'tasks.db'}: revision {HEAD_REVISION} "
                              "(up to date)")  # fmt: skip


def test_the_default_store_is_the_tracking_uri(
    store_uri: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    SqlStore(store_uri).close()
    monkeypatch.setenv("CHAINTRACK_TRACKING_URI", store_uri)
    assert run(capsys, "current")[1] == f"{shown(store_uri)}: revision {HEAD_REVISION} (up to date)"


def test_another_applications_database_is_refused(
    new_database: Callable[[], str], capsys: pytest.CaptureFixture[str]
) -> None:
    uri = new_database()
    engine = create_engine(uri.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE users (id integer PRIMARY KEY)"))
    engine.dispose()
    for action in ("current", "upgrade"):
        code, out, err = run(capsys, action, uri)
        assert (code, out) == (1, "")
        assert err.startswith(f"chaintrack: error: {shown(uri)} holds tables (users) but no ")
        assert "not a chaintrack store" in err


def test_a_wrong_password_and_an_unreachable_server_are_one_line_errors(
    postgres: PostgresServer, postgres_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = postgres_uri.replace(":chaintrack-test@", ":nope@")
    code, out, err = run(capsys, "upgrade", wrong)
    assert (code, out) == (1, "")
    assert "password authentication failed" in err
    assert "nope" not in err
    code, _, err = run(capsys, "current", "postgresql://u:pw@127.0.0.1:1/db?connect_timeout=5")
    assert code == 1
    assert err.startswith(
        "chaintrack: error: cannot use the store at postgresql://u:***@127.0.0.1:1"
    )
    assert "Check that the database server is running" in err
    assert len(err.splitlines()) == 1
