"""End to end with the real SmolLM2 model: index, ask, stream, cite, save, export, stop, crash.

Tests about what the engine does around the answer (the conversation it continues, the documents it
searches) take the answer's words from a script (tests/scripted_host.py) instead of waiting on the model."""

from __future__ import annotations

import os
import re
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.core.errors import ModelError, UsageError
from desktop.core.settings import GenerationSettings, HearthSettings
from desktop.core.types import MessageStatus
from desktop.llm.crash_marks import crashed_models, mark_loading
from desktop.llm.host import ModelHost
from desktop.services.answering import Answerer, AnswerFinished, AnswerStarted, AnswerToken
from desktop.services.conversations import ConversationStore
from desktop.services.export import ConversationExport, export_json
from desktop.services.indexing import Indexer
from desktop.services.library import answer_library_question
from desktop.services.workspace import Workspace
from tests.conftest import MODELS
from tests.scripted_host import ScriptedHost, scripted_host

SHORT = GenerationSettings(max_tokens=40, temperature=0.0, seed=7, context_length=2048)


@pytest.fixture(scope="module")
def host() -> Iterator[ModelHost]:
    model_host = ModelHost()
    yield model_host
    model_host.close()


def _answerer(workspace: Workspace, host: ModelHost, tmp_path: Path) -> Answerer:
    workspace.settings = HearthSettings(generation=SHORT)
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "kettle.md").write_text(
        "# Kettle\n\nError code KX-409 means the heating element overheated. Unplug the kettle and let it "
        "cool for ten minutes.\n"
    )
    (notes / "garden.txt").write_text("Tomatoes need full sun and deep watering twice a week.\n")
    Indexer(workspace).index([notes])
    return Answerer(workspace, ConversationStore(workspace.data_dir / "conversations.sqlite3"), host)


@pytest.fixture
def answerer(workspace: Workspace, host: ModelHost, tmp_path: Path) -> Answerer:
    return _answerer(workspace, host, tmp_path)


@pytest.fixture
def scripted(workspace: Workspace, tmp_path: Path) -> Iterator[Answerer]:
    """The same engine and notes; the real host process writes a fixed answer."""
    host = scripted_host(lambda prompt: ["Unplug it ", "and let it cool [1]."])(data_dir=workspace.data_dir)
    yield _answerer(workspace, host, tmp_path)
    host.close()


def _collect(events: Iterator[object]) -> tuple[list[str], AnswerStarted, AnswerFinished]:
    tokens, started, finished = [], None, None
    for event in events:
        if isinstance(event, AnswerToken):
            tokens.append(event.text)
        elif isinstance(event, AnswerStarted):
            started = event
        elif isinstance(event, AnswerFinished):
            finished = event
    assert started is not None and finished is not None
    return tokens, started, finished


def test_grounded_answer_streams_cites_and_is_saved(answerer: Answerer) -> None:
    tokens, started, finished = _collect(answerer.ask("What does error code KX-409 mean?"))
    message = finished.message
    assert len(tokens) > 3, "the answer must stream in pieces"
    assert message.status == MessageStatus.COMPLETE and message.text
    assert started.passages[0].path.endswith("kettle.md")
    shown = {p.path for p in message.passages}
    assert all(c.path in shown for c in message.citations)
    assert message.timings is not None and message.timings.generated_tokens > 0
    assert message.timings.time_to_first_token_ms is not None
    saved = answerer.conversations.messages(started.conversation_id)
    assert [m.role for m in saved] == ["user", "assistant"] and saved[1].text == message.text
    exported = export_json(answerer.conversations, started.conversation_id)
    assert ConversationExport.model_validate_json(exported.model_dump_json()) == exported


def test_real_answers_are_checked_sentence_by_sentence(answerer: Answerer) -> None:
    answerer.workspace.settings = HearthSettings(generation=SHORT.model_copy(update={"max_tokens": 80}))
    tokens, started, finished = _collect(answerer.ask("What does error code KX-409 mean?"))
    message = finished.message
    assert message.sentences, "every answer from passages is checked"
    assert not re.search(r"<\s*/?\s*(?:source|question)|<\|", "".join(tokens) + message.text, re.IGNORECASE)
    by_number = {p.n: p for p in message.passages}
    for sentence in message.sentences:
        written = message.text[sentence.start : sentence.end]
        assert written.strip() == written and written
        if sentence.supported:
            assert sentence.n in by_number and sentence.span is not None
            passage = by_number[sentence.n]
            assert passage.cited and sentence.span in passage.supports
            assert f"[{sentence.n}" in written or f", {sentence.n}" in written
        elif sentence.supported is False:
            assert sentence.n is None and not re.search(r"\[\d+", written)
    assert {c.n for c in message.citations} >= {s.n for s in message.sentences if s.supported}
    assert message.timings is not None and message.timings.attribution_ms > 0
    assert started.passages[0].path.endswith("kettle.md")


def test_same_seed_same_answer(answerer: Answerer) -> None:
    first = _collect(answerer.ask("How often should tomatoes be watered?"))[2].message.text
    second = _collect(answerer.ask("How often should tomatoes be watered?"))[2].message.text
    assert first == second


def test_follow_up_continues_the_conversation(scripted: Answerer) -> None:
    _, started, _ = _collect(scripted.ask("What does error code KX-409 mean?"))
    _collect(scripted.ask("And how long should it cool?", conversation_id=started.conversation_id))
    assert len(scripted.conversations.messages(started.conversation_id)) == 4
    assert isinstance(scripted.host, ScriptedHost)
    follow_up = scripted.host.prompts[-1]  # the model is shown the exchange it continues
    assert "What does error code KX-409 mean?" in follow_up and "let it cool" in follow_up


def test_cancel_mid_stream_keeps_a_stopped_answer(answerer: Answerer) -> None:
    answerer.workspace.settings = HearthSettings(generation=SHORT.model_copy(update={"max_tokens": 400}))
    seen = 0
    finished = None
    for event in answerer.ask("Write a long story about a kettle.", rag=False):
        if isinstance(event, AnswerToken):
            seen += 1
            if seen == 5:
                threading.Thread(target=answerer.cancel).start()
        elif isinstance(event, AnswerFinished):
            finished = event.message
    assert finished is not None and finished.status == MessageStatus.STOPPED
    assert seen < 60
    assert answerer.conversations.message(finished.id).status == MessageStatus.STOPPED
    # and the engine still answers afterwards
    assert _collect(answerer.ask("Say hello.", rag=False))[2].message.status == MessageStatus.COMPLETE


def test_library_questions_use_the_registry(answerer: Answerer) -> None:
    _, _, finished = _collect(answerer.ask("How many documents have I indexed?"))
    assert "2 documents" in finished.message.text
    _, _, listing = _collect(answerer.ask("List my documents"))
    assert "kettle.md" in listing.message.text and "garden.txt" in listing.message.text
    pdfs = answer_library_question("How many PDFs have I indexed?", answerer.workspace)
    assert pdfs is not None and "0 PDF documents" in pdfs.text
    for about_the_passages in ("Is there a cap on how many columns a table can have?",
                               "How many days have passed since the kettle was descaled?"):
        assert answer_library_question(about_the_passages, answerer.workspace) is None


def test_bad_inputs_write_nothing(answerer: Answerer, tmp_path: Path) -> None:
    store = answerer.conversations
    before = len(store.list())
    with pytest.raises(UsageError, match="empty"):
        list(answerer.ask("   "))
    with pytest.raises(UsageError, match="no conversation"):
        list(answerer.ask("hello", conversation_id=999))
    corrupt = tmp_path / "broken.gguf"
    corrupt.write_bytes(b"GGUF" + b"\xff" * 64)
    answerer.model_path = corrupt
    with pytest.raises(ModelError):
        list(answerer.ask("hello", rag=False))
    assert len(store.list()) == before
    answerer.model_path = MODELS / "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert _collect(answerer.ask("Say hi.", rag=False))[2].message.text


def test_killed_model_host_is_an_error_then_recovers(answerer: Answerer) -> None:
    answerer.workspace.settings = HearthSettings(generation=SHORT.model_copy(update={"max_tokens": 400}))
    answerer.use_model()
    seen = 0
    with pytest.raises(ModelError):
        for event in answerer.ask("Tell me a long story about gardens.", rag=False):
            if isinstance(event, AnswerToken):
                seen += 1
                if seen == 3:
                    pid = answerer.host.pid
                    assert pid is not None
                    os.kill(pid, signal.SIGKILL)
    conversation = answerer.conversations.list()[0]
    last = answerer.conversations.messages(conversation.id)[-1]
    assert last.status == MessageStatus.INTERRUPTED and last.text
    assert _collect(answerer.ask("Say hi.", rag=False))[2].message.status == MessageStatus.COMPLETE


def test_model_that_crashed_while_loading_is_not_autoloaded(answerer: Answerer) -> None:
    model = MODELS / "SmolLM2-135M-Instruct.Q4_1.gguf"
    data_dir = answerer.workspace.data_dir
    engine = Answerer(answerer.workspace, answerer.conversations, ModelHost(data_dir=data_dir))
    try:
        mark_loading(data_dir, model)  # as if the last load had taken the app down
        with pytest.raises(ModelError, match="crashed while loading last time"):
            engine.autoload()
        assert engine.host.info is None
        engine.use_model(model)  # choosing it explicitly tries again; success clears the mark
        assert str(model.resolve()) not in crashed_models(data_dir)
        engine.autoload()
    finally:
        engine.host.close()


def test_chat_restricted_to_chosen_documents(scripted: Answerer, tmp_path: Path) -> None:
    from desktop.services.library import documents_in

    garden_only = documents_in(scripted.workspace, [tmp_path / "notes" / "garden.txt"])
    _, started, _ = _collect(scripted.ask("What does error code KX-409 mean?", document_ids=garden_only))
    assert started.passages and all(p.path.endswith("garden.txt") for p in started.passages)
    with pytest.raises(UsageError, match="No indexed documents"):
        documents_in(scripted.workspace, [tmp_path / "elsewhere"])


def test_new_settings_apply_to_the_loaded_model(answerer: Answerer) -> None:
    answerer.use_model()
    assert answerer.host.context_length == 2048
    answerer.apply_settings(HearthSettings(generation=SHORT.model_copy(update={"temperature": 0.5})))
    assert answerer.host.context_length == 2048 and answerer.generation().temperature == 0.5
    answerer.apply_settings(HearthSettings(generation=SHORT.model_copy(update={"context_length": 1024})))
    assert answerer.host.context_length == 1024
    assert _collect(answerer.ask("What does KX-409 mean?"))[2].message.status == MessageStatus.COMPLETE


def test_regenerate_replaces_the_last_exchange_and_keeps_the_rest(answerer: Answerer) -> None:
    _, first, _ = _collect(answerer.ask("What does error code KX-409 mean?"))
    conversation = first.conversation_id
    _collect(answerer.ask("How long should it cool?", conversation_id=conversation))
    before = answerer.conversations.messages(conversation)

    _, again, finished = _collect(answerer.regenerate(conversation))
    after = answerer.conversations.messages(conversation)
    assert [m.text for m in after[:2]] == [m.text for m in before[:2]]  # the first exchange is untouched
    assert [m.role for m in after] == ["user", "assistant", "user", "assistant"]
    assert after[2].text == "How long should it cool?" and after[3].id == again.answer_id == finished.message.id
    assert {m.id for m in before[2:]}.isdisjoint(m.id for m in after)


def test_regenerate_refuses_a_conversation_without_a_question(answerer: Answerer) -> None:
    empty = answerer.conversations.create()
    with pytest.raises(UsageError, match="no question"):
        _collect(answerer.regenerate(empty.id))
    assert answerer.conversations.messages(empty.id) == []
