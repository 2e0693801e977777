"""Parse and chunk files in worker processes, each with a time limit and a memory cap.

A hostile or huge file can hang a parser, exhaust memory or crash native code. Here that only
costs one worker process: it is killed or found dead, the file is reported as failed with a
reason, a fresh worker takes its place, and the batch goes on. A driver thread keeps the
workers busy and drains their pipes while the caller is busy embedding.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import queue
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from desktop.core.errors import ParseError
from desktop.core.types import Frozen, ParsedFile
from desktop.ingest.limits import LoadLimits

MAX_FAILED_STARTS = 3
CANNOT_START = "the parser could not start (is the parse memory limit too low?)"


class ParserConfig(Frozen):
    tokenizer_folder: Path
    max_tokens: int
    context_tokens: int
    overlap: int
    limits: LoadLimits
    timeout_s: float
    memory_mb: int


class ParseOutcome(Frozen):
    path: str
    parsed: ParsedFile | None = None
    error: str | None = None
    parse_s: float = 0.0  # measured in the worker, for the benchmarks' time split
    chunk_s: float = 0.0


def make_chunker(config: ParserConfig) -> Any:
    from desktop.ingest.chunker import Chunker, load_tokenizer

    return Chunker(
        load_tokenizer(config.tokenizer_folder), config.max_tokens, config.overlap,
        context_tokens=config.context_tokens,
    )


def parse_one(path: Path, config: ParserConfig, chunker: Any = None) -> ParseOutcome:
    """Load and chunk one file in this process (the worker body; also handy in tests)."""
    from desktop.ingest.loaders import load_document

    if chunker is None:
        chunker = make_chunker(config)
    started = time.perf_counter()
    document = load_document(path, config.limits)
    parsed_at = time.perf_counter()
    chunks = chunker.chunk(document)
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
    chunker = make_chunker(config)
    connection.send("ready")
    while True:
        try:
            path = connection.recv()
        except EOFError:
            return  # the indexer has gone away
        try:
            outcome = parse_one(Path(path), config, chunker).model_copy(update={"path": path})
        except ParseError as exc:
            outcome = ParseOutcome(path=path, error=str(exc))
        except MemoryError:
            outcome = ParseOutcome(path=path, error=f"needs more than the {config.memory_mb} MB memory limit")
        except Exception as exc:  # a parser bug must cost one file, not the batch
            outcome = ParseOutcome(path=path, error=f"could not be read ({type(exc).__name__})")
        connection.send(outcome)


@dataclass
class _Worker:
    process: Any
    connection: Connection
    ready: bool = False
    job: str | None = None
    started: float = 0.0


class ParserPool:
    def __init__(self, config: ParserConfig, workers: int = 1, *, prefetch: int = 32) -> None:
        self.config = config
        self.size = max(1, workers)
        self._context = multiprocessing.get_context("spawn")
        self._results: queue.Queue[ParseOutcome | None] = queue.Queue(maxsize=prefetch)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._workers: list[_Worker] = []

    def parse(self, paths: Iterable[str]) -> Iterator[ParseOutcome]:
        """Outcomes in completion order; stops early if ``close()`` is called."""
        pending = list(paths)
        if not pending:
            return
        self._thread = threading.Thread(target=self._drive, args=(pending,), name="parser-pool", daemon=True)
        self._thread.start()
        try:
            while (outcome := self._results.get()) is not None:
                yield outcome
        finally:
            self.close()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            # Unblock a driver waiting to put a result.
            while self._thread.is_alive():
                with contextlib.suppress(queue.Empty):
                    self._results.get(timeout=0.05)
            self._thread = None

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

    def _emit(self, outcome: ParseOutcome | None) -> bool:
        while not self._stop.is_set():
            try:
                self._results.put(outcome, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _drive(self, pending: list[str]) -> None:
        todo = list(reversed(pending))
        in_flight = 0
        failed_starts = 0  # consecutive workers that died before they were ready
        try:
            self._workers = [self._spawn() for _ in range(min(self.size, len(pending)))]
            while (todo or in_flight) and not self._stop.is_set():
                for worker in self._workers:
                    if worker.ready and worker.job is None and todo:
                        worker.job, worker.started = todo.pop(), time.monotonic()
                        worker.connection.send(worker.job)
                        in_flight += 1
                now = time.monotonic()
                deadlines = [w.started + self.config.timeout_s - now for w in self._workers if w.job]
                timeout = max(0.0, min(deadlines)) if deadlines else 1.0
                readable = wait([w.connection for w in self._workers], timeout=min(timeout, 1.0))
                for index, worker in enumerate(list(self._workers)):
                    outcome: ParseOutcome | None = None
                    replace = False
                    if worker.connection in readable:
                        try:
                            message = worker.connection.recv()
                        except (EOFError, OSError):
                            replace = True
                            if worker.job:
                                outcome = ParseOutcome(
                                    path=worker.job, error="the parser crashed or ran out of memory"
                                )
                        else:
                            if message == "ready":
                                worker.ready = True
                            else:
                                outcome = message
                    elif worker.job and time.monotonic() - worker.started > self.config.timeout_s:
                        replace = True
                        outcome = ParseOutcome(
                            path=worker.job, error=f"took longer than {self.config.timeout_s:g} s to read"
                        )
                    if outcome is not None:
                        worker.job = None
                        in_flight -= 1
                        if not self._emit(outcome):
                            return
                    if replace:
                        self._kill(worker)
                        failed_starts = 0 if worker.ready else failed_starts + 1
                        if failed_starts >= MAX_FAILED_STARTS:
                            # Workers that die before they are ready will keep dying: give up on the rest.
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
