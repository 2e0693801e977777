"""A long scan interrupted mid-file (the app killed) is not read again from its first page: each page read by
OCR is kept as it is read, the next run reads only the others, and the result is the uninterrupted run's.
The kept pages go once the file is indexed, changed, or forgotten."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from desktop.core.hashing import sha256_of
from desktop.core.types import OcrPage, OcrText
from desktop.services.indexing import Indexer
from desktop.services.workspace import Workspace, registry_path
from desktop.store.registry import Registry
from tests.scans import page_image, write_scanned_pdf

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
PAGES = 6
READ = re.compile(r": page (\d+) read by OCR$")


def _scan(folder: Path) -> Path:
    folder.mkdir()
    pages = [page_image([f"Yarrowmede survey sheet {n} of the north field"], seed=n, angle=0) for n in range(1, 7)]
    return write_scanned_pdf(folder / "survey.pdf", pages)


def _index(home: Path, folder: Path) -> subprocess.Popen[bytes]:
    """``hearth index folder`` into ``home``, in its own process group (its parse worker and Tesseract too)."""
    env = {**os.environ, "HEARTH_HOME": str(home)}
    return subprocess.Popen([sys.executable, "-m", "desktop", "index", str(folder), "--quiet"], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def _pages_read(home: Path, since: int = 0) -> list[int]:
    """The pages the log says OCR read, in order, from line ``since`` on."""
    log = home / "logs" / "hearth.log"
    lines = log.read_text(encoding="utf-8").splitlines()[since:] if log.exists() else []
    return [int(match.group(1)) for line in lines if (match := READ.search(line))]


def _log_lines(home: Path) -> int:
    return len((home / "logs" / "hearth.log").read_text(encoding="utf-8").splitlines())


def _passages(home: Path) -> list[tuple[str, int | None, float | None, bytes | None]]:
    registry = Registry(registry_path(home))
    try:
        [document] = registry.documents()
        return [(c.text, c.page, c.ocr_confidence, c.ocr_boxes) for c in registry.document_chunks(document.id)]
    finally:
        registry.close()


def _kept(home: Path, pdf: Path) -> list[int]:
    registry = Registry(registry_path(home))
    try:
        return [page.page for page in registry.ocr_pages(sha256_of(pdf))]
    finally:
        registry.close()


@pytest.mark.timeout(900)
def test_a_scan_interrupted_mid_file_is_read_on_from_where_it_stopped(tmp_path: Path) -> None:
    pdf = _scan(tmp_path / "scans")
    home = tmp_path / "home"

    # Killed (SIGKILL, the whole process group) once the log says page 2 was read and kept.
    indexing = _index(home, pdf.parent)
    deadline = time.monotonic() + 600
    while 2 not in _pages_read(home):
        assert indexing.poll() is None, "indexing ended before page 2 was read"
        assert time.monotonic() < deadline, "page 2 was never read"
        time.sleep(0.05)
    os.killpg(indexing.pid, signal.SIGKILL)
    indexing.wait()
    kept = _kept(home, pdf)
    assert {1, 2} <= set(kept) and len(kept) < PAGES

    # The next run reads only the pages not kept, and nothing stays kept once the file is indexed.
    since = _log_lines(home)
    assert _index(home, pdf.parent).wait(timeout=600) == 0
    assert _pages_read(home, since) == [page for page in range(1, PAGES + 1) if page not in kept]
    assert _kept(home, pdf) == []

    # The same passages, words and boxes as a run never interrupted.
    whole = tmp_path / "whole"
    assert _index(whole, pdf.parent).wait(timeout=600) == 0
    assert _pages_read(whole) == list(range(1, PAGES + 1))
    assert _passages(home) == _passages(whole)
    assert any(f"sheet {PAGES} of the north field" in text for text, *_ in _passages(home))


def _keep_pages(workspace: Workspace, path: Path, content_hash: str) -> None:
    for page in (1, 2):
        read = OcrText(text=f"page {page}", confidence=0.9, boxes=b"")
        workspace.registry.keep_ocr_page(str(path), content_hash, OcrPage(page=page, read=read))


def test_kept_pages_go_when_the_file_changes_or_is_forgotten(workspace: Workspace, tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    note = folder / "scan.pdf"
    note.write_bytes(b"%PDF-1.4 not really")  # refused, which is no matter here: it was read again
    (folder / "kept.md").write_text("# Kept\n\nA note.\n", encoding="utf-8")
    elsewhere = tmp_path / "elsewhere" / "long.pdf"
    _keep_pages(workspace, note, "an older content")  # the file changed since its reading was interrupted
    _keep_pages(workspace, elsewhere, "another file's")  # another folder's: not this run's business
    Indexer(workspace).index([folder])
    assert workspace.registry.ocr_page_hashes() == {"another file's"}

    _keep_pages(workspace, folder / "kept.md", sha256_of(folder / "kept.md"))
    Indexer(workspace).forget([folder])
    assert workspace.registry.ocr_page_hashes() == {"another file's"}
