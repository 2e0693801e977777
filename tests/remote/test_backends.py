"""Hearth against real servers on 127.0.0.1: `chroma run` for the vectors and llama-cpp-python's
OpenAI-compatible server with the default model. The same index, search, ask, check and export paths as
on one computer; servers killed mid-index and mid-answer; every bad input refused in one sentence before
anything is written. Run with `make test-remote` (`-m remote`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import chromadb
import numpy as np
import pytest
from chromadb.config import Settings

from desktop import cli
from desktop.core.errors import ModelError
from desktop.core.settings import BackendSettings, GenerationSettings, load_settings
from desktop.core.types import MessageStatus
from desktop.llm.host import GenerationResult, TokenEvent
from desktop.llm.openai_host import OpenAIHost
from desktop.llm.templates import ChatMessage
from desktop.services.answering import AnswerFinished, AnswerStarted, AnswerToken
from desktop.services.home import Home
from desktop.services.workspace import LIBRARY_KEY
from desktop.store.vectors import LIBRARY_KEY as COLLECTION_OWNER
from tests.conftest import MODELS
from tests.servers import MODEL_KEY, Server, free_port, remote_settings

pytestmark = pytest.mark.remote
REPO = Path(__file__).resolve().parents[2]
HANG_GUARD_S = 300


def _configure(home: Path, settings: dict[str, Any]) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "settings.json").write_text(json.dumps(settings), encoding="utf-8")


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _server_collection(chroma: Server, name: str) -> Any:
    client = chromadb.HttpClient(host="127.0.0.1", port=chroma.port, settings=Settings(anonymized_telemetry=False))
    return client.get_collection(name)


def _collection_name(home: Path) -> str:
    workspace = Home(home, models_dir=MODELS).workspace()
    try:
        return f"hearth-{workspace.registry.get_meta(LIBRARY_KEY)}"
    finally:
        workspace.close()


def test_index_search_ask_check_and_export_through_the_servers(
    servers: tuple[Server, Server], corpus: Path, hearth_home: Path, in_process: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    chroma, model = servers
    _configure(hearth_home, remote_settings(chroma, model))
    code, out, err = _run(capsys, "index", "--json", str(corpus))
    assert code == 0, err
    chunks = json.loads(out)["chunks"]
    assert not (hearth_home / "index" / "chroma").exists()  # no embedded store was made
    collection = _server_collection(chroma, _collection_name(hearth_home))
    assert collection.count() == chunks

    code, out, err = _run(capsys, "search", "--json", "KX-409")
    assert code == 0, err
    assert json.loads(out)[0]["path"].endswith("kettle.txt")

    code, out, err = _run(capsys, "ask", "--json", "What does error KX-409 mean?")
    assert code == 0, err
    asked = json.loads(out)
    assert asked["answer"] and asked["passages"][0]["path"].endswith("kettle.txt")
    assert asked["timings"]["time_to_first_token_ms"] > 0 and asked["timings"]["generated_tokens"] > 0
    assert asked["timings"]["tokens_per_second"] is not None
    assert all(s["supported"] is not None for s in asked["sentences"])  # checked as a local answer is

    code, out, err = _run(capsys, "status", "--json")
    assert json.loads(out)["remote"] == [f"Remote vectors: 127.0.0.1:{chroma.port}", "Remote model: 127.0.0.1"]

    # Vectors lost on the server are found and rebuilt from the local registry.
    collection.delete(ids=collection.get(limit=2)["ids"])
    code, out, err = _run(capsys, "check", "--json")
    assert code == 1 and json.loads(out)["problems"][0]["kind"] == "missing_vectors"
    code, out, err = _run(capsys, "check", "--repair", "--json")
    assert code == 0 and collection.count() == chunks

    code, out, err = _run(capsys, "chats", "export", str(asked["conversation"]), "--format", "json")
    exported = json.loads(out)
    assert exported["messages"][-1]["text"] == asked["answer"]


def test_moving_a_library_to_the_server_rebuilds_its_vectors_there(
    servers: tuple[Server, Server], corpus: Path, hearth_home: Path, in_process: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    chroma, _ = servers
    code, out, err = _run(capsys, "index", "--json", str(corpus))
    assert code == 0, err
    chunks = json.loads(out)["chunks"]
    code, _, err = _run(capsys, "backends", "--vectors", chroma.url)
    assert code == 0, err
    code, out, _ = _run(capsys, "status")
    assert "run `hearth index` to rebuild it" in out

    code, out, err = _run(capsys, "index", "--json", str(corpus))
    assert code == 0 and json.loads(out)["chunks"] == chunks, err
    assert _server_collection(chroma, _collection_name(hearth_home)).count() == chunks
    code, out, _ = _run(capsys, "check", "--json")
    assert code == 0 and json.loads(out)["ok"]
    code, out, _ = _run(capsys, "search", "--json", "KX-409")
    assert json.loads(out)[0]["path"].endswith("kettle.txt")


def test_libraries_sharing_a_server_keep_to_their_own_collections(
    servers: tuple[Server, Server], corpus: Path, tmp_path: Path, in_process: None,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    chroma, _ = servers
    homes = [tmp_path / "first", tmp_path / "second"]
    for home in homes:
        _configure(home, remote_settings(chroma, None))
        monkeypatch.setenv("HEARTH_HOME", str(home))
        assert _run(capsys, "index", str(corpus))[0] == 0
    names = [_collection_name(home) for home in homes]
    assert names[0] != names[1]
    assert _server_collection(chroma, names[0]).count() == _server_collection(chroma, names[1]).count()

    # An empty collection someone made beforehand (with another distance) becomes the library's own.
    client = chromadb.HttpClient(host="127.0.0.1", port=chroma.port, settings=Settings(anonymized_telemetry=False))
    client.create_collection("made-by-the-admin", metadata={"hnsw:space": "l2"})
    fourth = tmp_path / "fourth"
    _configure(fourth, remote_settings(chroma, None, collection="made-by-the-admin"))
    monkeypatch.setenv("HEARTH_HOME", str(fourth))
    for _ in range(2):  # the second run finds it is this library's
        assert _run(capsys, "index", str(corpus))[0] == 0
    claimed = client.get_collection("made-by-the-admin")
    assert claimed.count() > 0 and (claimed.configuration.get("hnsw") or {}).get("space") == "cosine"

    third = tmp_path / "third"
    _configure(third, remote_settings(chroma, None, collection=names[0]))
    monkeypatch.setenv("HEARTH_HOME", str(third))
    code, _, err = _run(capsys, "index", str(corpus))
    assert code == 2 and "holds another library's vectors" in err and len(err.strip().splitlines()) == 1


def _refused(capsys: pytest.CaptureFixture[str], home: Path, *args: str) -> str:
    before = (home / "settings.json").read_text() if (home / "settings.json").exists() else None
    code, out, err = _run(capsys, "backends", *args)
    assert code == 2 and not out, err
    assert len(err.strip().splitlines()) == 1 and err.startswith("hearth: ") and "Traceback" not in err
    after = (home / "settings.json").read_text() if (home / "settings.json").exists() else None
    assert after == before  # nothing was saved
    return err


def test_bad_servers_are_refused_in_one_sentence_before_anything_is_written(
    servers: tuple[Server, Server], hearth_home: Path, in_process: None, capsys: pytest.CaptureFixture[str],
) -> None:
    chroma, model = servers
    closed = f"http://127.0.0.1:{free_port()}"
    assert "not a full URL" in _refused(capsys, hearth_home, "--vectors", f"127.0.0.1:{chroma.port}")
    assert "not a full URL" in _refused(capsys, hearth_home, "--model", "localhost:8080/v1")
    assert "Cannot reach the Chroma server" in _refused(capsys, hearth_home, "--vectors", closed)
    assert "Cannot reach the model server" in _refused(capsys, hearth_home, "--model", closed + "/v1")
    # Each server given the other's address: it speaks HTTP, but not the protocol asked for.
    assert "does not answer as a Chroma server" in _refused(
        capsys, hearth_home, "--vectors", model.url.removesuffix("/v1"))
    assert "does not answer as an OpenAI-compatible server" in _refused(
        capsys, hearth_home, "--model", chroma.url + "/v1")
    assert "refused the API key" in _refused(capsys, hearth_home, "--model", model.url, "--api-key", "wrong")
    assert "needs an API key" in _refused(capsys, hearth_home, "--model", model.url)
    assert "has no model named" in _refused(
        capsys, hearth_home, "--model", model.url, "--api-key", MODEL_KEY, "--model-name", "gpt-7")
    assert not (hearth_home / "index" / "chroma").exists()

    code, out, err = _run(capsys, "backends", "--json", "--vectors", chroma.url, "--model", model.url,
                          "--api-key", MODEL_KEY)
    assert code == 0, err
    assert json.loads(out)["model"] == "SmolLM2-135M-Instruct"
    assert load_settings(hearth_home).backends.model_api_key == MODEL_KEY


def test_a_collection_of_another_dimension_is_refused_before_anything_is_written(
    servers: tuple[Server, Server], corpus: Path, hearth_home: Path, in_process: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A copy of this data folder indexed the collection with an 8-dimensional embedder."""
    chroma, _ = servers
    client = chromadb.HttpClient(host="127.0.0.1", port=chroma.port, settings=Settings(anonymized_telemetry=False))
    library = f"copied-{free_port()}"
    collection = client.create_collection(f"hearth-{library}", metadata={"hnsw:space": "cosine",
                                                                         COLLECTION_OWNER: library})
    collection.add(ids=["1"], embeddings=np.ones((1, 8), dtype=np.float32), metadatas=[{"doc": 1}])
    workspace = Home(hearth_home, models_dir=MODELS).workspace(writes=True)
    workspace.registry.set_meta(LIBRARY_KEY, library)
    workspace.close()
    _configure(hearth_home, remote_settings(chroma, None))

    code, _, err = _run(capsys, "index", str(corpus))
    assert code == 2 and "have 8 dimensions but the embedder all-MiniLM-L6-v2 makes 384" in err
    assert len(err.strip().splitlines()) == 1
    assert collection.count() == 1
    code, out, _ = _run(capsys, "status", "--json")
    assert json.loads(out)["documents"] == 0


def _index_in_background(home: Path, corpus: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "HEARTH_HOME": str(home), "HEARTH_INDEX__EMBED_BATCH_SIZE": "8"}
    return subprocess.Popen([sys.executable, "-m", "desktop", "index", "--quiet", str(corpus)], cwd=REPO, env=env,
                            text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for_vectors(chroma: Server, home: Path, process: subprocess.Popen[str]) -> None:
    """Until the indexer has written some vectors to the server (and is still writing)."""
    deadline = time.monotonic() + HANG_GUARD_S
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if _server_collection(chroma, _collection_name(home)).count() > 0:
                return
        except Exception:  # the collection is not there yet
            pass
        time.sleep(0.1)
    pytest.fail("the indexer wrote no vector before it ended")


def test_chroma_killed_mid_index_leaves_the_index_consistent(
    servers: tuple[Server, Server], tmp_path: Path, hearth_home: Path,
) -> None:
    chroma, _ = servers
    corpus = tmp_path / "many"
    corpus.mkdir()
    for n in range(40):
        (corpus / f"note-{n}.md").write_text(f"# Lantern {n}\n\n" + f"Lantern {n} burns oil number {n}. " * 150)
    _configure(hearth_home, remote_settings(chroma, None))
    indexing = _index_in_background(hearth_home, corpus)
    _wait_for_vectors(chroma, hearth_home, indexing)
    chroma.kill()
    _, err = indexing.communicate(timeout=HANG_GUARD_S)
    assert indexing.returncode == 2 and "Chroma server" in err and "Traceback" not in err, err

    chroma.start()  # same data folder, same port
    again = subprocess.run([sys.executable, "-m", "desktop", "index", "--json", str(corpus)], cwd=REPO,
                           env={**os.environ, "HEARTH_HOME": str(hearth_home)}, capture_output=True, text=True,
                           timeout=HANG_GUARD_S)
    assert again.returncode == 0, again.stderr
    checked = subprocess.run([sys.executable, "-m", "desktop", "check", "--json"], cwd=REPO,
                             env={**os.environ, "HEARTH_HOME": str(hearth_home)}, capture_output=True, text=True,
                             timeout=HANG_GUARD_S)
    report = json.loads(checked.stdout)
    assert report["ok"] and not report["problems"], report
    status = subprocess.run([sys.executable, "-m", "desktop", "status", "--json"], cwd=REPO,
                            env={**os.environ, "HEARTH_HOME": str(hearth_home)}, capture_output=True, text=True,
                            timeout=HANG_GUARD_S)
    assert json.loads(status.stdout)["documents"] == 40


def test_model_server_killed_mid_answer_keeps_the_answer_and_the_conversation(
    model_server: Server, hearth_home: Path, embedder: Any,
) -> None:
    model = model_server
    model.ensure_running()
    _configure(hearth_home, remote_settings(None, model) | {"generation": {"max_tokens": 400}})
    home = Home(hearth_home, models_dir=MODELS)
    answerer = home.answerer()
    answerer.workspace.embedder = embedder
    try:
        streamed: list[str] = []
        conversation = 0
        with pytest.raises(ModelError, match=r"broke off|Cannot reach"):
            for event in answerer.ask("Tell me a long story about a lighthouse keeper.", rag=False):
                if isinstance(event, AnswerStarted):
                    conversation = event.conversation_id
                if isinstance(event, AnswerToken):
                    streamed.append(event.text)
                    if len("".join(streamed)) > 20:
                        model.kill()
        messages = answerer.conversations.messages(conversation)
        assert messages[-1].status == MessageStatus.INTERRUPTED
        assert messages[-1].text == "".join(streamed)  # everything shown was kept

        model.start()
        events = list(answerer.ask("And what was his name?", conversation_id=conversation, rag=False))
        finished = events[-1]
        assert isinstance(finished, AnswerFinished) and finished.message.status == MessageStatus.COMPLETE
        assert [m.role for m in answerer.conversations.messages(conversation)] == ["user", "assistant"] * 2
    finally:
        answerer.close()


def test_stop_closes_the_stream_and_the_next_answer_works(model_server: Server) -> None:
    model_server.ensure_running()
    model = model_server
    host = OpenAIHost(BackendSettings(model_server=model.url, model_api_key=MODEL_KEY))
    generation = GenerationSettings()
    try:
        host.connect(generation)
        prompt = host.render_prompt([ChatMessage(role="user", content="Count from one to five hundred in words.")])
        long = generation.model_copy(update={"max_tokens": 2000})
        stream = host.generate(prompt, long)
        assert isinstance(next(stream), TokenEvent)
        threading.Thread(target=host.cancel).start()  # as the window's Stop does, from another thread
        *_, result = stream
        assert isinstance(result, GenerationResult) and result.stopped and result.finish_reason == "cancelled"
        assert result.generated_tokens < 2000

        *_, again = host.generate(prompt, generation.model_copy(update={"max_tokens": 8}))
        assert isinstance(again, GenerationResult) and not again.stopped and again.generated_tokens > 0
    finally:
        host.close()


def test_chroma_killed_before_an_answer_keeps_the_question_for_later(
    servers: tuple[Server, Server], corpus: Path, hearth_home: Path, in_process: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The vectors are read while the answer is prepared (retrieval, the confidence check): a server gone
    then is one sentence, the question stays in its conversation, and `hearth regenerate` answers it
    once the server is back."""
    chroma, model = servers
    _configure(hearth_home, remote_settings(chroma, model))
    assert _run(capsys, "index", str(corpus))[0] == 0
    code, out, _ = _run(capsys, "ask", "--json", "Where do tomatoes grow best?")
    conversation = json.loads(out)["conversation"]
    chroma.kill()
    code, out, err = _run(capsys, "ask", "--conversation", str(conversation), "What does error KX-409 mean?")
    assert code == 2 and "Chroma server" in err and len(err.strip().splitlines()) == 1, err

    chroma.start()
    code, out, err = _run(capsys, "regenerate", "--json", str(conversation))
    assert code == 0, err
    assert json.loads(out)["passages"][0]["path"].endswith("kettle.txt")
    code, out, _ = _run(capsys, "chats", "export", str(conversation), "--format", "json")
    texts = [m["text"] for m in json.loads(out)["messages"]]
    assert texts[0] == "Where do tomatoes grow best?" and texts[2] == "What does error KX-409 mean?"
    assert len(texts) == 4
