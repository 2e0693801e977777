"""Settings, validated by the same pydantic model the CLI uses: a bad value is refused with the reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop.core.settings import (
    HearthSettings,
    IndexSettings,
    RetrievalSettings,
    describe_validation_error,
    field_help,
    rebuilding_fields,
)
from desktop.ui.widgets import PushButton, label

WIDE = 1_000_000  # spin boxes accept more than is valid: the settings model decides, and says why


Editor = TypeVar("Editor", bound=QWidget)


def _title(group: type[BaseModel], name: str) -> str:
    return group.model_fields[name].title or name.replace("_", " ").capitalize()


def _spin(value: int, minimum: int = 0, special: str | None = None) -> QSpinBox:
    box = QSpinBox()
    box.setRange(minimum, WIDE)
    box.setValue(value)
    box.setMinimumWidth(110)
    if special:
        box.setSpecialValueText(special)
    return box


class SettingsDialog(QDialog):
    """Edits a copy; ``result_settings`` holds the validated settings once accepted."""

    def __init__(
        self, settings: HearthSettings, data_dir: Path, *, locked: bool = False, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(560)
        self.original = settings
        self.data_dir = data_dir
        self.result_settings: HearthSettings | None = None
        self.rebuild = False
        self.new_data_dir: Path | None = None
        self._rows: set[str] = set()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(22, 20, 22, 16)
        layout.setSpacing(12)
        layout.addWidget(label("Settings", "PageTitle"))
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.setHorizontalSpacing(14)
        form.setVerticalSpacing(9)

        folder_row = QHBoxLayout()
        self.data_folder = QLineEdit(str(data_dir))
        browse = PushButton("Choose…", "folder")
        browse.clicked.connect(self._choose_folder)
        folder_row.addWidget(self.data_folder, 1)
        folder_row.addWidget(browse)
        form.addRow(label("Data folder"), folder_row)
        if locked:
            self.data_folder.setEnabled(False)
            browse.setEnabled(False)
            form.addRow("", label("Set by the HEARTH_HOME environment variable.", "Faint"))

        self.threads = _spin(settings.generation.threads or 0, special="Automatic")
        self.threads.setToolTip("CPU threads the model uses; Automatic uses one per physical core")
        form.addRow(label("Model threads"), self.threads)
        self.top_k = self._row(form, RetrievalSettings, "top_k", _spin(settings.retrieval.top_k))
        self.hybrid = QCheckBox(RetrievalSettings.model_fields["hybrid"].description)
        self.hybrid.setChecked(settings.retrieval.hybrid)
        self._row(form, RetrievalSettings, "hybrid", self.hybrid)
        self.chunk_tokens = self._row(form, IndexSettings, "chunk_tokens", _spin(settings.index.chunk_tokens))
        self.chunk_overlap = self._row(form, IndexSettings, "chunk_overlap", _spin(settings.index.chunk_overlap))
        self.parse_workers = self._row(form, IndexSettings, "parse_workers", _spin(settings.index.parse_workers))
        self.ocr = QCheckBox(IndexSettings.model_fields["ocr"].description)
        self.ocr.setChecked(settings.index.ocr)
        self._row(form, IndexSettings, "ocr", self.ocr)
        self.ignore = QPlainTextEdit("\n".join(settings.index.ignore_patterns))
        self.ignore.setMinimumHeight(110)
        self._row(form, IndexSettings, "ignore_patterns", self.ignore)
        layout.addLayout(form)

        self.error = label("", "ErrorNote", wrap=True)
        self.error.hide()
        layout.addWidget(self.error)
        shown = [_title(IndexSettings, name).lower() for name in rebuilding_fields() if name in self._rows]
        layout.addWidget(label(f"Changing the {' or '.join(shown)} means re-reading every document.", "Faint"))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _row(self, form: QFormLayout, group: type[BaseModel], name: str, widget: Editor) -> Editor:
        """A field's row, titled and explained by the settings model's own metadata."""
        widget.setToolTip(field_help(group, name))
        form.addRow(label(_title(group, name)), widget)
        self._rows.add(name)
        return widget

    def changes(self) -> dict[str, dict[str, Any]]:
        """The dialog's fields, by settings group."""
        return {
            "generation": {"threads": self.threads.value() or None},
            "retrieval": {"top_k": self.top_k.value(), "hybrid": self.hybrid.isChecked()},
            "index": {
                "chunk_tokens": self.chunk_tokens.value(), "chunk_overlap": self.chunk_overlap.value(),
                "parse_workers": self.parse_workers.value(), "ocr": self.ocr.isChecked(),
                "ignore_patterns": [line.strip() for line in self.ignore.toPlainText().splitlines() if line.strip()],
            },
        }

    def accept(self) -> None:
        try:
            settings = self.original.updated(**self.changes())
        except ValidationError as exc:
            self.error.setText(describe_validation_error(exc))
            self.error.show()
            return
        folder = Path(self.data_folder.text().strip()).expanduser()
        if self.data_folder.isEnabled() and folder != self.data_dir:
            if not folder.is_absolute():
                self.error.setText("Invalid setting: data folder: give a full path, like /home/you/Hearth")
                self.error.show()
                return
            self.new_data_dir = folder
        self.result_settings = settings
        if settings.index_signature() != self.original.index_signature():
            changed = [
                _title(IndexSettings, name) for name in rebuilding_fields()
                if getattr(settings.index, name) != getattr(self.original.index, name)
            ]
            answer = QMessageBox.question(
                self, "Rebuild the index?",
                f"{' and '.join(changed)} apply to documents as they are indexed. Rebuild the whole index "
                "now? This reads every document again.",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes,
            )
            self.rebuild = answer == QMessageBox.StandardButton.Yes
        super().accept()

    def _choose_folder(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Choose the data folder", self.data_folder.text())
        if chosen:
            self.data_folder.setText(chosen)
