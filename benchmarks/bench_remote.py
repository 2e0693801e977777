"""The backends against their local counterparts, on this machine, same run (issue 16):

  * search: one synthetic library (bench_search's: random unit vectors, Zipf texts) whose vectors are
    written both to the embedded store and to a `chroma run` server on 127.0.0.1; the same questions
    are searched through each, alternating, vector-only and hybrid, query embedding included;
  * llm: the default model answering the same plain-chat prompts through the local model host process
    and through llama-cpp-python's OpenAI-compatible server, same model, threads and sampling,
    alternating; tokens/s (after the first token, as the caller sees them) and time to first token.

    .venv/bin/python benchmarks/bench_remote.py [search|llm|all] [--chunks 100000] [--threads 2]

Prints a table, then one JSON line. The servers are started here and ended at the end.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import bundled_model, print_json, print_table
from benchmarks.bench_search import BATCH_DOCUMENTS, CHUNKS_PER_DOCUMENT, _vocabulary, build, synthetic_vectors
from desktop.core.cpu import physical_cores
from desktop.core.offline import THREADING_ENVIRONMENT, enforce_offline
from desktop.core.settings import BackendSettings, GenerationSettings, HearthSettings
from desktop.llm.host import GenerationResult, ModelHost
from desktop.llm.openai_host import AnswerHost, OpenAIHost
from desktop.llm.templates import ChatMessage
from desktop.services.home import Home
from desktop.services.retrieval import Mode, Retriever
from desktop.services.workspace import Workspace
from desktop.store.registry import chunk_id

MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SETTINGS = GenerationSettings(temperature=0.0, max_tokens=128, seed=11, context_length=4096)
PROMPTS = [
    "Tell me a very long story about a lighthouse keeper and a storm.",
    "Describe how a harbour town keeps records of the ships that come in.",
    "Explain, step by step, how to descale a kettle with citric acid.",
]
START_TIMEOUT_S = 180.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _server(command: list[str], ready: str, log: Path, headers: dict[str, str] | None = None) -> Iterator[None]:
    # The app's OpenMP wait policy is left out, as the model host leaves it (use_llama_threading): the
    # server and the host then run llama.cpp alike.
    env = {name: value for name, value in os.environ.items() if name not in THREADING_ENVIRONMENT}
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _answers(ready, headers):
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"server did not start: {log.read_text(errors='replace')[-1500:]}")
            time.sleep(0.2)
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def _answers(url: str, headers: dict[str, str] | None) -> bool:
    try:
        return httpx.get(url, headers=headers, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


# -- search -------------------------------------------------------------------------------------


def _copy_vectors(source: Workspace, target: Workspace) -> None:
    """The same vectors (bench_search draws document d's from seed d) into the server's collection."""
    documents = source.registry.documents()
    for first in range(0, len(documents), BATCH_DOCUMENTS):
        batch = documents[first : first + BATCH_DOCUMENTS]
        numbers = [int(Path(document.path).stem.split("-")[1]) for document in batch]
        target.vectors.upsert(
            [chunk_id(document.id, seq) for document in batch for seq in range(CHUNKS_PER_DOCUMENT)],
            np.concatenate([synthetic_vectors(n) for n in numbers]),
            [document.id for document in batch for _ in range(CHUNKS_PER_DOCUMENT)],
        )


def bench_search(chunks: int, queries: int, scratch: Path) -> tuple[list[tuple[str, str]], dict[str, Any]]:
    rng = random.Random(7)
    words = _vocabulary(rng)
    home = Home(scratch / "home")
    embedded = home.workspace()
    started = time.perf_counter()
    build(embedded, chunks, rng, words)
    build_s = time.perf_counter() - started
    port = _free_port()
    chroma = [str(Path(sys.executable).parent / "chroma"), "run", "--path", str(scratch / "chroma-server"),
              "--host", "127.0.0.1", "--port", str(port)]
    with _server(chroma, f"http://127.0.0.1:{port}/api/v2/heartbeat", scratch / "chroma.log"):
        served = Home(scratch / "home", settings=HearthSettings(
            backends=BackendSettings(vector_server=f"http://127.0.0.1:{port}"))).workspace()
        served.embedder = embedded.embedder  # one embedder for both: the query costs the same
        started = time.perf_counter()
        _copy_vectors(embedded, served)
        upload_s = time.perf_counter() - started
        retrievers = {"embedded": Retriever(embedded), "server": Retriever(served)}
        for retriever in retrievers.values():
            retriever.search("warm up the model and caches", 5)
        timings: dict[str, list[float]] = {f"{s} {m}": [] for s in retrievers for m in (Mode.VECTOR, Mode.HYBRID)}
        for _ in range(queries):
            question = "how do I " + " ".join(rng.choices(words[:2000], k=rng.randint(3, 8))) + "?"
            for store, retriever in retrievers.items():
                for mode in (Mode.VECTOR, Mode.HYBRID):
                    begin = time.perf_counter()
                    retriever.search(question, 5, mode=mode)
                    timings[f"{store} {mode}"].append((time.perf_counter() - begin) * 1000)
    record: dict[str, Any] = {"chunks": chunks, "queries": queries, "build_s": round(build_s, 1),
                              "upload_s": round(upload_s, 1)}
    rows = [("index", f"{chunks} passages (built in {build_s:.0f} s, sent to the server in {upload_s:.0f} s)")]
    for name, values in timings.items():
        record[f"{name.replace(' ', '_')}_p95_ms"] = round(_p95(values), 2)
        rows.append((f"{name} search", f"p50 {statistics.median(values):.1f} ms, p95 {_p95(values):.1f} ms"))
    return rows, record


# -- llm ----------------------------------------------------------------------------------------


def _run(host: AnswerHost, text: str) -> GenerationResult:
    prompt = host.render_prompt([ChatMessage(role="user", content=text)])
    *_, result = host.generate(prompt, SETTINGS)
    assert isinstance(result, GenerationResult)
    return result


def bench_llm(threads: int, repeats: int, scratch: Path) -> tuple[list[tuple[str, str]], dict[str, Any]]:
    model = bundled_model(MODEL_FILE)
    if model is None:
        raise SystemExit(1)
    port, key = _free_port(), "bench-key"
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
               "--port", str(port), "--n_ctx", str(SETTINGS.context_length), "--n_threads", str(threads),
               "--n_threads_batch", str(threads), "--api_key", key]
    url = f"http://127.0.0.1:{port}/v1"
    local = ModelHost()
    local.load(model, SETTINGS.model_copy(update={"threads": threads}))
    with _server(command, url + "/models", scratch / "model-server.log", {"Authorization": f"Bearer {key}"}):
        remote = OpenAIHost(BackendSettings(model_server=url, model_api_key=key))
        remote.connect(SETTINGS)
        hosts: dict[str, AnswerHost] = {"local host": local, "server": remote}
        for host in hosts.values():
            _run(host, "Say hello.")  # warm up
        results: dict[str, list[GenerationResult]] = {name: [] for name in hosts}
        for _ in range(repeats):
            for text in PROMPTS:
                for name, host in hosts.items():
                    results[name].append(_run(host, text))
        remote.close()
    local.close()
    record: dict[str, Any] = {"threads": threads, "answers": repeats * len(PROMPTS)}
    rows = []
    for name, runs in results.items():
        speed = statistics.median(r.tokens_per_second for r in runs)
        first = statistics.median(r.time_to_first_token_ms for r in runs)
        key_name = name.replace(" ", "_")
        record |= {f"{key_name}_tokens_per_s": round(speed, 1), f"{key_name}_ttft_ms": round(first, 1)}
        rows.append((name, f"{speed:.1f} tokens/s, first token {first:.0f} ms (medians)"))
    ratio = record["server_tokens_per_s"] / record["local_host_tokens_per_s"]
    record["server_over_local"] = round(ratio, 2)
    rows.append(("server / local host", f"{ratio:.2f}x tokens/s (target >= 0.9x)"))
    return rows, record


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("part", nargs="?", choices=["search", "llm", "all"], default="all")
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--threads", type=int, default=physical_cores())
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    enforce_offline()
    os.environ["HEARTH_HOME"] = tempfile.mkdtemp(prefix="hearth-bench-")  # never the user's folder
    record: dict[str, Any] = {"bench": "remote"}
    with tempfile.TemporaryDirectory() as scratch:
        if args.part in ("search", "all"):
            rows, found = bench_search(args.chunks, args.queries, Path(scratch))
            print_table("Search: embedded Chroma vs a Chroma server on loopback", rows)
            record["search"] = found
        if args.part in ("llm", "all"):
            rows, found = bench_llm(args.threads, args.repeats, Path(scratch))
            print_table("Answers: local model host vs an OpenAI-compatible server on loopback", rows)
            record["llm"] = found
    print_json(record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
