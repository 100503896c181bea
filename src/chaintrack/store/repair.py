"""Damaged embedded stores: finding the damage early and recovering what can still be read.

- **Finding it.** A SQLite store up to ``CHAINTRACK_QUICK_CHECK_MB`` is checked with
  ``PRAGMA quick_check`` when a process opens it (a few milliseconds per MB); any store whose
  pages turn out damaged during a read or a write raises :class:`StoreCorruptError` instead of
  a driver error (see :func:`install_damage_mapping`). Both say what happened and name the
  command below.
- **Recovering.** ``chaintrack store repair`` copies every row that can be read, table by table
  and in rowid order, stepping over damaged pages, into a new store; the damaged file is kept
  beside it (``<name>.damaged-<time>``). Event counts are computed again from the events
  recovered; spool files the store's processes left behind are then written into it. The
  spans' text in the full-text index is queued to be indexed again (``store/textindex.py``).
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url

from chaintrack.errors import StoreCorruptError, StoreError
from chaintrack.store.migrate import _MOVE_ASIDE
from chaintrack.store.schema import metadata

log = logging.getLogger("chaintrack")

#: SQLite's words for a file it cannot read as a database.
_DAMAGE = ("malformed", "not a database", "file is encrypted", "disk image")
_CHUNK = 500


def repair_command(path: Path) -> str:
    return f"chaintrack store repair {path}"


def damaged(path: Path, reason: str) -> StoreCorruptError:
    """The one-line error of a damaged store, with the command that recovers what it holds."""
    return StoreCorruptError(
        f"the store {path} is damaged ({reason}). Run `{repair_command(path)}` to copy "
        "everything that can still be read into a new store (the damaged file is kept "
        f"beside it). {_MOVE_ASIDE}"
    )


def is_damage(exc: BaseException) -> bool:
    text = str(exc).lower()
    return isinstance(exc, sqlite3.DatabaseError) and any(w in text for w in _DAMAGE)


def quick_check(path: Path, limit_bytes: int) -> None:
    """StoreCorruptError when SQLite finds damage in the file (skipped past ``limit_bytes``)."""
    try:
        size = path.stat().st_size
    except OSError:
        return
    if size == 0 or size > limit_bytes:
        return
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=60)
    except sqlite3.Error:
        return  # opening says why (a missing folder, a locked file)
    try:
        rows = conn.execute("PRAGMA quick_check(5)").fetchall()
    except sqlite3.DatabaseError as exc:
        if "malformed" in str(exc).lower():
            raise damaged(path, str(exc)) from None
        return  # not a database at all, locked or busy: opening the store says so
    finally:
        conn.close()
    found = [str(r[0]) for r in rows]
    if found != ["ok"]:
        # quick_check's report spans lines ("*** in database main ***", then one per problem)
        words = " ".join(" ".join(found).replace("*** in database main ***", "").split())
        raise damaged(path, words if len(words) <= 160 else words[:157] + "...")


def install_damage_mapping(engine: Engine, path: Path) -> None:
    """Turn SQLite's "database disk image is malformed" (and its kin) met by any statement on
    ``engine`` into the one-line StoreCorruptError naming the repair command."""

    def handle(context: Any) -> None:
        original = context.original_exception
        if is_damage(original):
            raise damaged(path, " ".join(str(original).split())) from None

    event.listen(engine, "handle_error", handle)


# -- recovering ------------------------------------------------------------------------------


@dataclass
class RepairReport:
    source: Path
    target: Path
    kept_as: Path | None
    copied: dict[str, int] = field(default_factory=dict)
    unreadable: dict[str, int] = field(default_factory=dict)
    replayed_spool: bool = False


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    try:
        return [str(r[1]) for r in conn.execute(f'PRAGMA table_info("{table}")')]
    except sqlite3.DatabaseError:
        return []


def _copy_table(
    src: sqlite3.Connection, dst: sqlite3.Connection, table: str, into: str | None = None
) -> tuple[int, int]:
    """Copy the readable rows of ``table`` (into the table ``into`` when given); (rows copied,
    places where reading failed)."""
    into = into or table
    wanted = set(_columns(dst, into))
    columns = [c for c in _columns(src, table) if c in wanted]
    if not columns:
        return 0, 1
    names = ", ".join(f'"{c}"' for c in columns)
    # Names come from the schema, never from user text.
    select = f'SELECT rowid, {names} FROM "{table}" WHERE rowid > ? ORDER BY rowid LIMIT ?'  # noqa: S608
    insert = f'INSERT OR IGNORE INTO "{into}" ({names}) VALUES ({", ".join("?" for _ in columns)})'  # noqa: S608
    try:
        highest = src.execute(f'SELECT max(rowid) FROM "{table}"').fetchone()[0]  # noqa: S608
    except sqlite3.DatabaseError:
        highest = None
    limit = highest if isinstance(highest, int) else 2**62
    last, copied, failures = -(2**63), 0, 0
    while last < limit:
        try:
            rows = src.execute(select, (last, _CHUNK)).fetchall()
        except sqlite3.DatabaseError:
            failures += 1
            last = _step_over(src, select, last, limit)
            continue
        if not rows:
            break
        dst.executemany(insert, [r[1:] for r in rows])
        copied += len(rows)
        last = rows[-1][0]
    return copied, failures


def _step_over(src: sqlite3.Connection, select: str, last: int, limit: int) -> int:
    """The rowid to go on from after a read past ``last`` failed: the next row that reads,
    tried at doubling distances (rows in between on damaged pages are lost)."""
    base = max(last, 0)
    step = 1
    while base + step < limit:
        try:
            src.execute(select, (base + step, 1)).fetchall()
            return base + step
        except sqlite3.DatabaseError:
            step *= 2
    return limit


def sqlite_path(uri: str) -> Path:
    url = make_url(uri if "://" in uri else f"sqlite:///{uri}")
    if url.get_backend_name() != "sqlite" or not url.database:
        raise StoreError(
            f"{uri!r}: `chaintrack store repair` recovers an embedded (SQLite) store; for "
            "PostgreSQL use its own tools (pg_dump, a backup)"
        )
    return Path(url.database).expanduser()


def repair(
    path: Path, output: Path | None = None, open_store: Callable[[str], Any] | None = None
) -> RepairReport:
    """Copy what can be read of the store at ``path`` into a new store.

    Without ``output`` the new store takes the damaged one's place and the damaged file is kept
    as ``<name>.damaged-<UTC time>``; with ``output`` the new store is written there and the
    damaged file is left as it is.
    """
    from chaintrack.store.sql import SqlStore

    if not path.is_file():
        raise StoreError(f"no store at {path}: nothing to repair")
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    target = output or path.with_name(f"{path.name}.recovering-{stamp}")
    if target.exists():
        raise StoreError(f"{target} exists already; pick another --output")
    SqlStore(f"sqlite:///{target}", blob_root=path.parent / "files").close()
    src = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=60)
    dst = sqlite3.connect(target, timeout=60)
    report = RepairReport(path, output or path, None)
    try:
        dst.execute("BEGIN")
        for table in metadata.sorted_tables:
            if table.name == "event_counts":
                continue
            copied, failures = _copy_table(src, dst, table.name)
            report.copied[table.name] = copied
            if failures:
                report.unreadable[table.name] = failures
        # The full-text index is rebuilt from its rows (queued, indexed by the next catch-up:
        # its rows carry the rowids of the spans, which the copy renumbered).
        copied, failures = _copy_table(src, dst, "span_text", into="span_text_pending")
        report.copied["span_text"] = copied
        if failures and _columns(src, "span_text"):
            report.unreadable["span_text"] = failures
        dst.execute("DELETE FROM event_counts")
        dst.execute(
            "INSERT INTO event_counts (task_id, kind, events) "
            "SELECT task_id, kind, count(*) FROM events GROUP BY task_id, kind"
        )
        dst.execute("COMMIT")
    finally:
        src.close()
        dst.close()
    if output is None:
        kept = path.with_name(f"{path.name}.damaged-{stamp}")
        path.rename(kept)
        for suffix in ("-wal", "-shm"):
            side = path.with_name(path.name + suffix)
            if side.exists():
                shutil.move(str(side), str(kept.with_name(kept.name + suffix)))
        target.rename(path)
        report.kept_as = kept
    if open_store is not None:
        # The caller's writer of the new store writes the spool files left by earlier
        # processes (the store knows nothing of the SDK that spools).
        report.replayed_spool = bool(open_store(f"sqlite:///{report.target}"))
    return report
