"""The watch thread: notices changes in the library's folders and asks for a re-sync, debounced.

watchdog delivers events on its own threads; they are forwarded here through a queued signal, and a
quiet period (``debounce_ms``) without new events triggers one re-sync per changed folder. inotify
can run out of watches on big trees: those folders fall back to polling.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal, Slot
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver, ObservedWatch
from watchdog.observers.polling import PollingObserver

from desktop.core.live_settings import LiveSettings
from desktop.ingest.loaders import kind_for
from desktop.ingest.walker import is_ignored
from desktop.workers.events import Problem
from desktop.workers.threads import quit_current_thread
from desktop.workers.typed import carrying

log = logging.getLogger("hearth.watcher")

NOISE = {"opened", "closed_no_write", "accessed"}


class _Forward(FileSystemEventHandler):
    """Runs on a watchdog thread: filter, then hand the root over through a signal."""

    def __init__(self, worker: WatchWorker, root: str) -> None:
        self._worker = worker
        self._root = root

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in NOISE or (event.is_directory and event.event_type == "modified"):
            return
        paths = [os.fsdecode(event.src_path), os.fsdecode(event.dest_path or b"")]
        if any(self._worker.relevant(self._root, path, event.is_directory) for path in paths if path):
            self._worker.touched.emit(self._root)


class WatchWorker(QObject):
    changed = carrying(tuple[str, ...])  # folders to re-sync
    watching = carrying(tuple[str, ...])  # the folders now watched
    touched = Signal(str)  # internal: from watchdog threads to this thread
    problem = carrying(Problem)

    def __init__(
        self,
        data_dir: Path,
        settings: LiveSettings,
        *,
        debounce_ms: int = 1500,
        poll_interval_s: float = 5.0,
    ) -> None:
        super().__init__()
        self._data_dir = str(data_dir.resolve())
        self._settings = settings  # the folder's live copy: a change of ignore patterns applies at once
        self._debounce_ms = debounce_ms
        self._poll_interval_s = poll_interval_s
        self._observer: BaseObserver | None = None
        self._poller: BaseObserver | None = None
        self._watches: dict[str, tuple[BaseObserver, ObservedWatch]] = {}
        self._pending: set[str] = set()
        self._timer: QTimer | None = None

    def relevant(self, root: str, path: str, is_directory: bool) -> bool:
        """Whether a change at ``path`` below ``root`` can matter; runs on watchdog threads."""
        if path == self._data_dir or path.startswith(self._data_dir + os.sep):
            return False  # our own index files changing
        inside = Path(os.path.relpath(path, root)).parts
        ignore = self._settings.value.index.ignore_patterns
        if any(is_ignored(part, ignore) for part in inside):
            return False
        return is_directory or kind_for(Path(path)) is not None

    @Slot()
    def start(self) -> None:
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(self._debounce_ms)
        self._timer.timeout.connect(self._flush)
        self.touched.connect(self._on_touched)

    @Slot(object)
    def watch(self, roots: tuple[str, ...]) -> None:
        folders = {root for root in roots if os.path.isdir(root)}
        for gone in set(self._watches) - folders:
            observer, watch = self._watches.pop(gone)
            observer.unschedule(watch)
        for root in sorted(folders - set(self._watches)):
            self._schedule(root)
        self.watching.emit(tuple(sorted(self._watches)))

    @Slot()
    def close(self) -> None:
        try:
            if self._timer is not None:
                self._timer.stop()
            for observer in (self._observer, self._poller):
                if observer is not None:
                    observer.stop()
                    observer.join(timeout=5)
        except Exception:
            log.exception("stopping the folder watcher")
        finally:
            quit_current_thread()

    def _schedule(self, root: str) -> None:
        handler = _Forward(self, root)
        try:
            observer = self._native()
            self._watches[root] = (observer, observer.schedule(handler, root, recursive=True))
            return
        except OSError as exc:  # inotify watch limit, or no inotify at all
            log.info("watching %s by polling: %s", root, exc)
        except RecursionError:  # watchdog walks folders recursively (polling too): ~1,000 deep is beyond it
            message = f"Changes in {root} will not be noticed: its folders are nested too deeply to watch."
            self.problem.emit(Problem("watcher", message))
            return
        try:
            poller = self._polling()
            self._watches[root] = (poller, poller.schedule(handler, root, recursive=True))
        except OSError as exc:
            reason = exc.strerror or str(exc)
            self.problem.emit(Problem("watcher", f"Changes in {root} will not be noticed: {reason}"))

    def _native(self) -> BaseObserver:
        if self._observer is None:
            self._observer = Observer()
            self._observer.daemon = True
            self._observer.start()
        return self._observer

    def _polling(self) -> BaseObserver:
        if self._poller is None:
            self._poller = PollingObserver(timeout=self._poll_interval_s)
            self._poller.daemon = True
            self._poller.start()
        return self._poller

    @Slot(str)
    def _on_touched(self, root: str) -> None:
        self._pending.add(root)
        if self._timer is not None:
            self._timer.start()  # restarts: fires once the folder has been quiet for a while

    @Slot()
    def _flush(self) -> None:
        pending, self._pending = tuple(sorted(self._pending)), set()
        if pending:
            log.info("re-syncing changed folders: %s", ", ".join(pending))
            self.changed.emit(pending)
