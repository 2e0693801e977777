"""A QThread running one worker, started and stopped in a way that can never hang the exit."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QThread

log = logging.getLogger("hearth.workers")


class WorkerThread:
    """Owns a QThread; the worker is moved into it so its slots run there."""

    def __init__(self, worker: QObject, name: str) -> None:
        self.worker = worker
        self.thread = QThread()
        self.thread.setObjectName(name)
        worker.moveToThread(self.thread)

    def start(self) -> None:
        self.thread.start()

    @property
    def running(self) -> bool:
        return self.thread.isRunning()

    def join(self, timeout_ms: int) -> bool:
        """Wait for the worker's ``close`` slot to end the thread; True if it did in time."""
        if self.thread.wait(timeout_ms):
            return True
        log.warning("%s did not stop within %d ms", self.thread.objectName(), timeout_ms)
        return False


def quit_current_thread() -> None:
    """Called last by a worker's ``close`` slot: leave the event loop once it returns."""
    QThread.currentThread().quit()
