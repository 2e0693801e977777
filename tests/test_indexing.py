"""Indexing with the real embedder, a real Chroma store and real files."""

from __future__ import annotations

import os
import shutil
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pytest

from desktop.core.control import Control
from desktop.core.errors import Cancelled, UsageError
from desktop.core.settings import HearthSettings, IndexSettings
from desktop.core.types import DocumentStatus, IndexPhase, IndexProgress
from desktop.services.indexing import Indexer
from desktop.services.retrieval import Retriever
from desktop.services.workspace import Workspace
from tests.samples import write_pdf


class CountingEmbedder:
    """Wraps the real embedder to count what gets embedded."""

    def __init__(self, real) -> None:  # type: ignore[no-untyped-def]
        self.real = real
        self.texts = 0

    def embed(self, texts):  # type: ignore[no-untyped-def]
        self.texts += len(texts)
        return self.real.embed(texts)


def _consistent(workspace: Workspace) -> None:
    registry_ids = workspace.registry.all_chunk_ids()
    assert workspace.vectors.all_ids() == registry_ids
    for document in workspace.registry.documents():
        if document.status == DocumentStatus.INDEXED:
            assert document.chunks == len(workspace.registry.stored_seqs(document.id)) > 0


def test_index_every_format_and_search(workspace: Workspace, corpus: Path) -> None:
    events: list[IndexProgress] = []
    report = Indexer(workspace).index([corpus], progress=events.append)
    assert report.added == 5 and report.failed == () and report.chunks >= 5
    assert events[-1].phase == IndexPhase.DONE and any(e.phase == IndexPhase.INDEXING for e in events)
    retriever = Retriever(workspace)
    top = retriever.search("What are Saturn's rings made of?", 3)[0]
    assert top.path == str(corpus / "astronomy.pdf") and top.page == 2
    assert retriever.search("KX-409", 1)[0].path.endswith("kettle.txt")
    assert retriever.search("how long to knead bread dough", 1)[0].path.endswith("recipes.docx")
    html_hit = retriever.search("tyre pressure for road bikes", 1)[0]
    assert html_hit.path.endswith("bicycle.html") and "tracking" not in html_hit.text
    _consistent(workspace)


def test_unchanged_folder_embeds_nothing(workspace: Workspace, corpus: Path) -> None:
    Indexer(workspace).index([corpus])
    counting = CountingEmbedder(workspace.embedder)
    workspace.embedder = counting  # type: ignore[assignment]
    os.utime(corpus / "kettle.txt")  # new mtime, same content: hashed, not parsed
    report = Indexer(workspace).index([corpus])
    assert (report.added, report.updated, report.unchanged, report.chunks) == (0, 0, 5, 0)
    assert counting.texts == 0


def test_changed_file_replaces_its_chunks(workspace: Workspace, corpus: Path) -> None:
    Indexer(workspace).index([corpus])
    (corpus / "kettle.txt").write_text("The kettle now whistles. Error code ZQ-77 means the lid is open.\n")
    report = Indexer(workspace).index([corpus])
    assert report.updated == 1 and report.unchanged == 4
    retriever = Retriever(workspace)
    assert retriever.search("ZQ-77", 1)[0].path.endswith("kettle.txt")
    texts = [hit.text for hit in retriever.search("KX-409 heating element", 10)]
    assert not any("KX-409" in text for text in texts)
    _consistent(workspace)


def test_deleted_file_is_removed_on_rescan_and_forget(workspace: Workspace, corpus: Path) -> None:
    Indexer(workspace).index([corpus])
    (corpus / "garden.md").unlink()
    report = Indexer(workspace).index([corpus])
    assert report.removed == 1
    assert workspace.registry.document_by_path(str(corpus / "garden.md")) is None
    assert Indexer(workspace).forget([corpus / "astronomy.pdf"]) == 1
    assert not any(h.path.endswith("astronomy.pdf") for h in Retriever(workspace).search("Saturn rings", 10))
    with pytest.raises(UsageError, match="Not in the library"):
        Indexer(workspace).forget([corpus / "never-indexed.md"])
    _consistent(workspace)


def test_renamed_file_is_repointed_without_embedding(workspace: Workspace, corpus: Path) -> None:
    Indexer(workspace).index([corpus])
    before = workspace.registry.document_by_path(str(corpus / "kettle.txt"))
    shutil.move(corpus / "kettle.txt", corpus / "kettle-manual.txt")
    counting = CountingEmbedder(workspace.embedder)
    workspace.embedder = counting  # type: ignore[assignment]
    report = Indexer(workspace).index([corpus])
    after = workspace.registry.document_by_path(str(corpus / "kettle-manual.txt"))
    assert counting.texts == 0 and report.updated == 1 and report.removed == 0
    assert before is not None and after is not None and after.id == before.id
    assert Retriever(workspace).search("KX-409", 1)[0].path.endswith("kettle-manual.txt")


def test_failing_file_inside_a_batch(workspace: Workspace, corpus: Path) -> None:
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    (corpus / "binary.txt").write_bytes(b"\x00\x01\x02" * 100)
    report = Indexer(workspace).index([corpus])
    assert report.added == 5
    assert sorted(os.path.basename(f.path) for f in report.failed) == ["binary.txt", "broken.pdf"]
    assert all(f.reason for f in report.failed)
    failed = workspace.registry.document_by_path(str(corpus / "broken.pdf"))
    assert failed is not None and failed.status == DocumentStatus.FAILED and failed.reason


def test_cancel_then_resume_embeds_only_the_rest(workspace: Workspace, tmp_path: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for n in range(12):
        (folder / f"note{n:02}.md").write_text("\n\n".join(f"Note {n} paragraph {p}. " * 30 for p in range(12)))
    workspace.settings = HearthSettings(index=IndexSettings(embed_batch_size=8))
    control = Control()
    flushed = {"count": 0}

    def stop_after_first_flush(progress: IndexProgress) -> None:
        if progress.chunks_done and not flushed["count"]:
            flushed["count"] = progress.chunks_done
            control.cancel()

    with pytest.raises(Cancelled):
        Indexer(workspace).index([folder], progress=stop_after_first_flush, control=control)
    done_first = workspace.registry.counts()["chunks"]
    assert done_first > 0
    _consistent(workspace)
    counting = CountingEmbedder(workspace.embedder)
    workspace.embedder = counting  # type: ignore[assignment]
    Indexer(workspace).index([folder])
    total = workspace.registry.counts()["chunks"]
    assert counting.texts == total - done_first, "resume must embed only what was not stored"
    assert all(d.status == DocumentStatus.INDEXED for d in workspace.registry.documents())
    _consistent(workspace)


def test_changing_chunk_settings_rebuilds(workspace: Workspace, corpus: Path, hearth_home: Path) -> None:
    Indexer(workspace).index([corpus])
    first = workspace.registry.counts()["chunks"]
    smaller = Workspace(hearth_home, settings=HearthSettings(index=IndexSettings(chunk_tokens=40, chunk_overlap=8)),
                        models_dir=workspace.models_dir)
    smaller.embedder = workspace.embedder
    assert smaller.rebuild_needed
    Indexer(smaller).index([corpus])
    assert not smaller.rebuild_needed
    assert smaller.registry.counts()["chunks"] > first
    _consistent(smaller)
    smaller.close()


def test_settings_changed_during_a_run_leave_the_index_to_rebuild(workspace: Workspace, corpus: Path) -> None:
    """The window's settings are live: a passage size (or a vector store) chosen while files are being
    indexed must not be recorded as what the index was made with."""
    changed: list[bool] = []

    def progress(_: object) -> None:
        if not changed:
            changed.append(True)
            workspace.settings = workspace.settings.updated(index={"chunk_tokens": 100})

    Indexer(workspace).index([corpus], progress=progress)
    assert changed and workspace.rebuild_needed
    Indexer(workspace).index([corpus])
    assert not workspace.rebuild_needed
    _consistent(workspace)


def test_missing_path_and_empty_folder_are_usage_errors(workspace: Workspace, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="No such file or folder"):
        Indexer(workspace).index([tmp_path / "nope"])
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "photo.gif").write_bytes(b"GIF89a")
    with pytest.raises(UsageError, match="Nothing Hearth can read"):
        Indexer(workspace).index([tmp_path / "empty"])


def test_restrict_search_to_documents(workspace: Workspace, corpus: Path) -> None:
    Indexer(workspace).index([corpus])
    kettle = workspace.registry.document_by_path(str(corpus / "kettle.txt"))
    assert kettle is not None
    hits = Retriever(workspace).search("Saturn rings", 5, document_ids=[kettle.id])
    assert hits and all(hit.document_id == kettle.id for hit in hits)


def test_multi_page_pdf_keeps_page_numbers(workspace: Workspace, tmp_path: Path) -> None:
    pdf = tmp_path / "book.pdf"
    write_pdf(pdf, [f"Page {n} talks about topic number {n} in depth." for n in range(1, 8)]
              + ["The secret password of the lighthouse keeper is marmalade."])
    Indexer(workspace).index([pdf])
    assert Retriever(workspace).search("lighthouse keeper password", 1)[0].page == 8


def test_parser_that_cannot_start_fails_the_files_instead_of_looping(corpus: Path, embedder_folder: Path) -> None:
    from desktop.ingest.limits import LoadLimits
    from desktop.ingest.parsing import CANNOT_START, ChunkingConfig, ParserConfig, ParserPool

    # 16 MB of address space is too little for a Python worker to even start.
    chunking = ChunkingConfig(tokenizer_folder=embedder_folder, max_tokens=200, overlap=32, context_tokens=54)
    config = ParserConfig(limits=LoadLimits(), timeout_s=30, memory_mb=16, chunking=chunking)
    paths = [str(p) for p in sorted(corpus.iterdir())]
    outcomes = list(ParserPool(config).parse(paths))
    assert sorted(o.path for o in outcomes) == sorted(paths)
    assert {o.error for o in outcomes} == {CANNOT_START}


def _ready_then_gone(connection: Connection, _config: object) -> None:
    """A parse worker that hangs up as soon as it says it is ready, before any file reaches it."""
    from desktop.ingest.parsing import READY

    connection.send_bytes(READY)
    connection.close()
    time.sleep(1)  # alive, but deaf: the file sent to it meets a broken pipe


def test_workers_that_die_once_ready_fail_the_files_instead_of_looping(
    corpus: Path, embedder_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import desktop.ingest.parsing as parsing
    from desktop.ingest.limits import LoadLimits

    monkeypatch.setattr(parsing, "_worker_main", _ready_then_gone)
    real_wait = parsing.wait

    def unhurried_wait(*args: Any, **kwargs: Any) -> Any:
        ready = real_wait(*args, **kwargs)
        time.sleep(0.2)  # so that the worker has hung up before it is sent a file
        return ready

    monkeypatch.setattr(parsing, "wait", unhurried_wait)
    config = parsing.ParserConfig(limits=LoadLimits(), timeout_s=30, memory_mb=2048, chunking=None)
    paths = [str(p) for p in sorted(corpus.iterdir())]
    outcomes = list(parsing.ParserPool(config).parse(paths))
    assert sorted(o.path for o in outcomes) == sorted(paths)  # every file reported, no hang
    assert {o.error for o in outcomes} == {parsing.CANNOT_START}  # none blamed on its file


def test_oversized_file_is_refused_without_being_read(workspace: Workspace, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import desktop.services.indexing as indexing

    folder = tmp_path / "logs"
    folder.mkdir()
    with open(folder / "huge.log", "wb") as handle:
        handle.write(b"start of a very long line")
        handle.truncate(2 * 2**30)  # sparse: 2 GB on paper, nothing on disk
    (folder / "small.md").write_text("A small note about owls.")
    hashed: list[Path] = []
    real_hash = indexing.sha256_of

    def counted(path: Path) -> str:
        hashed.append(path)
        return real_hash(path)

    monkeypatch.setattr(indexing, "sha256_of", counted)
    report = Indexer(workspace).index([folder])
    assert [f.reason for f in report.failed] == ["file is larger than the 256 MB limit"]
    assert hashed == [folder / "small.md"] and report.added == 1
    assert Indexer(workspace).index([folder]).unchanged == 2  # and it is not looked at again


def test_unsupported_file_is_reported_and_not_kept_as_a_root(workspace: Workspace, corpus: Path) -> None:
    photo = corpus.parent / "photo.xyz"
    photo.write_bytes(b"\x00")
    report = Indexer(workspace).index([corpus, photo])
    assert [f.path for f in report.failed] == [str(photo)]
    assert workspace.registry.roots() == [str(corpus)]
