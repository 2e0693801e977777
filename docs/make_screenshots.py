"""Render the screenshots under docs/screenshots/ (``make screenshots``).

A small library is written and indexed in a temporary data folder, so nothing of the user's is
touched. The chat shows a prepared answer to a real question: its passages come from the real
search over that library, but the text is fixed so the picture is the same on every run (the tiny
bundled model words its answers differently from run to run, and seldom this well).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtGui import QPalette

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "screenshots"
SIZE = (1360, 860)

QUESTION = "How often should I water the tomatoes, and what is Saturn's ring made of?"
# {garden}, {saturn} and {jupiter} become the numbers the search gives those passages.
ANSWER = (
    "Water the tomatoes **deeply twice a week**; they also need full sun [{garden}]. Brandywine-7731 ripens "
    "late, so expect its fruit at the end of the season [{garden}].\n\n"
    "Saturn's rings are made mostly of **water ice particles** [{saturn}], ranging from grains of dust to "
    "boulders as large as a house. The same book adds that Jupiter's Great Red Spot is a storm larger than "
    "Earth [{jupiter}]."
)

GARDEN = """# Garden notes

## Tomatoes

Tomatoes need full sun and deep watering twice a week. The variety Brandywine-7731 ripens late, so
pick the early ones first. Pinch out side shoots every few days.

## Compost

Turn the compost heap every fortnight so that it stays aerobic and does not smell. Add dry leaves
when it gets too wet.
"""

KETTLE = """The Brewmaster kettle manual.

Descale the kettle monthly with citric acid. Error code KX-409 means the heating element overheated:
unplug it and let it cool for ten minutes before trying again.
"""

ASTRONOMY = [
    "Chapter one. The night sky and how to read a star chart. Find the Plough first, then follow its "
    "pointer stars to Polaris.",
    "Chapter two. Saturn's rings are made mostly of water ice particles, ranging in size from grains of "
    "dust to boulders as large as a house. They are less than a kilometre thick.",
    "Chapter three. Jupiter's Great Red Spot is a storm larger than Earth that has raged for centuries.",
]


def write_library(folder: Path) -> None:
    from tests.samples import write_docx, write_pdf

    (folder / "Notes").mkdir(parents=True, exist_ok=True)
    (folder / "Notes" / "garden.md").write_text(GARDEN, encoding="utf-8")
    (folder / "Notes" / "kettle-manual.txt").write_text(KETTLE, encoding="utf-8")
    write_pdf(folder / "Notes" / "astronomy.pdf", ASTRONOMY)
    write_docx(folder / "Notes" / "recipes.docx", "Bread", [
        "Knead the dough for ten minutes until it is smooth and elastic.",
        "Bake the sourdough loaf at 230 degrees for forty minutes.",
    ])


def write_archive(folder: Path, count: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        text = " ".join(f"Entry {index}, line {n}: notes about the allotment, the weather and the harvest."
                        for n in range(60))
        (folder / f"journal-{index:03}.md").write_text(f"# Journal {index}\n\n{text}\n", encoding="utf-8")


def dark_palette() -> QPalette:
    from PySide6.QtGui import QColor, QPalette

    palette = QPalette()
    roles = QPalette.ColorRole
    for role, color in {
        roles.Window: "#2b2b2d", roles.WindowText: "#e8e6e3", roles.Base: "#232325", roles.AlternateBase: "#2e2e31",
        roles.Text: "#e8e6e3", roles.Button: "#333336", roles.ButtonText: "#e8e6e3", roles.Highlight: "#3d6fb4",
        roles.HighlightedText: "#ffffff", roles.ToolTipBase: "#2b2b2d", roles.ToolTipText: "#e8e6e3",
        roles.PlaceholderText: "#8b8b8f", roles.Link: "#8ab4f8", roles.Mid: "#444448", roles.Dark: "#1a1a1c",
        roles.Light: "#4a4a4e", roles.Midlight: "#3a3a3e", roles.Shadow: "#000000", roles.BrightText: "#ffffff",
    }.items():
        palette.setColor(role, QColor(color))
    return palette


def prepare(data_dir: Path, library: Path, models: Path) -> int:
    """Index the library and save a conversation whose answer cites it; returns its id."""
    from desktop.core.types import Citation, MessageStatus
    from desktop.services.answering import to_passages
    from desktop.services.conversations import ConversationStore
    from desktop.services.indexing import Indexer
    from desktop.services.retrieval import Retriever
    from desktop.services.workspace import Workspace

    workspace = Workspace(data_dir, models_dir=models)
    Indexer(workspace).index([library / "Notes"])
    passages = to_passages(Retriever(workspace).search(QUESTION, 5))
    number = {
        "garden": next(p.n for p in passages if p.path.endswith("garden.md")),
        "saturn": next(p.n for p in passages if p.page == 2),
        "jupiter": next(p.n for p in passages if p.page == 3),
    }
    passages = [p.model_copy(update={"cited": p.n in number.values()}) for p in passages]
    store = ConversationStore(data_dir / "conversations.sqlite3")
    for title in ("Kettle error KX-409", "Sourdough timings"):
        store.rename(store.create().id, title)
    conversation = store.create()
    store.add_user_message(conversation.id, QUESTION)
    answer = store.start_answer(conversation.id, "SmolLM2-135M-Instruct")
    store.finish_answer(
        answer, text=ANSWER.format(**number), status=MessageStatus.COMPLETE, passages=passages,
        citations=[Citation(n=p.n, path=p.path, page=p.page, heading=p.heading) for p in passages if p.cited],
    )
    store.close()
    workspace.close()
    return conversation.id


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(REPO))
    from PySide6.QtCore import QEventLoop, QTimer

    from desktop.app import create_application, open_window
    from desktop.core import paths
    from desktop.core.offline import enforce_offline
    from desktop.core.types import IndexPhase, IndexProgress
    from desktop.workers.events import EnginePhase

    enforce_offline()

    def pump(ms: int) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    def wait(predicate: Callable[[], object], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise SystemExit(f"make_screenshots: timed out waiting for {what}")
            pump(25)

    work = Path(tempfile.mkdtemp(prefix="hearth-screenshots-"))
    data_dir, library = work / "data", work / "Documents"
    os.environ["HEARTH_HOME"] = str(data_dir)
    write_library(library)
    write_archive(library / "Journal", 240)
    conversation = prepare(data_dir, library, paths.models_dir())

    app = create_application()
    window = open_window(data_dir, paths.models_dir())
    window.resize(*SIZE)
    controller = window.controller
    wait(lambda: controller.status is not None and controller.status.phase == EnginePhase.READY, 600, "the model")
    wait(lambda: window.sidebar.titles(), 60, "the conversations")
    OUT.mkdir(parents=True, exist_ok=True)

    def shot(name: str) -> None:
        pump(400)  # let layouts settle and the PDF pages render
        path = OUT / f"{name}.png"
        window.grab().save(str(path))
        print(f"wrote {path.relative_to(REPO)}")

    def open_chat() -> None:
        window.open_conversation(conversation)
        wait(lambda: window.chat.view.last_answer() is not None, 60, "the answer")
        window.show_sources(window.chat.view.last_answer().passages)  # type: ignore[union-attr]

    window.status.set_speed(92.0, 87)  # what the last real answer would have shown
    open_chat()
    shot("chat")

    answer = window.chat.view.last_answer()
    assert answer is not None
    pdf_passage = next(p for p in answer.passages if p.page == 2)  # the Saturn page
    window.open_citation(answer, pdf_passage)
    wait(lambda: window.viewer.pdf.current_page == 1, 30, "the PDF page")
    shot("pdf-viewer")

    progress: list[IndexProgress] = []
    controller.indexProgress.connect(progress.append)
    controller.add_paths([library / "Journal"])
    def under_way() -> bool:
        return any(p.phase == IndexPhase.INDEXING and p.files_done >= 90 for p in progress)

    wait(under_way, 600, "indexing to be under way")
    window.indexing.pause_button.click()
    pump(1500)
    window.show_page("library")
    shot("library-indexing")
    controller.cancel_indexing()
    wait(lambda: not window.indexing.pause_button.isVisible(), 120, "indexing to stop")
    window.indexing.hide()

    app.setPalette(dark_palette())  # what a system in dark mode hands the app
    pump(300)
    window.show_page("chat")
    open_chat()
    shot("chat-dark")
    window.close()
    app.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main())
