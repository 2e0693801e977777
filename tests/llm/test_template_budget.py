"""Hostile chat templates: rendered in a child process with a time and memory budget, never in the app.

Each model here is SmolLM2 with its ``tokenizer.chat_template`` replaced inside the file, loaded in a
real model host; prompts come from ``ModelHost.render_prompt``, as the answer path asks for them.
Waits are hang guards, never timing assertions.
"""

from __future__ import annotations

import contextlib
import struct
import subprocess
import sys
import textwrap
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from desktop.llm.host import ModelHost
from desktop.llm.host_renderer import TemplateBudget
from desktop.llm.templates import ChatMessage
from desktop.services.answering import Answerer, AnswerFinished
from desktop.services.conversations import ConversationStore
from desktop.services.workspace import Workspace
from tests.llm.helpers import GREEDY, MODELS

REPO = Path(__file__).resolve().parents[2]
HANG_GUARD_S = 60.0

HI = [ChatMessage(role="user", content="Hi")]
HI_CHATML = "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
SMOL_SYSTEM_TURN = "<|im_start|>system\nYou are a helpful AI assistant named SmolLM"
CONVERSATION = [
    ChatMessage(role="system", content="Answer briefly."),
    ChatMessage(role="user", content="Hi"),
    ChatMessage(role="assistant", content="Hello!"),
    ChatMessage(role="user", content="What is 2+2?"),
]
CHATML = (
    "<|im_start|>system\nAnswer briefly.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
    "<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n"
    "<|im_start|>assistant\n"
)

NESTED_LOOPS = (  # 10**15 iterations, no output: the output cap never trips
    "{% for i in range(100000) %}{% for j in range(100000) %}{% for k in range(100000) %}"
    "{% endfor %}{% endfor %}{% endfor %}"
)
FINE_THEN_LOOPS = (  # its own format for one message, endless for more
    "{% if messages|length > 1 %}" + NESTED_LOOPS + "{% endif %}"
    "[own]{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}"
)
MEMORY_BOMBS = {  # each builds 0.5 to 1 GB without touching the + * ** caps
    "center": "{{ ' '|center(10**9) }}",
    "tilde-doubling": "{% set ns = namespace(s='x') %}{% for i in range(29) %}{% set ns.s = ns.s ~ ns.s %}"
    "{% endfor %}{{ ns.s }}",
    "indent": "{{ 'a\\nb'|indent(5 * 10**8) }}",
    "replace": "{{ ('x' * 1000)|replace('x', 'x' * 500000) }}",
    "join": "{{ range(100000)|join('x' * 5000) }}",
    "format": "{{ '%500000000s'|format('') }}",
}
TOO_SLOW = "the model's chat template took longer than 2 s to render; the built-in ChatML format was used instead"
TOO_BIG = (
    "the model's chat template needed more than 256 MB of memory to render; "
    "the built-in ChatML format was used instead"
)


def _forge(model_path: Path, path: Path, template: str) -> Path:
    """A copy of the model whose chat template is ``template``, padded with a Jinja comment to the
    length of the original so that nothing else in the file moves."""
    data = bytearray(model_path.read_bytes())
    key = b"tokenizer.chat_template"
    start = data.index(struct.pack("<Q", len(key)) + key + struct.pack("<I", 8)) + 8 + len(key) + 4  # 8: string
    (length,) = struct.unpack_from("<Q", data, start)
    replacement = template.encode()
    padding = length - len(replacement) - 4
    assert padding >= 0, "the template is longer than the model's own"
    data[start + 8 : start + 8 + length] = replacement + b"{#" + b" " * padding + b"#}"
    path.write_bytes(data)
    return path


@pytest.fixture
def forge(tmp_path: Path, model_path: Path) -> Iterator[Callable[[str], Path]]:
    made: list[Path] = []

    def make(template: str) -> Path:
        made.append(_forge(model_path, tmp_path / f"hostile-{len(made)}.gguf", template))
        return made[-1]

    yield make
    for path in made:  # 100 MB each; a host that still maps one keeps its inode
        path.unlink()


def _guarded(call: Callable[[], str]) -> str:
    """``call()`` in a thread, failing the test if it has not returned within the hang guard."""
    outcome: list[str | BaseException] = []

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(HANG_GUARD_S)
    assert not thread.is_alive(), f"still rendering after {HANG_GUARD_S:g} s"
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


def _gone(pid: int) -> bool:
    try:
        psutil.Process(pid).wait(timeout=HANG_GUARD_S)
    except psutil.NoSuchProcess:
        return True
    except psutil.TimeoutExpired:
        return False
    return True


def test_endless_loops_fall_back_to_the_built_in_format(
    host: ModelHost, forge: Callable[[str], Path], model_path: Path
) -> None:
    host.load(forge(NESTED_LOOPS), GREEDY, models_dir=MODELS)
    looping = host.renderer_pid
    assert looping is not None
    assert _guarded(lambda: host.render_prompt(CONVERSATION)) == CHATML
    assert _gone(looping)  # the loop is over, not left running in the background
    assert host.take_template_notices() == [TOO_SLOW]
    assert host.take_template_notices() == []  # said once
    host.load(model_path, GREEDY, models_dir=MODELS)  # a new renderer serves the next model
    # Its own template adds a default system turn, which the built-in format would not.
    assert host.render_prompt(HI).startswith(SMOL_SYSTEM_TURN)


@pytest.mark.parametrize("template", MEMORY_BOMBS.values(), ids=MEMORY_BOMBS.keys())
def test_memory_bombs_fall_back_without_the_app_paying(
    host: ModelHost, forge: Callable[[str], Path], template: str
) -> None:
    host.load(forge(template), GREEDY, models_dir=MODELS)
    tracemalloc.start()
    try:
        prompt = _guarded(lambda: host.render_prompt(CONVERSATION))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert prompt == CHATML
    assert peak < 64 << 20, f"the app itself allocated {peak >> 20} MB"
    assert host.take_template_notices() == [TOO_BIG]


def test_a_template_that_rendered_fine_is_still_bounded_then_not_run_again(
    host: ModelHost, forge: Callable[[str], Path]
) -> None:
    host.load(forge(FINE_THEN_LOOPS), GREEDY, models_dir=MODELS)
    assert host.render_prompt(HI) == "[own]user: Hi\n"
    assert _guarded(lambda: host.render_prompt(CONVERSATION)) == CHATML
    # It broke the budget once: from now on the built-in format, even where it would render.
    assert host.render_prompt(HI) == HI_CHATML
    assert host.take_template_notices() == [TOO_SLOW]
    assert host.take_template_notices() == []


def _peak_memory_mb(pid: int) -> int:
    """A process's peak resident memory so far (Linux's VmHWM)."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1]) >> 10


def test_loading_a_model_does_not_run_its_template_in_the_model_host(
    forge: Callable[[str], Path], tmp_path: Path
) -> None:
    """llama-cpp-python compiles the model's templates while loading it, and Jinja's constant
    folding evaluates ``' '|center(10**9)`` as it compiles: in the model host, with no budget."""
    fresh = ModelHost(data_dir=tmp_path / "data")
    try:
        fresh.load(forge(MEMORY_BOMBS["center"]), GREEDY, models_dir=MODELS)
        assert fresh.pid is not None
        assert _peak_memory_mb(fresh.pid) < 1024
    finally:
        fresh.close()


def test_cancel_ends_a_slow_render(forge: Callable[[str], Path], model_path: Path, tmp_path: Path) -> None:
    patient = ModelHost(data_dir=tmp_path / "data", template_budget=TemplateBudget(seconds=600))
    try:
        patient.load(forge(NESTED_LOOPS), GREEDY, models_dir=MODELS)
        looping = patient.renderer_pid
        assert looping is not None
        rendered: list[str] = []
        thread = threading.Thread(target=lambda: rendered.append(patient.render_prompt(CONVERSATION)), daemon=True)
        thread.start()
        guard = time.monotonic() + HANG_GUARD_S
        while thread.is_alive() and time.monotonic() < guard:
            patient.cancel()  # repeated, as the engine does: a cancel sent before the render began is reset
            thread.join(0.1)
        assert not thread.is_alive(), "Stop did not end the render"
        assert rendered == [CHATML]
        assert _gone(looping)
        assert patient.take_template_notices() == []  # stopped by the user: nothing to blame the template for
        patient.load(model_path, GREEDY, models_dir=MODELS)  # a new renderer serves the next model
        assert patient.render_prompt(HI).startswith(SMOL_SYSTEM_TURN)
    finally:
        patient.close()


@pytest.mark.slow  # the renderer uses its CPU allowance first: 7 s here, 20 s on a busy machine
def test_killing_the_app_mid_render_leaves_no_loop_running(forge: Callable[[str], Path], tmp_path: Path) -> None:
    """With the app gone nobody enforces the deadline: the renderer's CPU limit must end the loop."""
    model = forge(FINE_THEN_LOOPS)
    script = tmp_path / "app.py"
    script.write_text(textwrap.dedent(f"""
        from pathlib import Path
        from desktop.core.settings import GenerationSettings
        from desktop.llm.host import ModelHost
        from desktop.llm.host_renderer import TemplateBudget
        from desktop.llm.templates import ChatMessage

        if __name__ == "__main__":
            host = ModelHost(template_budget=TemplateBudget(seconds=5))
            host.load(Path({str(model)!r}), GenerationSettings())
            hi = [ChatMessage(role="user", content="Hi")]
            host.render_prompt(hi)  # renders: the renderer is up, and idle now
            print(host.renderer_pid, flush=True)
            host.render_prompt(hi * 2)  # loops
    """))
    app = subprocess.Popen([sys.executable, str(script)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    renderer: psutil.Process | None = None
    try:
        assert app.stdout is not None
        renderer = psutil.Process(int(app.stdout.readline()))
        idle = sum(renderer.cpu_times()[:2])
        guard = time.monotonic() + HANG_GUARD_S
        while sum(renderer.cpu_times()[:2]) < idle + 0.3 and time.monotonic() < guard:
            time.sleep(0.05)  # until the loop is surely running
        app.kill()
        app.wait(timeout=HANG_GUARD_S)
        assert _gone(renderer.pid)
    finally:
        app.kill()
        app.wait(timeout=HANG_GUARD_S)
        if renderer is not None:
            with contextlib.suppress(psutil.NoSuchProcess):
                renderer.kill()  # only if the test failed: never leave the loop burning a core


def test_the_answer_says_its_prompt_used_the_built_in_format(
    host: ModelHost, forge: Callable[[str], Path], workspace: Workspace
) -> None:
    conversations = ConversationStore(workspace.data_dir / "conversations.sqlite3")
    answerer = Answerer(workspace, conversations, host)
    answerer.use_model(forge(NESTED_LOOPS + "{# not met by the other tests' renderer #}"))
    events = list(answerer.ask("Say hello.", rag=False))
    finished = events[-1]
    assert isinstance(finished, AnswerFinished)
    assert TOO_SLOW in finished.message.notes
    assert conversations.messages(finished.message.conversation_id)[-1].notes == finished.message.notes
