"""The embedder through ONNX Runtime: the int8 model set-up made, fed by the model's own tokenizer.

Tokenising, pooling and normalising are done here as the model's sentence-transformers
configuration says (its ``max_seq_length``, the mean of the token vectors under the attention mask,
unit length), so the app imports neither torch nor sentence-transformers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from desktop.core.cpu import embedding_threads
from desktop.core.errors import ModelError
from desktop.core.settings import EmbedderRuntime


class OnnxEmbedder:
    """Each text is run alone: no padding to compute, and a vector that does not depend on the texts
    embedded with it (dynamic quantisation scales a whole input tensor: in batches of 16, a passage's
    vector moved by up to 0.014 in cosine with its neighbours). Measured on SQLite passages, one at a
    time is also 45% more passages per CPU-second than batches of 16. A batch is spread over the cores
    one text per thread, which scales better than splitting each small matrix product between them."""

    runtime: EmbedderRuntime = "onnx-int8"

    def __init__(self, model_file: Path, folder: Path) -> None:
        """``model_file``: the verified ONNX graph; ``folder``: the sentence-transformers model it was made from."""
        self.name = folder.name
        self.dimension = _mean_pooling_dimension(folder)
        self._tokenizer = _tokenizer(folder)
        self._session = _open_session(model_file)  # fails now, not at the first question

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        threads = embedding_threads(len(texts))
        if threads == 1:
            rows = [self._embed_one(text) for text in texts]
        else:  # ONNX Runtime lets go of the GIL while it runs
            with ThreadPoolExecutor(threads, thread_name_prefix="onnx-embed") as pool:
                rows = list(pool.map(self._embed_one, texts))
        return np.array(rows, dtype=np.float32).reshape(len(texts), self.dimension)

    def _embed_one(self, text: str) -> np.ndarray:
        ids = np.array([self._tokenizer.encode(text).ids], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
        (hidden,) = self._session.run(None, feeds)
        mean = hidden[0].mean(axis=0)  # no padding: every token counts, as under the attention mask
        return mean / max(float(np.linalg.norm(mean)), 1e-12)


def _open_session(model_file: Path) -> Any:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    # One thread per run: parallel runs use the cores (see OnnxEmbedder), and no pool of ONNX Runtime
    # threads waits spinning on cores shared with the parse workers, the model host and the window.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only: its warnings would go to the terminal
    try:
        return onnxruntime.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # ONNX Runtime's own error classes derive from Exception only
        raise ModelError(
            f"The embedder's ONNX file {model_file} cannot be loaded ({type(exc).__name__}). "
            "Run `make models` to make it again, or set index.embedder_runtime to torch."
        ) from None


def _tokenizer(folder: Path) -> Any:
    """The model's fast tokenizer, cut as sentence-transformers does it (one text at a time: never padded)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    config = json.loads((folder / "sentence_bert_config.json").read_text(encoding="utf-8"))
    # tokenizer.json carries its own length (128 here); sentence-transformers cuts at max_seq_length.
    tokenizer.enable_truncation(max_length=int(config["max_seq_length"]))
    tokenizer.no_padding()
    return tokenizer


def _mean_pooling_dimension(folder: Path) -> int:
    pooling = json.loads((folder / "1_Pooling" / "config.json").read_text(encoding="utf-8"))
    if not pooling.get("pooling_mode_mean_tokens"):
        raise ModelError(
            f"{folder.name} does not pool by mean; it cannot run as ONNX. Set index.embedder_runtime to torch."
        )
    return int(pooling["word_embedding_dimension"])
