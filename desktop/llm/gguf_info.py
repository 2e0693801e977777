"""What a GGUF model is and whether this computer can load it, from its header alone.

Memory estimate (``ram_estimate_bytes``), for a context of ``n_ctx`` tokens:

    file size                                   weights, memory-mapped
  + n_ctx * sum over layers of n_head_kv * (key_length + value_length) * 2      f16 K/V cache
  + max(n_ctx * n_ubatch * n_head * 4,          compute buffer: the larger of one batch's attention
        n_ubatch * n_vocab * 4)                  scores and its output logits (f32), which llama.cpp reuses
  + 128 MiB                                      model-host interpreter, llama.cpp runtime

with n_ubatch = 512 (llama.cpp's default micro-batch). It errs on the high side (sliding-window
models and quantized KV caches need less): SmolLM2-135M at 4,096 tokens is estimated at 0.43 GB
and the host process measured 0.30 GB resident after a long prompt.
"""

from __future__ import annotations

import logging
import math
import threading
from array import array
from pathlib import Path

import psutil
from gguf.constants import GGMLQuantizationType, LlamaFileType

from desktop.core.errors import ModelError
from desktop.core.hashing import sha256_of
from desktop.core.manifest import Manifest, load_manifest
from desktop.core.model_info import ModelInfo, format_gb
from desktop.core.settings import GenerationSettings
from desktop.llm.gguf_header import GGUFHeader, MetaValue, read_header

log = logging.getLogger(__name__)

DEFAULT_CONTEXT: int = GenerationSettings.model_fields["context_length"].default
MICRO_BATCH = 512
RUNTIME_OVERHEAD_BYTES = 128 << 20
CONTROL_TOKEN_TYPE = 3  # llama.cpp's LLAMA_TOKEN_TYPE_CONTROL

# Successful SHA-256 checks, keyed on (resolved path, size, mtime_ns): hashing 5 GB takes a while.
_verified: set[tuple[str, int, int]] = set()
_verified_lock = threading.Lock()


def effective_context(requested: int | None, trained: int | None) -> int:
    """The context the model host really uses: what was asked, but never beyond the model's training."""
    wanted = requested or DEFAULT_CONTEXT
    return min(wanted, trained) if trained else wanted


def _int(value: MetaValue | None) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _per_layer_sum(value: MetaValue | None, layers: int) -> int | None:
    """A per-layer hyperparameter is either one number for all layers or an array of them."""
    if isinstance(value, array | list):
        return sum(int(item) for item in value if isinstance(item, int | float))
    number = _int(value)
    return number * layers if number is not None else None


def _quantization(header: GGUFHeader) -> str | None:
    file_type = _int(header.metadata.get("general.file_type"))
    if file_type is not None:
        try:
            name = LlamaFileType(file_type).name
        except ValueError:
            name = "GUESSED"
        if name != "GUESSED":
            return name.removeprefix("MOSTLY_").removeprefix("ALL_")
    # No (usable) label: the type holding most weights among the matrices.
    totals: dict[int, int] = {}
    for tensor in header.tensors:
        if len(tensor.shape) >= 2:
            totals[tensor.type_id] = totals.get(tensor.type_id, 0) + tensor.n_elements
    if not totals:
        return None
    return GGMLQuantizationType(max(totals, key=lambda type_id: totals[type_id])).name


def _token(header: GGUFHeader, key: str) -> str | None:
    tokens = header.metadata.get("tokenizer.ggml.tokens")
    index = _int(header.metadata.get(key))
    if isinstance(tokens, list) and index is not None and 0 <= index < len(tokens):
        token = tokens[index]
        return token if isinstance(token, str) else None
    return None


def _control_tokens(header: GGUFHeader) -> tuple[str, ...]:
    tokens = header.metadata.get("tokenizer.ggml.tokens")
    types = header.metadata.get("tokenizer.ggml.token_type")
    if not isinstance(tokens, list) or not isinstance(types, array | list):
        return ()
    found = (
        token
        for token, kind in zip(tokens, types, strict=False)
        if kind == CONTROL_TOKEN_TYPE and isinstance(token, str) and token
    )
    return tuple(sorted(set(found)))


def _ram_estimate(header: GGUFHeader, arch: str, n_ctx: int) -> int:
    meta = header.metadata
    layers = _int(meta.get(f"{arch}.block_count")) or 0
    n_embd = _int(meta.get(f"{arch}.embedding_length")) or 0
    heads_value = meta.get(f"{arch}.attention.head_count")
    total_heads = _per_layer_sum(heads_value, layers) or 0
    n_head = math.ceil(total_heads / layers) if layers else 0
    kv_heads = _per_layer_sum(meta.get(f"{arch}.attention.head_count_kv"), layers)
    if kv_heads is None:
        kv_heads = total_heads
    head_dim = n_embd // n_head if n_head else 0
    key_length = _int(meta.get(f"{arch}.attention.key_length")) or head_dim
    value_length = _int(meta.get(f"{arch}.attention.value_length")) or head_dim
    tokens = meta.get("tokenizer.ggml.tokens")
    n_vocab = _int(meta.get(f"{arch}.vocab_size")) or (len(tokens) if isinstance(tokens, list) else 0)

    kv_cache = n_ctx * kv_heads * (key_length + value_length) * 2
    scores = n_ctx * MICRO_BATCH * n_head * 4
    logits = MICRO_BATCH * n_vocab * 4
    return header.file_size + kv_cache + max(scores, logits) + RUNTIME_OVERHEAD_BYTES


def _manifest_or_empty(models_dir: Path) -> Manifest:
    try:
        return load_manifest(models_dir)
    except ModelError as exc:
        log.warning("%s", exc)
        return Manifest(models=[])


def read_model_info(
    path: Path, context_length: int | None = None, *, models_dir: Path | None = None
) -> ModelInfo:
    """Describe the model at ``path`` from its header; ``models_dir`` (default: its folder) holds the
    manifest. ``context_length`` is the context the memory estimate assumes (default: the app's)."""
    header = read_header(path)
    meta = header.metadata
    kind = meta.get("general.type", "model")
    if kind != "model":  # LoRA adapters and vision projectors share the format
        raise ModelError(f"{path.name} is a GGUF file of type {kind!r}, not a chat model.")
    arch = meta.get("general.architecture")
    if not isinstance(arch, str) or not arch:
        raise ModelError(f"{path.name} looks damaged: it does not say which model architecture it uses.")
    trained = _int(meta.get(f"{arch}.context_length"))
    n_ctx = effective_context(context_length, trained)
    parameters = _int(meta.get("general.parameter_count"))
    if parameters is None and header.tensors:
        parameters = sum(tensor.n_elements for tensor in header.tensors)
    entry = _manifest_or_empty(models_dir or path.parent).for_file(path.name)
    template = meta.get("tokenizer.chat_template")
    return ModelInfo(
        path=str(path),
        name=entry.name if entry else path.name.removesuffix(".gguf"),
        architecture=arch,
        parameters=parameters,
        quantization=_quantization(header),
        file_size=header.file_size,
        context_length=trained,
        ram_context_length=n_ctx,
        ram_estimate_bytes=_ram_estimate(header, arch, n_ctx),
        chat_template=template if isinstance(template, str) and template.strip() else None,
        bos_token=_token(header, "tokenizer.ggml.bos_token_id"),
        eos_token=_token(header, "tokenizer.ggml.eos_token_id"),
        control_tokens=_control_tokens(header),
        checksum_known=entry is not None,
    )


def _verify_checksum(path: Path, models_dir: Path) -> None:
    entry = load_manifest(models_dir).for_file(path.name)
    expected = entry.sha256.get(entry.path) if entry else None
    if expected is None:
        return
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    with _verified_lock:
        if key in _verified:
            return
    if sha256_of(path) != expected:
        raise ModelError(
            f"{path.name} does not match its checksum in the models manifest; it is damaged or was "
            "replaced. Delete it and run `make models` to fetch it again."
        )
    with _verified_lock:
        _verified.add(key)


def check_model_file(
    path: Path, models_dir: Path, *, force: bool = False, context_length: int | None = None
) -> ModelInfo:
    """Everything that can be known about ``path`` before llama.cpp touches it; ModelError if unusable.

    Checks, in order: a regular file; a well-formed GGUF header; the SHA-256 when the manifest in
    ``models_dir`` knows the file name; enough free memory for ``context_length`` unless ``force``.
    """
    if not path.exists():
        raise ModelError(f"{path} does not exist.")
    if not path.is_file():
        raise ModelError(f"{path} is not a file.")
    info = read_model_info(path, context_length, models_dir=models_dir)
    try:
        _verify_checksum(path, models_dir)
    except OSError as exc:
        raise ModelError(f"{path.name} cannot be read: {exc.strerror or exc}.") from None
    available = psutil.virtual_memory().available
    if info.ram_estimate_bytes > available and not force:
        raise ModelError(
            f"{path.name} needs about {format_gb(info.ram_estimate_bytes)} of memory but only "
            f"{format_gb(available)} is free; use --force to try anyway."
        )
    return info


def check_adapter_file(path: Path) -> None:
    """A LoRA adapter gets the same header checks as a model before llama.cpp reads it."""
    if not path.is_file():
        raise ModelError(f"The LoRA adapter {path} does not exist.")
    kind = read_header(path).metadata.get("general.type")
    if kind != "adapter":
        raise ModelError(f"{path.name} is not a LoRA adapter.")


def list_models(models_dir: Path) -> list[ModelInfo]:
    """Every readable ``*.gguf`` in ``models_dir``, by file name. Header checks only (no SHA-256, no
    memory check); files that fail them are logged as warnings and left out."""
    if not models_dir.is_dir():
        return []
    found = []
    for path in sorted(models_dir.glob("*.gguf")):
        if not path.is_file():
            continue
        try:
            found.append(read_model_info(path, models_dir=models_dir))
        except ModelError as exc:
            log.warning("Skipping model: %s", exc)
    return found
