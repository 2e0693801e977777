"""The model host with the real model, loaded once for the module: streaming, determinism, cancel,
token counting, and bad files refused before they reach the host."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from desktop.core.errors import ModelError
from desktop.core.settings import GenerationSettings
from desktop.llm import gguf_info
from desktop.llm.host import HostState, ModelHost, TokenEvent
from desktop.llm.templates import ChatMessage, defuse_messages, render_template
from tests.llm.helpers import GREEDY, MODELS, QUESTION, forged_header, run

HANG_GUARD_S = 120
STORY = [ChatMessage(role="user", content="Write a very long story about a dragon who learns to bake bread.")]


def test_streams_tokens_then_one_result(host: ModelHost) -> None:
    prompt = host.render_prompt(QUESTION)
    pieces, result = run(host, prompt)
    assert len(pieces) >= 5
    assert result.text == "".join(pieces) and result.text.strip()
    assert not result.stopped and result.finish_reason in ("stop", "length")
    assert 0 < result.generated_tokens <= GREEDY.max_tokens
    assert result.prompt_tokens == host.count_tokens([prompt])[0]
    assert result.time_to_first_token_ms > 0 and result.prompt_ms > 0
    assert result.generation_ms > 0 and result.tokens_per_second > 0
    assert host.state == HostState.READY


def test_same_seed_same_text(host: ModelHost) -> None:
    sampled = GenerationSettings(temperature=0.9, top_p=0.95, max_tokens=24, seed=1234)
    prompt = host.render_prompt(STORY)
    first = run(host, prompt, sampled)[1].text
    run(host, host.render_prompt(QUESTION), sampled)  # something else in between
    assert run(host, prompt, sampled)[1].text == first


def test_cancel_from_another_thread(host: ModelHost) -> None:
    long = GenerationSettings(temperature=0.7, max_tokens=2000, seed=3)
    events = host.generate(host.render_prompt(STORY), long)
    first = next(events)
    assert isinstance(first, TokenEvent)
    canceller = threading.Thread(target=host.cancel)
    canceller.start()
    canceller.join()
    rest = list(events)
    result = rest[-1]
    assert not isinstance(result, TokenEvent)
    assert result.stopped and result.finish_reason == "cancelled"
    assert result.generated_tokens < long.max_tokens
    assert host.state == HostState.READY
    after = run(host, host.render_prompt(QUESTION))[1]
    assert not after.stopped and after.generated_tokens > 0


def test_cancel_while_reading_a_long_prompt(host: ModelHost) -> None:
    long_prompt = host.render_prompt(
        [ChatMessage(role="user", content="Summarise: " + "ships and tides. " * 800)]
    )

    def cancel_once_busy() -> None:
        deadline = time.monotonic() + HANG_GUARD_S  # never spin forever if the host never gets busy
        while host.state != HostState.BUSY and time.monotonic() < deadline:
            time.sleep(0.001)
        host.cancel()

    canceller = threading.Thread(target=cancel_once_busy)
    canceller.start()
    pieces, result = run(host, long_prompt, GREEDY)
    canceller.join()
    assert result.stopped and result.generated_tokens == 0 and pieces == []
    assert result.prompt_tokens > 3000
    assert not run(host, host.render_prompt(QUESTION))[1].stopped


def test_cancel_when_idle_does_not_affect_the_next_answer(host: ModelHost) -> None:
    host.cancel()
    assert not run(host, host.render_prompt(QUESTION))[1].stopped


def test_abandoned_stream_leaves_the_host_usable(host: ModelHost) -> None:
    long = GenerationSettings(temperature=0.7, max_tokens=2000, seed=3)
    for count, _event in enumerate(host.generate(host.render_prompt(STORY), long)):
        if count == 2:
            break
    assert host.state == HostState.READY
    expected = run(host, host.render_prompt(QUESTION))[1].text
    assert run(host, host.render_prompt(QUESTION))[1].text == expected


def test_a_banned_line_start_is_never_sampled(host: ModelHost) -> None:
    """The tiny model copies the tags it has read onto a new line; with "<" banned at line starts it writes on."""
    settings = GREEDY.model_copy(update={"max_tokens": 40})

    def answer(question: str, bans: tuple[str, ...]) -> str:
        prompt = host.render_prompt([ChatMessage(role="user", content=question)])
        events = host.generate(prompt, settings, banned_line_starts=bans)
        return "".join(e.text for e in events if isinstance(e, TokenEvent))

    sources = (
        'Sources:\n<source n="1">The boiler is serviced once a year.</source>\n'
        '<source n="2">The kettle is descaled monthly.</source>\nWrite the sources again, the same way.'
    )
    free, banned = answer(sources, ()), answer(sources, ("<",))
    assert any(line.startswith("<source") for line in free.splitlines()), "without the ban the tag is echoed"
    assert not any(line.startswith("<") for line in banned.splitlines())
    assert banned.startswith(free.split("\n", 1)[0] + "\n"), "up to the line break the answer is the same"
    # Mid-line, "<" stays possible: a Git placeholder or a comparison is no tag.
    assert " (`<" in answer("What does the shell command git add <pathspec> do?", ("<",))


def test_count_tokens(host: ModelHost) -> None:
    counts = host.count_tokens(["", "Hello world", "Hello world. " * 50, "<|im_start|>"])
    assert counts[0] == 0 and 1 <= counts[1] < counts[2]
    assert counts[3] == 1  # markup counts as the single token it becomes


def test_prompt_longer_than_the_context_is_refused(host: ModelHost) -> None:
    assert host.context_length == 4096
    with pytest.raises(
        ModelError, match=r"^The prompt is [\d,]+ tokens long but the model's context holds 4,096\.$"
    ):
        list(host.generate("word " * 5000, GREEDY))
    assert host.state == HostState.READY
    assert run(host, host.render_prompt(QUESTION))[1].generated_tokens > 0


def test_render_prompt_uses_the_loaded_models_template(host: ModelHost) -> None:
    assert host.info is not None
    info = host.info
    assert info.chat_template
    expected = render_template(
        info.chat_template, defuse_messages(QUESTION, info),
        bos_token=info.bos_token or "", eos_token=info.eos_token or "",
    )
    assert host.render_prompt(QUESTION) == expected


def test_loading_the_same_model_again_reuses_the_host(host: ModelHost, model_path: Path) -> None:
    pid = host.pid
    info = host.load(model_path, GREEDY, models_dir=MODELS)
    assert host.pid == pid and info == host.info and host.state == HostState.READY


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("notes.gguf", b"just some text\n" * 20, r"^notes.gguf is not a GGUF model file\.$"),
        ("forged.gguf", forged_header(tensors=4_000_000_000), r"declares 4,000,000,000 tensors\.$"),
    ],
)
def test_bad_files_never_reach_the_host(
    host: ModelHost, tmp_path: Path, name: str, data: bytes, expected: str
) -> None:
    pid, info = host.pid, host.info
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(ModelError, match=expected):
        host.load(path, GREEDY)
    assert host.state == HostState.READY and host.pid == pid and host.info == info
    assert run(host, host.render_prompt(QUESTION))[1].generated_tokens > 0


def test_truncated_model_never_reaches_the_host(host: ModelHost, tmp_path: Path, model_path: Path) -> None:
    pid = host.pid
    truncated = tmp_path / "truncated.gguf"
    truncated.write_bytes(model_path.read_bytes()[:60_000_000])
    with pytest.raises(ModelError, match=r"shorter than its header says"):
        host.load(truncated, GREEDY)
    assert host.state == HostState.READY and host.pid == pid


def test_refused_for_memory_without_touching_the_host(
    host: ModelHost, model_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gguf_info.psutil, "virtual_memory", lambda: SimpleNamespace(available=10_000_000))
    bigger_context = GREEDY.model_copy(update={"context_length": 2048})  # a real reload would be needed
    with pytest.raises(ModelError, match=r"use --force to try anyway\.$"):
        host.load(model_path, bigger_context, models_dir=MODELS)
    assert host.state == HostState.READY
