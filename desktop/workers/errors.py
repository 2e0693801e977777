"""Exceptions in workers become a sentence for the user and a traceback in the log, never a crash."""

from __future__ import annotations

import errno
import functools
import logging
import sqlite3
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from desktop.core.errors import HearthError
from desktop.workers.events import Problem

log = logging.getLogger("hearth.workers")

DISK_FULL = "The disk is full: free some space, then try again. Nothing already saved was lost."

P = ParamSpec("P")
R = TypeVar("R")


class Reporter(Protocol):
    """A worker with a ``problem`` signal (Signal(object) carrying Problem)."""

    @property
    def problem(self) -> Any: ...


def describe(exc: BaseException) -> str:
    """What went wrong, in one sentence a person can act on."""
    if isinstance(exc, HearthError):
        return str(exc)
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return DISK_FULL
    if isinstance(exc, sqlite3.OperationalError) and "full" in str(exc).lower():
        return DISK_FULL
    if isinstance(exc, PermissionError):
        return f"Permission denied: {exc.filename or exc}"
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc}{f': {exc.filename}' if exc.filename else ''}"
    return f"Unexpected error ({type(exc).__name__}: {exc}). Details are in the log file."


def reported(
    source: str,
) -> Callable[[Callable[Concatenate[Any, P], R]], Callable[Concatenate[Any, P], R | None]]:
    """Run a worker slot; an exception becomes a Problem on the worker's ``problem`` signal."""

    def decorate(slot: Callable[Concatenate[Any, P], R]) -> Callable[Concatenate[Any, P], R | None]:
        @functools.wraps(slot)
        def guarded(self: Reporter, *args: P.args, **kwargs: P.kwargs) -> R | None:
            try:
                return slot(self, *args, **kwargs)
            except Exception as exc:
                if not isinstance(exc, HearthError):
                    log.exception("%s failed", slot.__qualname__)
                else:
                    log.warning("%s: %s", source, exc)
                self.problem.emit(Problem(source=source, message=describe(exc)))
                return None

        return guarded

    return decorate
