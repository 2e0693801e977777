"""The library: indexed documents grouped by the folders they were added from.

Tick boxes choose which documents answers may use (all, by default); a folder's box ticks all of
its documents. Selected rows can be removed, re-indexed or shown in their folder.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, QPoint, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QStackedWidget,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from desktop.core.document_task import DocumentTask
from desktop.core.types import DocumentStatus, FailedFile
from desktop.ui import appearance
from desktop.ui import format as fmt
from desktop.ui.document_menu import document_menu
from desktop.ui.icons import icon
from desktop.ui.library_model import PATH_ROLE, LibraryModel
from desktop.ui.widgets import PushButton, confirm, label, tint_color
from desktop.workers.events import LibrarySnapshot
from desktop.workers.typed import carrying

RESTORED_SELECTION = 50  # rows re-selected after a refresh; more is rare and costly to find


class LibraryPage(QWidget):
    addFilesRequested = Signal()
    addFolderRequested = Signal()
    removeRequested = carrying(tuple[str, ...])
    reindexRequested = carrying(tuple[str, ...])
    scopeChanged = carrying(tuple[int, ...] | None)  # None: every document
    taskRequested = carrying(DocumentTask)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("LibraryPage")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 22, 28, 18)
        layout.setSpacing(10)
        header = QHBoxLayout()
        titles = QVBoxLayout()
        titles.setSpacing(2)
        titles.addWidget(label("Library", "PageTitle"))
        self.summary = label("", "Muted")
        titles.addWidget(self.summary)
        header.addLayout(titles, 1)
        add_files = PushButton("Add files…", "file", tooltip="Add documents to the library (Ctrl+O)")
        add_folder = PushButton("Add folder…", "folder", primary=True, tooltip="Add a folder; it is kept in sync")
        add_files.clicked.connect(self.addFilesRequested)
        add_folder.clicked.connect(self.addFolderRequested)
        header.addWidget(add_files, 0, Qt.AlignmentFlag.AlignTop)
        header.addWidget(add_folder, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(header)

        self.stack = QStackedWidget()
        self.stack.addWidget(self._empty_state())
        self.model = LibraryModel(self)
        self.model.scopeChanged.connect(self._collect_scope)
        self.tree = QTreeView()
        self.tree.setModel(self.model)
        self.tree.setAlternatingRowColors(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.tree.setAcceptDrops(False)
        self.tree.header().setStretchLastSection(False)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        # Fixed widths: fitting columns to their contents would read every row at each refresh.
        for column, width in enumerate((0, 110, 140, 180, 140)):
            if column:
                self.tree.header().setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
                self.tree.header().resizeSection(column, width)
        self.tree.selectionModel().selectionChanged.connect(self._update_actions)
        self.tree.doubleClicked.connect(lambda _index: self._show_in_folder())
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._context_menu)
        table = QWidget()
        table_layout = QVBoxLayout(table)
        table_layout.setContentsMargins(0, 0, 0, 0)
        table_layout.setSpacing(8)
        hint = label("Ticked documents are the ones answers may use.", "Faint")
        table_layout.addWidget(hint)
        table_layout.addWidget(self.tree, 1)
        actions = QHBoxLayout()
        self.reindex_button = PushButton("Re-index", "regenerate", tooltip="Read the selected files again")
        self.remove_button = PushButton("Remove", "close", tooltip="Remove the selection from the library")
        self.folder_button = PushButton("Show in folder", "folder")
        self.reindex_button.clicked.connect(self._reindex)
        self.remove_button.clicked.connect(self._remove)
        self.folder_button.clicked.connect(self._show_in_folder)
        self.select_all = PushButton("Use all documents", "check", tooltip="Tick every document")
        self.select_all.clicked.connect(self.model.set_all_used)
        for button in (self.reindex_button, self.remove_button, self.folder_button):
            actions.addWidget(button)
        actions.addStretch(1)
        actions.addWidget(self.select_all)
        table_layout.addLayout(actions)
        self.stack.addWidget(table)
        layout.addWidget(self.stack, 1)

        self.problems_title = label("Problems from the last indexing run", "SectionTitle")
        self.problems = QListWidget()
        self.problems.setObjectName("Problems")
        self.problems.setMaximumHeight(130)
        layout.addWidget(self.problems_title)
        layout.addWidget(self.problems)
        self.problems_title.hide()
        self.problems.hide()

        self.snapshot = LibrarySnapshot(documents=(), roots=(), passages=0)
        self._scope: tuple[int, ...] | None = None
        self._update_actions()

    # -- updates --------------------------------------------------------------------------------
    def set_snapshot(self, snapshot: LibrarySnapshot) -> None:
        self.snapshot = snapshot
        expanded = self._expanded_paths()
        selected = self.selected_paths()[:RESTORED_SELECTION]
        self.model.set_documents(snapshot.documents, snapshot.roots)
        self._restore(expanded, selected)
        documents = snapshot.documents
        indexed = snapshot.indexed
        failed = sum(1 for d in documents if d.status == DocumentStatus.FAILED)
        skipped = sum(1 for d in documents if d.status == DocumentStatus.SKIPPED)
        pending = sum(1 for d in documents if d.status == DocumentStatus.PENDING)
        parts = [fmt.count(indexed, "document"), fmt.count(snapshot.passages, "passage")]
        if pending:  # the folder rows count these too: say where the difference is
            parts.insert(1, f"{pending} being indexed")
        if failed:
            parts.append(f"{failed} could not be read")
        if skipped:  # pictures without text: not worth a warning
            parts.append(f"{skipped} without text (skipped)")
        self.summary.setText(" · ".join(parts) if documents else "Nothing indexed yet")
        self.stack.setCurrentIndex(1 if documents else 0)
        self._collect_scope()

    def set_problems(self, failed: tuple[FailedFile, ...]) -> None:
        self.problems.clear()
        warning = icon("warning", appearance.colors().danger, 16)
        for failure in failed:
            item = QListWidgetItem(warning, f"{fmt.file_name(failure.path)} — {failure.reason}")
            item.setToolTip(failure.path)
            self.problems.addItem(item)
        self.problems_title.setVisible(bool(failed))
        self.problems.setVisible(bool(failed))

    def selected_paths(self) -> list[str]:
        rows = self.tree.selectionModel().selectedRows(0)
        return [str(index.data(PATH_ROLE)) for index in rows if index.data(PATH_ROLE)]

    def document_names(self) -> list[str]:
        """Every document's file name, as listed (tests and screenshots read it)."""
        return [fmt.file_name(d.path) for d in self.model.documents()]

    def set_used(self, path: str, used: bool) -> None:
        """Tick or untick a document or folder, as a click on its box does."""
        state = Qt.CheckState.Checked if used else Qt.CheckState.Unchecked
        self.model.setData(self.model.index_of(path), state, Qt.ItemDataRole.CheckStateRole)

    def expand_all(self) -> None:
        self.tree.expandAll()

    # -- scope ----------------------------------------------------------------------------------
    def _collect_scope(self) -> None:
        excluded = self.model.excluded
        scope = tuple(i for i in self.model.usable_ids() if i not in excluded) if excluded else None
        self.select_all.setVisible(bool(excluded))
        if scope != self._scope:
            self._scope = scope
            self.scopeChanged.emit(scope)

    # -- actions --------------------------------------------------------------------------------
    def _reindex(self) -> None:
        paths = self.selected_paths()
        if paths:
            self.reindexRequested.emit(tuple(paths))

    def _remove(self) -> None:
        paths = self.selected_paths()
        if not paths:
            return
        what = fmt.file_name(paths[0]) if len(paths) == 1 else fmt.count(len(paths), "item")
        text = f"Remove {what} from the library? The files themselves are not touched."
        if confirm(self, "Remove from library", text, "Remove"):
            self.removeRequested.emit(tuple(paths))

    def _show_in_folder(self) -> None:
        paths = self.selected_paths()
        if paths:
            target = Path(paths[0])
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(target if target.is_dir() else target.parent)))

    def document_menu(self) -> QMenu:
        """The selection's whole-document actions (one file, or two to compare)."""
        indexed = {d.path for d in self.snapshot.documents if d.status == DocumentStatus.INDEXED}
        files = [path for path in self.selected_paths() if path in indexed]  # not folders
        return document_menu(self, files, self.taskRequested.emit)

    def _context_menu(self, position: QPoint) -> None:
        menu = self.document_menu()
        if not menu.isEmpty():
            menu.exec(self.tree.viewport().mapToGlobal(position))

    def _update_actions(self) -> None:
        selected = bool(self.tree.selectionModel().selectedRows(0))
        for button in (self.reindex_button, self.remove_button, self.folder_button):
            button.setEnabled(selected)

    def _expanded_paths(self) -> set[str]:
        return {
            str(self.model.index(row, 0).data(PATH_ROLE))
            for row in range(self.model.rowCount())
            if self.tree.isExpanded(self.model.index(row, 0))
        }

    def _restore(self, expanded: set[str], selected: list[str]) -> None:
        for path in expanded:
            index = self.model.index_of(path)
            if index.isValid():
                self.tree.setExpanded(index, True)
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        for path in selected:
            index = self.model.index_of(path)
            if index.isValid() and not self.tree.selectionModel().isSelected(index):
                self.tree.selectionModel().select(index, flags)

    def _empty_state(self) -> QWidget:
        frame = QFrame()
        frame.setObjectName("DropTarget")
        layout = QVBoxLayout(frame)
        layout.addStretch(1)
        picture = label()
        picture.setPixmap(icon("library", tint_color("accent"), 48).pixmap(48, 48))
        picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(picture)
        title = label("Your library is empty", "EmptyTitle")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(title)
        text = label(
            "Drop files or folders anywhere on this window, or use the buttons above. Hearth reads PDF, Word, "
            "Markdown, text, web pages, ebooks, spreadsheets (CSV) and code, and keeps added folders in sync.",
            "EmptyText", wrap=True,
        )
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text.setMaximumWidth(520)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(text)
        row.addStretch(1)
        layout.addLayout(row)
        layout.addStretch(1)
        return frame

