"""Waiting for the window without fixed sleeps, clicking links inside a text view, watching a named pipe."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from PySide6.QtCore import QEventLoop, QMimeData, QPoint, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QTextCursor
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QTextBrowser, QWidget


def pump(ms: int) -> None:
    """Run the event loop for ``ms``. Unlike QTest.qWait, QEventLoop.exec releases the GIL, so the
    worker threads (all Python) keep running meanwhile."""
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def wait_until(predicate: Callable[[], Any], timeout: float = 60.0, what: str = "condition") -> Any:
    """Run the event loop until ``predicate()`` is truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        pump(20)


def shortcut(widget: QWidget, key: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    """Press a key as a shortcut: Qt only delivers shortcuts to the active window."""
    window = widget.window()
    window.activateWindow()
    wait_until(lambda: QApplication.activeWindow() is window, 10, "the window to be active")
    QTest.keyClick(widget, key, modifier)


class Recorder:
    """Collects what a signal carries, with the time each arrived."""

    def __init__(self, signal: Any) -> None:
        self.items: list[Any] = []
        self.times: list[float] = []
        signal.connect(self._record)

    def _record(self, *args: Any) -> None:
        self.items.append(args[0] if len(args) == 1 else args)
        self.times.append(time.monotonic())

    def __len__(self) -> int:
        return len(self.items)

    @property
    def last(self) -> Any:
        return self.items[-1]


def drag_over(target: QWidget, mime: QMimeData, at: QPoint | None = None) -> QDragEnterEvent:
    """A drag of ``mime`` entering the window over ``target``. The system delivers drag events to the
    native window, and Qt passes them on to the widget under the cursor, as here."""
    window = target.window().windowHandle()
    assert window is not None, "the window is not shown"
    point = QPointF(target.mapTo(target.window(), at if at is not None else target.rect().center()))
    enter = QDragEnterEvent(point, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)
    return enter


def drop(target: QWidget, mime: QMimeData, at: QPoint | None = None) -> QDropEvent:
    """What the file manager does: drag ``mime`` over ``target``, then drop it there."""
    window = target.window().windowHandle()
    drag_over(target, mime, at)
    point = QPointF(target.mapTo(target.window(), at if at is not None else target.rect().center()))
    buttons, modifiers = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    QApplication.sendEvent(window, QDragMoveEvent(point, Qt.DropAction.CopyAction, mime, buttons, modifiers))
    dropped = QDropEvent(point, Qt.DropAction.CopyAction, mime, buttons, modifiers)
    QApplication.sendEvent(window, dropped)
    return dropped


def drop_files(target: QWidget, paths: list[Path], at: QPoint | None = None) -> QDropEvent:
    """Files and folders from the file manager, dropped on ``target``."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    return drop(target, mime, at)


def anchor_position(view: QTextBrowser, href: str) -> QPoint:
    """Where in the view's viewport the link ``href`` is drawn."""
    document = view.document()
    block = document.begin()
    while block.isValid():
        iterator = block.begin()
        while not iterator.atEnd():
            fragment = iterator.fragment()
            if fragment.charFormat().anchorHref() == href:
                cursor = QTextCursor(document)
                cursor.setPosition(fragment.position() + max(1, fragment.length() // 2))
                return view.cursorRect(cursor).center()
            iterator += 1
        block = block.next()
    raise AssertionError(f"no link {href} in the view")


def click_link(view: QTextBrowser, href: str) -> None:
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     anchor_position(view, href))


# Opens the pipe's write end, non-blocking, in a loop: that fails (ENXIO) while nobody reads it and
# succeeds as soon as someone opens it to read, which also releases that reader. Each success is
# logged before anything else happens; the loop ends once the pipe is gone.
_COUNT_OPENS = """
import errno, os, sys, time
log = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_APPEND)
os.write(log, b"ready ")
while True:
    try:
        end = os.open(sys.argv[1], os.O_WRONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        break
    except OSError as exc:
        if exc.errno != errno.ENXIO:
            raise
        time.sleep(0.002)
        continue
    os.write(log, b"open ")
    os.close(end)
"""


class WatchedPipe:
    """A named pipe at ``path`` and a process counting how often anyone opens it to read.

    An open by this process (say, the GUI thread loading ``<img src=pipe>``) is counted instead of
    blocking forever. The watcher is a process, not a thread: Qt holds the GIL while it reads.
    """

    def __init__(self, path: Path) -> None:
        os.mkfifo(path)
        self.path = path
        self._log = path.with_name(path.name + ".opens")
        self._watcher = subprocess.Popen([sys.executable, "-c", _COUNT_OPENS, str(path), str(self._log)])
        wait_until(lambda: self._log.exists() and self._log.read_text().startswith("ready"), 30, "the pipe watcher")

    def opens(self) -> int:
        """Removes the pipe, which ends the watcher; how many times it was opened.

        (Only the GUI thread reads, and it runs this: no reader can be waiting for the watcher now.
        Once the pipe is gone, a widget that still names it later finds nothing instead of hanging.)
        """
        self.path.unlink(missing_ok=True)
        assert self._watcher.wait(30) == 0, "the pipe watcher failed"
        return self._log.read_text().count("open")

    def __enter__(self) -> WatchedPipe:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.path.unlink(missing_ok=True)
        if self._watcher.poll() is None:
            self._watcher.kill()
            self._watcher.wait(30)
