"""The folder watcher, in its own thread as the window runs it, on a folder too deep for watchdog."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication

from desktop.core.live_settings import LiveSettings
from desktop.core.settings import HearthSettings
from desktop.workers.threads import WorkerThread
from desktop.workers.watcher import WatchWorker
from tests.gui.helpers import Recorder, wait_until
from tests.hostile.generate import deep_folder, remove_tree


class Driver(QObject):
    start = Signal()
    watch = Signal(object)
    close = Signal()


def test_a_folder_too_deep_to_watch_is_reported_and_the_others_are_watched(qapp: QApplication, tmp_path: Path) -> None:
    """watchdog walks recursively: a 1,000-deep folder raised RecursionError and no folder after it was watched."""
    notes, papers = tmp_path / "Notes", tmp_path / "Papers"
    deep_folder(notes, 1_000)
    papers.mkdir()
    worker = WatchWorker(tmp_path / "hearth-home", LiveSettings(HearthSettings()))
    thread = WorkerThread(worker, "watcher")
    driver = Driver()
    driver.start.connect(worker.start)
    driver.watch.connect(worker.watch)
    driver.close.connect(worker.close)
    # Recorders, not qtbot.waitSignal: its time-out timer, stopped from the watcher's thread when the
    # signal arrived, was a Qt warning ("Timers cannot be stopped from another thread").
    watching, problems = Recorder(worker.watching), Recorder(worker.problem)
    thread.start()
    try:
        driver.start.emit()
        driver.watch.emit((str(notes), str(papers)))
        wait_until(lambda: watching.items and problems.items, 60, "the watch and the problem")
        assert watching.items == [(str(papers),)]
        assert problems.last.message == (
            f"Changes in {notes} will not be noticed: its folders are nested too deeply to watch."
        )
    finally:
        driver.close.emit()
        assert thread.join(30_000)
        remove_tree(notes)  # shutil.rmtree, and so pytest's clean-up, recurse too
