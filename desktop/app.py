"""The one place that wires everything together and starts Hearth.

``hearth`` with no arguments opens the window; with arguments it is the command-line tool.
The window appears before anything heavy is loaded: the workers load the model and the embedder
in their own threads once the event loop runs.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from desktop.cli import main as cli_main
from desktop.core.private import private_umask, secure_data_dir

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication

    from desktop.ui.main_window import MainWindow

log = logging.getLogger("hearth.app")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    from_environment = "HEARTH_HOME" in os.environ
    _use_chosen_data_dir()
    with private_umask():  # what Hearth writes (SQLite, Chroma, logs, exports) is the user's alone
        if args:
            return cli_main(args)
        return run_window(data_folder_locked=from_environment)


def _use_chosen_data_dir() -> None:
    """A folder chosen in Settings becomes HEARTH_HOME, so the window and the CLI use the same one."""
    if "HEARTH_HOME" in os.environ:
        return
    from desktop.core.data_location import chosen_data_dir

    chosen = chosen_data_dir()
    if chosen is not None:
        os.environ["HEARTH_HOME"] = str(chosen)


def run_window(*, data_folder_locked: bool = False) -> int:
    from PySide6.QtCore import QTimer

    from desktop.core import paths
    from desktop.core.logs import setup_logging
    from desktop.core.offline import enforce_offline

    enforce_offline()
    data_dir = paths.data_dir()
    try:
        setup_logging(data_dir)
        secure_data_dir(data_dir)
    except OSError as exc:  # an unwritable data folder is reported in the window, not here
        print(f"hearth: cannot write in the data folder {data_dir}: {exc}", file=sys.stderr)
    app = create_application()
    windows: list[MainWindow] = []

    def reopen(folder: Path) -> None:
        from desktop.core.data_location import remember_data_dir

        remember_data_dir(folder)
        os.environ["HEARTH_HOME"] = str(folder)
        try:
            secure_data_dir(folder)  # a folder an older version made is made private here too
        except OSError as exc:  # the window's workers report an unusable folder
            log.warning("Cannot make %s private: %s", folder, exc)
        old = windows.pop()
        windows.append(open_window(folder, paths.models_dir(), locked=data_folder_locked, on_move=reopen))
        old.close()

    windows.append(open_window(data_dir, paths.models_dir(), locked=data_folder_locked, on_move=reopen))
    # Ctrl+C or a polite kill closes the window the normal way: work is stopped and saved.
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: windows[-1].close())
    heartbeat = QTimer()
    heartbeat.timeout.connect(lambda: None)  # lets Python run its signal handlers during the event loop
    heartbeat.start(300)
    return app.exec()


def create_application() -> QApplication:
    from PySide6.QtWidgets import QApplication

    from desktop.ui import appearance
    from desktop.ui.icons import app_icon
    from desktop.ui.refcount_guard import guard_singletons
    from desktop.ui.widgets import PlainToolTipStyle

    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    guard_singletons()  # before any worker starts: see the module for the PySide6 bug it works around
    app.setApplicationName("Hearth")
    app.setApplicationDisplayName("Hearth")
    app.setDesktopFileName("hearth")
    app.setStyle(PlainToolTipStyle())  # Fusion; tooltips show file names and titles: never as HTML
    app.setWindowIcon(app_icon())
    appearance.install(app)
    return app


def open_window(
    data_dir: Path,
    models_dir: Path,
    *,
    locked: bool = False,
    preload: bool = True,
    on_move: Callable[[Path], None] | None = None,
) -> MainWindow:
    """Show a window on ``data_dir`` now; its workers start as soon as the event loop runs."""
    from PySide6.QtCore import QTimer

    from desktop.core.errors import HearthError
    from desktop.core.settings import HearthSettings, load_settings
    from desktop.services.home import Home
    from desktop.ui.controller import Controller
    from desktop.ui.main_window import MainWindow
    from desktop.workers.events import Problem

    problem: Problem | None = None
    try:
        settings = load_settings(data_dir)
    except HearthError as exc:
        problem = Problem("settings", f"{exc} Using the default settings until it is fixed.")
        settings = HearthSettings.model_construct()
    home = Home(data_dir, models_dir=models_dir, settings=settings, vectors_in_child=True)
    controller = Controller(home, preload=preload)
    window = MainWindow(controller, data_folder_locked=locked)
    if on_move is not None:
        window.dataFolderChanged.connect(on_move)
    window.show()
    if problem is not None:
        window.banner.add(problem)
    QTimer.singleShot(0, controller.start)
    return window


if __name__ == "__main__":
    sys.exit(main())
