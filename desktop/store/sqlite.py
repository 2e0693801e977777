"""SQLite connections configured for durability: WAL, synchronous=FULL, foreign keys."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from desktop.core.errors import StoreError
from desktop.core.private import create_private_file, ensure_private_dir

BUSY_TIMEOUT_S = 15.0


def connect(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    ensure_private_dir(path.parent)
    if not read_only:
        create_private_file(path)  # SQLite gives its -wal and -shm files the database file's mode
    try:
        # The busy timeout comes first: the window's workers open the same files at the same moment,
        # and switching to WAL needs a lock the others may briefly hold.
        if read_only:
            connection = sqlite3.connect(
                f"{path.as_uri()}?mode=ro", uri=True, check_same_thread=False, timeout=BUSY_TIMEOUT_S
            )
        else:
            connection = sqlite3.connect(
                path, check_same_thread=False, isolation_level=None, timeout=BUSY_TIMEOUT_S
            )
            _use_wal(connection)
            connection.execute("PRAGMA synchronous=FULL")
        connection.execute("PRAGMA foreign_keys=ON")
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"Cannot open {path}: {exc}") from None
    connection.row_factory = sqlite3.Row
    return connection


def _use_wal(connection: sqlite3.Connection) -> None:
    """Switch to WAL (it then stays in the file). The switch needs an exclusive lock, and SQLite
    refuses it at once, without the busy wait, while another connection writes: on first start the
    window's workers create the same files together. So retry until the busy timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            if connection.execute("PRAGMA journal_mode=WAL").fetchone()[0].lower() == "wal":
                return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
        if time.monotonic() > deadline:
            raise sqlite3.OperationalError("database is locked")
        time.sleep(0.02)


@contextmanager
def transaction(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One atomic write: everything inside commits together or not at all."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
