"""Parse and chunk files in worker processes, each with a time limit and a memory cap.

A hostile or huge file can hang a parser, exhaust memory or crash native code. Here that only
costs one worker process: it is killed or found dead, the file is reported as failed with a
reason, a fresh worker takes its place, and the batch goes on. A driver thread keeps the
workers busy and drains their pipes while the caller is busy embedding.

Nothing a worker sends is unpickled: a worker that parsed a hostile file may be the attacker's,
so its replies are raw frames, ``READY``, ``STEP`` and the JSON of an OcrStep as a page's OCR starts,
``PAGE`` and the JSON of an OcrPage as it ends, or the JSON of a ParseOutcome, and anything else
marks the worker as broken. Requests are the file's path as bytes, followed, when pages of it were
read by OCR before (a run interrupted mid-file), by a NUL and those pages' JSON: the worker reads
only the others.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from pydantic import Field, TypeAdapter, ValidationError
from pydantic_core import PydanticSerializationError

from desktop.core.errors import ParseError
from desktop.core.types import ExtractedDocument, Frozen, OcrPage, ParsedFile
from desktop.ingest.limits import LoadLimits
from desktop.ingest.loaders import NothingToRead, OcrPages

MAX_FAILED_STARTS = 3
CANNOT_START = "the parser could not start (is the parse memory limit too low?)"
CRASHED = "the parser crashed or ran out of memory"
GARBLED = "the parser sent an unreadable reply (it was stopped)"
READY = b"ready"  # a worker's first frame: it can take files
STEP = b"step "  # then an OcrStep's JSON: a page's OCR started (seconds a page, so worth showing)
PAGE = b"page "  # then an OcrPage's JSON: a page's OCR, kept so that an interrupted run need not read it again
_PAGES = TypeAdapter(list[OcrPage])


class ChunkingConfig(Frozen):
    tokenizer_folder: Path
    max_tokens: int
    context_tokens: int
    overlap: int


class ParserConfig(Frozen):
    limits: LoadLimits
    timeout_s: float
    memory_mb: int
    chunking: ChunkingConfig | None = None  # None: outcomes carry the extracted text instead of passages


class ParseOutcome(Frozen):
    path: str
    parsed: ParsedFile | None = None
    document: ExtractedDocument | None = None  # when the pool does not chunk
    error: str | None = None
    skipped: bool = False  # the error says the file holds no text (a photo), not that it could not be read
    parse_s: float = 0.0  # measured in the worker, for the benchmarks' time split
    chunk_s: float = 0.0


class OcrStep(Frozen):
    path: str = ""  # filled in by the app, which knows which file it gave the worker
    page: int = Field(ge=1)
    pages: int = Field(ge=1)

    def describe(self) -> str:
        return f"OCR page {self.page:,} of {self.pages:,}"


class PageRead(Frozen):
    path: str = ""  # filled in by the app, which knows which file it gave the worker
    page: OcrPage


StepCallback = Callable[[OcrStep], None]
PageCallback = Callable[[PageRead], None]


def make_chunker(config: ChunkingConfig) -> Any:
    from desktop.ingest.chunker import Chunker, load_tokenizer

    return Chunker(
        load_tokenizer(config.tokenizer_folder), config.max_tokens, config.overlap,
        context_tokens=config.context_tokens,
    )


def parse_one(path: Path, config: ParserConfig, chunker: Any = None, ocr: OcrPages | None = None) -> ParseOutcome:
    """Load (and chunk, if the config says so) one file in this process: the worker body."""
    from desktop.ingest.loaders import load_document

    started = time.perf_counter()
    document = load_document(path, config.limits, ocr)
    parsed_at = time.perf_counter()
    if config.chunking is None:
        return ParseOutcome(path=str(path), document=document, parse_s=parsed_at - started)
    chunks = (chunker or make_chunker(config.chunking)).chunk(document)
    if not chunks:
        raise ParseError("no text found")
    parsed = ParsedFile(kind=document.kind, title=document.title, pages=document.pages, chunks=tuple(chunks))
    return ParseOutcome(
        path=str(path), parsed=parsed, parse_s=parsed_at - started, chunk_s=time.perf_counter() - parsed_at
    )


def _worker_main(connection: Connection, config: ParserConfig) -> None:
    import resource

    cap = config.memory_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    chunker = make_chunker(config.chunking) if config.chunking is not None else None

    def step(page: int, pages: int) -> None:
        connection.send_bytes(STEP + OcrStep(page=page, pages=pages).model_dump_json().encode())

    def read(page: OcrPage) -> None:
        connection.send_bytes(PAGE + page.model_dump_json().encode())

    connection.send_bytes(READY)
    while True:
        try:
            request, _, known = connection.recv_bytes().partition(b"\0")  # a path holds no NUL
        except EOFError:
            return  # the indexer has gone away
        path = os.fsdecode(request)
        try:
            pages = {page.page: page.read for page in _PAGES.validate_json(known)} if known else {}
            outcome = parse_one(Path(path), config, chunker, OcrPages(pages, started=step, finished=read))
        except NothingToRead as exc:
            outcome = ParseOutcome(path=path, error=str(exc), skipped=True)
        except ParseError as exc:
            outcome = ParseOutcome(path=path, error=str(exc))
        except MemoryError:
            outcome = ParseOutcome(path=path, error=f"needs more than the {config.memory_mb} MB memory limit")
        except Exception as exc:  # a parser bug must cost one file, not the batch
            outcome = ParseOutcome(path=path, error=f"could not be read ({type(exc).__name__})")
        connection.send_bytes(_encode(outcome))


def _encode(outcome: ParseOutcome) -> bytes:
    """The outcome's JSON, without its path: the app knows which file it gave this worker."""
    try:
        return outcome.model_copy(update={"path": ""}).model_dump_json().encode()
    except PydanticSerializationError:  # text that is not valid Unicode (lone surrogates)
        return ParseOutcome(path="", error="its text is not valid Unicode").model_dump_json().encode()


def _decode(frame: bytes, path: str) -> ParseOutcome | OcrStep | PageRead | None:
    """The outcome, step or page a worker sent for ``path``, or None if the frame is none (never unpickled)."""
    try:
        if frame.startswith(STEP):
            return OcrStep.model_validate_json(frame[len(STEP):]).model_copy(update={"path": path})
        if frame.startswith(PAGE):
            return PageRead(path=path, page=OcrPage.model_validate_json(frame[len(PAGE):]))
        return ParseOutcome.model_validate_json(frame).model_copy(update={"path": path})
    except ValidationError:
        return None


@dataclass
class _Worker:
    process: Any
    connection: Connection
    ready: bool = False
    job: str | None = None
    started: float = 0.0
    step: OcrStep | None = None  # the job's last step


class ParserPool:
    def __init__(
        self,
        config: ParserConfig,
        workers: int = 1,
        *,
        prefetch: int = 32,
        on_step: StepCallback | None = None,
        on_page: PageCallback | None = None,
    ) -> None:
        """``on_step`` is told of each OCR page as it starts, ``on_page`` given each as it is read (before any
        later step or outcome of its file), both in the thread that iterates ``parse``."""
        self.config = config
        self.size = max(1, workers)
        self.on_step = on_step
        self.on_page = on_page
        self._context = multiprocessing.get_context("spawn")
        self._results: queue.Queue[ParseOutcome | OcrStep | PageRead | None] = queue.Queue(maxsize=prefetch)
        self._known: Mapping[str, Sequence[OcrPage]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._workers: list[_Worker] = []

    def parse(
        self, paths: Iterable[str], known: Mapping[str, Sequence[OcrPage]] | None = None
    ) -> Iterator[ParseOutcome]:
        """Outcomes in completion order; stops early if ``close()`` or ``cancel()`` is called. ``known``: pages
        of these files read by OCR before, which are not read again."""
        self._known = known or {}
        pending = list(paths)
        if not pending or self._stop.is_set():
            return
        self._thread = threading.Thread(target=self._drive, args=(pending,), name="parser-pool", daemon=True)
        self._thread.start()
        try:
            while (outcome := self._next()) is not None:
                yield outcome
        finally:
            self.close()

    def cancel(self) -> None:
        """Stop soon, from any thread, without waiting: ``parse`` ends and its workers are killed."""
        self._stop.set()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            # Unblock a driver waiting to put a result.
            while self._thread.is_alive():
                with contextlib.suppress(queue.Empty):
                    self._results.get(timeout=0.05)
            self._thread = None

    def _next(self) -> ParseOutcome | None:
        """The next outcome; None at the end or once stopped (a cancelled driver sends no end mark)."""
        while True:
            try:
                item = self._results.get(timeout=0.1)
            except queue.Empty:
                if self._stop.is_set():
                    return None
                continue
            if isinstance(item, PageRead):
                if self.on_page is not None:
                    self.on_page(item)
            elif isinstance(item, OcrStep):
                if self.on_step is not None:
                    self.on_step(item)
            else:
                return item

    def _spawn(self) -> _Worker:
        parent, child = self._context.Pipe()
        process = self._context.Process(target=_worker_main, args=(child, self.config), daemon=True)
        process.start()
        child.close()
        return _Worker(process, parent)

    def _kill(self, worker: _Worker) -> None:
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join(timeout=5)
        worker.connection.close()

    def _emit(self, outcome: ParseOutcome | PageRead | None) -> bool:
        while not self._stop.is_set():
            try:
                self._results.put(outcome, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _offer(self, step: OcrStep) -> None:
        """Progress only: dropped when the consumer is behind, never waited for."""
        with contextlib.suppress(queue.Full):
            self._results.put_nowait(step)

    def _receive(self, worker: _Worker) -> tuple[ParseOutcome | None, bool]:
        """Read one frame from ``worker``: (the outcome it finished, if any; whether to replace it).
        A page read is passed on at once, never dropped: it is what a resumed run will not read again."""
        try:
            frame = worker.connection.recv_bytes()
        except (EOFError, OSError):
            return (ParseOutcome(path=worker.job, error=CRASHED) if worker.job else None), True
        if frame == READY and not worker.ready:
            worker.ready = True
            return None, False
        outcome = _decode(frame, worker.job) if worker.job else None
        if outcome is None:  # not our protocol: stop the worker, never interpret what it sent
            return (ParseOutcome(path=worker.job, error=GARBLED) if worker.job else None), True
        if isinstance(outcome, OcrStep):
            worker.step = outcome
            self._offer(outcome)
            return None, False
        if isinstance(outcome, PageRead):
            self._emit(outcome)
            return None, False
        return outcome, False

    def _request(self, path: str) -> bytes:
        known = self._known.get(path)
        return os.fsencode(path) + (b"\0" + _PAGES.dump_json(list(known)) if known else b"")

    def _too_slow(self, worker: _Worker) -> str:
        reason = f"took longer than {self.config.timeout_s:g} s to read"
        if worker.step is not None:  # a long scan: say how far OCR got, and what lets it read more
            reason += f" (OCR reached page {worker.step.page:,} of {worker.step.pages:,}; raise parse_timeout_s)"
        return reason

    def _drive(self, pending: list[str]) -> None:
        todo = list(reversed(pending))
        in_flight = 0
        failed_starts = 0  # consecutive workers that died before they were ready, or while idle
        try:
            self._workers = [self._spawn() for _ in range(min(self.size, len(pending)))]
            while (todo or in_flight) and not self._stop.is_set():
                for worker in self._workers:
                    if worker.ready and worker.job is None and todo:
                        job = todo.pop()
                        try:
                            worker.connection.send_bytes(self._request(job))
                        except OSError:  # it died since it said it was ready: its end of file comes next
                            todo.append(job)
                            continue
                        worker.job, worker.started, worker.step = job, time.monotonic(), None
                        in_flight += 1
                now = time.monotonic()
                deadlines = [w.started + self.config.timeout_s - now for w in self._workers if w.job]
                timeout = max(0.0, min(deadlines)) if deadlines else 1.0
                readable = wait([w.connection for w in self._workers], timeout=min(timeout, 1.0))
                for index, worker in enumerate(list(self._workers)):
                    outcome: ParseOutcome | None = None
                    replace = False
                    if worker.connection in readable:
                        outcome, replace = self._receive(worker)
                    elif worker.job and time.monotonic() - worker.started > self.config.timeout_s:
                        replace = True
                        outcome = ParseOutcome(path=worker.job, error=self._too_slow(worker))
                    if outcome is not None:
                        worker.job = None
                        in_flight -= 1
                        if not self._emit(outcome):
                            return
                    if replace:
                        self._kill(worker)
                        # A worker lost over a file was the file's doing; one lost before it was
                        # ready, or while idle, was not.
                        failed_starts = 0 if outcome is not None else failed_starts + 1
                        if failed_starts >= MAX_FAILED_STARTS:
                            # Workers that die without a file's help will keep dying: give up on the rest.
                            unfinished = [w.job for w in self._workers if w.job] + list(reversed(todo))
                            for path in unfinished:
                                if not self._emit(ParseOutcome(path=path, error=CANNOT_START)):
                                    return
                            return
                        self._workers[index] = self._spawn()
        finally:
            for worker in self._workers:
                self._kill(worker)
            self._workers = []
            self._emit(None)
