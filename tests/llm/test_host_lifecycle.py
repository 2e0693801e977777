"""The host process's life: crashes become errors and restarts, closing leaves no process behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from desktop.core.errors import ModelError
from desktop.core.settings import GenerationSettings
from desktop.llm.crash_marks import crashed_models
from desktop.llm.host import HostState, ModelHost, TokenEvent
from tests.llm.helpers import GREEDY, MODELS, QUESTION, run, write_gguf, write_lora

REPO = Path(__file__).resolve().parents[2]
HANG_GUARD_S = 120
LONG = GenerationSettings(temperature=0.7, max_tokens=2000, seed=3)


@pytest.fixture
def fresh_host(tmp_path: Path) -> Iterator[ModelHost]:
    host = ModelHost(data_dir=tmp_path / "data")
    yield host
    host.close()


def _gone(pid: int, within_s: float = 20.0) -> bool:
    """Whether the process ended; the wait only bounds a hang, it is not a timing assertion."""
    try:
        psutil.Process(pid).wait(timeout=within_s)
    except psutil.NoSuchProcess:
        return True
    except psutil.TimeoutExpired:
        return False
    return True


def test_unloaded_host(fresh_host: ModelHost) -> None:
    assert fresh_host.state == HostState.STOPPED and fresh_host.pid is None and fresh_host.info is None
    fresh_host.cancel()
    for call in (
        lambda: list(fresh_host.generate("hi", GREEDY)),
        lambda: fresh_host.count_tokens(["hi"]),
        lambda: fresh_host.render_prompt(QUESTION),
    ):
        with pytest.raises(ModelError, match=r"^No model is loaded\.$"):
            call()
    assert fresh_host.pid is None  # nothing was started
    fresh_host.close()
    fresh_host.close()


def test_killed_mid_answer_then_restarts(fresh_host: ModelHost, model_path: Path) -> None:
    fresh_host.load(model_path, GREEDY, models_dir=MODELS)
    expected = run(fresh_host, fresh_host.render_prompt(QUESTION))[1].text
    pid = fresh_host.pid
    assert pid is not None
    events = fresh_host.generate(fresh_host.render_prompt(QUESTION), LONG)
    assert isinstance(next(events), TokenEvent)
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(ModelError, match=r"^The model host stopped unexpectedly while answering"):
        list(events)
    assert fresh_host.state == HostState.CRASHED and fresh_host.pid is None
    assert fresh_host.info is not None  # the model the next request reloads
    assert _gone(pid)
    # The next question restarts the host and reloads the model by itself.
    assert run(fresh_host, fresh_host.render_prompt(QUESTION))[1].text == expected
    assert fresh_host.state == HostState.READY and fresh_host.pid not in (None, pid)


def test_illegal_instruction_is_named(fresh_host: ModelHost, model_path: Path) -> None:
    """A llama.cpp built for another processor dies with SIGILL at the first matrix product."""
    fresh_host.load(model_path, GREEDY, models_dir=MODELS)
    events = fresh_host.generate(fresh_host.render_prompt(QUESTION), LONG)
    assert isinstance(next(events), TokenEvent)
    assert fresh_host.pid is not None
    os.kill(fresh_host.pid, signal.SIGILL)
    with pytest.raises(ModelError, match="processor instructions this computer lacks"):
        list(events)
    assert fresh_host.state == HostState.CRASHED


def test_killed_while_loading_is_remembered(fresh_host: ModelHost, model_path: Path, tmp_path: Path) -> None:
    def kill_during_load() -> None:
        deadline = time.monotonic() + HANG_GUARD_S  # never spin forever if loading is missed
        while (fresh_host.state != HostState.LOADING or fresh_host.pid is None) and time.monotonic() < deadline:
            time.sleep(0.001)
        if (pid := fresh_host.pid) is not None:
            os.kill(pid, signal.SIGKILL)

    killer = threading.Thread(target=kill_during_load)
    killer.start()
    with pytest.raises(
        ModelError, match=r"^SmolLM2-135M-Instruct.Q4_1.gguf crashed the model host while loading"
    ):
        fresh_host.load(model_path, GREEDY, models_dir=MODELS)
    killer.join()
    assert fresh_host.state == HostState.CRASHED
    assert crashed_models(tmp_path / "data") == {str(model_path.resolve())}
    fresh_host.load(model_path, GREEDY, models_dir=MODELS)
    assert fresh_host.state == HostState.READY
    assert crashed_models(tmp_path / "data") == set()


def test_llama_cpp_refusal_is_a_clean_error(fresh_host: ModelHost, model_path: Path, tmp_path: Path) -> None:
    incomplete = write_gguf(tmp_path / "incomplete.gguf")  # well-formed, but missing most of a model
    with pytest.raises(ModelError, match=r"^llama.cpp could not load incomplete.gguf: .*key not found"):
        fresh_host.load(incomplete, GREEDY)
    assert fresh_host.state == HostState.STOPPED and fresh_host.pid is not None  # the process survived
    assert crashed_models(tmp_path / "data") == set()
    fresh_host.load(model_path, GREEDY, models_dir=MODELS)
    assert run(fresh_host, fresh_host.render_prompt(QUESTION))[1].generated_tokens > 0


def test_lora_adapter_changes_the_answer(fresh_host: ModelHost, model_path: Path, tmp_path: Path) -> None:
    fresh_host.load(model_path, GREEDY, models_dir=MODELS)
    base = run(fresh_host, fresh_host.render_prompt(QUESTION))[1].text
    adapted_settings = GREEDY.model_copy(update={"lora_path": str(write_lora(tmp_path / "lora.gguf"))})
    fresh_host.load(model_path, adapted_settings, models_dir=MODELS)
    assert run(fresh_host, fresh_host.render_prompt(QUESTION), adapted_settings)[1].text != base
    with pytest.raises(ModelError, match="is not a LoRA adapter"):
        fresh_host.load(
            model_path, GREEDY.model_copy(update={"lora_path": str(model_path)}), models_dir=MODELS
        )


def test_close_ends_the_process(fresh_host: ModelHost, model_path: Path) -> None:
    fresh_host.load(model_path, GREEDY, models_dir=MODELS)
    pid = fresh_host.pid
    assert pid is not None
    fresh_host.close()
    assert _gone(pid)
    assert fresh_host.state == HostState.STOPPED and fresh_host.info is None
    fresh_host.close()
    with pytest.raises(ModelError, match="No model is loaded"):
        fresh_host.count_tokens(["hi"])


def test_close_during_an_answer(fresh_host: ModelHost, model_path: Path) -> None:
    fresh_host.load(model_path, GREEDY, models_dir=MODELS)
    events = fresh_host.generate(fresh_host.render_prompt(QUESTION), LONG)
    assert isinstance(next(events), TokenEvent)
    closer = threading.Thread(target=fresh_host.close)
    closer.start()
    outcome = list(events)  # the cancelled answer ends normally, then close() proceeds
    closer.join()
    assert not isinstance(outcome[-1], TokenEvent) and outcome[-1].stopped
    assert fresh_host.state == HostState.STOPPED and fresh_host.pid is None


def _script(tmp_path: Path, model_path: Path, tail: str) -> Path:
    script = tmp_path / "app.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import sys, time
            from pathlib import Path
            from desktop.core.settings import GenerationSettings
            from desktop.llm.host import ModelHost

            if __name__ == "__main__":
                host = ModelHost()
                host.load(Path({str(model_path)!r}), GenerationSettings())
                print(host.pid, flush=True)
            """
        )
        + textwrap.indent(textwrap.dedent(tail), "    ")
    )
    return script


def test_no_orphan_when_the_app_exits_without_closing(tmp_path: Path, model_path: Path) -> None:
    script = _script(tmp_path, model_path, "sys.exit(0)\n")
    done = subprocess.run([sys.executable, str(script)], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert _gone(int(done.stdout.split()[0]))


def test_no_orphan_when_the_app_is_killed(tmp_path: Path, model_path: Path) -> None:
    script = _script(tmp_path, model_path, "time.sleep(60)\n")
    app = subprocess.Popen([sys.executable, str(script)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert app.stdout is not None
        host_pid = int(app.stdout.readline())
        app.kill()
        app.wait(timeout=30)
        assert _gone(host_pid)
    finally:
        app.kill()
        app.wait(timeout=30)


def test_llama_threads_keep_openmp_default_wait_policy_under_the_apps_passive_one(
    fresh_host: ModelHost, model_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The app runs with OMP_WAIT_POLICY=PASSIVE; inherited by the host it made generation 2.5x slower.
    # libgomp prints the spin count it settled on when it starts (OMP_DISPLAY_ENV); passive means 0.
    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")
    monkeypatch.setenv("OMP_DISPLAY_ENV", "VERBOSE")
    fresh_host.load(model_path, GREEDY, models_dir=MODELS)
    shown = capfd.readouterr().err
    assert "GOMP_SPINCOUNT = '300000'" in shown
