"""A model on an OpenAI-compatible server (llama.cpp's llama-server, llama-cpp-python's server, vLLM,
Ollama, LM Studio), offered to the answerer as ``ModelHost`` offers the local one: the same token
stream and GenerationResult, ``cancel()`` from any thread, a ModelError of one sentence on failure.

The server is sent chat messages, not a rendered prompt: it applies its model's own chat template. So
``render_prompt`` returns the (defused) messages as JSON, the prompt this host understands, and
``count_tokens`` estimates, since the OpenAI API has no tokenizer.
"""

from __future__ import annotations

import contextlib
import json
import math
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from desktop.core.errors import ModelError, UsageError
from desktop.core.model_info import ModelInfo
from desktop.core.settings import BackendSettings, GenerationSettings
from desktop.llm.host import GenerationResult, HostState, ModelHost, TokenEvent
from desktop.llm.host_protocol import FinishReason
from desktop.llm.templates import ChatMessage, defuse_messages

CONNECT_TIMEOUT_S = 10.0
# Turn markup of the common chat formats (ChatML, Llama 3, Gemma, Phi-3, [INST]): the server's template
# is unknown here, so document text spelling any of these is defused, and an answer stops at them.
CONTROL_TOKENS = (
    "<|im_start|>", "<|im_end|>", "<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>",
    "<start_of_turn>", "<end_of_turn>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>", "<|endoftext|>",
    "[INST]", "[/INST]", "<s>", "</s>",
)
CHARACTERS_PER_TOKEN = 3  # English runs about 4 a token: an estimate that errs long keeps prompts in the context


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Model(_Lenient):
    id: str


class _ModelList(_Lenient):
    data: list[_Model]


class _Delta(_Lenient):
    content: str | None = None


class _Choice(_Lenient):
    delta: _Delta = _Delta()
    finish_reason: str | None = None


class _Usage(_Lenient):
    prompt_tokens: int = 0
    completion_tokens: int = 0


class _Chunk(_Lenient):
    choices: list[_Choice] = []
    usage: _Usage | None = None


class _Stream:
    """What one streamed answer produced, measured as the local host measures it."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.first: float | None = None
        self.last: float | None = None
        self.pieces: list[str] = []
        self.finish: str | None = None
        self.done = False  # the server said the answer ended ([DONE] or a finish reason)
        self.usage: _Usage | None = None
        self.closed = False  # [DONE]: nothing more will come

    def piece(self, text: str) -> None:
        self.last = time.perf_counter()
        self.first = self.first or self.last
        self.pieces.append(text)

    def result(self, prompt: str, stopped: bool) -> GenerationResult:
        usage = self.usage
        tokens = usage.completion_tokens if usage and usage.completion_tokens else len(self.pieces)
        first, last = self.first or time.perf_counter(), self.last or time.perf_counter()
        generation_s = last - first
        reason: FinishReason = "cancelled" if stopped else ("length" if self.finish == "length" else "stop")
        return GenerationResult(
            text="".join(self.pieces), stopped=stopped, finish_reason=reason,
            prompt_tokens=usage.prompt_tokens if usage and usage.prompt_tokens else estimate_tokens(prompt),
            generated_tokens=tokens, time_to_first_token_ms=(first - self.started) * 1000,
            prompt_ms=(first - self.started) * 1000, generation_ms=generation_s * 1000,
            tokens_per_second=(tokens - 1) / generation_s if tokens > 1 and generation_s > 0 else 0.0,
        )


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARACTERS_PER_TOKEN) + 4


def display_name(model_id: str) -> str:
    """A server may name its model by a file path (llama-cpp-python does): its last part is shown."""
    return PurePosixPath(model_id).name.removesuffix(".gguf") or model_id


class OpenAIHost:
    pid: int | None = None  # no process of ours runs the model
    renderer_pid: int | None = None

    def __init__(self, backends: BackendSettings) -> None:
        assert backends.model_server is not None
        self.url = backends.model_server
        self._name = backends.model_name
        self._timeout_s = backends.timeout_s
        key = {"Authorization": f"Bearer {backends.model_api_key}"} if backends.model_api_key else {}
        self._client = httpx.Client(
            headers=key, timeout=httpx.Timeout(backends.timeout_s, connect=min(CONNECT_TIMEOUT_S, backends.timeout_s))
        )
        self._keyed = bool(key)
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._socket: socket.socket | None = None  # the open answer's connection, shut by cancel()
        self._state = HostState.STOPPED
        self._info: ModelInfo | None = None
        self._model_id: str | None = None
        self._context_length: int | None = None

    @property
    def state(self) -> HostState:
        return self._state

    @property
    def info(self) -> ModelInfo | None:
        return self._info

    @property
    def context_length(self) -> int | None:
        return self._context_length

    # -- lifecycle ---------------------------------------------------------------------------

    def connect(self, settings: GenerationSettings) -> ModelInfo:
        """Ask the server which models it offers and pick the configured one (or its first); every
        question does this again, so a server that went away and came back is simply used again."""
        with self._lock:
            response = self._request("GET", "/models")
            offered = self._model_list(response)
            if self._name is not None and offered and self._name not in offered:
                shown = ", ".join(offered[:5])
                raise ModelError(
                    f"The model server at {self.url} has no model named {self._name!r} (it offers {shown})."
                )
            model_id = self._name or (offered[0] if offered else None)
            if model_id is None:
                raise ModelError(f"The model server at {self.url} offers no model.")
            self._model_id, self._context_length = model_id, settings.context_length
            self._info = ModelInfo(
                path=self.url, name=display_name(model_id), architecture="remote", file_size=0,
                context_length=settings.context_length, ram_context_length=settings.context_length,
                ram_estimate_bytes=0, control_tokens=CONTROL_TOKENS,
            )
            self._state = HostState.READY
            return self._info

    def load(self, *_: Any, **__: Any) -> ModelInfo:
        raise UsageError(
            f"This library answers with the model server at {self.url}; clear backends.model_server to use "
            "a model file on this computer."
        )

    def close(self) -> None:
        self.cancel()
        self._client.close()
        self._state = HostState.STOPPED

    # -- requests ----------------------------------------------------------------------------

    def cancel(self) -> None:
        """Stop the answer at once: the stream's connection is shut, which also tells the server."""
        self._cancel.set()
        sock = self._socket
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def render_prompt(self, messages: list[ChatMessage]) -> str:
        if self._info is None:
            raise ModelError("No model is loaded.")
        safe = defuse_messages(messages, self._info)
        return json.dumps([message.model_dump() for message in safe], ensure_ascii=False)

    def take_template_notices(self) -> list[str]:
        return []

    def count_tokens(self, texts: list[str]) -> list[int]:
        return [estimate_tokens(text) for text in texts]

    def generate(
        self,
        prompt: str,
        settings: GenerationSettings,
        *,
        json_schema: str | None = None,
        banned_line_starts: tuple[str, ...] = (),
    ) -> Iterator[TokenEvent | GenerationResult]:
        """Stream TokenEvents, then exactly one GenerationResult, like ``ModelHost.generate``. A server
        takes no line-start bans (OpenAI's API has none): its answers rely on the stop strings alone."""
        if self._model_id is None:
            raise ModelError("No model is loaded.")
        body = self._body(prompt, settings, json_schema)
        with self._lock:
            self._cancel.clear()
            self._state = HostState.BUSY
            stream = _Stream()
            try:
                yield from self._stream(body, stream)
            finally:
                self._socket = None
                self._state = HostState.READY
        yield stream.result(prompt, stopped=self._cancel.is_set())

    def _body(self, prompt: str, settings: GenerationSettings, json_schema: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self._model_id, "messages": json.loads(prompt), "stream": True,
            "max_tokens": settings.max_tokens, "temperature": settings.temperature, "top_p": settings.top_p,
            "seed": settings.seed,
            # llama.cpp's servers, vLLM and Ollama read these; OpenAI's own API is not a target.
            "top_k": settings.top_k, "repeat_penalty": settings.repeat_penalty,
            "stream_options": {"include_usage": True},
        }
        if json_schema is not None:
            body["response_format"] = {"type": "json_object", "schema": json.loads(json_schema)}
        return body

    def _stream(self, body: dict[str, Any], stream: _Stream) -> Iterator[TokenEvent]:
        try:
            with self._client.stream("POST", self.url + "/chat/completions", json=body) as response:
                self._socket = _socket_of(response)
                if self._cancel.is_set():
                    return
                if response.status_code != 200:
                    response.read()
                    raise self._refusal(response, "POST /chat/completions")
                for line in response.iter_lines():
                    if self._cancel.is_set():
                        return
                    text = self._event(line, stream)
                    if text:
                        stream.piece(text)
                        yield TokenEvent(text=text)
                    if stream.closed:
                        break
        except httpx.HTTPError as exc:
            if self._cancel.is_set():
                return  # Stop shut the connection
            raise self._failure(exc, answering=True) from None
        if not stream.done and not self._cancel.is_set():
            raise ModelError(f"The model server at {self.url} ended the answer without finishing it; "
                             "what was written is kept.")

    def _event(self, line: str, stream: _Stream) -> str:
        """One line of the server-sent events: the text it adds to the answer, if any."""
        if not line or line.startswith((":", "event:", "id:", "retry:")):
            return ""
        if not line.startswith("data:"):
            raise self._malformed()
        payload = line[5:].strip()
        if payload == "[DONE]":
            stream.done = stream.closed = True
            return ""
        try:
            raw = json.loads(payload)
        except ValueError:
            raise self._malformed() from None
        if isinstance(raw, dict) and "error" in raw:
            raise ModelError(f"The model server at {self.url} stopped the answer: {_error_text(raw)}")
        try:
            chunk = _Chunk.model_validate(raw)
        except ValidationError:
            raise self._malformed() from None
        stream.usage = chunk.usage or stream.usage
        texts = []
        for choice in chunk.choices[:1]:
            texts.append(choice.delta.content or "")
            if choice.finish_reason:
                stream.finish, stream.done = choice.finish_reason, True
        return "".join(texts)

    # -- errors: one sentence each ----------------------------------------------------------------

    def _request(self, method: Literal["GET"], path: str) -> httpx.Response:
        try:
            response = self._client.request(method, self.url + path)
        except httpx.HTTPError as exc:
            raise self._failure(exc, answering=False) from None
        if response.status_code != 200:
            raise self._refusal(response, f"{method} {path}")
        return response

    def _model_list(self, response: httpx.Response) -> list[str]:
        try:
            return [model.id for model in _ModelList.model_validate_json(response.content).data]
        except ValidationError:
            raise self._not_openai(f"GET {path_of(response)} gave no model list") from None

    def _failure(self, exc: httpx.HTTPError, *, answering: bool) -> ModelError:
        if isinstance(exc, httpx.ConnectError):
            return ModelError(
                f"Cannot reach the model server at {self.url}: check that it runs and the address is right."
            )
        if isinstance(exc, httpx.TimeoutException):
            return ModelError(f"The model server at {self.url} did not answer within {self._timeout_s:g} s"
                              + ("; what was written is kept." if answering else "."))
        if answering:
            return ModelError(f"The connection to the model server at {self.url} broke off; what was written is kept.")
        return ModelError(f"{self.url} does not answer in HTTP: is it the model server's address?")

    def _refusal(self, response: httpx.Response, path: str) -> ModelError:
        status = response.status_code
        if status in (401, 403):
            refused = "refused the API key" if self._keyed else "needs an API key (backends.model_api_key)"
            return ModelError(f"The model server at {self.url} {refused}.")
        if status in (404, 405):
            return self._not_openai(f"{path} gave {status}")
        detail = _error_text(_json_or_none(response)) or f"status {status}"
        return ModelError(f"The model server at {self.url} refused the request: {detail}")

    def _not_openai(self, what: str) -> ModelError:
        return ModelError(f"{self.url} does not answer as an OpenAI-compatible server ({what}); its base URL "
                          "usually ends in /v1.")

    def _malformed(self) -> ModelError:
        return ModelError(f"The model server at {self.url} sent a malformed event; what was written is kept.")


# What answers questions: the local model host, or a model server.
AnswerHost = ModelHost | OpenAIHost


def path_of(response: httpx.Response) -> str:
    return response.request.url.path


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _error_text(body: Any) -> str:
    """The server's own reason, if it gave one (OpenAI: {"error": {"message"}}, FastAPI: {"detail"})."""
    if not isinstance(body, dict):
        return ""
    error = body.get("error", body.get("detail"))
    message = error.get("message") if isinstance(error, dict) else error
    return " ".join(str(message).split())[:300] if message else ""


def _socket_of(response: httpx.Response) -> socket.socket | None:
    stream = response.extensions.get("network_stream")
    found = stream.get_extra_info("socket") if stream is not None else None
    return found if isinstance(found, socket.socket) else None
