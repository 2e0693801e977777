"""GGUF headers: what is read from the real model, and every way a bad file is refused."""

from __future__ import annotations

import logging
import os
import random
import shutil
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import gguf
import numpy as np
import pytest

from desktop.core.errors import ModelError
from desktop.core.manifest import MANIFEST_FILE
from desktop.core.userfiles import RegularFile
from desktop.llm import gguf_header, gguf_info
from desktop.llm.gguf_header import read_header
from desktop.llm.gguf_info import check_adapter_file, check_model_file, list_models, read_model_info
from tests.llm.helpers import MODELS, forged_header, gguf_string, write_gguf, write_lora


def test_reads_the_real_models_metadata(model_path: Path) -> None:
    info = read_model_info(model_path)
    assert info.architecture == "llama"
    assert info.name == "SmolLM2-135M-Instruct"  # the manifest's name
    assert info.context_length == 8192
    assert info.quantization == "Q4_1"
    assert info.parameters is not None and 130_000_000 < info.parameters < 140_000_000
    assert info.file_size == model_path.stat().st_size
    assert info.checksum_known
    assert info.bos_token == "<|im_start|>" and info.eos_token == "<|im_end|>"
    assert info.chat_template is not None and "<|im_start|>" in info.chat_template
    assert {"<|im_start|>", "<|im_end|>", "<|endoftext|>"} <= set(info.control_tokens)


def _count_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Route the header reader's file through a wrapper that adds up the bytes read."""
    read_bytes = [0]
    real_open = gguf_header.open_regular

    class Counting:
        def __init__(self, handle: Any) -> None:
            self._handle = handle

        def read(self, size: int = -1) -> bytes:
            data = self._handle.read(size)
            read_bytes[0] += len(data)
            return data

        def seek(self, offset: int) -> int:
            return int(self._handle.seek(offset))

    @contextmanager
    def counting(path: Path) -> Iterator[RegularFile]:
        with real_open(path) as file:
            yield RegularFile(Counting(file.handle), file.size)  # type: ignore[arg-type]

    monkeypatch.setattr(gguf_header, "open_regular", counting)
    return read_bytes


def test_a_pipe_named_like_a_model_is_refused_without_waiting(tmp_path: Path) -> None:
    pipe = tmp_path / "model.gguf"
    os.mkfifo(pipe)
    with pytest.raises(ModelError, match=r"model\.gguf cannot be read: not a regular file"):
        read_header(pipe)


def test_reads_only_the_header(model_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    read_bytes = _count_reads(monkeypatch)
    read_header(model_path)
    assert 0 < read_bytes[0] < model_path.stat().st_size // 10


def test_a_5_gb_model_is_described_from_its_header(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.gguf"
    elements = 5 * 1024**3 // 2
    writer = gguf.GGUFWriter(str(path), arch="llama")
    writer.add_uint32("llama.context_length", 4096)
    writer.add_tensor_info("token_embd.weight", (elements // 4096, 4096), np.dtype(np.float16), elements * 2)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    writer.close()
    data_offset = -(-path.stat().st_size // 32) * 32  # the header, padded to the default alignment
    with path.open("r+b") as handle:  # sparse: the weights take no disk space
        handle.truncate(data_offset + elements * 2)
    read_bytes = _count_reads(monkeypatch)
    info = read_model_info(path)
    assert info.file_size > 5 * 1024**3 and info.parameters == elements and info.quantization == "F16"
    assert read_bytes[0] <= 1 << 20  # one read-ahead block


def test_memory_estimate_follows_the_context(model_path: Path) -> None:
    small = read_model_info(model_path, context_length=1024)
    large = read_model_info(model_path, context_length=8192)
    assert small.file_size < small.ram_estimate_bytes < large.ram_estimate_bytes
    beyond = read_model_info(model_path, context_length=100_000)
    assert beyond.ram_context_length == 8192  # never beyond what the model was trained for


def _damaged_file(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


BAD_HEADERS = {
    "text": (b"hello, I am not a model\n" * 10, "is not a GGUF model file."),
    "empty": (b"", "is not a GGUF model file."),
    "tensors": (
        forged_header(tensors=4_000_000_000),
        "looks damaged: its header declares 4,000,000,000 tensors.",
    ),
    "kvs": (forged_header(kvs=1 << 40), "declares 1,099,511,627,776 metadata entries"),
    "v1": (forged_header(version=1), "uses GGUF version 1; only versions 2 and 3"),
    "big-endian": (b"GGUF" + struct.pack(">IQQ", 3, 0, 0) + bytes(64), "is a big-endian GGUF file"),
    "key-length": (
        forged_header(kvs=1, body=struct.pack("<Q", 1 << 60)),
        "looks damaged: a text field claims to be 1,152,921,504,606,846,976 bytes long.",
    ),
    "value-type": (forged_header(kvs=1, body=gguf_string("a") + struct.pack("<I", 99)), "unknown type 99"),
    "array-count": (
        forged_header(kvs=1, body=gguf_string("a") + struct.pack("<IIQ", 9, 4, 1 << 50)),
        "looks damaged: metadata key 'a' claims 1,125,899,906,842,624 entries.",
    ),
    "duplicate-key": (
        forged_header(kvs=2, body=(gguf_string("k") + struct.pack("<II", 4, 1)) * 2),
        "metadata key 'k' appears twice",
    ),
    "dims": (forged_header(tensors=1, body=gguf_string("t") + struct.pack("<I", 1000)), "1,000 dimensions"),
    "tensor-type": (
        forged_header(tensors=1, body=gguf_string("t") + struct.pack("<IQIQ", 1, 32, 999, 0)),
        "uses a tensor type (id 999) this version of Hearth does not know.",
    ),
    "data-offset": (
        forged_header(tensors=1, body=gguf_string("t") + struct.pack("<IQIQ", 1, 32, 0, 1 << 40)),
        "the file is shorter than its header says",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_HEADERS))
def test_malformed_headers_are_refused_with_one_clear_sentence(tmp_path: Path, case: str) -> None:
    data, expected = BAD_HEADERS[case]
    path = _damaged_file(tmp_path, f"{case}.gguf", data)
    with pytest.raises(ModelError) as caught:
        check_model_file(path, tmp_path)
    message = str(caught.value)
    assert message.startswith(f"{case}.gguf ") and expected in message
    assert message.endswith(".") and "\n" not in message


def test_a_header_too_large_to_be_real_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bloated.gguf"
    path.write_bytes(forged_header(kvs=1, body=gguf_string("a") + struct.pack("<IQ", 8, 300 << 20)))
    with path.open("r+b") as handle:  # sparse: 400 MB that take no disk space
        handle.truncate(400 << 20)
    with pytest.raises(
        ModelError, match=r"^bloated.gguf looks damaged: a text field claims to be 314,572,800 "
    ):
        check_model_file(path, tmp_path)


def test_truncated_models_are_refused(tmp_path: Path, model_path: Path) -> None:
    data = model_path.read_bytes()
    in_header = _damaged_file(tmp_path, "in-header.gguf", data[:100_000])
    with pytest.raises(
        ModelError, match=r"^in-header.gguf looks damaged: metadata key '.+' claims [\d,]+ entries\.$"
    ):
        check_model_file(in_header, tmp_path)
    in_weights = _damaged_file(tmp_path, "in-weights.gguf", data[: len(data) // 2])
    with pytest.raises(ModelError, match=r"shorter than its header says \(an interrupted download\?\)\.$"):
        check_model_file(in_weights, tmp_path)


def test_random_damage_never_escapes_as_another_error(tmp_path: Path) -> None:
    good = write_gguf(tmp_path / "good.gguf", template="{{ messages }}").read_bytes()
    header_size = read_header(tmp_path / "good.gguf").data_offset
    target = tmp_path / "mutant.gguf"
    rng = random.Random(1234)
    outcomes = {"ok": 0, "refused": 0}
    for _ in range(400):
        data = bytearray(good)
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(4, header_size)] = rng.randrange(256)
        if rng.random() < 0.3:
            data = data[: rng.randrange(len(data))]
        target.write_bytes(bytes(data))
        try:
            read_model_info(target)
            outcomes["ok"] += 1
        except ModelError:
            outcomes["refused"] += 1
    assert outcomes["refused"] > 0


def test_missing_and_non_files(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        check_model_file(tmp_path / "nothing.gguf", tmp_path)
    with pytest.raises(ModelError, match="is not a file"):
        check_model_file(tmp_path, tmp_path)


@pytest.fixture
def manifest_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "models"
    folder.mkdir()
    shutil.copy(MODELS / MANIFEST_FILE, folder / MANIFEST_FILE)
    return folder


def test_checksum_mismatch_is_refused(manifest_dir: Path, model_path: Path) -> None:
    data = bytearray(model_path.read_bytes())
    data[-1] ^= 0xFF  # one byte of the weights: the header still parses
    copy = manifest_dir / model_path.name
    copy.write_bytes(bytes(data))
    with pytest.raises(ModelError, match=r"does not match its checksum in the models manifest"):
        check_model_file(copy, manifest_dir)


def test_checksum_is_verified_once_per_file_version(
    manifest_dir: Path, model_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Path] = []
    real = gguf_info.sha256_of

    def counted(path: Path) -> str:
        calls.append(path)
        return real(path)

    monkeypatch.setattr(gguf_info, "sha256_of", counted)
    copy = manifest_dir / model_path.name
    shutil.copy(model_path, copy)
    assert check_model_file(copy, manifest_dir).checksum_known
    check_model_file(copy, manifest_dir)
    assert len(calls) == 1
    stat = copy.stat()
    os.utime(copy, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    check_model_file(copy, manifest_dir)
    assert len(calls) == 2


def test_unknown_files_are_not_checksummed(tmp_path: Path) -> None:
    info = check_model_file(write_gguf(tmp_path / "own.gguf"), tmp_path)
    assert not info.checksum_known and info.name == "own"


def _free_memory(monkeypatch: pytest.MonkeyPatch, available: int) -> None:
    monkeypatch.setattr(gguf_info.psutil, "virtual_memory", lambda: SimpleNamespace(available=available))


def test_too_big_for_free_memory_is_refused_unless_forced(
    model_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _free_memory(monkeypatch, 100_000_000)
    with pytest.raises(ModelError) as caught:
        check_model_file(model_path, MODELS)
    assert str(caught.value) == (
        f"{model_path.name} needs about 0.4 GB of memory but only 0.1 GB is free; use --force to try anyway."
    )
    assert check_model_file(model_path, MODELS, force=True).architecture == "llama"


def test_list_models_skips_bad_files(
    tmp_path: Path, model_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "a-real.gguf").symlink_to(model_path)
    write_gguf(tmp_path / "b-tiny.gguf")
    (tmp_path / "c-broken.gguf").write_bytes(forged_header(tensors=4_000_000_000))
    (tmp_path / "notes.txt").write_text("not a model")
    (tmp_path / "d-folder.gguf").mkdir()
    write_lora(tmp_path / "e-adapter.gguf")
    with caplog.at_level(logging.WARNING):
        found = list_models(tmp_path)
    assert [Path(info.path).name for info in found] == ["a-real.gguf", "b-tiny.gguf"]
    assert found[1].quantization == "F32" and found[1].parameters == 4 * 64 + 64
    assert "c-broken.gguf looks damaged" in caplog.text
    assert "e-adapter.gguf is a GGUF file of type 'adapter', not a chat model." in caplog.text
    assert list_models(tmp_path / "absent") == []


def test_adapter_checks(tmp_path: Path, model_path: Path) -> None:
    check_adapter_file(write_lora(tmp_path / "lora.gguf"))
    with pytest.raises(ModelError, match="is not a LoRA adapter"):
        check_adapter_file(model_path)
    with pytest.raises(ModelError, match="does not exist"):
        check_adapter_file(tmp_path / "absent.gguf")
    (tmp_path / "junk.gguf").write_bytes(b"junk" * 100)
    with pytest.raises(ModelError, match="is not a GGUF model file"):
        check_adapter_file(tmp_path / "junk.gguf")
