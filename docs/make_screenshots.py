"""Render the screenshots under docs/screenshots/ (``make screenshots``).

A small library is written and indexed in a temporary data folder, so nothing of the user's is
touched. The chat shows the default model's real answer to a real question (greedy decoding and a
fixed seed, so the picture is the same on every run), checked against its sources as every answer is.
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

    from desktop.core.types import Message

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "screenshots"
SIZE = (1360, 860)

QUESTION = "What are Saturn's rings made of?"

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


def prepare(data_dir: Path, library: Path, models: Path) -> Message:
    """Index the library and ask the default model the question; returns its answer."""
    from desktop.core.settings import GenerationSettings, HearthSettings
    from desktop.services.answering import AnswerFinished
    from desktop.services.home import Home
    from desktop.services.indexing import Indexer

    generation = GenerationSettings(temperature=0.0, seed=7, max_tokens=120)
    home = Home(data_dir, models_dir=models, settings=HearthSettings(generation=generation))
    workspace = home.workspace(writes=True)
    Indexer(workspace).index([library / "Notes"])
    conversations = home.conversations()
    for title in ("Kettle error KX-409", "Sourdough timings"):
        conversations.rename(conversations.create().id, title)
    answerer = home.answerer(workspace=workspace, conversations=conversations)
    try:
        finished = [e.message for e in answerer.ask(QUESTION) if isinstance(e, AnswerFinished)]
    finally:
        answerer.close()
    return finished[-1]


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(REPO))
    from PySide6.QtCore import QEventLoop, QTimer

    from desktop.app import create_application, open_window
    from desktop.core import paths
    from desktop.core.offline import enforce_offline
    from desktop.core.types import IndexPhase, IndexProgress
    from desktop.ui.chat_view import CitationClick
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
    answered = prepare(data_dir, library, paths.models_dir())
    conversation = answered.conversation_id

    app = create_application()
    window = open_window(data_dir, paths.models_dir())
    window.resize(*SIZE)
    controller = window.controller
    models = controller.models
    wait(lambda: models.current is not None and models.current.phase == EnginePhase.READY, 600, "the model")
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

    if answered.timings is not None and answered.timings.tokens_per_second:
        window.status.set_speed(answered.timings.tokens_per_second, answered.timings.generated_tokens)
    open_chat()
    shot("chat")

    answer = window.chat.view.last_answer()
    assert answer is not None
    pdf_passage = next(p for p in answer.passages if p.page == 2)  # the Saturn page
    window.open_citation(CitationClick(pdf_passage, answer.passages))
    wait(lambda: window.viewer.pdf.current_page == 1, 30, "the PDF page")
    shot("pdf-viewer")

    progress: list[IndexProgress] = []
    controller.library.indexProgress.connect(progress.append)
    controller.add_paths([library / "Journal"])
    def under_way() -> bool:
        return any(p.phase == IndexPhase.INDEXING and p.files_done >= 90 for p in progress)

    wait(under_way, 600, "indexing to be under way")
    window.indexing.pause_button.click()
    pump(1500)
    window.show_page("library")
    shot("library-indexing")
    controller.library.cancel()
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
