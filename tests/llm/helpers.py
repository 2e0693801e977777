"""Helpers for the model-layer tests: the real model's location, a streaming runner, GGUF builders."""

from __future__ import annotations

import struct
from pathlib import Path

import gguf
import numpy as np

from desktop.core.settings import GenerationSettings
from desktop.llm.host import GenerationResult, ModelHost, TokenEvent
from desktop.llm.templates import ChatMessage

MODELS = Path(__file__).resolve().parents[2] / "models"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
GREEDY = GenerationSettings(temperature=0.0, max_tokens=24, seed=7)
QUESTION = [ChatMessage(role="user", content="What is the capital of France?")]


def run(
    host: ModelHost, prompt: str, settings: GenerationSettings = GREEDY
) -> tuple[list[str], GenerationResult]:
    """Every streamed piece and the final result; checks that exactly one result ends the stream."""
    pieces: list[str] = []
    results: list[GenerationResult] = []
    for event in host.generate(prompt, settings):
        if isinstance(event, TokenEvent):
            assert not results, "a token arrived after the result"
            pieces.append(event.text)
        else:
            results.append(event)
    assert len(results) == 1
    return pieces, results[0]


def write_gguf(path: Path, *, arch: str = "llama", template: str | None = None) -> Path:
    """A tiny well-formed GGUF (two small tensors), for header tests."""
    writer = gguf.GGUFWriter(str(path), arch=arch)
    writer.add_uint32(f"{arch}.context_length", 2048)
    writer.add_uint32(f"{arch}.block_count", 2)
    writer.add_uint32(f"{arch}.embedding_length", 64)
    writer.add_uint32(f"{arch}.attention.head_count", 4)
    writer.add_uint32("general.file_type", int(gguf.LlamaFileType.ALL_F32))
    writer.add_token_list(["<unk>", "<s>", "</s>", "hello"])
    writer.add_token_types([2, 3, 3, 1])
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    if template is not None:
        writer.add_chat_template(template)
    writer.add_tensor("token_embd.weight", np.ones((4, 64), dtype=np.float32))
    writer.add_tensor("output_norm.weight", np.ones(64, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def gguf_string(text: str) -> bytes:
    data = text.encode()
    return struct.pack("<Q", len(data)) + data


def forged_header(*, version: int = 3, tensors: int = 0, kvs: int = 0, body: bytes = b"") -> bytes:
    """Raw header bytes, for files no GGUF writer would produce; padded so size checks pass."""
    return b"GGUF" + struct.pack("<IQQ", version, tensors, kvs) + body + bytes(4096)


def write_lora(path: Path, scale: float = 0.5) -> Path:
    """A random rank-4 LoRA on SmolLM2's query projections: changes what the model says."""
    writer = gguf.GGUFWriter(str(path), arch="llama")
    writer.add_type("adapter")
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", 4.0)
    rng = np.random.default_rng(0)
    for layer in range(30):
        lora_a = rng.standard_normal((4, 576)).astype(np.float32) * scale
        lora_b = rng.standard_normal((576, 4)).astype(np.float32) * scale
        writer.add_tensor(f"blk.{layer}.attn_q.weight.lora_a", lora_a)
        writer.add_tensor(f"blk.{layer}.attn_q.weight.lora_b", lora_b)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
