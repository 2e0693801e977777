"""The real MiniLM embedders (ONNX and torch): unit vectors, and threads suited to a question or a batch."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from desktop.core.cpu import physical_cores
from desktop.store import onnx_embedder
from desktop.store.embedder import Embedder, TorchEmbedder
from desktop.store.onnx_embedder import OnnxEmbedder


def test_vectors_are_unit_length_and_similar_texts_are_close(embedder: Embedder) -> None:
    assert embedder.runtime == "onnx-int8", "set-up (`make models`) did not make the ONNX embedder"
    vectors = embedder.embed(["Descale the kettle with citric acid.", "Remove limescale from a kettle.",
                              "The treaty was signed in 1648."])
    assert vectors.shape == (3, embedder.dimension) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2
    assert embedder.embed([]).shape == (0, embedder.dimension)


def _question_batch_question(embed: Callable[[list[str]], Any]) -> None:
    """A question, a batch from another thread, a question: as the search and the index worker do."""
    embed(["a short question?"])
    worker = threading.Thread(target=lambda: embed([f"passage {n}" for n in range(32)]))
    worker.start()
    worker.join()
    embed(["another question?"])


def test_a_question_uses_one_thread_and_a_batch_every_core(
    torch_embedder: TorchEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The query thread must not keep the batch's thread count, nor pass its own to an index thread.
    seen: list[int] = []
    encode = torch_embedder.model.encode

    def recording(texts: list[str], **options: Any) -> Any:
        seen.append(torch_embedder._torch.get_num_threads())
        return encode(texts, **options)

    monkeypatch.setattr(torch_embedder.model, "encode", recording)
    _question_batch_question(torch_embedder.embed)
    assert seen == [1, physical_cores(), 1]


def test_onnx_runs_a_question_on_its_thread_and_a_batch_on_every_core(
    embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert isinstance(embedder, OnnxEmbedder)
    assert embedder._session.get_session_options().intra_op_num_threads == 1  # the cores come from parallel runs
    pools: list[int] = []
    threads: list[str] = []
    embed_one = embedder._embed_one

    class RecordingPool(onnx_embedder.ThreadPoolExecutor):
        def __init__(self, workers: int, **options: Any) -> None:
            pools.append(workers)
            super().__init__(workers, **options)

    def recording(text: str) -> np.ndarray:
        threads.append(threading.current_thread().name)
        return embed_one(text)

    monkeypatch.setattr(onnx_embedder, "ThreadPoolExecutor", RecordingPool)
    monkeypatch.setattr(embedder, "_embed_one", recording)
    _question_batch_question(embedder.embed)
    assert pools == [physical_cores()]
    assert threads[0] == threads[-1] == "MainThread" and len(threads) == 34
    assert all(name.startswith("onnx-embed") for name in threads[1:-1])
