"""Indexing: find what changed, parse it in worker processes, embed, store, report progress.

Write order keeps the stores consistent at every instant a crash can hit:
vectors are upserted before their chunk rows are committed (a chunk row always has its
vector), and chunk rows are deleted before their vectors (a leftover vector is an orphan
that search ignores and ``check --repair`` removes). A document is marked indexed only
after all its chunks are stored; a PENDING one is resumed next run, skipping stored chunks.
Each page read by OCR is kept (by the file's content) as soon as it is read, until the file is
indexed or refused: a run interrupted in a long scan reads only the pages it had not reached.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from desktop.core.control import Control
from desktop.core.errors import UsageError
from desktop.core.hashing import sha256_of
from desktop.core.types import (
    ChunkDraft,
    DocumentInfo,
    DocumentStatus,
    FailedFile,
    IndexPhase,
    IndexProgress,
    IndexReport,
    OcrPage,
    ParsedFile,
)
from desktop.core.userfiles import describe_os_error
from desktop.ingest.chunker import model_token_limit
from desktop.ingest.loaders import KINDS, SCANNED_OCR_OFF, kind_for
from desktop.ingest.parsing import ChunkingConfig, OcrStep, PageRead, ParseOutcome, ParserConfig, ParserPool
from desktop.ingest.walker import FoundFile, SkippedFile, walk
from desktop.services.documents import parser_config
from desktop.services.duplicates import record_copies
from desktop.services.workspace import Workspace
from desktop.store.registry import MAX_CHUNKS_PER_DOCUMENT

ProgressCallback = Callable[[IndexProgress], None]
log = logging.getLogger("hearth.indexing")

FLUSH_BATCHES = 4  # embedding batches committed together: the most a crash can lose
COPIES_KEY = "copies_found"  # the library's contents stamp when copies were last found
LAST_RUN_KEY = "last_run"  # when the last run that added passages began, and how many it added


@dataclass
class IndexStats:
    """Where the time of the last run went, in seconds (parsing and chunking run in workers)."""

    parse_s: float = 0.0
    chunk_s: float = 0.0
    embed_s: float = 0.0
    store_s: float = 0.0
    copies_s: float = 0.0  # finding which documents copy another
    total_s: float = 0.0
    bytes: int = 0


@dataclass
class _Job:
    found: FoundFile
    content_hash: str
    existing: DocumentInfo | None

    @property
    def resumable(self) -> bool:
        return (
            self.existing is not None
            and self.existing.status == DocumentStatus.PENDING
            and self.existing.content_hash == self.content_hash
        )


@dataclass
class _Tally:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    chunks: int = 0
    failed: list[FailedFile] = field(default_factory=list)
    skipped: list[FailedFile] = field(default_factory=list)

    def report(self) -> IndexReport:
        return IndexReport(
            added=self.added, updated=self.updated, unchanged=self.unchanged,
            removed=self.removed, failed=tuple(self.failed), skipped=tuple(self.skipped), chunks=self.chunks,
        )


class Indexer:
    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.settings = workspace.settings
        self.registry = workspace.registry
        self.stats = IndexStats()

    # -- public -------------------------------------------------------------------------------
    def index(
        self,
        paths: Sequence[Path],
        *,
        progress: ProgressCallback | None = None,
        control: Control | None = None,
    ) -> IndexReport:
        """Bring the index in line with ``paths``; raises Cancelled (work so far is kept)."""
        control = control or Control()
        notify = progress or (lambda _: None)
        self.stats = IndexStats()
        run_started = time.perf_counter()
        roots = [Path(os.path.abspath(p)) for p in paths]
        missing = [str(p) for p in roots if not os.path.lexists(p)]
        if missing:
            raise UsageError(f"No such file or folder: {missing[0]}")
        self.workspace.check_vectors()  # before anything is written
        self.workspace.settle()
        if self.workspace.rebuild_needed:
            self._reset_for_rebuild()
            roots = list(dict.fromkeys([*roots, *(Path(r) for r in self.registry.roots())]))
        # Settings changed during the run (the window's are live) must not be recorded as what made the
        # index: the signature at its start is, so a change (vectors moved, another passage size) rebuilds next.
        signature = self.workspace.index_signature()

        notify(IndexProgress(phase=IndexPhase.SCANNING))
        tally = _Tally()
        found, skipped = self._scan(roots)
        tally.failed.extend(FailedFile(path=s.path, reason=s.reason) for s in skipped)
        jobs = self._plan(found, tally, notify)
        self._remove_vanished(roots, found, skipped, tally)
        reading = {(job.found.path, job.content_hash) for job in jobs}
        for root in roots:  # pages read from files that changed or went since their reading was interrupted
            self.registry.drop_ocr_pages(under=str(root), keep=reading)
        if not found and not skipped and not tally.removed:
            raise UsageError(f"Nothing Hearth can read was found in {', '.join(map(str, roots))}")
        skipped_paths = {s.path for s in skipped}
        for root in roots:
            if str(root) not in skipped_paths:  # an unsupported or unreadable file is no library root
                self.registry.add_root(str(root))

        run_began_at = time.time()
        self._run(jobs, tally, notify, control)
        if tally.chunks:  # library drift compares this run's passages with the ones before it
            self.registry.set_meta(LAST_RUN_KEY, {"started": run_began_at, "chunks": tally.chunks})
        self.workspace.record_signature(signature)
        self._record_copies(control)
        self.stats.total_s = time.perf_counter() - run_started
        self.stats.bytes = sum(job.found.size for job in jobs)
        notify(IndexProgress(
            phase=IndexPhase.DONE, files_done=len(jobs), files_total=len(jobs),
            chunks_done=tally.chunks, failed=tuple(tally.failed),
        ))
        return tally.report()

    def forget(self, paths: Sequence[Path]) -> int:
        """Remove documents at or below ``paths`` from the index; returns how many."""
        targets = [os.path.abspath(p) for p in paths]
        documents = [doc for target in targets for doc in self.registry.documents(under=target)]
        known_roots = self.registry.roots()
        unknown = [t for t in targets if not any(d.path == t or d.path.startswith(t.rstrip("/") + "/")
                                                  for d in documents) and t not in known_roots]
        if unknown:
            raise UsageError(f"Not in the library: {unknown[0]}")
        for document in documents:
            self._delete(document)
        for target in targets:
            self.registry.drop_ocr_pages(under=target)
            for root in known_roots:
                if root == target or root.startswith(target.rstrip("/") + "/"):
                    self.registry.remove_root(root)
        return len(documents)

    def _record_copies(self, control: Control) -> None:
        """Which documents copy another, for search, whenever a document was indexed or removed since it
        was last found (a run stopped before this step leaves it to the next)."""
        stamp = self.registry.contents_stamp()
        if self.registry.get_meta(COPIES_KEY) == stamp:
            return
        began = time.perf_counter()
        try:
            record_copies(self.workspace, control.checkpoint)
        except (MemoryError, sqlite3.Error) as exc:  # what was indexed stands: search collapses passage copies
            log.warning("copies were not found this time (the next run tries again): %r", exc)
            return
        self.registry.set_meta(COPIES_KEY, stamp)
        self.stats.copies_s = time.perf_counter() - began

    # -- scanning -----------------------------------------------------------------------------
    def _scan(self, roots: list[Path]) -> tuple[list[FoundFile], list[SkippedFile]]:
        found: list[FoundFile] = []
        skipped: list[SkippedFile] = []
        # Without OCR an image holds no text Hearth can read: it is left out like any unsupported file.
        readable = {kind for kind in KINDS if self.settings.index.ocr or kind != "image"}
        supported = lambda path: kind_for(path) in readable  # noqa: E731
        # Links may lead into any folder of the library, so a re-sync of one folder judges them as a full run does.
        library = [Path(root) for root in self.registry.roots()]
        for item in walk(roots, ignore=self.settings.index.ignore_patterns, supported=supported, within=library,
                         follow_links=self.settings.index.follow_external_links):
            (found if isinstance(item, FoundFile) else skipped).append(item)  # type: ignore[arg-type]
        return found, skipped

    def _plan(self, found: list[FoundFile], tally: _Tally, notify: ProgressCallback) -> list[_Job]:
        """Decide per file: unchanged, moved, or to (re)index. Hashes only what stat can't clear."""
        jobs: list[_Job] = []
        too_big = int(self.settings.index.max_file_mb * 2**20)
        for number, item in enumerate(found, start=1):
            if number % 200 == 0:
                notify(IndexProgress(phase=IndexPhase.SCANNING, files_done=number, files_total=len(found),
                                     current_file=item.path))
            existing = self.registry.document_by_path(item.path)
            if (
                existing is not None
                and existing.status != DocumentStatus.PENDING
                and existing.size == item.size
                and existing.mtime == item.mtime
                and not self._ocr_turned_on_since(existing)
            ):
                tally.unchanged += 1
                continue
            if item.size > too_big:
                # Refused by size before it is read, so not worth hashing either (could be gigabytes).
                reason = f"file is larger than the {self.settings.index.max_file_mb:g} MB limit"
                self.workspace.drop_vectors(self.registry.mark_failed(
                    path=item.path, kind=kind_for(Path(item.path)) or "unknown", size=item.size,
                    mtime=item.mtime, content_hash=f"size:{item.size}", reason=reason,
                ))
                tally.failed.append(FailedFile(path=item.path, reason=reason))
                continue
            try:
                digest = sha256_of(Path(item.path))
            except OSError as exc:
                tally.failed.append(FailedFile(path=item.path, reason=describe_os_error(exc, opened=True)))
                continue
            if (
                existing is not None
                and existing.content_hash == digest
                and existing.status != DocumentStatus.PENDING
                and not self._ocr_turned_on_since(existing)
            ):
                self.registry.touch(existing.id, size=item.size, mtime=item.mtime)
                tally.unchanged += 1
                continue
            if existing is None and self._adopt_moved(item, digest):
                tally.updated += 1
                continue
            jobs.append(_Job(item, digest, existing))
        return jobs

    def _ocr_turned_on_since(self, document: DocumentInfo) -> bool:
        """A scan refused while OCR was off is read again once it is on."""
        refused = document.status == DocumentStatus.FAILED and document.reason == SCANNED_OCR_OFF
        return self.settings.index.ocr and refused

    def _adopt_moved(self, item: FoundFile, digest: str) -> bool:
        """A new path whose content matches an indexed document that vanished: a rename."""
        for candidate in self.registry.documents_with_hash(digest):
            if candidate.status == DocumentStatus.INDEXED and not os.path.lexists(candidate.path):
                self.registry.move(candidate.id, item.path, mtime=item.mtime)
                return True
        return False

    def _remove_vanished(
        self, roots: list[Path], found: list[FoundFile], skipped: list[SkippedFile], tally: _Tally
    ) -> None:
        # A file skipped by an error keeps what was indexed; one excluded by a rule (a link leaving the
        # library, say) loses it, or turning follow_external_links off would leave the targets searchable.
        present = {f.path for f in found} | {s.path for s in skipped if not s.excluded}
        for root in roots:
            for document in self.registry.documents(under=str(root)):
                if document.path not in present:
                    self._delete(document)
                    tally.removed += 1

    def _delete(self, document: DocumentInfo) -> None:
        self.workspace.drop_vectors(self.registry.delete_document(document.id))

    def _reset_for_rebuild(self) -> None:
        """New embedder or chunk settings: old vectors must not mix with new ones."""
        self.registry.invalidate_all()
        self.workspace.reset_vectors()
        self.workspace.record_signature()

    # -- indexing -----------------------------------------------------------------------------
    def _run(self, jobs: list[_Job], tally: _Tally, notify: ProgressCallback, control: Control) -> None:
        if not jobs:
            return
        by_path = {job.found.path: job for job in jobs}
        meter = _Meter(files_total=len(jobs), bytes_total=sum(job.found.size for job in jobs))
        batch = _Batch()
        flush_size = FLUSH_BATCHES * self.settings.index.embed_batch_size

        def report(current: str | None, step: OcrStep | None = None) -> None:
            notify(meter.progress(tally, current, step.describe() if step else None))

        def read(page: PageRead) -> None:
            self.registry.keep_ocr_page(page.path, by_path[page.path].content_hash, page.page)
            log.info("%s: page %d read by OCR", page.path, page.page.page)

        pool = ParserPool(
            self._parser_config(), workers=self.settings.index.parse_workers,
            on_step=lambda step: report(step.path, step), on_page=read,
        )

        try:
            for outcome in pool.parse(list(by_path), self._pages_read_before(jobs)):
                control.checkpoint()
                job = by_path[outcome.path]
                self.stats.parse_s += outcome.parse_s
                self.stats.chunk_s += outcome.chunk_s
                self._accept(job, outcome, batch, tally)
                meter.file_done(job.found.size)
                report(job.found.path)
                while batch.size >= flush_size:
                    self._flush(batch, tally, flush_size)
                    report(job.found.path)
                    control.checkpoint()
            while batch.size:
                self._flush(batch, tally, flush_size)
                report(None)
                control.checkpoint()
        finally:
            pool.close()

    def _pages_read_before(self, jobs: list[_Job]) -> dict[str, list[OcrPage]]:
        """Pages of these files read by OCR in a run that was interrupted."""
        kept = self.registry.ocr_page_hashes()
        known = {job.found.path: self.registry.ocr_pages(job.content_hash) for job in jobs if job.content_hash in kept}
        for path, pages in known.items():
            log.info("%s: %d pages read by OCR before are not read again", path, len(pages))
        return known

    def _parser_config(self) -> ParserConfig:
        folder = self.workspace.embedder_folder
        return parser_config(self.settings, ChunkingConfig(
            tokenizer_folder=folder,
            max_tokens=self.settings.index.chunk_tokens,
            context_tokens=model_token_limit(folder) - self.settings.index.chunk_tokens,
            overlap=self.settings.index.chunk_overlap,
        ))

    def _accept(self, job: _Job, outcome: ParseOutcome, batch: _Batch, tally: _Tally) -> None:
        item = job.found
        kind = kind_for(Path(item.path)) or "unknown"
        parsed = outcome.parsed
        if parsed is not None and len(parsed.chunks) > MAX_CHUNKS_PER_DOCUMENT:
            parsed, outcome = None, ParseOutcome(path=item.path, error="too many passages in one file")
        if parsed is None:
            # A photo in a folder of documents is no failure: it is reported apart, as skipped.
            status = DocumentStatus.SKIPPED if outcome.skipped else DocumentStatus.FAILED
            old = self.registry.mark_failed(
                path=item.path, kind=kind, size=item.size, mtime=item.mtime,
                content_hash=job.content_hash, reason=outcome.error or "unreadable", status=status,
            )
            self.workspace.drop_vectors(old)
            (tally.skipped if outcome.skipped else tally.failed).append(
                FailedFile(path=item.path, reason=outcome.error or "unreadable")
            )
            return
        if job.existing is not None and not job.resumable:
            self.workspace.drop_vectors(self.registry.clear_chunks(job.existing.id))
        document_id = self.registry.start_document(
            path=item.path, kind=parsed.kind, size=item.size, mtime=item.mtime, content_hash=job.content_hash
        )
        self.registry.set_parsed(document_id, title=parsed.title, pages=parsed.pages)
        if job.existing is None or (job.resumable and job.existing.indexed_at is None):
            tally.added += 1
        else:
            tally.updated += 1
        stored = self.registry.stored_seqs(document_id) if job.resumable else set()
        batch.add(document_id, parsed, stored)
        if batch.waiting.get(document_id) == 0:
            self._complete(batch, document_id)

    def _flush(self, batch: _Batch, tally: _Tally, limit: int) -> None:
        """Embed and commit up to ``limit`` waiting chunks: one unit a crash can lose."""
        items, batch.items = batch.items[:limit], batch.items[limit:]
        started = time.perf_counter()
        vectors = self.workspace.embedder.embed([draft.embedding_text() for _, _, draft in items])
        embedded = time.perf_counter()
        self.workspace.store_chunks(items, vectors)
        self.stats.embed_s += embedded - started
        self.stats.store_s += time.perf_counter() - embedded
        tally.chunks += len(items)
        for document_id, _, _ in items:
            batch.waiting[document_id] -= 1
        for document_id in [d for d, left in batch.waiting.items() if left == 0]:
            self._complete(batch, document_id)

    def _complete(self, batch: _Batch, document_id: int) -> None:
        self.registry.mark_indexed(document_id)
        del batch.waiting[document_id]


@dataclass
class _Meter:
    """Files and bytes done so far, and an ETA from the bytes still to parse."""

    files_total: int
    bytes_total: int
    files_done: int = 0
    bytes_done: int = 0
    started: float = field(default_factory=time.monotonic)

    def file_done(self, size: int) -> None:
        self.files_done += 1
        self.bytes_done += size

    def progress(self, tally: _Tally, current: str | None, step: str | None = None) -> IndexProgress:
        elapsed = time.monotonic() - self.started
        eta = elapsed / self.bytes_done * (self.bytes_total - self.bytes_done) if self.bytes_done else None
        return IndexProgress(
            phase=IndexPhase.INDEXING, files_done=self.files_done, files_total=self.files_total,
            chunks_done=tally.chunks, current_file=current, step=step, eta_seconds=eta, failed=tuple(tally.failed),
        )


@dataclass
class _Batch:
    """Chunks parsed but not yet embedded, and how many each document still waits for."""

    items: list[tuple[int, str | None, ChunkDraft]] = field(default_factory=list)
    waiting: dict[int, int] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.items)

    def add(self, document_id: int, parsed: ParsedFile, stored: set[int]) -> None:
        fresh = [draft for draft in parsed.chunks if draft.seq not in stored]
        self.items.extend((document_id, parsed.title, draft) for draft in fresh)
        self.waiting[document_id] = len(fresh)
