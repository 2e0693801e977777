"""Ending a child process without ever hanging: ask it to exit, then terminate, then kill."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

STOP_TIMEOUT_S = 3.0


def stop_child(process: BaseProcess, conn: Connection, *, ask: Callable[[], None] | None) -> None:
    """``ask``: sends the child its request to exit (None: the child is not to be trusted to)."""
    if ask is not None and process.is_alive():
        with contextlib.suppress(OSError):
            ask()
        process.join(STOP_TIMEOUT_S)
    if process.is_alive():
        process.terminate()
        process.join(STOP_TIMEOUT_S)
    if process.is_alive():
        process.kill()
        process.join()
    conn.close()
