"""A bounds-checked reader of a GGUF file's header: metadata and tensor table, never the weights.

llama.cpp aborts the whole process on some malformed headers, so every count, length and offset is
checked here against sane limits and the file size before llama.cpp is allowed to open the file.
Reads go through a growing in-memory buffer rather than mmap, so a file truncated while being read
raises an error instead of SIGBUS.
"""

from __future__ import annotations

import struct
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

from desktop.core.errors import ModelError

MAGIC = b"GGUF"
SUPPORTED_VERSIONS = (2, 3)
DEFAULT_ALIGNMENT = 32

# Far above any real model (large MoE files have a few thousand tensors and ~50 metadata keys),
# far below what would exhaust memory.
MAX_TENSORS = 1 << 20
MAX_KV = 1 << 16
MAX_DIMS = 4  # GGML_MAX_DIMS
MAX_NAME_BYTES = 1 << 12
MAX_NESTING = 2
MAX_HEADER_BYTES = 256 << 20  # real headers, vocabulary included, stay under ~20 MB
SMALL_ARRAY = 4096  # arrays up to this length are kept whole; longer ones only if listed below
KEPT_LARGE_ARRAYS = frozenset({"tokenizer.ggml.tokens", "tokenizer.ggml.token_type"})

# GGUF value type id -> (struct format, size) for fixed-size scalars.
_SCALARS: dict[int, tuple[str, int]] = {
    0: ("<B", 1),
    1: ("<b", 1),
    2: ("<H", 2),
    3: ("<h", 2),
    4: ("<I", 4),
    5: ("<i", 4),
    6: ("<f", 4),
    7: ("<?", 1),
    10: ("<Q", 8),
    11: ("<q", 8),
    12: ("<d", 8),
}
_ARRAY_CODES = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 10: "Q", 11: "q", 12: "d"}
_STRING = 8
_ARRAY = 9
_READ_CHUNK = 1 << 20
_MAX_READ_CHUNK = 64 << 20

MetaValue = int | float | bool | str | list["MetaValue"] | array


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple[int, ...]
    type_id: int
    offset: int  # from the start of the data section
    n_elements: int
    n_bytes: int


@dataclass(frozen=True)
class GGUFHeader:
    version: int
    file_size: int
    metadata: dict[str, MetaValue] = field(default_factory=dict)
    tensors: tuple[TensorInfo, ...] = ()
    data_offset: int = 0


def _damaged(name: str, reason: str) -> ModelError:
    return ModelError(f"{name} looks damaged: {reason}.")


class _Cursor:
    """Sequential little-endian reads from a file, failing cleanly at the end of the file."""

    def __init__(self, handle: BinaryIO, file_size: int, name: str) -> None:
        self._handle = handle
        self.file_size = file_size
        self.name = name
        self.buffer = bytearray()
        self.pos = 0

    def need(self, n: int) -> None:
        end = self.pos + n
        if end <= len(self.buffer):
            return
        if end > self.file_size:
            raise _damaged(self.name, "the file ends in the middle of its header")
        if end > MAX_HEADER_BYTES:
            raise _damaged(self.name, f"its header is larger than {MAX_HEADER_BYTES >> 20} MiB")
        # Read ahead generously: the vocabulary is hundreds of thousands of tiny strings.
        want = max(end - len(self.buffer), min(max(len(self.buffer), _READ_CHUNK), _MAX_READ_CHUNK))
        self.buffer += self._handle.read(want)
        if end > len(self.buffer):
            raise _damaged(self.name, "the file ends in the middle of its header")

    def remaining(self) -> int:
        """Bytes the rest of the header can span: bounds every declared count and length."""
        return min(self.file_size, MAX_HEADER_BYTES) - self.pos

    def scalar(self, fmt: str, size: int) -> int | float | bool:
        self.need(size)
        (value,) = struct.unpack_from(fmt, self.buffer, self.pos)
        self.pos += size
        return value

    def u32(self) -> int:
        return int(self.scalar("<I", 4))

    def u64(self) -> int:
        return int(self.scalar("<Q", 8))

    def string(self, limit: int | None = None) -> str:
        length = self.u64()
        if length > self.remaining():
            raise _damaged(self.name, f"a text field claims to be {length:,} bytes long")
        if limit is not None and length > limit:
            raise _damaged(self.name, f"a name in its header is {length:,} bytes long")
        self.need(length)
        start = self.pos
        self.pos += length
        return self.buffer[start : self.pos].decode("utf-8", errors="replace")

    def string_array(self, count: int, keep: bool) -> list[MetaValue]:
        """Many short strings: a tight loop, since vocabularies hold hundreds of thousands."""
        kept: list[MetaValue] = []
        unpack = struct.Struct("<Q").unpack_from
        for _ in range(count):
            if self.pos + 8 > len(self.buffer):
                self.need(8)
            (length,) = unpack(self.buffer, self.pos)
            self.pos += 8
            if length > self.remaining():
                raise _damaged(self.name, f"a text field claims to be {length:,} bytes long")
            if self.pos + length > len(self.buffer):
                self.need(length)
            if keep:
                kept.append(self.buffer[self.pos : self.pos + length].decode("utf-8", errors="replace"))
            self.pos += length
        return kept


def _value(cursor: _Cursor, type_id: int, key: str, depth: int = 0) -> MetaValue | None:
    """Read one value; large arrays nobody needs are skipped and return None."""
    if type_id in _SCALARS:
        return cursor.scalar(*_SCALARS[type_id])
    if type_id == _STRING:
        return cursor.string()
    if type_id != _ARRAY:
        raise _damaged(cursor.name, f"metadata key {key!r} has unknown type {type_id}")
    if depth >= MAX_NESTING:
        raise _damaged(cursor.name, f"metadata key {key!r} nests arrays too deeply")
    item_type = cursor.u32()
    count = cursor.u64()
    keep = count <= SMALL_ARRAY or key in KEPT_LARGE_ARRAYS
    if item_type in _SCALARS:
        size = _SCALARS[item_type][1]
        if count > cursor.remaining() // size:
            raise _damaged(cursor.name, f"metadata key {key!r} claims {count:,} entries")
        cursor.need(count * size)
        start = cursor.pos
        cursor.pos += count * size
        if not keep:
            return None
        if item_type == 7:
            return [bool(byte) for byte in cursor.buffer[start : cursor.pos]]
        values = array(_ARRAY_CODES[item_type])
        values.frombytes(cursor.buffer[start : cursor.pos])  # GGUF and every supported host are little-endian
        return values
    if item_type == _STRING:
        if count > cursor.remaining() // 8:
            raise _damaged(cursor.name, f"metadata key {key!r} claims {count:,} entries")
        strings = cursor.string_array(count, keep)
        return strings if keep else None
    if item_type == _ARRAY:
        if count > cursor.remaining() // 12:
            raise _damaged(cursor.name, f"metadata key {key!r} claims {count:,} entries")
        nested = [_value(cursor, _ARRAY, key, depth + 1) for _ in range(count)]
        return [item for item in nested if item is not None] if keep else None
    raise _damaged(cursor.name, f"metadata key {key!r} holds entries of unknown type {item_type}")


def _tensor(cursor: _Cursor) -> TensorInfo:
    name = cursor.string(MAX_NAME_BYTES)
    n_dims = cursor.u32()
    if not 1 <= n_dims <= MAX_DIMS:
        raise _damaged(cursor.name, f"tensor {name!r} declares {n_dims:,} dimensions")
    shape = tuple(cursor.u64() for _ in range(n_dims))
    type_id = cursor.u32()
    offset = cursor.u64()
    n_elements = 1
    for size in shape:
        n_elements *= size
    if n_elements >= 1 << 62:
        raise _damaged(cursor.name, f"tensor {name!r} declares an impossible shape {shape}")
    try:
        block_size, block_bytes = GGML_QUANT_SIZES[GGMLQuantizationType(type_id)]
    except (ValueError, KeyError):
        raise ModelError(
            f"{cursor.name} uses a tensor type (id {type_id}) this version of Hearth does not know."
        ) from None
    if shape[0] % block_size:
        raise _damaged(cursor.name, f"tensor {name!r} has a shape that does not fit its type")
    return TensorInfo(name, shape, type_id, offset, n_elements, n_elements // block_size * block_bytes)


def _parse(cursor: _Cursor) -> GGUFHeader:
    name = cursor.name
    if cursor.file_size < len(MAGIC):
        raise ModelError(f"{name} is not a GGUF model file.")
    cursor.need(len(MAGIC))
    if bytes(cursor.buffer[: len(MAGIC)]) != MAGIC:
        raise ModelError(f"{name} is not a GGUF model file.")
    cursor.pos = len(MAGIC)
    version = cursor.u32()
    if version not in SUPPORTED_VERSIONS:
        if version & 0xFFFF == 0 and version >> 16:
            raise ModelError(f"{name} is a big-endian GGUF file, which this computer cannot load.")
        raise ModelError(f"{name} uses GGUF version {version}; only versions 2 and 3 are supported.")
    tensor_count = cursor.u64()
    kv_count = cursor.u64()
    # Each tensor entry takes at least 32 bytes and each key/value at least 13.
    if tensor_count > MAX_TENSORS or tensor_count * 32 > cursor.remaining():
        raise _damaged(name, f"its header declares {tensor_count:,} tensors")
    if kv_count > MAX_KV or kv_count * 13 > cursor.remaining():
        raise _damaged(name, f"its header declares {kv_count:,} metadata entries")

    metadata: dict[str, MetaValue] = {}
    for _ in range(kv_count):
        key = cursor.string(MAX_NAME_BYTES)
        if key in metadata:
            raise _damaged(name, f"metadata key {key!r} appears twice")
        value = _value(cursor, cursor.u32(), key)
        if value is not None:
            metadata[key] = value

    tensors = tuple(_tensor(cursor) for _ in range(tensor_count))
    if len({tensor.name for tensor in tensors}) != len(tensors):
        raise _damaged(name, "two tensors share a name")

    alignment = metadata.get("general.alignment", DEFAULT_ALIGNMENT)
    if not isinstance(alignment, int) or alignment <= 0 or alignment & (alignment - 1):
        raise _damaged(name, f"its data alignment {alignment!r} is not a power of two")
    data_offset = -(-cursor.pos // alignment) * alignment
    for tensor in tensors:
        if tensor.offset % alignment:
            raise _damaged(name, f"tensor {tensor.name!r} is not aligned")
        if data_offset + tensor.offset + tensor.n_bytes > cursor.file_size:
            raise _damaged(name, "the file is shorter than its header says (an interrupted download?)")
    return GGUFHeader(version, cursor.file_size, metadata, tensors, data_offset)


def read_header(path: Path) -> GGUFHeader:
    """Parse and validate the header of ``path``; any problem is a ModelError naming the file."""
    name = path.name
    try:
        with path.open("rb") as handle:
            return _parse(_Cursor(handle, path.stat().st_size, name))
    except OSError as exc:
        raise ModelError(f"{name} cannot be read: {exc.strerror or exc}.") from None
    except MemoryError:
        raise _damaged(name, "its header is too large to read") from None
