"""Whole-document work: summarising a PDF of about 100 pages, and the map stage's speed against a
bare llama-cpp-python loop on the very same prompts.

Hearth's side is what `hearth summarize` runs (DocumentWork: the parse worker, planning with the
model's tokenizer, each part through the model host under its JSON grammar, the parts saved to the
data folder, the reduce). Every map prompt and its schema are recorded and given, as they are, to a
bare loop in a worker process of its own (same model, context, threads, sampling and grammar).
Speed is tokens after the first over the time from the first token to the last, summed over the
parts, on both sides; each prompt is replayed right after Hearth answered it. Prints a table, then
one JSON line.

Run: ``.venv/bin/python benchmarks/bench_documents.py [--pages 100] [--threads N]``. llama.cpp
slows down sharply when other processes compete for its cores: run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import PeakMemory, bundled_model, print_json, print_table
from desktop.core.cpu import physical_cores
from desktop.core.document_task import TaskKind, document_task
from desktop.core.offline import enforce_offline, use_llama_threading
from desktop.core.paths import models_dir
from desktop.core.settings import GenerationSettings, HearthSettings
from desktop.llm.host import GenerationResult, ModelHost, TokenEvent
from desktop.services.document_tasks import DocumentWork, TaskResult
from desktop.services.workspace import Workspace
from tests.samples import write_pdf

MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SETTINGS = GenerationSettings(temperature=0.0, seed=11, context_length=4096)
TOPICS = ["the harbour", "the lighthouse", "the ferry", "the fish market", "the storm wall", "the customs house"]
PAGE = (
    "Page {n}. The town council discussed {topic} on {day} March. The treasurer reported costs of {cost} EUR "
    "and Inspector Hale asked for a report by {day} April. Residents described the work, the weather and the "
    "boats that came in that week; the minutes list who spoke and what was agreed. "
)


def _write_report(path: Path, pages: int) -> None:
    write_pdf(path, [
        PAGE.format(n=n, topic=TOPICS[n % len(TOPICS)], day=1 + n % 28, cost=1000 + 37 * n) * 2
        for n in range(1, pages + 1)
    ])


class _RecordingHost(ModelHost):
    """Keeps every prompt and schema Hearth sent, and each answer's timings."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[tuple[str, str | None]] = []
        self.results: list[GenerationResult] = []

    def generate(
        self,
        prompt: str,
        settings: GenerationSettings,
        *,
        json_schema: str | None = None,
        banned_line_starts: tuple[str, ...] = (),
    ) -> Iterator[TokenEvent | GenerationResult]:
        self.requests.append((prompt, json_schema))
        for event in super().generate(prompt, settings, json_schema=json_schema, banned_line_starts=banned_line_starts):
            if isinstance(event, GenerationResult):
                self.results.append(event)
            yield event


# The bare side, in its worker process.
_bare: Any = None


def _bare_load(model: str, threads: int, context: int) -> None:
    global _bare
    use_llama_threading()
    import llama_cpp

    _bare = llama_cpp.Llama(model_path=model, n_ctx=context, n_threads=threads, n_threads_batch=threads,
                            seed=SETTINGS.seed, verbose=False)


def _bare_run(prompt: str, schema: str | None, max_tokens: int) -> tuple[int, float]:
    """The loop an application would write: tokenize, generate under the grammar, stop at end of turn.
    Returns (token intervals, seconds from the first token to the last)."""
    import llama_cpp

    llm = _bare
    grammar = llama_cpp.LlamaGrammar.from_json_schema(schema, verbose=False) if schema else None
    vocab = llm._model.vocab
    tokens = llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=True)
    if len(tokens) >= 2 and tokens[0] == tokens[1] == llm.token_bos():
        del tokens[0]
    llm.set_seed(SETTINGS.seed)
    times: list[float] = []
    for token in llm.generate(tokens, top_k=SETTINGS.top_k, top_p=SETTINGS.top_p, temp=SETTINGS.temperature,
                              repeat_penalty=SETTINGS.repeat_penalty, grammar=grammar):
        times.append(time.perf_counter())
        if llama_cpp.llama_vocab_is_eog(vocab, token):
            break
        llm.detokenize([token])
        if len(times) >= max_tokens:
            break
    return len(times) - 1, times[-1] - times[0] if len(times) > 1 else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description="Summarising a long PDF, and the map stage against a bare loop.")
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--threads", type=int, default=physical_cores(), help="default: physical cores")
    args = parser.parse_args()
    enforce_offline()
    model = bundled_model(MODEL_FILE)
    if model is None:
        return 1
    generation = SETTINGS.model_copy(update={"threads": args.threads})
    scratch = tempfile.TemporaryDirectory()
    report = Path(scratch.name) / "council-minutes.pdf"
    _write_report(report, args.pages)
    workspace = Workspace(Path(scratch.name) / "home", settings=HearthSettings(generation=generation))
    host = _RecordingHost()
    bare = ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn"))
    try:
        host.load(model, generation, models_dir=models_dir())
        bare.submit(_bare_load, str(model), args.threads, host.context_length or SETTINGS.context_length).result()
        # Each prompt goes to the bare loop as soon as Hearth has answered it, so drifts in machine load
        # hit both alike; the bare runs' time is taken out of Hearth's.
        result: TaskResult | None = None
        bare_runs: list[tuple[int, float]] = []
        bare_wall = 0.0
        with PeakMemory() as memory:
            started = time.perf_counter()
            for event in DocumentWork(workspace, host, generation).run(document_task(TaskKind.SUMMARY, [report])):
                if isinstance(event, TaskResult):
                    result = event
                while len(bare_runs) < len(host.results):
                    (prompt, schema), answer = host.requests[len(bare_runs)], host.results[len(bare_runs)]
                    began = time.perf_counter()
                    bare_runs.append(bare.submit(_bare_run, prompt, schema, answer.generated_tokens + 1).result())
                    bare_wall += time.perf_counter() - began
            summary_s = time.perf_counter() - started - bare_wall
        assert result is not None and result.complete
        mapped = host.results[: result.parts]
        hearth_intervals = sum(r.tokens_per_second * r.generation_ms / 1000 for r in mapped)
        hearth_s = sum(r.generation_ms / 1000 for r in mapped)
        bare_intervals = sum(intervals for intervals, _ in bare_runs[: result.parts])
        bare_s = sum(seconds for _, seconds in bare_runs[: result.parts])
    finally:
        host.close()
        bare.shutdown()
        workspace.close()
        scratch.cleanup()
    hearth_tps = hearth_intervals / hearth_s if hearth_s else 0.0
    bare_tps = bare_intervals / bare_s if bare_s else 0.0
    ratio = hearth_tps / bare_tps if bare_tps else 0.0
    print_table(f"Summarising a {args.pages}-page PDF ({MODEL_FILE}, {args.threads} threads, context "
                f"{SETTINGS.context_length})", [
        ("time to summarise", f"{summary_s:.1f} s"),
        ("parts read (map prompts)", str(result.parts)),
        ("prompts in all (map + reduce)", str(len(host.requests))),
        ("summary sentences", str(len(result.items))),
        ("map: Hearth tokens/s", f"{hearth_tps:.1f}"),
        ("map: bare loop tokens/s", f"{bare_tps:.1f}"),
        ("map: Hearth / bare", f"{ratio:.2f}x (target >= 0.9x)"),
        ("peak memory (with children)", f"{memory.peak / 2**20:.0f} MB"),
    ])
    print_json({
        "bench": "documents", "pages": args.pages, "threads": args.threads, "summary_s": round(summary_s, 2),
        "parts": result.parts, "prompts": len(host.requests), "sentences": len(result.items),
        "map_tokens_per_s": round(hearth_tps, 2), "bare_tokens_per_s": round(bare_tps, 2),
        "map_vs_bare": round(ratio, 3), "peak_mb": round(memory.peak / 2**20),
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
