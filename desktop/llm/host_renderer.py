"""The template renderer: a child process that renders models' chat templates within a budget.

A chat template is untrusted code from the model file. The sandbox keeps it away from Python's
internals, but not from looping for hours (three nested ``range(100000)``) or building strings of
gigabytes (``~`` doubling, ``center(10**9)``). So templates render here, in a process started with
"spawn" whose address space is capped (RLIMIT_AS) and whose CPU time per render is capped too
(RLIMIT_CPU: the kernel ends a render even if the app is gone); the app waits at most
``TemplateBudget.seconds`` for the reply, then kills the process. A template that broke the budget
is not run again; every fallback to the built-in format is logged and announced once.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from multiprocessing import get_context
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING

import psutil
from pydantic import BaseModel, ConfigDict, ValidationError

from desktop.llm.host_protocol import (
    Rendered,
    RendererReady,
    RenderFailed,
    RenderReply,
    RenderRequest,
    decode_render_reply,
    decode_render_request,
    encode,
)
from desktop.llm.templates import (
    FORMAT_NAMES,
    ChatMessage,
    defuse_messages,
    fallback_name,
    fallback_prompt,
    render_template,
)

if TYPE_CHECKING:
    from desktop.core.model_info import ModelInfo

log = logging.getLogger(__name__)

START_TIMEOUT_S = 60.0  # hang guard for a renderer that never says it is ready
POLL_S = 0.05  # how soon a waiting render notices cancel
MAX_DETAIL = 160  # characters of a template's own error message kept in the notice


class TemplateBudget(BaseModel):
    model_config = ConfigDict(frozen=True)

    seconds: float = 2.0  # a real template renders in milliseconds
    memory_mb: int = 256  # what one render may allocate beyond the renderer's own interpreter


# -- the child process ----------------------------------------------------------------------


def serve(conn: Connection, budget: TemplateBudget) -> None:
    """Entry point of the renderer process: render requests until the pipe closes."""
    import resource  # POSIX only, like the parse workers' limits

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a CPU-limit kill leaves no core file behind
    cap = psutil.Process().memory_info().vms + (budget.memory_mb << 20)
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    conn.send_bytes(encode(RendererReady()))
    while True:
        try:
            frame = conn.recv_bytes()
        except (EOFError, OSError):
            return  # the app closed the pipe, or is gone
        _limit_cpu(budget.seconds)
        reply = _render(frame, budget)
        try:
            conn.send_bytes(encode(reply))
        except OSError:
            return


def _limit_cpu(seconds: float) -> None:
    """The next render may use ``seconds`` of CPU (plus the limit's one-second grain), then SIGXCPU
    ends the process: the app's deadline does the same, but only while the app is alive."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = math.ceil(usage.ru_utime + usage.ru_stime + seconds) + 1
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _render(frame: bytes, budget: TemplateBudget) -> Rendered | RenderFailed:
    try:
        request = decode_render_request(frame)
        text = render_template(
            request.template, request.messages, bos_token=request.bos_token, eos_token=request.eos_token
        )
    except MemoryError:
        return RenderFailed(reason=f"needed more than {budget.memory_mb} MB of memory to render", over_budget=True)
    except Exception as exc:  # untrusted code: any failure means "use the built-in format"
        detail = str(exc)
        if len(detail) > MAX_DETAIL:
            detail = detail[:MAX_DETAIL] + "…"
        return RenderFailed(reason=f"failed ({type(exc).__name__}: {detail})")
    return Rendered(text=text)


# -- the app's side -------------------------------------------------------------------------


class _Ending(Enum):
    """How a wait for the renderer ended when no reply came."""

    TIMEOUT = "timeout"
    DIED = "died"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class _Refusal:
    reason: str  # completes "the model's chat template ..."
    lasting: bool  # it broke the budget: the template is not run again


def _kill(process: BaseProcess, conn: Connection) -> None:
    """The renderer holds nothing worth saving and may be deep in a hostile loop: no grace period."""
    process.kill()
    process.join()
    conn.close()


class _Child:
    """One renderer process and its pipe; killed at interpreter exit even if never stopped."""

    def __init__(self, owner: TemplateRenderer, budget: TemplateBudget) -> None:
        context = get_context("spawn")
        self.conn, child_conn = context.Pipe(duplex=True)
        self.process = context.Process(
            target=serve, args=(child_conn, budget), name="hearth-template-renderer", daemon=True
        )
        self.process.start()
        child_conn.close()  # so that the child's death reads as end-of-file here
        self.ready = False
        self._finalizer = weakref.finalize(owner, _kill, self.process, self.conn)

    def stop(self) -> None:
        if self._finalizer.detach():
            _kill(self.process, self.conn)


class TemplateRenderer:
    """Prompts from models' chat templates, rendered in a child process within ``budget``.

    One render runs at a time (other callers wait); ``cancel`` and ``close`` work from any thread."""

    def __init__(self, budget: TemplateBudget | None = None) -> None:
        self.budget = budget or TemplateBudget()
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._child: _Child | None = None
        self._refused: dict[str, str] = {}  # template -> how it broke the budget
        self._announced: set[str] = set()
        self._notices: list[str] = []

    @property
    def pid(self) -> int | None:
        child = self._child
        return child.process.pid if child is not None and child.process.is_alive() else None

    def start(self) -> None:
        """Start the renderer now, so that the first render does not wait for it; never blocks."""
        if self._lock.acquire(blocking=False):
            try:
                self._ensure_child()
            finally:
                self._lock.release()

    def render(self, messages: Sequence[ChatMessage], info: ModelInfo) -> str:
        """The prompt for ``messages``, ending where the assistant's answer begins: the model's own
        template if it renders within the budget, else the built-in format for its architecture."""
        safe = defuse_messages(messages, info)
        template = info.chat_template
        if template is None:
            return fallback_prompt(safe, info)
        reason = self._refused.get(template)
        if reason is None:
            request = RenderRequest(
                template=template, messages=safe, bos_token=info.bos_token or "", eos_token=info.eos_token or ""
            )
            outcome = self._render(request)
            if isinstance(outcome, str):
                return outcome
            if outcome is None:  # cancelled: not the template's fault, nothing to announce
                return fallback_prompt(safe, info)
            reason = outcome.reason
            if outcome.lasting:
                self._refused[template] = reason
        self._announce(template, info, reason)
        return fallback_prompt(safe, info)

    def take_notices(self) -> list[str]:
        """Fallbacks not yet shown to the user (each template's once), as notes for an answer."""
        notices, self._notices = self._notices, []
        return notices

    def cancel(self) -> None:
        """End a render in progress (within ``POLL_S``); safe from any thread, a no-op when idle."""
        self._cancel.set()

    def close(self) -> None:
        """Kill the renderer process (a render in progress ends as if cancelled); a later render
        starts a new one."""
        self._cancel.set()
        with self._lock:
            self._drop()

    # -- internals ---------------------------------------------------------------------------

    def _render(self, request: RenderRequest) -> str | _Refusal | None:
        """The rendered text, why the template was refused, or None if cancelled."""
        with self._lock:
            self._cancel.clear()
            child = self._ensure_child()
            if not child.ready:
                started = self._exchange(child, None, START_TIMEOUT_S)
                if started is _Ending.CANCELLED:
                    return None
                if not isinstance(started, RendererReady):
                    self._drop()
                    return _Refusal("could not be rendered: the template renderer did not start", lasting=False)
                child.ready = True
            answer = self._exchange(child, encode(request), self.budget.seconds)
        if isinstance(answer, Rendered):
            return answer.text
        if isinstance(answer, RenderFailed):
            return _Refusal(answer.reason, lasting=answer.over_budget)
        if answer is _Ending.CANCELLED:
            return None
        if answer is _Ending.TIMEOUT:
            return _Refusal(f"took longer than {self.budget.seconds:g} s to render", lasting=True)
        return _Refusal("stopped the template renderer unexpectedly", lasting=True)

    def _exchange(self, child: _Child, frame: bytes | None, seconds: float) -> RenderReply | _Ending:
        """Send ``frame`` (if any) and wait up to ``seconds`` for the reply. Whenever no reply comes
        (or the caller is interrupted), the renderer is killed: it may still be running the template."""
        answer: RenderReply | _Ending = _Ending.DIED
        try:
            if frame is not None:
                child.conn.send_bytes(frame)
            answer = self._await(child, time.monotonic() + seconds)
        except (OSError, ValidationError):  # a broken pipe or a garbled reply: a renderer not to trust
            answer = _Ending.DIED
        finally:
            if isinstance(answer, _Ending):
                self._drop()
        return answer

    def _await(self, child: _Child, deadline: float) -> RenderReply | _Ending:
        while not self._cancel.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return _Ending.TIMEOUT
            ready = wait([child.conn, child.process.sentinel], min(POLL_S, remaining))
            if child.conn in ready:
                try:
                    return decode_render_reply(child.conn.recv_bytes())
                except EOFError:
                    return _Ending.DIED
            if ready:  # the process ended without replying
                return _Ending.DIED
        return _Ending.CANCELLED

    def _ensure_child(self) -> _Child:
        if self._child is not None and not self._child.process.is_alive():
            self._drop()
        if self._child is None:
            self._child = _Child(self, self.budget)
        return self._child

    def _drop(self) -> None:
        if self._child is not None:
            self._child.stop()
            self._child = None

    def _announce(self, template: str, info: ModelInfo, reason: str) -> None:
        if template in self._announced:
            return
        self._announced.add(template)
        fallback = FORMAT_NAMES[fallback_name(info)]
        log.warning("The chat template of %s %s; using the built-in %s format instead.", info.name, reason, fallback)
        self._notices.append(f"the model's chat template {reason}; the built-in {fallback} format was used instead")
