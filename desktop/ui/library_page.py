"""The library: indexed documents grouped by the folders they were added from.

Tick boxes choose which documents answers may use (all, by default); a folder's box ticks all of
its documents. Selected rows can be removed, re-indexed or shown in their folder.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QBrush, QDesktopServices, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QListWidget,
    QListWidgetItem,
    QStackedWidget,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from desktop.core.types import DocumentInfo, DocumentStatus, FailedFile
from desktop.ui import appearance
from desktop.ui import format as fmt
from desktop.ui.icons import icon
from desktop.ui.widgets import PushButton, confirm, label, tint_color
from desktop.workers.events import LibrarySnapshot

PATH_ROLE = Qt.ItemDataRole.UserRole + 1
DOC_ROLE = Qt.ItemDataRole.UserRole + 2
COLUMNS = ["Name", "Type", "Pages · passages", "Status", "Indexed"]
STATUS_TEXT = {DocumentStatus.INDEXED: "Indexed", DocumentStatus.PENDING: "Indexing", DocumentStatus.FAILED: "Failed"}


def top_roots(roots: tuple[str, ...]) -> list[str]:
    """Roots not inside another root: the folders (and single files) the user added."""
    ordered = sorted(roots, key=len)
    kept: list[str] = []
    for root in ordered:
        if not any(root == k or root.startswith(k.rstrip(os.sep) + os.sep) for k in kept):
            kept.append(root)
    return sorted(kept)


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


class LibraryPage(QWidget):
    addFilesRequested = Signal()
    addFolderRequested = Signal()
    removeRequested = Signal(object)  # tuple[str, ...]
    reindexRequested = Signal(object)  # tuple[str, ...]
    scopeChanged = Signal(object)  # tuple[int, ...] | None (None: every document)

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
        self.model = QStandardItemModel(self)
        self.model.setHorizontalHeaderLabels(COLUMNS)
        self.model.itemChanged.connect(self._check_changed)
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
        for column in range(1, len(COLUMNS)):
            self.tree.header().setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.selectionModel().selectionChanged.connect(self._update_actions)
        self.tree.doubleClicked.connect(lambda _index: self._show_in_folder())
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
        self.select_all.clicked.connect(self._tick_all)
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
        self._excluded: set[int] = set()
        self._filling = False
        self._scope_timer = QTimer(self)
        self._scope_timer.setSingleShot(True)
        self._scope_timer.setInterval(0)
        self._scope_timer.timeout.connect(self._collect_scope)
        self._update_actions()

    # -- updates --------------------------------------------------------------------------------
    def set_snapshot(self, snapshot: LibrarySnapshot) -> None:
        self.snapshot = snapshot
        expanded = self._expanded_paths()
        selected = set(self.selected_paths())
        self._filling = True
        self.model.removeRows(0, self.model.rowCount())
        documents = list(snapshot.documents)
        placed: set[int] = set()
        for root in top_roots(snapshot.roots):
            inside = [d for d in documents if d.id not in placed and _inside(d.path, root)]
            if not inside:
                continue
            placed.update(d.id for d in inside)
            if len(inside) == 1 and inside[0].path == root:
                self.model.appendRow(self._document_row(inside[0]))
            else:
                self.model.appendRow(self._folder_row(root, inside))
        for document in documents:  # indexed before its root was recorded
            if document.id not in placed:
                self.model.appendRow(self._document_row(document))
        self._filling = False
        self._restore(expanded, selected)
        known = {d.id for d in documents}
        self._excluded &= known
        indexed = sum(1 for d in documents if d.status == DocumentStatus.INDEXED)
        failed = sum(1 for d in documents if d.status == DocumentStatus.FAILED)
        parts = [fmt.count(indexed, "document"), fmt.count(snapshot.passages, "passage")]
        if failed:
            parts.append(f"{failed} could not be read")
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
        names = []
        for row in range(self.model.rowCount()):
            item = self.model.item(row, 0)
            if item.data(DOC_ROLE) is not None:
                names.append(item.text())
            for child in range(item.rowCount()):
                names.append(item.child(child, 0).text())
        return names

    def expand_all(self) -> None:
        self.tree.expandAll()

    # -- rows -----------------------------------------------------------------------------------
    def _document_row(self, document: DocumentInfo) -> list[QStandardItem]:
        colors = appearance.colors()
        name = QStandardItem(icon("file", tint_color("muted"), 16), fmt.file_name(document.path))
        name.setData(document.path, PATH_ROLE)
        name.setData(document.id, DOC_ROLE)
        name.setToolTip(document.path + (f"\n{document.title}" if document.title else ""))
        usable = document.status == DocumentStatus.INDEXED
        name.setCheckable(usable)
        if usable:
            checked = document.id not in self._excluded
            name.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
        kind = QStandardItem(fmt.KIND_NAMES.get(document.kind, document.kind.title()))
        extent = f"{document.pages} pages · {document.chunks}" if document.pages else str(document.chunks)
        size = QStandardItem(extent)
        status = QStandardItem(STATUS_TEXT.get(document.status, document.status.value))
        if document.status == DocumentStatus.FAILED:
            status.setForeground(QBrush(colors.danger))
            status.setToolTip(document.reason or "")
            status.setText(f"Failed: {document.reason}" if document.reason else "Failed")
        when = QStandardItem(_date(document.indexed_at))
        return [name, kind, size, status, when]

    def _folder_row(self, root: str, documents: list[DocumentInfo]) -> list[QStandardItem]:
        name = QStandardItem(icon("folder", tint_color("accent"), 16), Path(root).name or root)
        name.setData(root, PATH_ROLE)
        name.setToolTip(root)
        name.setCheckable(True)
        name.setAutoTristate(True)
        for document in documents:
            name.appendRow(self._document_row(document))
        checked = [d for d in documents if d.status == DocumentStatus.INDEXED and d.id not in self._excluded]
        usable = [d for d in documents if d.status == DocumentStatus.INDEXED]
        name.setCheckState(
            Qt.CheckState.Checked if len(checked) == len(usable)
            else Qt.CheckState.Unchecked if not checked else Qt.CheckState.PartiallyChecked
        )
        passages = sum(d.chunks for d in documents)
        latest = max((d.indexed_at or 0 for d in documents), default=0) or None
        failed = sum(1 for d in documents if d.status == DocumentStatus.FAILED)
        status = QStandardItem(f"{failed} failed" if failed else "Watched")
        status.setToolTip("Changes in this folder are picked up automatically")
        return [
            name, QStandardItem("Folder"), QStandardItem(f"{fmt.count(len(documents), 'file')} · {passages}"),
            status, QStandardItem(_date(latest)),
        ]

    # -- scope ----------------------------------------------------------------------------------
    def _check_changed(self, item: QStandardItem) -> None:
        if not self._filling:
            self._scope_timer.start()  # a folder's tick changes all its children: collect once

    def _collect_scope(self) -> None:
        excluded: set[int] = set()
        usable: list[int] = []
        for item in self._document_items():
            if item.isCheckable():
                usable.append(int(item.data(DOC_ROLE)))
                if item.checkState() != Qt.CheckState.Checked:
                    excluded.add(int(item.data(DOC_ROLE)))
        self._excluded = excluded
        self.select_all.setVisible(bool(excluded))
        self.scopeChanged.emit(tuple(i for i in usable if i not in excluded) if excluded else None)

    def _tick_all(self) -> None:
        self._excluded.clear()
        self.set_snapshot(self.snapshot)

    def _document_items(self) -> list[QStandardItem]:
        items = []
        for row in range(self.model.rowCount()):
            item = self.model.item(row, 0)
            if item.data(DOC_ROLE) is not None:
                items.append(item)
            items.extend(item.child(child, 0) for child in range(item.rowCount()))
        return items

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

    def _update_actions(self) -> None:
        selected = bool(self.tree.selectionModel().selectedRows(0))
        for button in (self.reindex_button, self.remove_button, self.folder_button):
            button.setEnabled(selected)

    def _expanded_paths(self) -> set[str]:
        return {
            str(self.model.item(row, 0).data(PATH_ROLE))
            for row in range(self.model.rowCount())
            if self.tree.isExpanded(self.model.index(row, 0))
        }

    def _restore(self, expanded: set[str], selected: set[str]) -> None:
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        for row in range(self.model.rowCount()):
            item = self.model.item(row, 0)
            if str(item.data(PATH_ROLE)) in expanded:
                self.tree.setExpanded(item.index(), True)
            for candidate in [item, *(item.child(c, 0) for c in range(item.rowCount()))]:
                if str(candidate.data(PATH_ROLE)) in selected:
                    self.tree.selectionModel().select(candidate.index(), flags)

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


def _date(timestamp: float | None) -> str:
    if not timestamp:
        return ""
    return dt.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M")
