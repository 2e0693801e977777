from __future__ import annotations

from pathlib import Path

import pytest

from desktop.core.errors import UsageError
from desktop.core.types import Citation, MessageStatus, Passage, Timings
from desktop.services.citations import resolve
from desktop.services.conversations import ConversationStore
from desktop.services.export import ConversationExport, export_json, export_markdown


@pytest.fixture
def store(tmp_path: Path) -> ConversationStore:
    return ConversationStore(tmp_path / "conversations.sqlite3")


def _passage(n: int, path: str = "/notes/a.md", page: int | None = None) -> Passage:
    return Passage(n=n, chunk_id=n, document_id=1, path=path, page=page, text=f"text {n}", score=0.5)


def test_lifecycle_rename_search_delete(store: ConversationStore) -> None:
    chat = store.create()
    store.add_user_message(chat.id, "What does the kettle error KX-409 mean?")
    assert store.get(chat.id).title == "What does the kettle error KX-409 mean?"
    store.rename(chat.id, "Kettle")
    other = store.create("Garden")
    assert [c.title for c in store.list("kett")] == ["Kettle"]
    assert {c.id for c in store.list()} == {chat.id, other.id}
    store.delete(chat.id)
    with pytest.raises(UsageError, match="no conversation"):
        store.messages(chat.id)
    with pytest.raises(UsageError):
        store.rename(other.id, "   ")


def test_streaming_answer_found_after_a_crash_is_kept_as_interrupted(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    store = ConversationStore(path)
    chat = store.create()
    store.add_user_message(chat.id, "question")
    answer = store.start_answer(chat.id, "model")
    store.save_partial(answer, "half an ans")
    store.close()  # the process 'dies' here without finishing the answer
    reopened = ConversationStore(path)
    assert reopened.recovered == 1
    messages = reopened.messages(chat.id)
    assert [(m.role, m.text, m.status) for m in messages] == [
        ("user", "question", MessageStatus.COMPLETE),
        ("assistant", "half an ans", MessageStatus.INTERRUPTED),
    ]


def test_export_round_trips_with_citations(store: ConversationStore) -> None:
    chat = store.create()
    store.add_user_message(chat.id, "Where is the secret?")
    answer = store.start_answer(chat.id, "SmolLM2")
    store.finish_answer(
        answer, text="In the book [1].", status=MessageStatus.COMPLETE,
        citations=[Citation(n=1, path="/docs/book.pdf", page=8)], passages=[_passage(1, "/docs/book.pdf", 8)],
        timings=Timings(generated_tokens=5, tokens_per_second=80.0),
    )
    exported = export_json(store, chat.id)
    again = ConversationExport.model_validate_json(exported.model_dump_json())
    assert again == exported
    assert again.messages[1].citations[0].page == 8
    markdown = export_markdown(store, chat.id)
    assert "In the book [1]." in markdown and "`/docs/book.pdf`, page 8" in markdown


def test_citations_keep_valid_markers_and_drop_invented_ones() -> None:
    passages = [_passage(1, "/a.md"), _passage(2, "/b.pdf", 3)]
    text, citations, marked, removed = resolve("Tomatoes need sun [2]. Also [7] and [1, 9].", passages)
    assert text == "Tomatoes need sun [2]. Also and [1]." and removed == [7, 9]
    assert [(c.n, c.path, c.page) for c in citations] == [(2, "/b.pdf", 3), (1, "/a.md", None)]
    assert [p.cited for p in marked] == [True, True]
    _, none, unmarked, removed = resolve("No sources used.", passages)
    assert none == [] and not any(p.cited for p in unmarked) and removed == []


def test_tool_calls_are_saved_with_the_answer_and_older_files_gain_the_column(tmp_path: Path) -> None:
    import sqlite3

    from desktop.core.types import Approval, ToolCallRecord

    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)  # a conversations file from before tool calls
    old.executescript(
        "CREATE TABLE conversations (id INTEGER PRIMARY KEY AUTOINCREMENT, title TEXT NOT NULL,"
        " created_at REAL NOT NULL, updated_at REAL NOT NULL);"
        "CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT, conversation_id INTEGER NOT NULL, role TEXT"
        " NOT NULL, text TEXT NOT NULL, created_at REAL NOT NULL, model TEXT, status TEXT NOT NULL, citations TEXT"
        " NOT NULL DEFAULT '[]', passages TEXT NOT NULL DEFAULT '[]', timings TEXT, notes TEXT NOT NULL DEFAULT '[]');"
        "INSERT INTO conversations VALUES (1, 'Old', 0, 0);"
        "INSERT INTO messages(conversation_id, role, text, created_at, status) VALUES (1, 'user', 'hi', 0, 'complete');"
    )
    old.commit()
    old.close()
    store = ConversationStore(path)
    assert store.messages(1)[0].tool_calls == ()
    answer = store.start_answer(1, "m")
    call = ToolCallRecord(step=1, tool="create_note", arguments={"title": "Kettle", "text": "Descale."},
                          result="Saved the note", ok=True, approval=Approval.USER, started_at=1.0, finished_at=2.0)
    store.save_tool_calls(answer, [call])
    store.finish_answer(answer, text="Saved [1].", status=MessageStatus.COMPLETE)
    assert store.message(answer).tool_calls == (call,)  # finishing the answer keeps its calls
    markdown = export_markdown(store, 1)
    assert "1. `create_note` · user ·" in markdown and '"title": "Kettle"' in markdown
    exported = ConversationExport.model_validate_json(export_json(store, 1).model_dump_json())
    assert exported.messages[-1].tool_calls == (call,)


def test_a_result_with_backticks_cannot_close_its_block_in_the_export() -> None:
    from desktop.core.types import Approval, ToolCallRecord
    from desktop.services.export import tool_calls_markdown

    call = ToolCallRecord(step=1, tool="search_library", arguments={"query": "x"}, result="a ```` b\n# Fake heading",
                          ok=True, approval=Approval.NOT_NEEDED, started_at=0.0, finished_at=0.0)
    lines = "\n".join(tool_calls_markdown([call]))
    assert "`````text\na ```` b\n# Fake heading\n`````" in lines
