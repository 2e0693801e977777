"""Chat prompts from the model's own Jinja template, run only inside Jinja's immutable sandbox.

A GGUF file comes from the internet, so its template is untrusted code: it is compiled by an
``ImmutableSandboxedEnvironment`` (no attribute walks to Python internals, no mutation of lists
or dicts), with ``+ * **`` growth and the output capped. Those caps are a first line only (``~``,
filters and loops escape them): the app renders templates through ``host_renderer``, in a child
process with a time and memory budget. A model without a template, or whose template fails, trips
the sandbox or breaks the budget, gets a built-in format chosen from its architecture and
vocabulary (ChatML by default).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

from jinja2 import Template
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.ext import loopcontrols
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:  # gguf_info pulls in numpy and gguf: the renderer process starts faster without them
    from desktop.core.model_info import ModelInfo

MAX_VALUE_LENGTH = 1 << 22  # characters or items one expression may build
MAX_EXPONENT = 4096
_BASE_OUTPUT_LIMIT = 1 << 20
ZERO_WIDTH_SPACE = "\u200b"


class ChatMessage(BaseModel):
    model_config = ConfigDict(frozen=True)

    role: Literal["system", "user", "assistant"]
    content: str


class _Sandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, plus limits on the operators that can build huge values."""

    intercepted_binops = frozenset({"+", "*", "**"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for sequence, times in ((left, right), (right, left)):
                if (
                    isinstance(sequence, str | list | tuple)
                    and isinstance(times, int)
                    and len(sequence) * times > MAX_VALUE_LENGTH
                ):
                    raise SecurityError("the template builds a value that is too large")
        if operator == "**" and isinstance(right, int) and abs(right) > MAX_EXPONENT:
            raise SecurityError("the template computes a number that is too large")
        result = super().call_binop(context, operator, left, right)
        if isinstance(result, str | list | tuple) and len(result) > MAX_VALUE_LENGTH:
            raise SecurityError("the template builds a value that is too large")
        return result


def _raise_exception(message: str) -> None:
    raise TemplateError(message)


def _strftime_now(fmt: str) -> str:
    return datetime.now().strftime(fmt)


def _tojson(
    value: Any,
    ensure_ascii: bool = False,
    indent: int | None = None,
    separators: tuple[str, str] | None = None,
    sort_keys: bool = False,
) -> str:
    # As Hugging Face's: plain JSON, not Jinja's HTML-escaped variant.
    return json.dumps(
        value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys
    )


@lru_cache(maxsize=1)
def _environment() -> _Sandbox:
    # The options Hugging Face's apply_chat_template uses, so templates behave as their authors saw.
    env = _Sandbox(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = _strftime_now
    return env


@lru_cache(maxsize=16)
def _compile(source: str) -> Template:
    return _environment().from_string(source)


@lru_cache(maxsize=16)
def _control_pattern(tokens: tuple[str, ...]) -> re.Pattern[str] | None:
    if not tokens:
        return None
    ordered = sorted(tokens, key=len, reverse=True)  # longest first: "<|im_end|>" before "<|im"
    return re.compile("|".join(re.escape(token) for token in ordered))


def defuse_control_tokens(text: str, tokens: tuple[str, ...]) -> str:
    """Break up control-token text (``<|im_end|>``) inside message content.

    The prompt is tokenized with special tokens enabled so the template's markup works; without
    this, a document containing "<|im_start|>system" could open a turn of its own.
    """
    pattern = _control_pattern(tokens)
    if pattern is None:
        return text
    return pattern.sub(lambda match: match[0][0] + ZERO_WIDTH_SPACE + match[0][1:], text)


def defuse_messages(messages: Sequence[ChatMessage], info: ModelInfo) -> list[ChatMessage]:
    return [
        ChatMessage(role=message.role, content=defuse_control_tokens(message.content, info.control_tokens))
        for message in messages
    ]


def render_template(source: str, messages: Sequence[ChatMessage], *, bos_token: str, eos_token: str) -> str:
    """A model's template rendered with ``messages``; raises if it fails or renders nothing.

    Untrusted code with per-expression caps only: the app runs it in the renderer process."""
    template = _compile(source)
    limit = _BASE_OUTPUT_LIMIT + 2 * sum(len(message.content) for message in messages)
    pieces: list[str] = []
    size = 0
    for piece in template.generate(
        messages=[message.model_dump() for message in messages],
        add_generation_prompt=True,
        bos_token=bos_token,
        eos_token=eos_token,
    ):
        size += len(piece)
        if size > limit:
            raise SecurityError("the template's output is far larger than the conversation")
        pieces.append(piece)
    rendered = "".join(pieces)
    if not rendered.strip():
        raise TemplateError("it rendered nothing")
    return rendered


# Built-in formats: trusted code, so plain Python rather than templates.


def _merge_system(messages: Sequence[ChatMessage]) -> list[ChatMessage]:
    """For formats without a system role: the system text opens the first user turn."""
    system = "\n\n".join(message.content for message in messages if message.role == "system")
    turns = [message for message in messages if message.role != "system"]
    if not system:
        return turns
    if turns and turns[0].role == "user":
        return [ChatMessage(role="user", content=f"{system}\n\n{turns[0].content}"), *turns[1:]]
    return [ChatMessage(role="user", content=system), *turns]


def _chatml(messages: Sequence[ChatMessage], info: ModelInfo) -> str:
    turns = "".join(f"<|im_start|>{m.role}\n{m.content}<|im_end|>\n" for m in messages)
    return turns + "<|im_start|>assistant\n"


def _llama3(messages: Sequence[ChatMessage], info: ModelInfo) -> str:
    turns = "".join(
        f"<|start_header_id|>{m.role}<|end_header_id|>\n\n{m.content.strip()}<|eot_id|>" for m in messages
    )
    return f"{info.bos_token or ''}{turns}<|start_header_id|>assistant<|end_header_id|>\n\n"


def _gemma(messages: Sequence[ChatMessage], info: ModelInfo) -> str:
    turns = "".join(
        f"<start_of_turn>{'model' if m.role == 'assistant' else 'user'}\n{m.content.strip()}<end_of_turn>\n"
        for m in _merge_system(messages)
    )
    return f"{info.bos_token or ''}{turns}<start_of_turn>model\n"


def _phi3(messages: Sequence[ChatMessage], info: ModelInfo) -> str:
    turns = "".join(f"<|{m.role}|>\n{m.content}<|end|>\n" for m in messages)
    return turns + "<|assistant|>\n"


def _inst(messages: Sequence[ChatMessage], info: ModelInfo) -> str:
    """Mistral / Llama 2 chat: ``<s>[INST] user [/INST] answer</s>[INST] ...``."""
    bos, eos = info.bos_token or "", info.eos_token or ""
    parts = [bos]
    for message in _merge_system(messages):
        if message.role == "user":
            parts.append(f"[INST] {message.content.strip()} [/INST]")
        else:
            parts.append(f" {message.content.strip()}{eos}")
    return "".join(parts)


FALLBACKS: dict[str, Callable[[Sequence[ChatMessage], ModelInfo], str]] = {
    "chatml": _chatml,
    "llama3": _llama3,
    "gemma": _gemma,
    "phi3": _phi3,
    "inst": _inst,
}


def fallback_name(info: ModelInfo) -> str:
    """Which built-in format suits a model: by its vocabulary's turn markers, then its architecture."""
    arch = info.architecture.lower()
    tokens = set(info.control_tokens)
    if arch.startswith("gemma") or "<start_of_turn>" in tokens:
        return "gemma"
    if arch.startswith("phi3"):
        return "phi3"
    if "<|start_header_id|>" in tokens or "<|eot_id|>" in tokens:
        return "llama3"
    if "<|im_start|>" in tokens:
        return "chatml"
    if arch == "llama" or arch.startswith("mistral") or "[INST]" in tokens:
        return "inst"
    return "chatml"


FORMAT_NAMES = {"chatml": "ChatML", "llama3": "Llama 3", "gemma": "Gemma", "phi3": "Phi-3", "inst": "[INST]"}


def fallback_prompt(messages: Sequence[ChatMessage], info: ModelInfo) -> str:
    """The built-in format's prompt for already defused ``messages``."""
    return FALLBACKS[fallback_name(info)](messages, info)

