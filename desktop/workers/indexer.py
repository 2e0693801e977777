"""The indexing thread: owns its own Workspace (registry, Chroma client, embedder) and the Indexer.

Requests queue up as Qt events and run one after another. Pause, resume and cancel are called
directly from the GUI thread (they only flip events in a Control): the running job checks them
between files and batches. Cancel also drops the requests queued before it.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from desktop.core.control import Control
from desktop.core.errors import Cancelled, HearthError
from desktop.core.types import DocumentStatus, FailedFile, IndexProgress
from desktop.services.home import Home
from desktop.services.indexing import Indexer
from desktop.services.workspace import Workspace
from desktop.workers.errors import describe, reported
from desktop.workers.events import IndexFinished, IndexRequest, IndexStarted, Problem
from desktop.workers.threads import quit_current_thread
from desktop.workers.typed import carrying

log = logging.getLogger("hearth.indexing")


class IndexWorker(QObject):
    job_started = carrying(IndexStarted)
    job_progress = carrying(IndexProgress)
    job_finished = carrying(IndexFinished)
    changed = Signal()  # documents were added or removed outside an index run
    roots = carrying(tuple[str, ...])  # what the library holds, for the folder watcher
    problem = carrying(Problem)

    def __init__(self, home: Home) -> None:
        super().__init__()
        self._home = home
        self._workspace: Workspace | None = None
        self._lock = threading.Lock()
        self._control = Control()
        self._cancelled_at = 0.0
        self._opened_at = time.monotonic()
        self._closing = False

    # -- called from the GUI thread -------------------------------------------------------------
    def pause(self) -> None:
        with self._lock:
            self._control.pause()

    def resume(self) -> None:
        with self._lock:
            self._control.resume()

    def cancel(self) -> None:
        """Stop the running job and drop the ones queued so far."""
        with self._lock:
            self._cancelled_at = time.monotonic()
            self._control.cancel()

    def shut_down(self) -> None:
        """At exit: cancel, and make every request still queued a no-op."""
        self._closing = True
        self.cancel()

    # -- slots (run in the indexing thread) -------------------------------------------------------
    @Slot()
    @reported("indexing")
    def start(self) -> None:
        registry = self._ws().registry
        self.roots.emit(tuple(registry.roots()))
        # A run the app did not finish (it crashed, or was killed) is picked up where it stopped.
        # The request dates from the window's opening: a Cancel since then (of a run the user
        # started before this ran) cancels the resumption too.
        unfinished = tuple(d.path for d in registry.documents() if d.status == DocumentStatus.PENDING)
        if unfinished:
            log.info("resuming %d document(s) an earlier run left unfinished", len(unfinished))
            self.index(IndexRequest(paths=unfinished, created=self._opened_at))

    @Slot(object)
    def index(self, request: IndexRequest) -> None:
        with self._lock:
            if self._closing or request.created < self._cancelled_at:
                return
            control = self._control = Control()
        self.job_started.emit(IndexStarted(paths=request.paths))
        try:
            indexer = Indexer(self._ws())
            paths = [Path(p) for p in request.paths]
            if request.forget_first:
                indexer.forget(paths)
            report = indexer.index(paths, progress=self._progress, control=control)
        except Cancelled:
            self.job_finished.emit(IndexFinished(report=None, cancelled=True))
        except Exception as exc:
            if not isinstance(exc, HearthError):
                log.exception("indexing failed")
            reason = describe(exc)
            failed = tuple(FailedFile(path=p, reason=reason) for p in request.paths)
            self.problem.emit(Problem("indexing", reason))
            self.job_finished.emit(IndexFinished(report=None, failed=failed))
        else:
            self.job_finished.emit(IndexFinished(report=report, failed=report.failed))
        self._emit_roots()

    @Slot(object)
    @reported("library")
    def forget(self, paths: tuple[str, ...]) -> None:
        if self._closing:
            return
        Indexer(self._ws()).forget([Path(p) for p in paths])
        self.changed.emit()
        self._emit_roots()

    @Slot()
    def close(self) -> None:
        try:
            if self._workspace is not None:
                self._workspace.close()
        except Exception:
            log.exception("closing the indexer")
        finally:
            quit_current_thread()

    def _progress(self, progress: IndexProgress) -> None:
        self.job_progress.emit(progress)

    def _emit_roots(self) -> None:
        if self._workspace is not None:
            try:
                self.roots.emit(tuple(self._workspace.registry.roots()))
            except Exception:
                log.exception("reading the library roots")

    def _ws(self) -> Workspace:
        """Opened on first use, in this thread (a request can arrive before ``start``)."""
        if self._workspace is None:
            self._workspace = self._home.workspace(writes=True)
        return self._workspace
