"""What the window and the command line show of a chat model: read from its GGUF header by
``desktop.llm.gguf_info``, described here so that no layer above needs the GGUF reader."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ModelInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: str
    name: str  # the manifest's name for a known file, else the file name without ".gguf"
    architecture: str
    parameters: int | None = None
    quantization: str | None = None  # "Q4_1", "Q4_K_M", "F16", ...
    file_size: int
    context_length: int | None = None  # what the model was trained for
    ram_context_length: int  # the context the memory estimate assumes
    ram_estimate_bytes: int
    chat_template: str | None = Field(None, repr=False)
    bos_token: str | None = None
    eos_token: str | None = None
    # Vocabulary entries that act as markup (turn delimiters); text containing them is defused.
    control_tokens: tuple[str, ...] = Field((), repr=False)
    checksum_known: bool = False


def format_gb(n_bytes: int) -> str:
    return f"{n_bytes / 1e9:.1f} GB"
