"""The library's tree model: a refreshed listing announces only the rows that changed."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex
from PySide6.QtWidgets import QApplication

from desktop.core.types import DocumentInfo, DocumentStatus
from desktop.ui.library_model import LibraryModel

FOLDER = "/home/someone/notes"


def _documents(count: int, *, changed: dict[int, DocumentStatus] | None = None) -> tuple[DocumentInfo, ...]:
    changed = changed or {}
    return tuple(
        DocumentInfo(
            id=n, path=f"{FOLDER}/note-{n:03}.md", kind="markdown", size=100, mtime=0.0, content_hash=str(n),
            status=changed.get(n, DocumentStatus.INDEXED), chunks=3,
        )
        for n in range(count)
    )


def _announced(model: LibraryModel, documents: tuple[DocumentInfo, ...]) -> list[tuple[str, int, int]]:
    """(the parent's path, or "top", first row, last row) of each range the refresh said had changed."""
    ranges: list[tuple[str, int, int]] = []

    def record(first: QModelIndex, last: QModelIndex, _roles: object) -> None:
        parent = "top" if not first.parent().isValid() else model.nodes[first.parent().row()].path
        ranges.append((parent, first.row(), last.row()))

    model.dataChanged.connect(record)
    model.set_documents(documents, (FOLDER,))
    model.dataChanged.disconnect(record)
    return ranges


def test_a_refresh_announces_the_changed_rows_only(hearth_app: QApplication) -> None:
    model = LibraryModel()
    model.set_documents(_documents(100), (FOLDER,))
    pending = {10: DocumentStatus.PENDING, 11: DocumentStatus.PENDING, 50: DocumentStatus.FAILED}

    # The folder's row sums its documents up, so it changes with them.
    assert _announced(model, _documents(100, changed=pending)) == [("top", 0, 0), (FOLDER, 10, 11), (FOLDER, 50, 50)]
    assert model.data(model.index(50, 3, model.index(0, 0))).startswith("Failed")
    assert _announced(model, _documents(100, changed=pending)) == []  # nothing new: nothing to redraw
    assert _announced(model, _documents(100)) == [("top", 0, 0), (FOLDER, 10, 11), (FOLDER, 50, 50)]
