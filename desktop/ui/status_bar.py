"""The status bar: which model is loaded, the speed of the last answer, index size, and what leaves the
machine: 'Offline' only when vectors and model are both local, else each server in another colour."""

from __future__ import annotations

from PySide6.QtWidgets import QStatusBar, QWidget

from desktop.core.backends import OFFLINE, outside_machine
from desktop.core.model_info import format_gb
from desktop.core.settings import BackendSettings
from desktop.ui import format as fmt
from desktop.ui.widgets import label
from desktop.workers.events import EnginePhase, EngineStatus, LibrarySnapshot


class StatusBar(QStatusBar):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizeGripEnabled(False)
        self.model = label("Starting…")
        self.speed = label()
        self.index = label()
        self.offline = label(f"● {OFFLINE}", "OfflinePill")
        self.offline.setToolTip(
            "Hearth never connects to the network: models, search and your files all stay on this computer."
        )
        self.remote = label("", "RemotePill")
        self.addWidget(self.model)
        self.addWidget(self.speed)
        self.addPermanentWidget(self.index)
        self.addPermanentWidget(self.offline)
        self.addPermanentWidget(self.remote)
        self.set_backends(BackendSettings())

    def set_backends(self, backends: BackendSettings) -> None:
        """Exactly what leaves the machine: each server named in the settings, or 'Offline'."""
        lines = outside_machine(backends)
        self.offline.setVisible(not lines)
        self.remote.setVisible(bool(lines))
        self.remote.setText("● " + " · ".join(lines))
        self.remote.setToolTip(
            "Hearth sends these servers what they need and connects nowhere else: "
            + "; ".join(filter(None, (_vector_traffic(backends), _model_traffic(backends))))
            if lines else ""
        )

    def set_engine(self, status: EngineStatus) -> None:
        info = status.model
        if status.phase == EnginePhase.READY and info is not None:
            details = ", ".join(x for x in (info.quantization, f"{info.ram_context_length:,} context") if x)
            self.model.setText(f"Model: {info.name} ({details})")
            self.model.setToolTip(f"{info.path}\nabout {format_gb(info.ram_estimate_bytes)} of memory")
        else:
            self.model.setText(status.text)
            self.model.setToolTip("")

    def set_speed(self, tokens_per_second: float | None, tokens: int) -> None:
        self.speed.setText(f"Last answer: {tokens_per_second:.0f} tokens/s ({tokens} tokens)"
                           if tokens_per_second else "")

    def set_library(self, snapshot: LibrarySnapshot) -> None:
        self.index.setText(
            f"Index: {fmt.count(snapshot.indexed, 'document')}, {fmt.count(snapshot.passages, 'passage')}"
        )


def _vector_traffic(backends: BackendSettings) -> str:
    return f"passage vectors and search queries go to {backends.vector_server}" if backends.vector_server else ""


def _model_traffic(backends: BackendSettings) -> str:
    return f"questions and the passages they cite go to {backends.model_server}" if backends.model_server else ""
