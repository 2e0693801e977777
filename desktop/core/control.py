"""Cooperative pause and cancel for long work, checked between batches or tokens."""

from __future__ import annotations

import threading

from desktop.core.errors import Cancelled


class Control:
    def __init__(self) -> None:
        self._cancelled = threading.Event()
        self._running = threading.Event()
        self._running.set()

    def cancel(self) -> None:
        self._cancelled.set()
        self._running.set()  # a paused job must wake up to see it was cancelled

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def checkpoint(self) -> None:
        """Wait while paused; raise Cancelled once cancelled."""
        self._running.wait()
        if self._cancelled.is_set():
            raise Cancelled("Stopped.")
