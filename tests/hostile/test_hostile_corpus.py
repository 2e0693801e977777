"""A bad file never takes the app down or stops a batch (promise 1 of "Hostile files").

The generated hostile corpus is indexed mixed with good files by the real Indexer: parser worker
processes, the real embedder, a real Chroma store. Every bad file must come back failed with a
reason a person understands, every good file must be searchable, and the memory of this process
and its workers must stay bounded. The time limit, the memory cap and the size limit each get a
test of their own, because they need settings the mixed run must not use.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil
import pytest

from desktop.core.errors import ParseError
from desktop.core.settings import IndexSettings
from desktop.core.types import DocumentStatus, IndexReport, OcrPage
from desktop.ingest.limits import LoadLimits
from desktop.ingest.loaders import load_document
from desktop.ingest.parsing import ParseOutcome, ParserPool
from desktop.ingest.walker import FoundFile, SkippedFile, walk
from desktop.services import indexing
from desktop.services.indexing import Indexer
from desktop.services.retrieval import Retriever
from desktop.services.workspace import Workspace
from tests.hostile.generate import HUGE, SECRET, HostileFile, attribute_flood, generate, outside, remove_tree
from tests.samples import write_corpus
from tests.scans import page_image, write_scanned_pdf
from tests.unit.ingest.samples import chapter, write_epub

pytestmark = pytest.mark.slow

MB = 2**20
REPO = Path(__file__).resolve().parents[2]
# Good files, each with a query that only it answers.
GOOD = {
    "good/garden.md": "Brandywine-7731 tomatoes",
    "good/kettle.txt": "error code KX-409",
    "good/bicycle.html": "tyre pressure for road tyres",
    "good/astronomy.pdf": "Saturn's rings water ice",
    "good/recipes.docx": "sourdough loaf baking",
    "good/lighthouse.epub": "Zephyrine lighthouse keeper",
}
# Scans among them in the mixed run only: OCR takes seconds, which the other runs' limits are not set for.
GOOD_SCANS = {
    "good/minutes-scan.pdf": "Quillfeather boathouse repairs",
    "good/receipt.png": "Brinewater salt works receipt",
}
# Every class the issue names, by the names generate() uses.
CLASSES = {
    "pdf-broken-xref", "pdf-circular-refs", "pdf-absurd-pages", "pdf-encrypted", "pdf-scanned",
    "zip-bomb", "zip-too-many-entries", "zip-unsafe-names", "xml-entities",
    "html-deep-nesting", "html-huge-attributes", "remote-resources",
    "text-binary", "text-invalid-utf8", "text-huge-single-line",
    "fs-permission-denied", "fs-changed-while-indexing", "fs-symlink-loop", "fs-special-files",
    "fs-deep-nesting", "fs-link-outside", "fs-proc-files", "parse-timeout",
    "image-bomb", "image-huge", "image-truncated", "image-no-text", "image-many-pages", "image-disguised",
    # Harmless to index; what shows their names and text must not obey them.
    "name-terminal-escapes", "markdown-html-heading", "text-forged-source",
}
# Mixed run: generous for every file (the slowest real one parses in well under a second), yet
# short enough that the attribute flood, which would parse for hours, is cut off quickly.
MIXED_TIMEOUT_S = 15.0
MIXED_MEMORY_MB = 1024
# What this process may grow by while indexing, beyond its state before the run (embedder loaded,
# stores open): embedding batches, Chroma and SQLite writes, the multiprocessing resource tracker,
# and a killed worker's successor starting before the kernel has reclaimed the old one.
HEADROOM_MB = 512


# -- helpers ----------------------------------------------------------------------------------------

def write_good(folder: Path) -> None:
    write_corpus(folder)
    book = [("one.xhtml", chapter("Light", "<p>The Zephyrine lighthouse keeper trims the lamp at dusk.</p>"))]
    write_epub(folder / "lighthouse.epub", book, title="The Lighthouse")


def is_human(reason: str) -> bool:
    """One short line, no exception class names, tracebacks or catch-all wording."""
    catch_alls = ("could not read this", "could not read (", "Traceback", "Error", "Exception", "errno")
    return 0 < len(reason) <= 160 and "\n" not in reason and not any(word in reason for word in catch_alls)


def failures(report: IndexReport) -> dict[str, str]:
    """Every file reported with a reason: failed, or skipped for holding no text (a picture without any)."""
    return {failed.path: failed.reason for failed in (*report.failed, *report.skipped)}


def pop_failure(failed: dict[str, str], path: Path) -> str | None:
    """The reason reported for ``path``, or for the folder above it that was skipped whole (too deep)."""
    for candidate in (path, *path.parents):
        if str(candidate) in failed:
            return failed.pop(str(candidate))
    return None


@pytest.fixture(autouse=True)
def _remove_the_deep_folder(tmp_path: Path) -> Iterator[None]:
    """Empty the test's folder afterwards: pytest's own clean-up recurses, and fails on the 1,000-deep folder."""
    yield
    for entry in tmp_path.iterdir():
        remove_tree(entry)


def assert_searchable(workspace: Workspace, root: Path, good: Iterable[str]) -> None:
    retriever = Retriever(workspace)
    for relative in good:
        hits = retriever.search({**GOOD, **GOOD_SCANS}[relative], 3)
        assert str(root / relative) in [hit.path for hit in hits], (relative, [hit.path for hit in hits])


def is_worker(process: psutil.Process) -> bool:
    try:
        return "--multiprocessing-fork" in process.cmdline()
    except psutil.Error:
        return False


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


class MemoryPeak:
    """Samples the resident memory of this process and of every child (parser workers) while it runs."""

    def __init__(self, interval_s: float = 0.02) -> None:
        self.me = psutil.Process()
        self.interval_s = interval_s
        self.total = 0  # bytes, this process plus its children, at the worst sample
        self.worker = 0  # bytes, the largest parser worker at any sample
        self.workers: set[int] = set()  # pids of every parser worker seen
        self._known: dict[int, bool] = {}  # pid -> is a parser worker (cmdline read once)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-peak", daemon=True)

    def __enter__(self) -> MemoryPeak:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sample()

    def _sample(self) -> None:
        total = self.me.memory_info().rss
        for child in self.me.children(recursive=True):
            try:
                rss = child.memory_info().rss
            except psutil.Error:
                continue  # it ended between listing and reading
            total += rss
            if self._known.setdefault(child.pid, is_worker(child)):
                self.workers.add(child.pid)
                self.worker = max(self.worker, rss)
        self.total = max(self.total, total)


@contextmanager
def sabotage_after_scan(monkeypatch: pytest.MonkeyPatch, root: Path, files: list[HostileFile]) -> Iterator[None]:
    """Run each file's sabotage once the indexer has scanned, just before hashing or parsing starts.

    That is the window in which a user deletes, truncates or replaces a file; it is made certain
    here instead of hoped for.
    """

    def sabotage(before: str) -> None:
        for item in files:
            if item.sabotage is not None and item.sabotage_before == before:
                item.sabotage(root / item.path)

    def walk_then_sabotage(*args: Any, **kwargs: Any) -> Iterator[FoundFile | SkippedFile]:
        yield from walk(*args, **kwargs)  # the indexer scans everything, then hashes
        sabotage("hash")

    class SabotagingPool(ParserPool):
        def parse(
            self, paths: Iterable[str], known: Mapping[str, Sequence[OcrPage]] | None = None
        ) -> Iterator[ParseOutcome]:
            sabotage("parse")
            return super().parse(paths, known)

    monkeypatch.setattr(indexing, "walk", walk_then_sabotage)
    monkeypatch.setattr(indexing, "ParserPool", SabotagingPool)
    yield


def warm_up(workspace: Workspace) -> int:
    """Load the model and open the stores, so the baseline includes them; returns this process's RSS."""
    workspace.embedder.embed(["warm up"])
    assert workspace.vectors is not None
    return psutil.Process().memory_info().rss


# -- the mixed run ----------------------------------------------------------------------------------

def test_hostile_corpus_mixed_with_good_files(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "corpus"
    hostile_root = root / "hostile"
    # Hostile files point at this listener; any connection to it would be a fetch.
    listener = socket.create_server(("127.0.0.1", 0), backlog=64)
    listener.setblocking(False)
    hostile = generate(hostile_root, remote=f"http://127.0.0.1:{listener.getsockname()[1]}")
    write_good(root / "good")
    write_scanned_pdf(root / "good/minutes-scan.pdf", [page_image([GOOD_SCANS["good/minutes-scan.pdf"]])])
    page_image([GOOD_SCANS["good/receipt.png"]], angle=-2.0).save(root / "good/receipt.png")
    assert len(hostile) >= 40 and {item.kind for item in hostile} >= CLASSES

    workspace.settings.index.parse_timeout_s = MIXED_TIMEOUT_S
    workspace.settings.index.parse_memory_mb = MIXED_MEMORY_MB
    baseline = warm_up(workspace)
    with sabotage_after_scan(monkeypatch, hostile_root, hostile), MemoryPeak() as peak:
        # Two roots, so the folder beside the corpus (what its links point at) is outside both.
        report = Indexer(workspace).index([hostile_root, root / "good"])

    failed = failures(report)
    registry = workspace.registry
    for item in hostile:
        path = str(hostile_root / item.path)
        reason = pop_failure(failed, hostile_root / item.path)
        if item.reason is not None:
            assert reason is not None and item.reason.lower() in reason.lower(), (item.path, reason)
        elif reason is None:  # harmless enough to read: it must then be fully indexed
            document = registry.document_by_path(path)
            assert document is not None and document.status == DocumentStatus.INDEXED, item.path
        if reason is not None:
            assert is_human(reason), (item.path, reason)
    assert failed == {}, "good files failed"  # every failure left is not a hostile file

    assert_searchable(workspace, root, GOOD)
    assert_searchable(workspace, root, GOOD_SCANS)
    indexed = [document.path for document in registry.documents()]
    assert sum("/circle/" in path for path in indexed) == 1  # the folder that contains itself: read once
    chunks = registry.chunks(registry.all_chunk_ids()).values()
    assert not any("root:x:0:0" in chunk.text for chunk in chunks)  # external entities never resolved
    assert not any(SECRET in chunk.text for chunk in chunks)  # links out of the corpus never followed
    assert not any(path.startswith(str(outside(hostile_root))) for path in indexed)
    with pytest.raises(BlockingIOError):
        listener.accept()  # nothing was fetched
    listener.close()

    # Parser workers are capped by RLIMIT_AS, so each stays under the cap; this process may grow by
    # the headroom. Shared library pages are counted once per process, so the total is pessimistic.
    workers = workspace.settings.index.parse_workers
    bound = baseline + workers * MIXED_MEMORY_MB * MB + HEADROOM_MB * MB
    assert peak.worker <= MIXED_MEMORY_MB * MB
    assert peak.total <= bound, f"peak {peak.total / MB:.0f} MB over {bound / MB:.0f} MB"
    assert len(peak.workers) >= 2 and not any(alive(pid) for pid in peak.workers)  # replaced, then all ended

    bad = [item for item in hostile if item.reason is not None]
    classes = {item.kind for item in hostile}
    with capsys.disabled():
        print(
            f"\nhostile corpus: {len(hostile)} bad files in {len(classes)} classes, all reported "
            f"({len(bad)} failed with the expected reason, {len(hostile) - len(bad)} read safely); "
            f"{len(GOOD) + len(GOOD_SCANS)} good files searchable; peak memory {peak.total / MB:.0f} MB "
            f"(bound {bound / MB:.0f} MB: {baseline / MB:.0f} before the run + {workers} x {MIXED_MEMORY_MB} "
            f"worker cap + {HEADROOM_MB} headroom; largest worker {peak.worker / MB:.0f} MB)"
        )


# -- time limit, memory cap, size limit -------------------------------------------------------------

def test_time_limit_kills_a_slow_parser_and_the_batch_goes_on(workspace: Workspace, tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    write_good(root / "good")
    slow = root / "a-slow.html"  # sorts first: the good files must wait for the replacement worker
    slow.write_bytes(attribute_flood(300_000))  # libxml2 would take hours over it
    workspace.settings.index.parse_timeout_s = 5.0  # startup is not counted: jobs go only to ready workers
    with MemoryPeak() as peak:
        report = Indexer(workspace).index([root])

    assert failures(report) == {str(slow): "took longer than 5 s to read"}
    # One worker, the slow file first: the good files were parsed by its replacement.
    assert workspace.settings.index.parse_workers == 1 and report.added == len(GOOD)
    assert_searchable(workspace, root, GOOD)
    assert not any(alive(pid) for pid in peak.workers)


def test_memory_cap_stops_a_hungry_parser_and_the_batch_goes_on(workspace: Workspace, tmp_path: Path) -> None:
    cap_mb = 300
    root = tmp_path / "corpus"
    write_good(root / "good")
    hungry = root / "a-hungry.txt"
    paragraph = ("The river bends past the old mill and the ferry waits for the morning tide. " * 8 + "\n\n").encode()
    with hungry.open("wb") as handle:  # 64 MB of prose: its bytes, text and cleaned copies exceed the cap
        for _ in range(64 * MB // len(paragraph)):
            handle.write(paragraph)
    workspace.settings.index.parse_memory_mb = cap_mb
    with MemoryPeak() as peak:
        report = Indexer(workspace).index([root])

    reason = failures(report)[str(hungry)]
    assert "memory" in reason and is_human(reason), reason
    assert len(report.failed) == 1 and report.added == len(GOOD)
    assert_searchable(workspace, root, GOOD)
    assert 0 < peak.worker <= cap_mb * MB


def test_two_gigabyte_single_line_is_refused_by_size_without_being_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "one-line.txt"
    with path.open("wb") as handle:
        handle.write(b"This line never ends ")
        handle.truncate(HUGE)
    assert path.stat().st_size == HUGE and path.stat().st_blocks * 512 < MB  # sparse: no disk used

    def must_not_open(*_: object) -> int:
        raise AssertionError("opened a file that is over the size limit")

    monkeypatch.setattr(os, "open", must_not_open)
    default_mb = IndexSettings.model_fields["max_file_mb"].default
    with pytest.raises(ParseError, match=r"^file is larger than the 256 MB limit$"):
        load_document(path, LoadLimits(max_bytes=int(default_mb * MB)))


def test_long_single_line_under_a_small_size_limit(workspace: Workspace, tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    root.mkdir()
    sentence = "a lantern swings above the harbour wall while gulls argue over the nets "
    too_big = root / "three-megabytes-one-line.txt"
    too_big.write_text(sentence * (3 * MB // len(sentence)))
    fits = root / "one-long-line.md"  # no newline anywhere: chunked into windows, not read as one piece
    fits.write_text(sentence * 1_000 + "the keeper's code word is Quillfeather-5521")
    workspace.settings.index.max_file_mb = 1.0
    report = Indexer(workspace).index([root])

    assert failures(report) == {str(too_big): "file is larger than the 1 MB limit"}
    document = workspace.registry.document_by_path(str(fits))
    assert document is not None and document.status == DocumentStatus.INDEXED and document.chunks > 10
    assert Retriever(workspace).search("Quillfeather-5521", 1)[0].path == str(fits)


# -- the generator --------------------------------------------------------------------------------------

def test_generator_script_writes_the_corpus(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "tests.hostile.generate", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    summary = re.search(r"^(\d+) hostile files in (\d+) classes", result.stdout, re.MULTILINE)
    assert summary is not None and int(summary.group(1)) >= 40, result.stdout
    written = {line.split()[0] for line in result.stdout.splitlines()[:-1]}
    assert written >= CLASSES
    assert (out / "text/two-gigabytes-one-line.txt").stat().st_size == HUGE
