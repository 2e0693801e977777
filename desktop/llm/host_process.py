"""The model host: the child process that owns llama.cpp.

Started with the "spawn" method by ``desktop.llm.host``; only this process imports llama_cpp, so an
abort, segfault or OOM kill inside llama.cpp ends this process and never the app. It serves one
request at a time from its pipe and exits when the pipe closes or the parent process dies.
"""

from __future__ import annotations

import codecs
import ctypes
import multiprocessing
import os
import threading
import time
from multiprocessing.connection import Connection, wait
from multiprocessing.synchronize import Event
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from desktop.core.offline import use_llama_threading
from desktop.llm.host_protocol import (
    CountRequest,
    Counts,
    Failed,
    Finished,
    FinishReason,
    GenerateRequest,
    Loaded,
    LoadRequest,
    ShutdownRequest,
    decode_request,
    encode,
    encode_token,
)
from desktop.llm.line_starts import BannedTokens, LineStartBan

if TYPE_CHECKING:
    from llama_cpp import Llama, LlamaGrammar

GGML_LOG_LEVEL_ERROR = 4  # ggml.h; llama_cpp/_logger.py still has the older numbering


# Tokens produced within this time go to the app in one message: each message wakes the app's
# process, and on a 2-core machine that wake-up stalls one of llama.cpp's threads. The first
# token is sent at once, and cancel is still checked after every token.
COALESCE_S = 0.025

# Prompt tokens evaluated between two checks for cancel. Smaller than llama.cpp's 512-token batch
# so that stopping during a long prompt is prompt; measured here, 64 to 512 process a 1,500-token
# prompt equally fast (6.6 to 7.0 s, within noise).
PREFILL_CHUNK = 64


class _Refused(Exception):
    """A request this host cannot serve; the message goes to the user as it is."""


class _NoChatFormatter:
    """Stands in for llama-cpp-python's ``Jinja2ChatFormatter``, which ``Llama()`` builds for every
    chat template in the model file while loading. Compiling is not harmless: Jinja folds constant
    expressions as it compiles, so ``' '|center(10**9)`` cost this process 25 s and 3.8 GB, with no
    budget. Hearth never uses llama-cpp-python's chat completion: templates render in the template
    renderer (``host_renderer``), within its budget."""

    def __init__(self, **_: object) -> None:
        pass

    def to_chat_handler(self) -> None:
        return None


def _exit_with_parent() -> None:
    """If the app dies (even by SIGKILL), end this process too instead of lingering mid-answer."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        wait([parent.sentinel])
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


class _Runtime:
    def __init__(self) -> None:
        import llama_cpp  # heavy native library: imported here, in the child only
        import llama_cpp.llama_chat_format

        llama_cpp.llama_chat_format.Jinja2ChatFormatter = _NoChatFormatter  # type: ignore[misc,assignment]
        self._lib = llama_cpp
        self._llm: Llama | None = None
        self._errors: list[str] = []  # the first few of the current load
        self._piece_buffer = ctypes.create_string_buffer(64)
        self._grammar: tuple[str, LlamaGrammar] | None = None  # the last schema's, reused chunk after chunk
        self._banned: BannedTokens | None = None  # the loaded model's tokens a line-start ban names

        # llama.cpp logs to stderr; keep only its errors, to explain a failed load.
        @llama_cpp.llama_log_callback
        def on_log(level: int, text: bytes, user_data: Any) -> None:
            if level == GGML_LOG_LEVEL_ERROR and len(self._errors) < 8:
                self._errors.append(text.decode("utf-8", errors="replace").strip())

        self._on_log = on_log  # the C side keeps only a pointer: hold the Python object
        llama_cpp.llama_log_set(on_log, ctypes.c_void_p(0))

    def _first_error(self) -> str | None:
        """The first error llama.cpp logged (the cause; later ones are consequences), without the
        C function name it starts with."""
        if not self._errors:
            return None
        where, _, what = self._errors[0].partition(": ")
        return what if what and " " not in where else self._errors[0]

    def _model(self) -> Llama:
        if self._llm is None:
            raise _Refused("No model is loaded.")
        return self._llm

    def load(self, request: LoadRequest) -> Loaded:
        if self._llm is not None:
            self._llm.close()  # free the old model's memory before mapping the new one
            self._llm = None
            self._banned = None
        self._errors.clear()
        started = time.perf_counter()
        try:
            self._llm = self._lib.Llama(
                model_path=request.model_path,
                n_ctx=request.n_ctx,
                n_threads=request.threads,
                n_threads_batch=request.threads,
                n_gpu_layers=request.gpu_layers,
                seed=request.seed,
                lora_path=request.lora_path,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            name = os.path.basename(request.model_path)
            raise _Refused(f"llama.cpp could not load {name}: {self._first_error() or exc}") from None
        return Loaded(n_ctx=self._llm.n_ctx(), load_ms=(time.perf_counter() - started) * 1000)

    def count(self, request: CountRequest) -> Counts:
        llm = self._model()
        texts = [text.encode("utf-8") for text in request.texts]
        return Counts(counts=[len(llm.tokenize(text, add_bos=False, special=True)) for text in texts])

    def _piece(self, token: int) -> bytes:
        vocab = self._model()._model.vocab
        buffer = self._piece_buffer
        size = self._lib.llama_token_to_piece(vocab, token, buffer, len(buffer), 0, False)
        if size < 0:  # the piece is longer than the buffer: grow it once and retry
            buffer = self._piece_buffer = ctypes.create_string_buffer(-size)
            size = self._lib.llama_token_to_piece(vocab, token, buffer, len(buffer), 0, False)
        return buffer.raw[:size]

    def _prompt_tokens(self, prompt: str) -> list[int]:
        llm = self._model()
        tokens = llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=True)
        bos = llm.token_bos()
        if len(tokens) >= 2 and tokens[0] == tokens[1] == bos:
            del tokens[0]  # the template already wrote the BOS token llama.cpp adds
        if not tokens:
            raise _Refused("The prompt is empty.")
        if len(tokens) >= llm.n_ctx():
            raise _Refused(
                f"The prompt is {len(tokens):,} tokens long but the model's context holds {llm.n_ctx():,}."
            )
        return tokens

    def _prefill(self, tokens: list[int], cancel: Event) -> bool:
        """Evaluate all prompt tokens but the last, chunk by chunk, reusing the cached prefix of the
        previous prompt (a chat resends its history). False if cancelled. Llama.generate then finds
        everything cached and evaluates only the last token before sampling."""
        llm = self._model()
        target = len(tokens) - 1
        keep = 0
        if llm.n_tokens:
            cached = llm._input_ids  # private API, stable across 0.3.x (pinned in pyproject)
            limit = min(len(cached), target)
            while keep < limit and cached[keep] == tokens[keep]:
                keep += 1
        if keep and llm._ctx.kv_cache_seq_rm(-1, keep, -1):
            llm.n_tokens = keep
        else:
            llm.reset()
        for start in range(llm.n_tokens, target, PREFILL_CHUNK):
            if cancel.is_set():
                return False
            llm.eval(tokens[start : min(start + PREFILL_CHUNK, target)])
        return True

    def _grammar_for(self, schema: str | None) -> LlamaGrammar | None:
        if schema is None:
            return None
        if self._grammar is None or self._grammar[0] != schema:
            try:
                grammar = self._lib.LlamaGrammar.from_json_schema(schema, verbose=False)
            except Exception as exc:  # the converter raises whatever it meets in a schema it cannot handle
                raise _Refused(f"The answer's JSON schema cannot be turned into a grammar: {exc}") from None
            self._grammar = (schema, grammar)
        return self._grammar[1]

    def _line_start_ban(self, prefixes: tuple[str, ...]) -> LineStartBan | None:
        """A fresh ban for one answer; the vocabulary is scanned once per model and prefixes (~0.1 s)."""
        if not prefixes:
            return None
        if self._banned is None or self._banned.prefixes != prefixes:
            pieces = [self._piece(token).decode("utf-8", errors="replace") for token in range(self._model().n_vocab())]
            self._banned = BannedTokens(pieces, prefixes)
        return LineStartBan(self._banned)

    def generate(self, request: GenerateRequest, conn: Connection, cancel: Event) -> Finished:
        started = time.perf_counter()
        llm = self._model()
        grammar = self._grammar_for(request.json_schema)
        ban = self._line_start_ban(request.banned_line_starts)
        tokens = self._prompt_tokens(request.prompt)
        budget = min(request.max_tokens, llm.n_ctx() - len(tokens))
        if not self._prefill(tokens, cancel):
            elapsed = (time.perf_counter() - started) * 1000
            return Finished(
                stopped=True,
                finish_reason="cancelled",
                prompt_tokens=len(tokens),
                generated_tokens=0,
                prompt_ms=elapsed,
                generation_ms=0.0,
                tokens_per_second=0.0,
            )
        llm.set_seed(request.seed)
        vocab = llm._model.vocab
        is_eog = self._lib.llama_vocab_is_eog
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        send = conn.send_bytes
        generated = sampled = 0
        finish: FinishReason = "length"
        first_at = last_at = started
        pending, sent_at = "", 0.0
        for token in llm.generate(
            tokens,
            top_k=request.top_k,
            top_p=request.top_p,
            temp=request.temperature,
            repeat_penalty=request.repeat_penalty,
            grammar=grammar,
            logits_processor=self._lib.LogitsProcessorList([ban]) if ban else None,
        ):
            last_at = time.perf_counter()
            sampled += 1
            if sampled == 1:
                first_at = last_at
            if is_eog(vocab, token):
                finish = "stop"
                break
            generated += 1
            text = decoder.decode(self._piece(token))
            if ban:
                ban.feed(text)
            pending += text
            if pending and (not sent_at or last_at - sent_at >= COALESCE_S):
                send(encode_token(pending))
                pending, sent_at = "", last_at
            if cancel.is_set():
                finish = "cancelled"
                break
            if generated >= budget:
                break
        tail = pending + decoder.decode(b"", final=True)
        if tail:
            send(encode_token(tail))
        generation_s = last_at - first_at
        return Finished(
            stopped=finish == "cancelled",
            finish_reason=finish,
            prompt_tokens=len(tokens),
            generated_tokens=generated,
            prompt_ms=(first_at - started) * 1000,
            generation_ms=generation_s * 1000,
            tokens_per_second=(sampled - 1) / generation_s if generation_s > 0 else 0.0,
        )


def main(conn: Connection, cancel: Event) -> None:
    """Entry point of the host process: serve requests until told to stop or the pipe closes."""
    use_llama_threading()  # before _Runtime imports llama.cpp, which starts OpenMP
    _exit_with_parent()
    try:
        runtime = _Runtime()
    except (ImportError, OSError) as exc:
        conn.send_bytes(encode(Failed(message=f"The local model library could not be started: {exc}")))
        return
    while True:
        try:
            frame = conn.recv_bytes()
        except (EOFError, OSError):
            return
        try:
            request = decode_request(frame)
            if isinstance(request, ShutdownRequest):
                return
            if isinstance(request, LoadRequest):
                reply: Loaded | Finished | Counts | Failed = runtime.load(request)
            elif isinstance(request, GenerateRequest):
                reply = runtime.generate(request, conn, cancel)
            else:
                reply = runtime.count(request)
        except _Refused as exc:
            reply = Failed(message=str(exc))
        except ValidationError as exc:
            reply = Failed(message=f"The model host received a malformed request: {exc}")
        except Exception as exc:  # keep serving: one bad request must not take the model down
            reply = Failed(message=f"The model failed: {type(exc).__name__}: {exc}")
        try:
            conn.send_bytes(encode(reply))
        except (BrokenPipeError, OSError):
            return
