"""The library's tree model: a refreshed listing announces only the rows that changed."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex
from PySide6.QtWidgets import QApplication

from desktop.core.types import DocumentInfo, DocumentStatus
from desktop.ui.library_model import LibraryModel, build_tree

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


def test_each_document_is_listed_under_the_root_it_was_added_with() -> None:
    def document(n: int, path: str) -> DocumentInfo:
        return DocumentInfo(id=n, path=path, kind="markdown", size=1, mtime=0.0, content_hash="",
                            status=DocumentStatus.INDEXED)

    documents = (
        document(1, "/home/a/notes/deep/er/one.md"), document(2, "/home/a/notes/two.md"),
        document(3, "/home/a/single.md"), document(4, "/elsewhere/three.md"), document(5, "/home/ab/four.md"),
    )
    roots = ("/home/a/notes/", "/home/a/notes/deep", "/home/a/single.md", "/home/ab")  # the second is inside the first
    tree = [(node.path, node.document.id if node.document else None, [d.id for d in node.children])
            for node in build_tree(documents, roots)]
    assert tree == [
        ("/home/a/notes/", None, [1, 2]), ("/home/a/single.md", 3, []), ("/home/ab", None, [5]),
        ("/elsewhere/three.md", 4, []),  # in no root (its folder was removed from the library, say)
    ]
