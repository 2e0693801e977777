"""The chat page: the conversation's title and model picker, the messages, and the question box."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QHBoxLayout, QMenu, QToolButton, QVBoxLayout, QWidget

from desktop.core.model_info import ModelInfo, format_gb
from desktop.ui.chat_view import ChatView
from desktop.ui.composer import Composer
from desktop.ui.widgets import ElidedLabel, ToolButton
from desktop.workers.events import EnginePhase, EngineStatus, ModelCatalog


class ModelButton(ToolButton):
    """Shows the loaded model; its menu switches models without a restart."""

    modelChosen = Signal(str)  # path
    manageRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("model", "Loading…", tooltip="Choose the chat model", parent=parent)
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self._menu = QMenu(self)
        self.setMenu(self._menu)
        self.catalog = ModelCatalog(models=(), crashed=frozenset())
        self.current: str | None = None
        self._rebuild()

    def set_status(self, status: EngineStatus) -> None:
        if status.phase == EnginePhase.READY and status.model is not None:
            self.current = status.model.path
            self.setText(f"{status.model.name}  ▾")
        elif status.phase == EnginePhase.NO_MODEL:
            self.setText("Choose a model  ▾")
        else:
            self.setText(status.text)
        self._rebuild()

    def set_catalog(self, catalog: ModelCatalog) -> None:
        self.catalog = catalog
        self._rebuild()

    def _rebuild(self) -> None:
        self._menu.clear()
        for info in self.catalog.models:
            action = QAction(_describe(info), self._menu)
            action.setCheckable(True)
            action.setChecked(info.path == self.current)
            action.triggered.connect(lambda _checked=False, path=info.path: self.modelChosen.emit(path))
            self._menu.addAction(action)
        if self.catalog.models:
            self._menu.addSeparator()
        manage = QAction("Manage models…", self._menu)
        manage.triggered.connect(self.manageRequested)
        self._menu.addAction(manage)


def _describe(info: ModelInfo) -> str:
    parts = [info.quantization or "", f"{format_gb(info.ram_estimate_bytes)} RAM"]
    return f"{info.name}   ·   {' · '.join(p for p in parts if p)}"


class ChatPage(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ChatPage")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        header = QHBoxLayout()
        header.setContentsMargins(24, 12, 16, 8)
        self.title = ElidedLabel("New chat", "PageTitle")
        header.addWidget(self.title, 1)
        self.model_button = ModelButton()
        header.addWidget(self.model_button)
        self.sources_toggle = ToolButton("sources", tooltip="Show or hide the sources panel")
        self.sources_toggle.setCheckable(True)
        self.sources_toggle.setChecked(True)
        header.addWidget(self.sources_toggle)
        layout.addLayout(header)
        self.view = ChatView()
        layout.addWidget(self.view, 1)
        bottom = QHBoxLayout()
        bottom.setContentsMargins(24, 6, 24, 14)
        bottom.addStretch(1)
        self.composer = Composer()
        self.composer.setMaximumWidth(820)
        bottom.addWidget(self.composer, 100)
        bottom.addStretch(1)
        layout.addLayout(bottom)

    def set_title(self, title: str) -> None:
        self.title.set_full_text(title)
