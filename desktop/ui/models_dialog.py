"""Choose the chat model: what each needs (size, quantization, context, memory) and how it generates."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.core.model_info import ModelInfo, format_gb
from desktop.core.settings import GenerationSettings, HearthSettings, describe_validation_error
from desktop.ui import format as fmt
from desktop.ui.widgets import PushButton, label
from desktop.workers.events import ModelCatalog

COLUMNS = ["Model", "Parameters", "Quantization", "Context", "On disk", "Memory needed"]


def _parameters(info: ModelInfo) -> str:
    if not info.parameters:
        return "?"
    return f"{info.parameters / 1e9:.1f} B" if info.parameters >= 1e9 else f"{info.parameters / 1e6:.0f} M"


class ModelsDialog(QDialog):
    useModelRequested = Signal(str)  # path
    addModelRequested = Signal(str)  # path of a .gguf elsewhere
    settingsSaved = Signal(str, object)  # model file name, GenerationSettings

    def __init__(
        self, catalog: ModelCatalog, current: str | None, settings: HearthSettings, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Models")
        self.setMinimumSize(760, 520)
        self.settings = settings
        self.current = current
        layout = QVBoxLayout(self)
        layout.setContentsMargins(22, 20, 22, 16)
        layout.setSpacing(10)
        layout.addWidget(label("Models", "PageTitle"))
        layout.addWidget(label("Everything runs on this computer. Bigger models answer better but need more "
                               "memory and are slower.", "Muted", wrap=True))
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setShowGrid(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, len(COLUMNS)):
            self.table.horizontalHeader().setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.table.itemSelectionChanged.connect(self._selected)
        self.table.doubleClicked.connect(lambda _index: self._use())
        layout.addWidget(self.table, 1)

        layout.addWidget(label("Generation settings for the selected model", "SectionTitle"))
        form = QFormLayout()
        form.setHorizontalSpacing(14)
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(0.0, 100.0)
        self.temperature.setSingleStep(0.1)
        self.top_p = QDoubleSpinBox()
        self.top_p.setRange(0.0, 100.0)
        self.top_p.setSingleStep(0.05)
        self.max_tokens = QSpinBox()
        self.max_tokens.setRange(0, 10_000_000)
        self.context = QSpinBox()
        self.context.setRange(0, 10_000_000)
        self.context.setSingleStep(1024)
        self.passages = QSpinBox()
        self.passages.setRange(0, 1000)
        self.passages.setToolTip(GenerationSettings.model_fields["passages"].description or "")
        self.drafts = QSpinBox()
        self.drafts.setRange(0, 1000)
        self.drafts.setToolTip(GenerationSettings.model_fields["drafts"].description or "")
        lora_row = QHBoxLayout()
        self.lora = QLineEdit()
        self.lora.setPlaceholderText("None")
        choose = PushButton("Choose…")
        choose.clicked.connect(self._choose_lora)
        lora_row.addWidget(self.lora, 1)
        lora_row.addWidget(choose)
        form.addRow(label("Temperature"), self.temperature)
        form.addRow(label("Top-p"), self.top_p)
        form.addRow(label("Longest answer (tokens)"), self.max_tokens)
        form.addRow(label("Context (tokens)"), self.context)
        form.addRow(label(GenerationSettings.model_fields["passages"].title or ""), self.passages)
        form.addRow(label(GenerationSettings.model_fields["drafts"].title or ""), self.drafts)
        form.addRow(label("LoRA adapter"), lora_row)
        layout.addLayout(form)
        self.error = label("", "ErrorNote", wrap=True)
        self.error.hide()
        layout.addWidget(self.error)

        buttons = QHBoxLayout()
        add = PushButton("Add model file…", "plus")
        add.clicked.connect(self._add)
        buttons.addWidget(add)
        buttons.addStretch(1)
        self.save_button = PushButton("Save settings")
        self.save_button.clicked.connect(self._save)
        self.use_button = PushButton("Use this model", "check", primary=True)
        self.use_button.clicked.connect(self._use)
        close = PushButton("Close")
        close.clicked.connect(self.reject)
        for button in (self.save_button, self.use_button, close):
            buttons.addWidget(button)
        layout.addLayout(buttons)
        self.models: list[ModelInfo] = []
        self.set_catalog(catalog)

    def set_catalog(self, catalog: ModelCatalog) -> None:
        self.models = list(catalog.models)
        self.table.setRowCount(len(self.models))
        for row, info in enumerate(self.models):
            name = info.name + ("  (in use)" if info.path == self.current else "")
            if str(Path(info.path).resolve()) in catalog.crashed:
                name += "  (crashed while loading)"
            cells = [
                name, _parameters(info), info.quantization or "?",
                f"{info.context_length:,}" if info.context_length else "?",
                fmt.size(info.file_size), format_gb(info.ram_estimate_bytes),
            ]
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(info.path)
                if column:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, column, item)
        if self.models:
            current = next((i for i, m in enumerate(self.models) if m.path == self.current), 0)
            self.table.selectRow(current)
        self._selected()

    def selected(self) -> ModelInfo | None:
        rows = self.table.selectionModel().selectedRows()
        return self.models[rows[0].row()] if rows else None

    def _selected(self) -> None:
        info = self.selected()
        for widget in (self.save_button, self.use_button):
            widget.setEnabled(info is not None)
        if info is None:
            return
        generation = self.settings.generation_for(Path(info.path).name)
        self.temperature.setValue(generation.temperature)
        self.top_p.setValue(generation.top_p)
        self.max_tokens.setValue(generation.max_tokens)
        self.context.setValue(generation.context_length)
        self.passages.setValue(generation.passages)
        self.drafts.setValue(generation.drafts)
        self.lora.setText(generation.lora_path or "")
        self.error.hide()

    def _generation(self, info: ModelInfo) -> GenerationSettings | None:
        base = self.settings.generation_for(Path(info.path).name).model_dump()
        base.update(
            temperature=self.temperature.value(), top_p=self.top_p.value(), max_tokens=self.max_tokens.value(),
            context_length=self.context.value(), passages=self.passages.value(), drafts=self.drafts.value(),
            lora_path=self.lora.text().strip() or None,
        )
        try:
            return GenerationSettings(**base)
        except ValidationError as exc:
            self.error.setText(describe_validation_error(exc))
            self.error.show()
            return None

    def _save(self) -> bool:
        info = self.selected()
        if info is None:
            return False
        generation = self._generation(info)
        if generation is None:
            return False
        name = Path(info.path).name
        if generation != self.settings.generation_for(name):
            overrides = {**self.settings.model_overrides, name: generation}
            self.settings = self.settings.updated(model_overrides=overrides)
            self.settingsSaved.emit(name, generation)
        self.error.hide()
        return True

    def _use(self) -> None:
        info = self.selected()
        if info is not None and self._save():
            self.useModelRequested.emit(info.path)
            self.accept()

    def _add(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Add a model", str(Path.home()), "GGUF models (*.gguf)")
        if path:
            self.addModelRequested.emit(path)

    def _choose_lora(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a LoRA adapter", str(Path.home()),
                                              "GGUF adapters (*.gguf)")
        if path:
            self.lora.setText(path)
