"""The settings dialog's backend check, off the GUI thread: a server that does not answer may take up to
``backends.timeout_s``, and the dialog stays responsive meanwhile (a QThreadPool runs it)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QThreadPool

from desktop.core.errors import HearthError
from desktop.core.settings import BackendSettings, HearthSettings
from desktop.services.backend_check import check_backends
from desktop.workers.errors import describe
from desktop.workers.typed import carrying

log = logging.getLogger("hearth.workers")


@dataclass(frozen=True)
class BackendChecked:
    backends: BackendSettings  # what was checked: a result for settings since changed is stale
    ok: bool
    message: str  # one sentence: what answered, or why not


class BackendChecker(QObject):
    """Keep it without a parent: a check still running holds it, so it outlives a dialog closed meanwhile."""

    checked = carrying(BackendChecked)

    def __init__(self, data_dir: Path, models_dir: Path) -> None:
        super().__init__()
        self.data_dir = data_dir
        self.models_dir = models_dir

    def check(self, settings: HearthSettings) -> None:
        """Check ``settings``' servers in a pool thread; ``checked`` says how it went."""
        QThreadPool.globalInstance().start(lambda: self.checked.emit(self._run(settings)))

    def _run(self, settings: HearthSettings) -> BackendChecked:
        try:
            summary = check_backends(self.data_dir, self.models_dir, settings).summary
        except Exception as exc:
            if not isinstance(exc, HearthError):
                log.exception("checking the backends failed")
            return BackendChecked(settings.backends, ok=False, message=describe(exc))
        return BackendChecked(settings.backends, ok=True, message=summary)
