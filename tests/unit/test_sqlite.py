"""Registry connections: durable settings, and a first start where several workers open at once."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from desktop.store.sqlite import connect


def test_opening_a_new_database_waits_while_another_connection_writes(tmp_path: Path) -> None:
    # Switching to WAL needs an exclusive lock that SQLite refuses at once, without its busy wait.
    path = tmp_path / "registry.sqlite3"
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    writer.execute("CREATE TABLE notes(text)")
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO notes VALUES ('kept')")
    committer = threading.Timer(0.3, lambda: writer.execute("COMMIT"))
    committer.start()
    try:
        reader = connect(path)
    finally:
        committer.join()
    assert reader.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert reader.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert [tuple(row) for row in reader.execute("SELECT text FROM notes")] == [("kept",)]
