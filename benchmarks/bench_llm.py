"""Hearth answering against a bare llama-cpp-python loop: same model, threads, prompt and sampling.

Hearth's side is the Answerer, as `hearth ask` and the window use it (model host process, pipe,
conversation saved as it streams); every prompt it builds is recorded and given to the bare loop
as it is. The bare loop runs in a worker process of its own, so that neither side shares a process
(and its llama.cpp thread pool) with the other. Measures, as medians over alternating repetitions:
  * generation speed of a plain-chat answer: tokens after the first over the time between the first
    and the last token, as seen by the caller (for Hearth: events arriving in this process);
  * time to first token for a question over an indexed folder (retrieval, prompt building with the
    model's tokenizer, the process hop, prompt processing) against the bare loop's prompt
    processing of exactly the prompt Hearth built (~1,500 tokens). Before each measurement both
    sides process an unrelated prompt, so neither finds the question's prompt in its cache;
  * host load time (process start included) and the host process's resident memory;
  * what checking an answer against its passages (desktop/services/attribution.py) adds to the time
    of a grounded answer of about 150 words: each answer by a fresh Answerer, so no sentence's
    embedding is remembered from an earlier run.

Prints a table, then one JSON line. Run: ``.venv/bin/python benchmarks/bench_llm.py [--threads N]``.
llama.cpp slows down sharply when other processes compete for its cores: run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import bundled_model
from desktop.core.cpu import physical_cores
from desktop.core.offline import enforce_offline, use_llama_threading
from desktop.core.settings import GenerationSettings, HearthSettings, RetrievalSettings
from desktop.core.types import Message
from desktop.llm.host import GenerationResult, ModelHost, TokenEvent
from desktop.services.answering import Answerer, AnswerFinished, AnswerToken
from desktop.services.home import Home
from desktop.services.indexing import Indexer

MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SETTINGS = GenerationSettings(temperature=0.0, max_tokens=128, seed=11, context_length=4096)
STORY = "Tell me a very long story about a lighthouse keeper and a storm, with many details."
PARAGRAPH = (
    "The harbour town kept its records in a stone house by the quay. Each entry noted the ships that "
    "came in, their cargo, the weather, and the names of the crew who stepped ashore that day. "
)
PORTS = ["Aldmoor", "Brenwick", "Caddon", "Dunmere", "Elsport", "Farrow", "Glenhaven", "Holt"]
TOP_K = 7  # passages of ~200 word-pieces each: a prompt of about 1,500 tokens
DETAIL = "Describe in detail what the harbour logs record about the ships, their cargo, the weather and the crews."
DETAIL_TOKENS = 200  # about 150 words


def _write_notes(folder: Path) -> None:
    """One harbour log per port, each about one passage long."""
    folder.mkdir()
    for port in PORTS:
        log = PARAGRAPH.replace("The harbour town", f"The harbour of {port}") * 4
        (folder / f"{port.lower()}.md").write_text(f"# {port} harbour log\n\n{log}")


def _rate(tokens: int, arrivals: list[float]) -> float:
    """Tokens after the first over the time from the first arrival to the last."""
    return (tokens - 1) / (arrivals[-1] - arrivals[0]) if tokens > 1 and arrivals[-1] > arrivals[0] else 0.0


class _RecordingHost(ModelHost):
    """Keeps the last prompt Hearth sent, to give the bare loop exactly the same."""

    last_prompt = ""

    def generate(
        self,
        prompt: str,
        settings: GenerationSettings,
        *,
        json_schema: str | None = None,
        banned_line_starts: tuple[str, ...] = (),
    ) -> Iterator[TokenEvent | GenerationResult]:
        self.last_prompt = prompt
        return super().generate(prompt, settings, banned_line_starts=banned_line_starts)


def _hearth_run(answerer: Answerer, question: str, *, rag: bool, max_tokens: int) -> tuple[float, list[float], Message]:
    """(ms from the question to the first token shown, arrival time of every piece, saved answer)."""
    settings = answerer.workspace.settings
    settings.generation = settings.generation.model_copy(update={"max_tokens": max_tokens})
    started = time.perf_counter()
    arrivals: list[float] = []
    message: Message | None = None
    for event in answerer.ask(question, rag=rag):
        if isinstance(event, AnswerToken):
            arrivals.append(time.perf_counter())
        elif isinstance(event, AnswerFinished):
            message = event.message
    assert message is not None and arrivals
    return (arrivals[0] - started) * 1000, arrivals, message


# The bare side, in its worker process.
_bare: Any = None


def _bare_load(model: str, threads: int) -> float:
    global _bare
    use_llama_threading()  # this process inherited the app's OpenMP policy, as the host does
    import llama_cpp

    started = time.perf_counter()
    _bare = llama_cpp.Llama(
        model_path=model,
        n_ctx=SETTINGS.context_length,
        n_threads=threads,
        n_threads_batch=threads,
        seed=SETTINGS.seed,
        verbose=False,
    )
    return time.perf_counter() - started


def _bare_run(prompt: str, max_tokens: int) -> tuple[float, list[float]]:
    """The loop an application would write without a host: generate, stop at end of turn,
    detokenize. Returns (ms to the first token, arrival time of every token)."""
    import llama_cpp

    llm = _bare
    vocab = llm._model.vocab
    started = time.perf_counter()
    tokens = llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=True)
    arrivals: list[float] = []
    for token in llm.generate(
        tokens,
        top_k=SETTINGS.top_k,
        top_p=SETTINGS.top_p,
        temp=SETTINGS.temperature,
        repeat_penalty=SETTINGS.repeat_penalty,
    ):
        if llama_cpp.llama_vocab_is_eog(vocab, token):
            break
        llm.detokenize([token])
        arrivals.append(time.perf_counter())
        if len(arrivals) >= max_tokens:
            break
    return (arrivals[0] - started) * 1000, arrivals


def main() -> int:
    parser = argparse.ArgumentParser(description="Hearth answering against a bare llama-cpp-python loop.")
    parser.add_argument("--threads", type=int, default=physical_cores(), help="default: physical cores")
    parser.add_argument("--repetitions", type=int, default=12, help="of each generation (~1 s each)")
    parser.add_argument("--prompts", type=int, default=3, help="long-prompt repetitions (~8 s each)")
    args = parser.parse_args()
    enforce_offline()
    model = bundled_model(MODEL_FILE)
    if model is None:
        return 1
    threads, repetitions, prompts = args.threads, args.repetitions, args.prompts
    host = _RecordingHost()
    bare = ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn"))
    scratch = tempfile.TemporaryDirectory()
    settings = HearthSettings(
        retrieval=RetrievalSettings(top_k=TOP_K), generation=SETTINGS.model_copy(update={"threads": threads})
    )
    home = Home(Path(scratch.name) / "home", settings=settings)
    workspace = home.workspace(writes=True)
    try:
        notes = Path(scratch.name) / "notes"
        _write_notes(notes)
        Indexer(workspace).index([notes])
        answerer = home.answerer(workspace=workspace, conversations=home.conversations(), host=host)
        started = time.perf_counter()
        answerer.use_model(model)
        load_s = time.perf_counter() - started
        bare_load_s = bare.submit(_bare_load, str(model), threads).result()

        # Hearth, then the bare loop on the prompt Hearth built: drifts in machine load hit both alike.
        bare_tps, hearth_tps, tokens = [], [], []
        for run in range(repetitions):
            _, arrivals, message = _hearth_run(answerer, f"Story {run}. {STORY}", rag=False, max_tokens=128)
            generated = message.timings.generated_tokens if message.timings else 0
            # The host sends the first token alone, then what was produced within 25 ms together.
            hearth_tps.append(_rate(generated, arrivals))
            tokens.append(generated)
            _, arrivals = bare.submit(_bare_run, host.last_prompt, SETTINGS.max_tokens).result()
            bare_tps.append(_rate(len(arrivals), arrivals))

        bare_pp, hearth_ttft, retrieval, prompt_tokens = [], [], [], []
        for run in range(prompts):
            _hearth_run(answerer, f"Story {100 + run}. {STORY}", rag=False, max_tokens=1)
            unrelated = host.last_prompt
            question = f"Question {run}: what did the harbour logs note about cargo?"
            ttft, _, message = _hearth_run(answerer, question, rag=True, max_tokens=1)
            hearth_ttft.append(ttft)
            retrieval.append(message.timings.retrieval_ms if message.timings else 0.0)
            prompt_tokens.append(message.timings.prompt_tokens if message.timings else 0)
            bare.submit(_bare_run, unrelated, 1).result()
            bare_pp.append(bare.submit(_bare_run, host.last_prompt, 1).result()[0])
        attribution_ms, answer_ms, words = [], [], []
        for run in range(prompts):
            fresh = home.answerer(workspace=workspace, conversations=answerer.conversations, host=host)  # no memory
            fresh.model_path = answerer.model_path
            _, _, message = _hearth_run(fresh, f"{DETAIL} ({run})", rag=True, max_tokens=DETAIL_TOKENS)
            timings = message.timings
            assert timings is not None
            attribution_ms.append(timings.attribution_ms)
            answer_ms.append(timings.total_ms - timings.attribution_ms)
            words.append(len(message.text.split()))
        rss_mb = psutil.Process(host.pid).memory_info().rss / 1e6 if host.pid else float("nan")
    finally:
        workspace.close()
        scratch.cleanup()
        host.close()
        bare.shutdown()

    summary = {
        "bench": "llm",
        "model": MODEL_FILE,
        "threads": threads,
        "generated_tokens": int(statistics.median(tokens)),
        "bare_tps": round(statistics.median(bare_tps), 1),
        "hearth_tps": round(statistics.median(hearth_tps), 1),
        "ratio": round(statistics.median(hearth_tps) / statistics.median(bare_tps), 3),
        "prompt_tokens": int(statistics.median(prompt_tokens)),
        "bare_prompt_ms": round(statistics.median(bare_pp), 1),
        "hearth_ttft_ms": round(statistics.median(hearth_ttft), 1),
        "retrieval_ms": round(statistics.median(retrieval), 1),
        "ttft_overhead_pct": round((statistics.median(hearth_ttft) / statistics.median(bare_pp) - 1) * 100, 1),
        "load_s": round(load_s, 2),
        "bare_load_s": round(bare_load_s, 2),
        "host_rss_mb": round(rss_mb, 1),
        "checked_answer_words": int(statistics.median(words)),
        "answer_ms": round(statistics.median(answer_ms), 1),
        "attribution_ms": round(statistics.median(attribution_ms), 1),
        "attribution_pct": round(
            statistics.median(a / b * 100 for a, b in zip(attribution_ms, answer_ms, strict=True)), 1
        ),
    }
    rows = [
        ("generation, tokens/s", f"{summary['bare_tps']}", f"{summary['hearth_tps']}", f"x{summary['ratio']}"),
        (
            f"prompt of {summary['prompt_tokens']:,} tokens, ms to first token",
            f"{summary['bare_prompt_ms']}",
            f"{summary['hearth_ttft_ms']}",
            f"{summary['ttft_overhead_pct']:+}%",
        ),
        ("  of which retrieval, ms", "", f"{summary['retrieval_ms']}", ""),
        ("load, s (Hearth: host process start included)", f"{summary['bare_load_s']}", f"{summary['load_s']}", ""),
        ("host process RSS, MB", "", f"{summary['host_rss_mb']}", ""),
        (
            f"answer of {summary['checked_answer_words']} words, ms; + checking it",
            "",
            f"{summary['answer_ms']} + {summary['attribution_ms']}",
            f"{summary['attribution_pct']:+}%",
        ),
    ]
    print(f"{MODEL_FILE}, {threads} threads, medians of {repetitions} answers and {prompts} long prompts")
    print(f"{'':48} {'bare':>10} {'hearth':>12} {'ratio':>10}")
    for label, bare_value, hearth_value, ratio in rows:
        print(f"{label:48} {bare_value:>10} {hearth_value:>12} {ratio:>10}")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
