"""Settings, validated by the same pydantic model the CLI uses: a bad value is refused with the reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError
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

from desktop.core.settings import HearthSettings, describe_validation_error
from desktop.ui.widgets import PushButton, label

WIDE = 1_000_000  # spin boxes accept more than is valid: the settings model decides, and says why


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
        self.top_k = _spin(settings.top_k)
        self.top_k.setToolTip("How many passages each answer is given (1–100)")
        form.addRow(label("Passages per answer"), self.top_k)
        self.hybrid = QCheckBox("Combine keyword and meaning search (hybrid)")
        self.hybrid.setChecked(settings.hybrid)
        form.addRow(label("Search"), self.hybrid)
        self.chunk_tokens = _spin(settings.chunk_tokens)
        self.chunk_tokens.setToolTip("Word pieces per passage (32–254)")
        form.addRow(label("Passage size"), self.chunk_tokens)
        self.chunk_overlap = _spin(settings.chunk_overlap)
        self.chunk_overlap.setToolTip("Word pieces shared by neighbouring passages (less than half the size)")
        form.addRow(label("Passage overlap"), self.chunk_overlap)
        self.parse_workers = _spin(settings.parse_workers)
        self.parse_workers.setToolTip("Processes reading files while indexing (1–32)")
        form.addRow(label("Reader processes"), self.parse_workers)
        self.ocr = QCheckBox("Read images and scanned PDF pages (OCR)")
        self.ocr.setChecked(settings.ocr)
        self.ocr.setToolTip("Text in pictures is read by Tesseract, a few seconds a page; off, images are not indexed")
        form.addRow(label("Scans"), self.ocr)
        self.ignore = QPlainTextEdit("\n".join(settings.ignore_patterns))
        self.ignore.setMinimumHeight(110)
        self.ignore.setToolTip("Names skipped when indexing folders, one pattern per line (*, ? and [ ] work)")
        form.addRow(label("Ignore"), self.ignore)
        layout.addLayout(form)

        self.error = label("", "ErrorNote", wrap=True)
        self.error.hide()
        layout.addWidget(self.error)
        layout.addWidget(label("Changing the passage size or overlap means re-reading every document.", "Faint"))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def values(self) -> dict[str, Any]:
        """Everything in the settings, with the dialog's fields applied."""
        data = self.original.model_dump()
        data["generation"]["threads"] = self.threads.value() or None
        data.update(
            top_k=self.top_k.value(), hybrid=self.hybrid.isChecked(), chunk_tokens=self.chunk_tokens.value(),
            chunk_overlap=self.chunk_overlap.value(), parse_workers=self.parse_workers.value(),
            ocr=self.ocr.isChecked(),
            ignore_patterns=[line.strip() for line in self.ignore.toPlainText().splitlines() if line.strip()],
        )
        return data

    def accept(self) -> None:
        try:
            settings = HearthSettings(**self.values())
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
            answer = QMessageBox.question(
                self, "Rebuild the index?",
                "The new passage settings apply to documents as they are indexed. Rebuild the whole index "
                "now? This reads every document again.",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes,
            )
            self.rebuild = answer == QMessageBox.StandardButton.Yes
        super().accept()

    def _choose_folder(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Choose the data folder", self.data_folder.text())
        if chosen:
            self.data_folder.setText(chosen)
