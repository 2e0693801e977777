"""Messages between the app and its child processes: the model host and the template renderer.

Every frame on the pipe is bytes whose first byte says what follows:
``TOKEN`` + UTF-8 text for each streamed piece (the hot path: no JSON, no pickle), or
``MESSAGE`` + the JSON of one of the pydantic models below. Nothing is unpickled on either side.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from desktop.llm.templates import ChatMessage

TOKEN = 0
MESSAGE = 1

FinishReason = Literal["stop", "length", "cancelled"]


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LoadRequest(_Message):
    kind: Literal["load"] = "load"
    model_path: str
    n_ctx: int
    threads: int
    gpu_layers: int
    seed: int
    lora_path: str | None = None


class GenerateRequest(_Message):
    kind: Literal["generate"] = "generate"
    prompt: str
    max_tokens: int
    temperature: float
    top_p: float
    top_k: int
    repeat_penalty: float
    seed: int
    # A JSON schema the answer must follow: the host samples only tokens its grammar allows.
    json_schema: str | None = None
    # Text no line of the answer may begin with, outside code blocks: the host never samples a token
    # that would start a line so (the prompt's own markup opens lines; see prompting.line_start_bans).
    banned_line_starts: tuple[str, ...] = ()


class CountRequest(_Message):
    kind: Literal["count"] = "count"
    texts: list[str]


class ShutdownRequest(_Message):
    kind: Literal["shutdown"] = "shutdown"


class Loaded(_Message):
    kind: Literal["loaded"] = "loaded"
    n_ctx: int
    load_ms: float


class Finished(_Message):
    kind: Literal["finished"] = "finished"
    stopped: bool
    finish_reason: FinishReason
    prompt_tokens: int
    generated_tokens: int
    prompt_ms: float  # request received -> first token sampled, in the host
    generation_ms: float  # first token -> last token, in the host
    tokens_per_second: float  # tokens sampled after the first, over generation_ms


class Counts(_Message):
    kind: Literal["counts"] = "counts"
    counts: list[int]


class Failed(_Message):
    kind: Literal["failed"] = "failed"
    message: str  # one sentence for the user


# The template renderer's messages (see host_renderer).


class RenderRequest(_Message):
    kind: Literal["render"] = "render"
    template: str  # the model's own, untrusted
    messages: list[ChatMessage]  # control tokens already defused
    bos_token: str
    eos_token: str


class RendererReady(_Message):
    kind: Literal["renderer_ready"] = "renderer_ready"


class Rendered(_Message):
    kind: Literal["rendered"] = "rendered"
    text: str


class RenderFailed(_Message):
    kind: Literal["render_failed"] = "render_failed"
    reason: str  # completes "the model's chat template ..."
    over_budget: bool = False  # ran out of its memory budget: not worth trying again


Request = Annotated[
    LoadRequest | GenerateRequest | CountRequest | ShutdownRequest, Field(discriminator="kind")
]
Reply = Annotated[Loaded | Finished | Counts | Failed, Field(discriminator="kind")]
RenderReply = Annotated[RendererReady | Rendered | RenderFailed, Field(discriminator="kind")]
_requests: TypeAdapter[Request] = TypeAdapter(Request)
_replies: TypeAdapter[Reply] = TypeAdapter(Reply)
_render_replies: TypeAdapter[RenderReply] = TypeAdapter(RenderReply)


def encode(message: _Message) -> bytes:
    return bytes((MESSAGE,)) + message.model_dump_json().encode("utf-8")


def encode_token(text: str) -> bytes:
    return bytes((TOKEN,)) + text.encode("utf-8")


def decode_request(frame: bytes) -> Request:
    return _requests.validate_json(frame[1:])


def decode_reply(frame: bytes) -> Reply:
    return _replies.validate_json(frame[1:])


def decode_render_request(frame: bytes) -> RenderRequest:
    return RenderRequest.model_validate_json(frame[1:])


def decode_render_reply(frame: bytes) -> RenderReply:
    return _render_replies.validate_json(frame[1:])
