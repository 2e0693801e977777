"""A GGUF header is parsed in the app's process: hostile metadata is refused within a memory budget,
while real headers (large vocabularies and merges included) still parse."""

from __future__ import annotations

import struct
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import gguf
import numpy as np
import pytest

from desktop.core.errors import ModelError
from desktop.llm.gguf_header import read_header
from desktop.llm.gguf_info import check_model_file, read_model_info
from tests.llm.helpers import gguf_string

MB = 1 << 20
PEAK_BUDGET = 64 * MB  # the vocabulary and text budgets allow ~40 MB at most
ARRAY, STRING, BOOL, UINT8 = 9, 8, 7, 0


def _header(kv_count: int) -> bytes:
    return b"GGUF" + struct.pack("<IQQ", 3, 0, kv_count)


def _nested_empty_arrays(path: Path) -> None:
    """One key holding ~8 million empty arrays: 12 zero bytes each, so the file is sparse."""
    size = 100 * MB
    head = _header(1) + gguf_string("hostile.nested") + struct.pack("<I", ARRAY)
    count = (size - len(head) - 12) // 12
    with path.open("wb") as handle:
        handle.write(head + struct.pack("<IQ", ARRAY, count))
        handle.truncate(size)


def _nested_bool_arrays(path: Path) -> None:
    """Keys of 4,096 arrays of 4,096 booleans: each kept array would be a list 8 times its size."""
    inner = struct.pack("<IQ", BOOL, 4096) + bytes(4096)
    keys = 6  # ~100 MB
    with path.open("wb") as handle:
        handle.write(_header(keys))
        for index in range(keys):
            handle.write(gguf_string(f"hostile.{index}") + struct.pack("<IIQ", ARRAY, ARRAY, 4096))
            handle.write(inner * 4096)


def _many_long_strings(path: Path) -> None:
    """120 strings of 1 MB: each short enough to keep, together far more than any model's text."""
    keys = 120
    with path.open("wb") as handle:
        handle.write(_header(keys))
        for index in range(keys):
            handle.write(gguf_string(f"hostile.{index}") + struct.pack("<I", STRING) + gguf_string("x" * MB))


def _huge_vocabulary(path: Path) -> None:
    """20 million one-byte tokens (180 MB), in the one array that is always kept whole."""
    count = 20_000_000
    head = _header(1) + gguf_string("tokenizer.ggml.tokens") + struct.pack("<IIQ", ARRAY, STRING, count)
    with path.open("wb") as handle:
        handle.write(head + (struct.pack("<Q", 1) + b"a") * count)


HOSTILE: dict[str, tuple[Callable[[Path], None], str]] = {
    "nested-empty": (_nested_empty_arrays, "its metadata holds more than 2,097,152 entries."),
    "nested-bools": (_nested_bool_arrays, "its metadata holds more than 65,536 small values."),
    "long-strings": (_many_long_strings, "its metadata holds more than 32 MiB of text."),
    "vocabulary": (_huge_vocabulary, "metadata key 'tokenizer.ggml.tokens' claims 20,000,000 entries."),
}


@pytest.mark.timeout(300)
@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_metadata_is_refused_within_a_memory_budget(tmp_path: Path, case: str) -> None:
    write, expected = HOSTILE[case]
    path = tmp_path / f"{case}.gguf"
    write(path)
    tracemalloc.start()
    try:
        with pytest.raises(ModelError) as caught:
            check_model_file(path, tmp_path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    print(f"{case}: {path.stat().st_size / MB:.0f} MB file, parse peak {peak / MB:.1f} MB")
    assert str(caught.value) == f"{case}.gguf looks damaged: {expected}"
    assert peak < PEAK_BUDGET


def test_a_256k_vocabulary_with_merges_still_parses(tmp_path: Path) -> None:
    """The largest real vocabularies (Gemma 3: 262,144 tokens) with as many merges; an embedded
    tokenizer.json (older converters wrote one) is skipped rather than refused."""
    size = 262_144
    tokens = ["<pad>", "<bos>", "<eos>", "<start_of_turn>", "<end_of_turn>"]
    tokens += [f"tok{index}" for index in range(size - len(tokens))]
    path = tmp_path / "big-vocabulary.gguf"
    writer = gguf.GGUFWriter(str(path), arch="gemma3")
    writer.add_uint32("gemma3.context_length", 8192)
    writer.add_token_list(tokens)
    writer.add_token_types([3] * 5 + [1] * (size - 5))
    writer.add_token_scores([0.0] * size)
    writer.add_token_merges([f"tok{index} tok{index + 1}" for index in range(size)])
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_chat_template("{% for m in messages %}<start_of_turn>{{ m.content }}<end_of_turn>{% endfor %}")
    writer.add_string("tokenizer.huggingface.json", "{" + " " * (5 * MB) + "}")
    writer.add_tensor("token_embd.weight", np.ones((4, 64), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()

    header = read_header(path)
    assert len(header.metadata["tokenizer.ggml.tokens"]) == size  # type: ignore[arg-type]
    assert "tokenizer.huggingface.json" not in header.metadata
    info = read_model_info(path)
    assert info.bos_token == "<bos>" and info.eos_token == "<eos>"
    assert info.control_tokens == ("<bos>", "<end_of_turn>", "<eos>", "<pad>", "<start_of_turn>")
    assert info.chat_template is not None and "<start_of_turn>" in info.chat_template
