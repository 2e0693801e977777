"""ModelHost: the app's handle on the model host process (see ``host_process``).

The model runs in a child process started with "spawn", so a native crash in llama.cpp (abort,
segfault, OOM kill) becomes a ModelError and the CRASHED state; the next ``load()`` or
``generate()`` starts a fresh process. Requests are served one at a time: a call made while another
thread is generating waits for that answer to finish. ``cancel()`` never waits.

Prompts are rendered by a second child, the template renderer (``host_renderer``), within a time and
memory budget: the model's chat template is untrusted code.
"""

from __future__ import annotations

import signal
import threading
import time
import weakref
from collections.abc import Iterator
from enum import StrEnum
from multiprocessing import get_context
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event
from pathlib import Path

from pydantic import BaseModel

from desktop.core.child_process import STOP_TIMEOUT_S, stop_child
from desktop.core.cpu import physical_cores
from desktop.core.errors import ModelError
from desktop.core.model_info import ModelInfo
from desktop.core.settings import GenerationSettings
from desktop.llm import host_process
from desktop.llm.crash_marks import clear_mark, mark_loading
from desktop.llm.gguf_info import check_adapter_file, check_model_file
from desktop.llm.host_protocol import (
    TOKEN,
    CountRequest,
    Counts,
    Failed,
    Finished,
    FinishReason,
    GenerateRequest,
    Loaded,
    LoadRequest,
    Reply,
    ShutdownRequest,
    decode_reply,
    encode,
)
from desktop.llm.host_renderer import TemplateBudget, TemplateRenderer
from desktop.llm.templates import ChatMessage

ILLEGAL_INSTRUCTION = (
    "The model host stopped: its llama.cpp library uses processor instructions this computer lacks "
    "(it was built for another machine). Reinstall Hearth, or rebuild llama-cpp-python on this computer."
)


class HostState(StrEnum):
    STOPPED = "stopped"  # no model loaded
    LOADING = "loading"
    READY = "ready"
    BUSY = "busy"
    CRASHED = "crashed"  # the host process died; the next load()/generate() restarts it


class TokenEvent(BaseModel):
    text: str  # the first token, then what the model produced within 25 ms; joined they make the answer


class GenerationResult(BaseModel):
    text: str
    stopped: bool  # cancelled by the user
    finish_reason: FinishReason  # "stop" (end of turn), "length" (max_tokens or context full), "cancelled"
    prompt_tokens: int
    generated_tokens: int
    time_to_first_token_ms: float  # as the caller saw it, pipe included
    prompt_ms: float
    generation_ms: float
    tokens_per_second: float


class _HostDied(Exception):
    pass


def _stop_process(process: BaseProcess, conn: Connection, cancel: Event, graceful: bool) -> None:
    """Ask the host to exit (ending any answer first); if it does not, terminate, then kill. Never hangs."""
    cancel.set()
    stop_child(process, conn, ask=(lambda: conn.send_bytes(encode(ShutdownRequest()))) if graceful else None)


class _Child:
    """One host process and its pipe; ended at interpreter exit even if never closed."""

    def __init__(self, owner: ModelHost) -> None:
        context = get_context("spawn")
        self.conn, child_conn = context.Pipe(duplex=True)
        self.cancel: Event = context.Event()
        self.process = context.Process(
            target=host_process.main, args=(child_conn, self.cancel), name="hearth-model-host", daemon=True
        )
        self.process.start()
        child_conn.close()  # so that the child's death reads as end-of-file here
        self._finalizer = weakref.finalize(owner, _stop_process, self.process, self.conn, self.cancel, True)

    def stop(self, graceful: bool) -> None:
        if self._finalizer.detach():
            _stop_process(self.process, self.conn, self.cancel, graceful)

    def send(self, frame: bytes) -> None:
        try:
            self.conn.send_bytes(frame)
        except OSError:
            raise _HostDied from None

    def receive(self) -> bytes:
        try:
            return self.conn.recv_bytes()
        except (EOFError, OSError):
            raise _HostDied from None

    def reply(self) -> Reply:
        """The one message answering a load or count request (only generate() streams tokens)."""
        frame = self.receive()
        if frame[0] == TOKEN:
            raise ModelError("The model host sent an unexpected message.")
        return decode_reply(frame)


class ModelHost:
    def __init__(self, *, data_dir: Path | None = None, template_budget: TemplateBudget | None = None) -> None:
        self._data_dir = data_dir  # where crash marks go; None: not recorded
        self._renderer = TemplateRenderer(template_budget)
        self._lock = threading.Lock()
        self._child: _Child | None = None
        self._state = HostState.STOPPED
        self._info: ModelInfo | None = None
        self._loaded: LoadRequest | None = None
        self._n_ctx: int | None = None
        self._reload: tuple[Path, GenerationSettings, bool, Path | None] | None = None  # after a crash
        self._closing = False

    @property
    def state(self) -> HostState:
        return self._state

    @property
    def info(self) -> ModelInfo | None:
        return self._info

    @property
    def context_length(self) -> int | None:
        """The loaded model's context in tokens (the settings' value, capped at the model's own)."""
        return self._n_ctx

    @property
    def pid(self) -> int | None:
        child = self._child
        return child.process.pid if child is not None and child.process.is_alive() else None

    @property
    def renderer_pid(self) -> int | None:
        """The template renderer's process, if it runs."""
        return self._renderer.pid

    # -- lifecycle ---------------------------------------------------------------------------

    def load(
        self,
        model_path: Path,
        settings: GenerationSettings,
        *,
        force: bool = False,
        models_dir: Path | None = None,
    ) -> ModelInfo:
        """Check the file, then load it in the host (started if needed); blocks until loaded."""
        with self._lock:
            return self._load(model_path, settings, force, models_dir)

    def _load(
        self, model_path: Path, settings: GenerationSettings, force: bool, models_dir: Path | None
    ) -> ModelInfo:
        info = check_model_file(
            model_path, models_dir or model_path.parent, force=force, context_length=settings.context_length
        )
        if settings.lora_path:
            check_adapter_file(Path(settings.lora_path))
        request = LoadRequest(
            model_path=str(model_path.resolve()),
            n_ctx=info.ram_context_length,
            threads=settings.threads or physical_cores(),
            gpu_layers=settings.gpu_layers,
            seed=settings.seed,
            lora_path=settings.lora_path,
        )
        self._reload = (model_path, settings, force, models_dir)
        if self._state == HostState.READY and request == self._loaded:
            self._info = info
            return info
        if info.chat_template:
            self._renderer.start()  # starts while the model loads: the first question need not wait for it
        child = self._ensure_child()
        self._state = HostState.LOADING
        self._info = self._loaded = self._n_ctx = None
        if self._data_dir is not None:
            mark_loading(self._data_dir, model_path)
        try:
            child.send(encode(request))
            reply = child.reply()
        except _HostDied:
            if self._closing and self._data_dir is not None:
                clear_mark(self._data_dir, model_path)  # we ended it: not the model's fault
            raise self._died(
                f"{model_path.name} crashed the model host while loading; it may be damaged or need more "
                "memory than is free."
            ) from None
        if self._data_dir is not None:
            clear_mark(self._data_dir, model_path)
        if isinstance(reply, Failed):
            self._state = HostState.STOPPED
            raise ModelError(reply.message)
        if not isinstance(reply, Loaded):
            self._state = HostState.STOPPED
            raise ModelError("The model host sent an unexpected reply while loading.")
        self._info, self._loaded, self._n_ctx = info, request, reply.n_ctx
        self._state = HostState.READY
        return info

    def _ensure_child(self) -> _Child:
        if self._child is not None and not self._child.process.is_alive():
            self._child.stop(graceful=False)
            self._child = None
        if self._child is None:
            self._closing = False
            self._child = _Child(self)
        return self._child

    def _ready_child(self) -> _Child:
        """The host with a model loaded; after a crash, restart it and reload the last model."""
        if self._state == HostState.CRASHED and self._reload is not None:
            self._load(*self._reload)
        if self._state != HostState.READY or self._child is None:
            raise ModelError("No model is loaded.")
        return self._child

    def _died(self, message: str) -> ModelError:
        """Record that the host process is gone; the error to raise, unless close() ended it.

        ``info`` and ``context_length`` stay: they describe the model the next request reloads."""
        if self._child is not None:
            self._child.stop(graceful=False)
            if self._child.process.exitcode == -signal.SIGILL:
                message = ILLEGAL_INSTRUCTION
            self._child = None
        self._loaded = None
        if self._closing:
            self._state = HostState.STOPPED
            return ModelError("The model host was closed.")
        self._state = HostState.CRASHED
        return ModelError(message)

    def close(self) -> None:
        """End the host process; idempotent. A generation in progress is cancelled first."""
        self._closing = True
        child = self._child
        if child is not None:
            child.cancel.set()
        self._renderer.close()
        acquired = self._lock.acquire(timeout=STOP_TIMEOUT_S)
        try:
            if self._child is not None:
                self._child.stop(graceful=acquired)  # never write to a pipe another thread may be using
                self._child = None
            self._info = self._loaded = self._n_ctx = None
            self._reload = None
            self._state = HostState.STOPPED
        finally:
            if acquired:
                self._lock.release()

    # -- requests ----------------------------------------------------------------------------

    def cancel(self) -> None:
        """Stop the current answer within about one token, or the prompt being rendered; safe from any
        thread, a no-op when idle."""
        self._renderer.cancel()
        child = self._child
        if child is not None:
            child.cancel.set()

    def render_prompt(self, messages: list[ChatMessage]) -> str:
        """The prompt for ``messages`` in the loaded model's chat format: its own template, or the
        built-in format when the template fails or breaks its budget (see ``take_template_notices``)."""
        info = self._info
        if info is None:
            raise ModelError("No model is loaded.")
        return self._renderer.render(messages, info)

    def take_template_notices(self) -> list[str]:
        """Notes for the next answer: chat templates replaced by a built-in format, each said once."""
        return self._renderer.take_notices()

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Token counts with the loaded model's tokenizer, as the texts would be inside a prompt."""
        with self._lock:
            child = self._ready_child()
            try:
                child.send(encode(CountRequest(texts=texts)))
                reply = child.reply()
            except _HostDied:
                raise self._died(
                    "The model host stopped unexpectedly; it will restart on the next request."
                ) from None
        if isinstance(reply, Failed):
            raise ModelError(reply.message)
        if not isinstance(reply, Counts):
            raise ModelError("The model host sent an unexpected reply.")
        return reply.counts

    def generate(
        self,
        prompt: str,
        settings: GenerationSettings,
        *,
        json_schema: str | None = None,
        banned_line_starts: tuple[str, ...] = (),
    ) -> Iterator[TokenEvent | GenerationResult]:
        """Stream TokenEvents, then exactly one GenerationResult. Uses the sampling fields of
        ``settings``; context, threads, GPU layers and LoRA are fixed by ``load()``. With
        ``json_schema`` the answer is JSON that follows it (unless cut short by ``max_tokens``); no
        line of it outside code blocks begins with one of ``banned_line_starts``."""
        request = GenerateRequest(
            prompt=prompt,
            max_tokens=settings.max_tokens,
            temperature=settings.temperature,
            top_p=settings.top_p,
            top_k=settings.top_k,
            repeat_penalty=settings.repeat_penalty,
            seed=settings.seed,
            json_schema=json_schema,
            banned_line_starts=banned_line_starts,
        )
        with self._lock:
            child = self._ready_child()
            child.cancel.clear()
            self._state = HostState.BUSY
            started = time.perf_counter()
            first_token_at: float | None = None
            pieces: list[str] = []
            finished = False
            try:
                child.send(encode(request))
                while True:
                    frame = child.receive()
                    if frame[0] != TOKEN:
                        break
                    if first_token_at is None:
                        first_token_at = time.perf_counter()
                    text = frame[1:].decode("utf-8")
                    pieces.append(text)
                    yield TokenEvent(text=text)
                finished = True
            except _HostDied:
                raise self._died(
                    "The model host stopped unexpectedly while answering (it may have run out of memory); "
                    "it will restart on the next question."
                ) from None
            finally:
                if not finished and self._state == HostState.BUSY:
                    self._drain(child)  # the caller stopped reading: end the answer, keep the pipe clean
            self._state = HostState.READY
        reply = decode_reply(frame)
        if isinstance(reply, Failed):
            raise ModelError(reply.message)
        if not isinstance(reply, Finished):
            raise ModelError("The model host sent an unexpected reply while answering.")
        yield GenerationResult(
            text="".join(pieces),
            stopped=reply.stopped,
            finish_reason=reply.finish_reason,
            prompt_tokens=reply.prompt_tokens,
            generated_tokens=reply.generated_tokens,
            time_to_first_token_ms=((first_token_at or time.perf_counter()) - started) * 1000,
            prompt_ms=reply.prompt_ms,
            generation_ms=reply.generation_ms,
            tokens_per_second=reply.tokens_per_second,
        )

    def _drain(self, child: _Child) -> None:
        child.cancel.set()
        try:
            while child.receive()[0] == TOKEN:
                pass
            self._state = HostState.READY
        except _HostDied:
            self._died("")  # raising here would mask why the caller stopped reading
