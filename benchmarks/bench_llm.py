"""The model host against a bare llama-cpp-python loop: same model, threads, prompts and sampling.

The bare loop runs in a worker process of its own, so that neither side shares a process (and its
llama.cpp thread pool) with the other. Measures, as medians over a few alternating repetitions:
  * generation speed: tokens after the first over the time between first and last token, as seen by
    the caller (for the host: TokenEvents arriving in this process, pipe included);
  * prompt processing of a ~1,500-token prompt (bare: time to the first sampled token) against the
    host's time to first token (request, pipe and all). Every repetition starts its prompt
    differently so that neither side reuses a cached prefix;
  * host load time (process start included) and the host process's resident memory.

Prints a table, then one JSON line. Run: ``.venv/bin/python benchmarks/bench_llm.py [--threads N]``.
llama.cpp slows down sharply when other processes compete for its cores: run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any

import psutil

from desktop.core.paths import models_dir
from desktop.core.settings import GenerationSettings
from desktop.llm.host import GenerationResult, ModelHost, TokenEvent, default_threads
from desktop.llm.templates import ChatMessage

MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SETTINGS = GenerationSettings(temperature=0.0, max_tokens=128, seed=11, context_length=4096)
STORY = "Tell me a very long story about a lighthouse keeper and a storm, with many details."
PARAGRAPH = (
    "The harbour town kept its records in a stone house by the quay. Each entry noted the ships that "
    "came in, their cargo, the weather, and the names of the crew who stepped ashore that day. "
)


def _story_prompt(host: ModelHost, run: int) -> str:
    return host.render_prompt([ChatMessage(role="user", content=f"Story {run}. {STORY}")])


def _long_prompt(host: ModelHost, run: int, target_tokens: int = 1500) -> str:
    per_paragraph = host.count_tokens([PARAGRAPH])[0]
    body = PARAGRAPH * (target_tokens // per_paragraph)
    return host.render_prompt([ChatMessage(role="user", content=f"Log {run}.\n{body}\nSummarise the log.")])


def _rate(arrivals: list[float]) -> float:
    return (len(arrivals) - 1) / (arrivals[-1] - arrivals[0]) if len(arrivals) > 1 else 0.0


# The bare side, in its worker process.
_bare: Any = None


def _bare_load(model: str, threads: int) -> float:
    global _bare
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


def _host_run(host: ModelHost, prompt: str, max_tokens: int) -> tuple[float, list[float], GenerationResult]:
    settings = SETTINGS.model_copy(update={"max_tokens": max_tokens})
    started = time.perf_counter()
    arrivals: list[float] = []
    result: GenerationResult | None = None
    for event in host.generate(prompt, settings):
        if isinstance(event, TokenEvent):
            arrivals.append(time.perf_counter())
        else:
            result = event
    assert result is not None
    return (arrivals[0] - started) * 1000, arrivals, result


def main() -> int:
    parser = argparse.ArgumentParser(description="The model host against a bare llama-cpp-python loop.")
    parser.add_argument("--threads", type=int, default=default_threads(), help="default: physical cores")
    parser.add_argument("--repetitions", type=int, default=5)
    args = parser.parse_args()
    model = models_dir() / MODEL_FILE
    if not model.is_file():
        print(f"{model} is absent; run `make models` first.", file=sys.stderr)
        return 1
    threads, repetitions = args.threads, args.repetitions
    settings = SETTINGS.model_copy(update={"threads": threads})
    host = ModelHost()
    bare = ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn"))
    try:
        started = time.perf_counter()
        host.load(model, settings)
        load_s = time.perf_counter() - started
        bare_load_s = bare.submit(_bare_load, str(model), threads).result()

        bare_tps, host_tps, bare_pp, host_ttft, tokens = [], [], [], [], []
        for run in range(repetitions):  # alternate, so drifts in machine load hit both sides alike
            _, arrivals = bare.submit(_bare_run, _story_prompt(host, run), SETTINGS.max_tokens).result()
            bare_tps.append(_rate(arrivals))
            _, arrivals, result = _host_run(host, _story_prompt(host, run), SETTINGS.max_tokens)
            host_tps.append(_rate(arrivals))
            tokens.append(result.generated_tokens)

            long_prompt = _long_prompt(host, run)
            bare_pp.append(bare.submit(_bare_run, long_prompt, 1).result()[0])
            ttft, _, result = _host_run(host, long_prompt, 1)
            host_ttft.append(ttft)
        prompt_tokens = result.prompt_tokens
        rss_mb = psutil.Process(host.pid).memory_info().rss / 1e6 if host.pid else float("nan")
    finally:
        host.close()
        bare.shutdown()

    summary = {
        "bench": "llm",
        "model": MODEL_FILE,
        "threads": threads,
        "generated_tokens": int(statistics.median(tokens)),
        "bare_tps": round(statistics.median(bare_tps), 1),
        "host_tps": round(statistics.median(host_tps), 1),
        "ratio": round(statistics.median(host_tps) / statistics.median(bare_tps), 3),
        "prompt_tokens": prompt_tokens,
        "bare_prompt_ms": round(statistics.median(bare_pp), 1),
        "host_ttft_ms": round(statistics.median(host_ttft), 1),
        "ttft_overhead_pct": round((statistics.median(host_ttft) / statistics.median(bare_pp) - 1) * 100, 1),
        "load_s": round(load_s, 2),
        "bare_load_s": round(bare_load_s, 2),
        "host_rss_mb": round(rss_mb, 1),
    }
    rows = [
        ("generation, tokens/s", f"{summary['bare_tps']}", f"{summary['host_tps']}", f"x{summary['ratio']}"),
        (
            f"prompt of {prompt_tokens:,} tokens, ms to first token",
            f"{summary['bare_prompt_ms']}",
            f"{summary['host_ttft_ms']}",
            f"{summary['ttft_overhead_pct']:+}%",
        ),
        ("load, s (host: process start included)", f"{summary['bare_load_s']}", f"{summary['load_s']}", ""),
        ("host process RSS, MB", "", f"{summary['host_rss_mb']}", ""),
    ]
    print(f"{MODEL_FILE}, {threads} threads, medians of {repetitions} runs")
    print(f"{'':48} {'bare':>10} {'host':>12} {'host/bare':>10}")
    for label, bare_value, host_value, ratio in rows:
        print(f"{label:48} {bare_value:>10} {host_value:>12} {ratio:>10}")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
