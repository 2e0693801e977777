"""Settings, validated by the same pydantic model the CLI uses: a bad value is refused with the reason.

Three tabs: General (threads, retrieval, indexing, the data folder), Backends (this computer or servers;
see backends_form.py) and Tools (the assistant's). Servers named on the Backends tab are checked off the
GUI thread, by the check ``hearth backends`` runs, before the settings are accepted: a failing check is
refused with its one sentence, and nothing is saved."""

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
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.core import paths
from desktop.core.errors import HearthError
from desktop.core.settings import (
    BackendSettings,
    HearthSettings,
    IndexSettings,
    RetrievalSettings,
    ToolSettings,
    describe_validation_error,
    field_help,
    rebuilding_fields,
)
from desktop.services.tools.notes import check_notes_folder
from desktop.ui.backends_form import BackendsForm, field_title
from desktop.ui.widgets import PushButton, label
from desktop.workers.backend_check import BackendChecked, BackendChecker
from desktop.workers.typed import link

WIDE = 1_000_000  # spin boxes accept more than is valid: the settings model decides, and says why


Editor = TypeVar("Editor", bound=QWidget)


_title = field_title


def _spin(value: int, minimum: int = 0, special: str | None = None) -> QSpinBox:
    box = QSpinBox()
    box.setRange(minimum, WIDE)
    box.setValue(value)
    box.setMinimumWidth(110)
    if special:
        box.setSpecialValueText(special)
    return box


class SettingsDialog(QDialog):
    """Edits a copy; ``result_settings`` holds the validated (and, for servers, checked) settings once accepted."""

    def __init__(
        self,
        settings: HearthSettings,
        data_dir: Path,
        *,
        locked: bool = False,
        models_dir: Path | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(600)
        self.original = settings
        self.data_dir = data_dir
        self.result_settings: HearthSettings | None = None
        self.rebuild = False
        self.new_data_dir: Path | None = None
        self._rows: set[str] = set()
        self._checker = BackendChecker(data_dir, models_dir or paths.models_dir())
        link(self._checker, checked=self._on_checked)
        self._checking: BackendSettings | None = None  # the backends a check is running for
        self._passed: BackendSettings | None = None  # the last backends a check passed
        self._waiting: HearthSettings | None = None  # Save pressed: accepted once their check passes

        layout = QVBoxLayout(self)
        layout.setContentsMargins(22, 20, 22, 16)
        layout.setSpacing(12)
        layout.addWidget(label("Settings", "PageTitle"))
        self.tabs = QTabWidget()
        self.tabs.addTab(self._general_tab(settings, locked), "General")
        self.backends = BackendsForm(settings.backends)
        self.backends.test_button.clicked.connect(self.test_connection)
        self.tabs.addTab(self.backends, "Backends")
        self.tools = self._tools_tab(settings)
        self.tabs.addTab(self.tools, "Tools")
        layout.addWidget(self.tabs, 1)

        self.error = label("", "ErrorNote", wrap=True)
        self.error.hide()
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _general_tab(self, settings: HearthSettings, locked: bool) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.setContentsMargins(4, 8, 4, 4)
        form = self._form()
        folder_row = QHBoxLayout()
        self.data_folder = QLineEdit(str(self.data_dir))
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
        shown = [_title(IndexSettings, name).lower() for name in rebuilding_fields() if name in self._rows]
        layout.addWidget(label(f"Changing the {' or '.join(shown)} means re-reading every document.", "Faint"))
        layout.addStretch(1)
        return tab

    def _tools_tab(self, settings: HearthSettings) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.setContentsMargins(4, 8, 4, 4)
        form = self._form()
        tools = settings.tools
        self.max_steps = self._row(form, ToolSettings, "max_steps", _spin(tools.max_steps))
        self.approval_timeout = self._row(
            form, ToolSettings, "approval_timeout_s", _spin(round(tools.approval_timeout_s))
        )
        self.approval_timeout.setSuffix(" s")
        notes_row = QHBoxLayout()
        self.notes_folder = QLineEdit(tools.notes_folder or "")
        self.notes_folder.setPlaceholderText(str(self.data_dir / "notes"))
        self.notes_folder.setToolTip(field_help(ToolSettings, "notes_folder"))
        choose = PushButton("Choose…", "folder")
        choose.clicked.connect(self._choose_notes_folder)
        notes_row.addWidget(self.notes_folder, 1)
        notes_row.addWidget(choose)
        form.addRow(label(_title(ToolSettings, "notes_folder")), notes_row)
        layout.addLayout(form)
        layout.addWidget(label(
            "Tools that only read run by themselves; a tool that writes (create_note) waits for your approval "
            "on its card, and counts as rejected when the approval timeout passes.", "Faint", wrap=True,
        ))
        layout.addStretch(1)
        return tab

    @staticmethod
    def _form() -> QFormLayout:
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.setHorizontalSpacing(14)
        form.setVerticalSpacing(9)
        return form

    def _row(self, form: QFormLayout, group: type[BaseModel], name: str, widget: Editor) -> Editor:
        """A field's row, titled and explained by the settings model's own metadata."""
        widget.setToolTip(field_help(group, name))
        form.addRow(label(_title(group, name)), widget)
        self._rows.add(name)
        return widget

    def changes(self) -> dict[str, dict[str, Any]]:
        """The dialog's fields, by settings group."""
        notes = self.notes_folder.text().strip()
        return {
            "generation": {"threads": self.threads.value() or None},
            "retrieval": {"top_k": self.top_k.value(), "hybrid": self.hybrid.isChecked()},
            "index": {
                "chunk_tokens": self.chunk_tokens.value(), "chunk_overlap": self.chunk_overlap.value(),
                "parse_workers": self.parse_workers.value(), "ocr": self.ocr.isChecked(),
                "ignore_patterns": [line.strip() for line in self.ignore.toPlainText().splitlines() if line.strip()],
            },
            "backends": self.backends.changes(),
            "tools": {
                "max_steps": self.max_steps.value(), "approval_timeout_s": self.approval_timeout.value(),
                "notes_folder": str(Path(notes).expanduser()) if notes else None,
            },
        }

    # -- checking and saving ------------------------------------------------------------------------
    def test_connection(self) -> None:
        """Check the servers the Backends tab names, off the GUI thread; the result shows under the button."""
        settings = self._validated()
        if settings is not None:
            self._waiting = None
            self._check(settings)

    def accept(self) -> None:
        settings = self._validated()
        if settings is None:
            return
        folder = Path(self.data_folder.text().strip()).expanduser()
        moved = self.data_folder.isEnabled() and folder != self.data_dir
        if moved and not folder.is_absolute():
            self._refuse("Invalid setting: data folder: give a full path, like /home/you/Hearth")
            return
        self.new_data_dir = folder if moved else None
        backends = settings.backends
        if backends != self.original.backends and not backends.local and backends != self._passed:
            self._waiting = settings  # saved once the servers answer; refused with the check's sentence if not
            self.error.hide()
            self.tabs.setCurrentWidget(self.backends)  # where the check's progress shows
            if self._checking != backends:
                self._check(settings)
            return
        self._finish(settings)

    def reject(self) -> None:
        self._waiting = None  # a check still running saves nothing
        super().reject()

    def _validated(self) -> HearthSettings | None:
        """The settings the fields hold, or None once the reason is shown."""
        missing = self.backends.missing()
        if missing is not None:
            self._refuse(f"Invalid setting: {missing}")
            return None
        try:
            settings = self.original.updated(**self.changes())
        except ValidationError as exc:
            self._refuse(describe_validation_error(exc))
            return None
        notes = settings.tools.notes_folder
        if notes is not None and notes != self.original.tools.notes_folder:
            try:
                check_notes_folder(Path(notes))
            except HearthError as exc:
                self._refuse(f"Invalid setting: tools.notes_folder: {exc}")
                return None
        return settings

    def _check(self, settings: HearthSettings) -> None:
        self._checking = settings.backends
        self.backends.show_checking()
        self._checker.check(settings)

    def _on_checked(self, checked: BackendChecked) -> None:
        if checked.backends != self._checking:
            return  # the fields changed and another check ran since
        self._checking = None
        self.backends.show_result(checked.ok, checked.message)
        if checked.ok:
            self._passed = checked.backends
        waiting, self._waiting = self._waiting, None
        if waiting is None or waiting.backends != checked.backends:
            return
        if checked.ok:
            self._finish(waiting)
        else:
            self._refuse(f"Not saved: {checked.message}", self.backends)

    def _refuse(self, text: str, tab: QWidget | None = None) -> None:
        """Say why nothing was accepted, on the tab of the field it names."""
        self.error.setText(text)
        self.error.show()
        named = [t for marker, t in (("backends.", self.backends), ("tools.", self.tools)) if marker in text]
        if tab is not None or named:
            self.tabs.setCurrentWidget(tab or named[0])

    def _finish(self, settings: HearthSettings) -> None:
        self.result_settings = settings
        if settings.index_signature() != self.original.index_signature():
            self.rebuild = self._ask_rebuild(settings)
        super().accept()

    def _ask_rebuild(self, settings: HearthSettings) -> bool:
        changed = [
            _title(IndexSettings, name) for name in rebuilding_fields()
            if getattr(settings.index, name) != getattr(self.original.index, name)
        ]
        reasons = [f"{' and '.join(changed)} apply to documents as they are indexed."] if changed else []
        server = settings.backends.vector_server
        if server != self.original.backends.vector_server or settings.backends.collection != (
            self.original.backends.collection
        ):
            reasons.append(f"The vectors now live {f'on {server}' if server else 'on this computer'}.")
        answer = QMessageBox.question(
            self, "Rebuild the index?",
            " ".join(reasons) + " Rebuild the whole index now? This reads every document again.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes,
        )
        return answer == QMessageBox.StandardButton.Yes

    def _choose_folder(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Choose the data folder", self.data_folder.text())
        if chosen:
            self.data_folder.setText(chosen)

    def _choose_notes_folder(self) -> None:
        start = self.notes_folder.text() or str(Path.home())
        chosen = QFileDialog.getExistingDirectory(self, "Choose the folder notes are written to", start)
        if chosen:
            self.notes_folder.setText(chosen)
