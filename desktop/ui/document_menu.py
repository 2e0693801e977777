"""The whole-document actions (summarise, list every date / amount / person / deadline, compare two),
one menu for the library and the viewer. A chosen action is a DocumentTask; the result comes back
as an answer in the chat."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtWidgets import QMenu, QWidget

from desktop.core.document_task import EXTRACTS, DocumentTask, TaskKind, document_task

Run = Callable[[DocumentTask], None]


def document_menu(parent: QWidget, paths: Sequence[str], run: Run) -> QMenu:
    """Actions for one document, or a comparison for two; an empty menu for anything else."""
    menu = QMenu(parent)

    def add(into: QMenu, title: str, kind: TaskKind, what: str | None = None) -> None:
        task = document_task(kind, list(paths), what)
        into.addAction(title, lambda: run(task))

    if len(paths) == 1:
        add(menu, "Summarise", TaskKind.SUMMARY)
        listing = menu.addMenu("List every…")
        for what in EXTRACTS:
            add(listing, what.capitalize(), TaskKind.EXTRACT, what)
    elif len(paths) == 2:
        add(menu, "Compare these two", TaskKind.COMPARE)
    return menu
