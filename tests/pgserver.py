"""A throwaway PostgreSQL cluster for the tests and the benchmarks, or an existing server.

``PostgresServer.start()`` runs ``initdb`` into a temporary folder and starts ``postgres`` on
127.0.0.1 at a free port, its unix socket in that folder, with durability off (``fsync=off``,
``synchronous_commit=off``, ``full_page_writes=off``): the data is thrown away at the end.
PostgreSQL refuses to run as root; as root the cluster runs as the ``postgres`` OS user, in a
folder that user owns.

Set ``CHAINTRACK_TEST_POSTGRES_URI`` (e.g. ``postgresql://user:pw@host:5432/postgres``) to use an
existing server instead: its user needs the CREATEDB privilege; every test gets a database of
its own (``chaintrack_test_<pid>_<n>``), dropped at the end of the test.

The binaries are looked up on PATH, then in ``/usr/lib/postgresql/<version>/bin`` (Debian's
``postgresql`` package; ``scripts/test.sh`` installs it when missing and allowed to).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

URI_VARIABLE = "CHAINTRACK_TEST_POSTGRES_URI"
_USER = "chaintrack"
#: The throwaway cluster checks passwords over TCP (so that a wrong one is refused, as by a real
#: server); the unix socket trusts local users.
PASSWORD = "chaintrack-test"


class PostgresUnavailable(Exception):
    """PostgreSQL cannot be used here; the message says why (tests skip with it)."""


def find_bin_dir() -> Path:
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    found = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    if not found:
        raise PostgresUnavailable(
            "PostgreSQL is not installed (no initdb on PATH or in /usr/lib/postgresql/*/bin); "
            "install Debian's postgresql package (scripts/test.sh does as root) or set "
            f"{URI_VARIABLE}"
        )
    newest = max(found, key=lambda p: int(Path(p).parts[-3].split(".")[0]))
    return Path(newest).parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    """A PostgreSQL server that hands out fresh databases (see the module's docstring)."""

    def __init__(self, admin_uri: str, root: Path | None = None, run: Any = None) -> None:
        #: A URI of the maintenance database, for CREATE / DROP DATABASE.
        self.admin_uri = admin_uri
        self._root = root
        self._run = run
        self._bin_dir: Path | None = None
        self._count = 0

    # -- a cluster of our own --------------------------------------------------------------

    @classmethod
    def start(cls) -> PostgresServer:
        """Start a throwaway cluster; raise PostgresUnavailable (saying why) when it cannot."""
        bin_dir = find_bin_dir()
        root = Path(tempfile.mkdtemp(prefix="chaintrack-pg-"))
        prefix: list[str] = []
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                shutil.rmtree(root, ignore_errors=True)
                raise PostgresUnavailable(
                    "running as root and there is no 'postgres' OS user to run PostgreSQL as "
                    "(PostgreSQL refuses to run as root)"
                ) from None
            os.chown(root, owner.pw_uid, owner.pw_gid)
            root.chmod(0o700)
            prefix = ["runuser", "-u", "postgres", "--"]

        def run(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [*prefix, *args], capture_output=True, text=True, timeout=120, check=False
            )

        port = _free_port()
        data = root / "data"
        password_file = root / "password"
        password_file.write_text(PASSWORD + "\n")
        if prefix:
            os.chown(password_file, owner.pw_uid, owner.pw_gid)
        steps = [
            (str(bin_dir / "initdb"), "-D", str(data), "-U", _USER, "--auth-local=trust",
             "--auth-host=scram-sha-256", f"--pwfile={password_file}",
             "-E", "UTF8", "--locale=C", "--no-sync"),
            (str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(root / "server.log"), "-w",
             "-t", "60", "-o",
             f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
             "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200 "
             "-c shared_buffers=128MB", "start"),
        ]  # fmt: skip
        for step in steps:
            done = run(*step)
            if done.returncode != 0:
                log = root / "server.log"
                tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                with contextlib.suppress(OSError):
                    run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
                shutil.rmtree(root, ignore_errors=True)
                raise PostgresUnavailable(
                    f"could not start PostgreSQL ({Path(step[0]).name} failed: "
                    f"{(done.stderr or done.stdout).strip()[-1000:]} {tail})"
                )
        server = cls(f"postgresql://{_USER}:{PASSWORD}@127.0.0.1:{port}/postgres", root, run)
        server._bin_dir = bin_dir
        return server

    def stop(self) -> None:
        if self._root is None or self._bin_dir is None:
            return
        self._run(str(self._bin_dir / "pg_ctl"), "-D", str(self._root / "data"), "-m",
                  "immediate", "-w", "stop")  # fmt: skip
        shutil.rmtree(self._root, ignore_errors=True)
        self._root = None

    # -- databases ---------------------------------------------------------------------------

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_uri, autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def uri(self, database: str) -> str:
        """The URI of ``database`` on this server (same user and password as the admin URI)."""
        head, _, _ = self.admin_uri.rpartition("/")
        return f"{head}/{database}"

    def create_database(self) -> str:
        """A new empty database; its name."""
        self._count += 1
        name = f"chaintrack_test_{os.getpid()}_{self._count}"
        self._admin(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    @contextlib.contextmanager
    def database(self) -> Iterator[str]:
        """A fresh database's URI for the ``with`` block; dropped afterwards."""
        name = self.create_database()
        try:
            yield self.uri(name)
        finally:
            self.drop_database(name)


def connect(uri: str | None = None) -> PostgresServer:
    """``CHAINTRACK_TEST_POSTGRES_URI``'s server when set (checked), else a new cluster."""
    uri = uri or os.environ.get(URI_VARIABLE)
    if not uri:
        return PostgresServer.start()
    try:
        import psycopg
    except ImportError:
        raise PostgresUnavailable(
            "psycopg is not installed (pip install -e '.[postgres]')"
        ) from None
    try:
        psycopg.connect(uri, connect_timeout=10).close()
    except psycopg.Error as exc:
        raise PostgresUnavailable(f"cannot connect to {URI_VARIABLE}: {exc}") from None
    return PostgresServer(uri)
