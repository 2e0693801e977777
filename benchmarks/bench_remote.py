"""The backends against their local counterparts, on this machine, same run (issue 16):

  * search: one synthetic library (bench_search's: random unit vectors, Zipf texts) built in the embedded
    store, whose files a `chroma run` server on 127.0.0.1 then serves from a copy (checked: both return
    the same passages); the same questions are searched through each, alternating, vector-only and
    hybrid, query embedding included;
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
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chromadb.config import Settings

from benchmarks._common import bundled_model, print_json, print_table
from benchmarks.bench_search import _vocabulary, build
from desktop.core.cpu import physical_cores
from desktop.core.offline import THREADING_ENVIRONMENT, enforce_offline
from desktop.core.settings import BackendSettings, GenerationSettings, HearthSettings
from desktop.llm.host import GenerationResult, ModelHost
from desktop.llm.openai_host import AnswerHost, OpenAIHost
from desktop.llm.templates import ChatMessage
from desktop.services.home import Home
from desktop.services.retrieval import Mode, Retriever
from desktop.services.workspace import LIBRARY_KEY, Workspace
from desktop.store.vectors import COLLECTION
from desktop.store.vectors import LIBRARY_KEY as SERVER_LIBRARY_KEY

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


def _hand_over(embedded: Workspace, port: int) -> None:
    """Make the server's copy of the embedded store this library's collection, as the app would have made it
    (its name and owner mark). Sending 1M vectors over HTTP would rebuild the same HNSW index a second time
    (100k took 336 s here); the server reads the embedded store's files as they are, same Chroma version."""
    import chromadb

    library = uuid.uuid4().hex[:16]
    client = chromadb.HttpClient(host="127.0.0.1", port=port, settings=Settings(anonymized_telemetry=False))
    collection = client.get_collection(COLLECTION)
    # The distance (cosine) stays in the collection's configuration; only the metadata is replaced.
    collection.modify(name=f"hearth-{library}", metadata={SERVER_LIBRARY_KEY: library})
    embedded.registry.set_meta(LIBRARY_KEY, library)


def _agreement(retrievers: dict[str, Retriever], questions: list[str]) -> float:
    """The share of vector-only top-5 passages the two stores have in common. Both hold the same vectors,
    but HNSW is approximate and the server built its graph again from the copied log, so not exactly 1."""
    found = {name: [{hit.chunk_id for hit in r.search(q, 5, mode=Mode.VECTOR)} for q in questions]
             for name, r in retrievers.items()}
    shared = sum(len(a & b) for a, b in zip(found["embedded"], found["server"], strict=True))
    return shared / sum(len(a) for a in found["embedded"])


def bench_search(chunks: int, queries: int, scratch: Path) -> tuple[list[tuple[str, str]], dict[str, Any]]:
    rng = random.Random(7)
    words = _vocabulary(rng)
    home = Home(scratch / "home")
    embedded = home.workspace()
    started = time.perf_counter()
    build(embedded, chunks, rng, words)
    build_s = time.perf_counter() - started
    port = _free_port()
    started = time.perf_counter()
    shutil.copytree(embedded.data_dir / "index" / "chroma", scratch / "chroma-server")
    copy_s = time.perf_counter() - started
    chroma = [str(Path(sys.executable).parent / "chroma"), "run", "--path", str(scratch / "chroma-server"),
              "--host", "127.0.0.1", "--port", str(port)]
    with _server(chroma, f"http://127.0.0.1:{port}/api/v2/heartbeat", scratch / "chroma.log"):
        _hand_over(embedded, port)
        served = Home(scratch / "home", settings=HearthSettings(
            backends=BackendSettings(vector_server=f"http://127.0.0.1:{port}"))).workspace()
        served.embedder = embedded.embedder  # one embedder for both: the query costs the same
        retrievers = {"embedded": Retriever(embedded), "server": Retriever(served)}
        for retriever in retrievers.values():
            retriever.search("warm up the model and caches", 5)
        if served.vectors.count() != embedded.vectors.count():
            raise SystemExit("the server's copy does not hold every vector of the embedded store")
        agreement = _agreement(retrievers, [f"check {word}" for word in words[:50]])
        timings: dict[str, list[float]] = {f"{s} {m}": [] for s in retrievers for m in (Mode.VECTOR, Mode.HYBRID)}
        for _ in range(queries):
            question = "how do I " + " ".join(rng.choices(words[:2000], k=rng.randint(3, 8))) + "?"
            for store, retriever in retrievers.items():
                for mode in (Mode.VECTOR, Mode.HYBRID):
                    begin = time.perf_counter()
                    retriever.search(question, 5, mode=mode)
                    timings[f"{store} {mode}"].append((time.perf_counter() - begin) * 1000)
    record: dict[str, Any] = {"chunks": chunks, "queries": queries, "build_s": round(build_s, 1),
                              "copy_s": round(copy_s, 1), "top5_agreement": round(agreement, 3)}
    rows = [("index", f"{chunks} passages (built in {build_s:.0f} s, copied for the server in {copy_s:.0f} s)"),
            ("same top 5 (vector)", f"{agreement:.1%} of passages in common")]
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
