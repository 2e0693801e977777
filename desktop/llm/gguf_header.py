"""A bounds-checked reader of a GGUF file's header: metadata and tensor table, never the weights.

llama.cpp aborts the whole process on some malformed headers, so every count, length and offset is
checked here against sane limits and the file size before llama.cpp is allowed to open the file.
Reads go through a small in-memory window rather than mmap, so a file truncated while being read
raises an error instead of SIGBUS.

The header is untrusted and read in the app's process, so what parsing may cost is budgeted, not
just what the file declares: entries walked one by one (strings, nested arrays; vocabulary and
merges included) bound the time; entries kept outside the vocabulary, and bytes of text kept
anywhere, bound the memory. Long arrays and long text nobody needs are skipped without being buffered.
"""

from __future__ import annotations

import struct
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

from desktop.core.errors import ModelError
from desktop.core.userfiles import describe_os_error, open_regular

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
MAX_VOCABULARY = 1 << 20  # the largest real vocabularies hold 262,144 tokens
# Strings and nested arrays read one at a time, anywhere: a 256k vocabulary plus its merges is ~0.6M.
MAX_WALKED_ENTRIES = 1 << 21
# Real models keep a few hundred values besides the vocabulary, and a few MB of text with it.
MAX_KEPT_ENTRIES = 1 << 16  # outside the vocabulary, nested arrays counted
MAX_KEPT_TEXT_BYTES = 32 << 20  # vocabulary included
MAX_KEPT_STRING_BYTES = 1 << 20  # longer text (an embedded tokenizer.json) is skipped, not kept

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
    """Sequential little-endian reads from a file, failing cleanly at the end of the file.

    ``buffer`` is a window on the file starting at ``offset``; ``pos`` indexes into it. Consumed
    bytes are dropped when the window is refilled, so memory stays at about one read-ahead block.
    """

    def __init__(self, handle: BinaryIO, file_size: int, name: str) -> None:
        self._handle = handle
        self.file_size = file_size
        self.name = name
        self.buffer = bytearray()
        self.offset = 0
        self.pos = 0
        self.walked = 0  # strings and nested arrays read one by one
        self.kept = 0  # entries kept outside the vocabulary
        self.kept_text = 0  # bytes of text kept, vocabulary included

    def tell(self) -> int:
        return self.offset + self.pos

    def _check_end(self, end: int) -> None:
        if end > self.file_size:
            raise _damaged(self.name, "the file ends in the middle of its header")
        if end > MAX_HEADER_BYTES:
            raise _damaged(self.name, f"its header is larger than {MAX_HEADER_BYTES >> 20} MiB")

    def need(self, n: int) -> None:
        if self.pos + n <= len(self.buffer):
            return
        self._check_end(self.tell() + n)
        del self.buffer[: self.pos]
        self.offset += self.pos
        self.pos = 0
        # Read ahead: the vocabulary is hundreds of thousands of tiny strings.
        self.buffer += self._handle.read(max(n - len(self.buffer), _READ_CHUNK))
        if n > len(self.buffer):
            raise _damaged(self.name, "the file ends in the middle of its header")

    def skip(self, n: int) -> None:
        """Move past ``n`` bytes without buffering them (a long array or text nobody needs)."""
        if self.pos + n <= len(self.buffer):
            self.pos += n
            return
        end = self.tell() + n
        self._check_end(end)
        self._handle.seek(end)
        self.buffer.clear()
        self.offset, self.pos = end, 0

    def remaining(self) -> int:
        """Bytes the rest of the header can span: bounds every declared count and length."""
        return min(self.file_size, MAX_HEADER_BYTES) - self.tell()

    def walk(self, count: int) -> None:
        """Budget ``count`` entries that will be read one by one."""
        self.walked += count
        if self.walked > MAX_WALKED_ENTRIES:
            raise _damaged(self.name, f"its metadata holds more than {MAX_WALKED_ENTRIES:,} entries")

    def keep(self, count: int) -> None:
        """Budget values kept in memory outside the vocabulary."""
        self.kept += count
        if self.kept > MAX_KEPT_ENTRIES:
            raise _damaged(self.name, f"its metadata holds more than {MAX_KEPT_ENTRIES:,} small values")

    def keep_text(self, n_bytes: int) -> None:
        self.kept_text += n_bytes
        if self.kept_text > MAX_KEPT_TEXT_BYTES:
            raise self._too_much_text()

    def _too_much_text(self) -> ModelError:
        return _damaged(self.name, f"its metadata holds more than {MAX_KEPT_TEXT_BYTES >> 20} MiB of text")

    def scalar(self, fmt: str, size: int) -> int | float | bool:
        self.need(size)
        (value,) = struct.unpack_from(fmt, self.buffer, self.pos)
        self.pos += size
        return value

    def u32(self) -> int:
        return int(self.scalar("<I", 4))

    def u64(self) -> int:
        return int(self.scalar("<Q", 8))

    def _length(self) -> int:
        length = self.u64()
        if length > self.remaining():
            raise _damaged(self.name, f"a text field claims to be {length:,} bytes long")
        return length

    def string(self, limit: int | None = None) -> str:
        length = self._length()
        if limit is not None and length > limit:
            raise _damaged(self.name, f"a name in its header is {length:,} bytes long")
        self.need(length)
        start = self.pos
        self.pos += length
        return self.buffer[start : self.pos].decode("utf-8", errors="replace")

    def text_value(self) -> str | None:
        """A metadata string: kept (and budgeted) unless too long to be useful."""
        length = self._length()
        if length > MAX_KEPT_STRING_BYTES:
            self.skip(length)
            return None
        self.keep(1)
        self.keep_text(length)
        self.need(length)
        start = self.pos
        self.pos += length
        return self.buffer[start : self.pos].decode("utf-8", errors="replace")

    def string_array(self, count: int, keep: bool) -> list[MetaValue]:
        """Many short strings: a tight loop, since vocabularies hold hundreds of thousands."""
        self.walk(count)
        kept: list[MetaValue] = []
        text_left = MAX_KEPT_TEXT_BYTES - self.kept_text
        unpack = struct.Struct("<Q").unpack_from
        for _ in range(count):
            if self.pos + 8 > len(self.buffer):
                self.need(8)
            (length,) = unpack(self.buffer, self.pos)
            self.pos += 8
            if length > self.remaining():
                raise _damaged(self.name, f"a text field claims to be {length:,} bytes long")
            if not keep:
                self.skip(length)
                continue
            text_left -= length
            if text_left < 0:
                raise self._too_much_text()
            if self.pos + length > len(self.buffer):
                self.need(length)
            kept.append(self.buffer[self.pos : self.pos + length].decode("utf-8", errors="replace"))
            self.pos += length
        self.kept_text = MAX_KEPT_TEXT_BYTES - text_left
        return kept


def _value(cursor: _Cursor, type_id: int, key: str, depth: int = 0, wanted: bool = True) -> MetaValue | None:
    """Read one value; what is not ``wanted``, and arrays and text nobody needs, are skipped (None)."""
    if type_id in _SCALARS:
        return cursor.scalar(*_SCALARS[type_id])
    if type_id == _STRING:
        return cursor.text_value()
    if type_id != _ARRAY:
        raise _damaged(cursor.name, f"metadata key {key!r} has unknown type {type_id}")
    if depth >= MAX_NESTING:
        raise _damaged(cursor.name, f"metadata key {key!r} nests arrays too deeply")
    item_type = cursor.u32()
    count = cursor.u64()
    vocabulary = depth == 0 and key in KEPT_LARGE_ARRAYS
    if vocabulary and count > MAX_VOCABULARY:
        raise _damaged(cursor.name, f"metadata key {key!r} claims {count:,} entries")
    keep = wanted and (vocabulary or count <= SMALL_ARRAY)
    if keep and not vocabulary:
        cursor.keep(count)
    if item_type in _SCALARS:
        size = _SCALARS[item_type][1]
        if count > cursor.remaining() // size:
            raise _damaged(cursor.name, f"metadata key {key!r} claims {count:,} entries")
        if not keep:
            cursor.skip(count * size)
            return None
        cursor.need(count * size)
        start = cursor.pos
        cursor.pos += count * size
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
        cursor.walk(count)
        if not keep:
            for _ in range(count):
                _value(cursor, _ARRAY, key, depth + 1, wanted=False)
            return None
        nested = [_value(cursor, _ARRAY, key, depth + 1) for _ in range(count)]
        return [item for item in nested if item is not None]
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
    data_offset = -(-cursor.tell() // alignment) * alignment
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
        with open_regular(path) as file:  # a FIFO named model.gguf must not block the app
            return _parse(_Cursor(file.handle, file.size, name))
    except OSError as exc:
        raise ModelError(f"{name} cannot be read: {describe_os_error(exc, opened=False)}.") from None
    except MemoryError:
        raise _damaged(name, "its header is too large to read") from None
