"""``Hearth --selftest``: a headless end-to-end check of an installed Hearth, frozen or not.

In a temporary data folder the sample documents are indexed (txt, md and html from
resources/samples, plus a PDF and a DOCX written on the spot), each is found by a search, and the
default model answers a question whose source must be the right page of the PDF. It prints one
JSON line on stdout and exits 0 only if every step passed; a failure is a JSON line with the step
and the reason, and exit 1, never a traceback.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from pydantic import BaseModel

from desktop import __version__
from desktop.core import paths
from desktop.core.errors import HearthError
from desktop.core.offline import enforce_offline
from desktop.core.settings import GenerationSettings, load_settings
from desktop.core.types import MessageStatus
from desktop.selftest_samples import PDF_NAME, write_generated_samples

TEXT_SAMPLES = ("kettle.txt", "garden.md", "bicycle.html")
# One query per sample: each must rank its own file first.
QUERIES = {
    "kettle.txt": "error code KX-409",
    "garden.md": "Brandywine-7731 tomatoes",
    "bicycle.html": "tyre pressure for road tyres",
    "astronomy.pdf": "what Saturn's rings are made of",
    "recipes.docx": "how long to knead the dough",
}
QUESTION = "What are Saturn's rings made of?"
EXPECTED_SOURCE = (PDF_NAME, 2, "water ice")  # file, page, words the passage holds
# Short and deterministic: the point is that the model runs, not what it writes.
GENERATION = GenerationSettings(max_tokens=48, temperature=0.0, seed=7, context_length=2048)


class CitationCheck(BaseModel):
    n: int
    path: str
    page: int | None
    cited_by_model: bool  # the model wrote [n]; small models often do not, so it is reported, not required


class SelfTestReport(BaseModel):
    ok: bool = False
    version: str = __version__
    frozen: bool = bool(getattr(sys, "frozen", False))
    indexed: int = 0
    searched: int = 0
    search_hit: str | None = None
    answer_chars: int = 0
    citation: CitationCheck | None = None
    seconds: float = 0.0
    steps: dict[str, float] = {}  # seconds per step
    reason: str | None = None


class StepFailed(Exception):
    pass


def _check(condition: bool, reason: str) -> None:
    if not condition:
        raise StepFailed(reason)


class _SelfTest:
    def __init__(self, root: Path, report: SelfTestReport, stack: contextlib.ExitStack) -> None:
        self.documents = root / "documents"
        self.data_dir = root / "data"
        self.report = report
        self.stack = stack

    def samples(self) -> None:
        source = paths.resources_dir() / "samples"
        self.documents.mkdir()
        for name in TEXT_SAMPLES:
            _check((source / name).is_file(), f"sample {source / name} is missing")
            shutil.copy(source / name, self.documents / name)
        write_generated_samples(self.documents)

    def index(self) -> None:
        from desktop.services.home import Home
        from desktop.services.indexing import Indexer

        self.home = Home(self.data_dir, settings=load_settings(self.data_dir, generation=GENERATION))
        self.workspace = self.home.workspace(writes=True)
        self.stack.callback(self.workspace.close)
        result = Indexer(self.workspace).index([self.documents])
        failures = "; ".join(f"{Path(f.path).name}: {f.reason}" for f in result.failed)
        _check(not failures, f"some samples failed: {failures}")
        self.report.indexed = result.added
        _check(result.added == len(QUERIES), f"{result.added} of {len(QUERIES)} samples indexed")

    def search(self) -> None:
        from desktop.services.retrieval import Retriever

        retriever = Retriever(self.workspace)
        for name, query in QUERIES.items():
            hits = retriever.search(query, 3)
            top = Path(hits[0].path).name if hits else None
            self.report.search_hit = self.report.search_hit or top
            _check(top == name, f"searching {query!r} found {top}, not {name}")
            self.report.searched += 1

    def ask(self) -> None:
        from desktop.services.answering import AnswerFinished

        conversations = self.home.conversations()
        self.stack.callback(conversations.close)
        answerer = self.home.answerer(workspace=self.workspace, conversations=conversations)
        self.stack.callback(answerer.host.close)
        finished = [e.message for e in answerer.ask(QUESTION) if isinstance(e, AnswerFinished)]
        _check(len(finished) == 1, "the answer never finished")
        message = finished[0]
        self.report.answer_chars = len(message.text)
        complete = message.status == MessageStatus.COMPLETE and bool(message.text.strip())
        _check(complete, f"the answer is {message.status} and {len(message.text)} characters long")
        saved = conversations.messages(message.conversation_id)
        _check(saved[-1].text == message.text, "the answer was not saved")
        _check(bool(message.passages), "the answer was given no sources")
        source = message.passages[0]
        name, page, words = EXPECTED_SOURCE
        self.report.citation = CitationCheck(
            n=source.n, path=Path(source.path).name, page=source.page, cited_by_model=source.cited
        )
        _check((Path(source.path).name, source.page) == (name, page), f"source [1] is not {name} page {page}")
        _check(words in source.text, f"source [1] does not contain {words!r}")
        shown = {p.path for p in message.passages}
        _check(all(c.path in shown for c in message.citations), "a citation names a source that was not shown")


def run() -> SelfTestReport:
    """Every step in order; the first failure stops the run and names the step."""
    enforce_offline()
    started = time.perf_counter()
    report = SelfTestReport()
    step = "setup"
    try:
        with (
            tempfile.TemporaryDirectory(prefix="hearth-selftest-", ignore_cleanup_errors=True) as temp,
            contextlib.ExitStack() as stack,
        ):
            # Anything that falls back to the default data folder must land in the temporary one.
            stack.enter_context(_environment("HEARTH_HOME", str(Path(temp) / "data")))
            test = _SelfTest(Path(temp), report, stack)
            steps: list[Callable[[], None]] = [test.samples, test.index, test.search, test.ask]
            for action in steps:
                step, step_started = action.__name__, time.perf_counter()
                action()
                report.steps[step] = round(time.perf_counter() - step_started, 1)
        report.ok = True
    except (StepFailed, HearthError) as exc:
        report.reason = f"{step}: {exc}"
    except (Exception, KeyboardInterrupt) as exc:  # a bug or a broken bundle: reported, never a traceback
        report.reason = f"{step}: {type(exc).__name__}: {exc}"
    report.seconds = round(time.perf_counter() - started, 1)
    return report


@contextlib.contextmanager
def _environment(name: str, value: str) -> Iterator[None]:
    previous = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Keep stdout for the JSON line: native libraries and child processes write to file descriptor 1."""
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (AttributeError, OSError, ValueError):  # no usable stdout (a windowed app): nothing to protect
        yield
        return
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def main() -> int:
    with _stdout_to_stderr():
        report = run()
    print(report.model_dump_json(), flush=True)
    return 0 if report.ok else 1
