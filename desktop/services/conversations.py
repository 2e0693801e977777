"""Conversations on disk. The user's message is committed before generation starts, the answer
is saved while it streams and again when it ends, so nothing lives only in memory."""

from __future__ import annotations

import builtins
import json
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop.core.errors import UsageError
from desktop.core.types import (
    AnswerSetup,
    Citation,
    Conversation,
    Excerpt,
    Feedback,
    Message,
    MessageStatus,
    Passage,
    SentenceSupport,
    Timings,
    ToolCallRecord,
)
from desktop.store.sqlite import connect, transaction

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at REAL NOT NULL,
    model TEXT,
    status TEXT NOT NULL,
    citations TEXT NOT NULL DEFAULT '[]',
    passages TEXT NOT NULL DEFAULT '[]',
    timings TEXT,
    notes TEXT NOT NULL DEFAULT '[]',
    sentences TEXT NOT NULL DEFAULT '[]',
    excerpts TEXT NOT NULL DEFAULT '[]',
    feedback TEXT,
    confidence REAL,
    setup TEXT,
    tool_calls TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS messages_conversation ON messages(conversation_id, id);
"""

# Columns added after the first release, with how they are declared (see _add_missing_columns).
_ADDED_COLUMNS = {
    "sentences": "TEXT NOT NULL DEFAULT '[]'", "excerpts": "TEXT NOT NULL DEFAULT '[]'",
    "feedback": "TEXT", "confidence": "REAL", "setup": "TEXT",
    "tool_calls": "TEXT NOT NULL DEFAULT '[]'",
}

TITLE_LENGTH = 60
NOT_COVERED_NOTE = "no passage is close enough to the question"


@dataclass(frozen=True, slots=True)
class AnswerRecord:
    """What the insights need of one answer, read without its text and passages (10,000 of them quickly)."""

    id: int
    conversation_id: int
    created_at: float
    model: str | None
    status: MessageStatus
    timings: Timings | None
    feedback: Feedback | None
    confidence: float | None
    setup: AnswerSetup | None
    supported: bool | None  # a sentence checked and supported by its passage; None: nothing was checked
    not_covered: bool  # Hearth said the files do not cover the question


def title_from(text: str) -> str:
    words = " ".join(text.split())
    return words if len(words) <= TITLE_LENGTH else words[: TITLE_LENGTH - 1].rsplit(" ", 1)[0] + "…"


class ConversationStore:
    def __init__(self, path: Path) -> None:
        self.db = connect(path)
        self.db.executescript(_SCHEMA)
        self._add_missing_columns()
        self.recovered = self._recover_interrupted()

    def close(self) -> None:
        self.db.close()

    def _add_missing_columns(self) -> None:
        """Conversations saved by an older Hearth lack the newer columns: add them, with their defaults."""
        present = {row["name"] for row in self.db.execute("PRAGMA table_info(messages)")}
        for name, declaration in _ADDED_COLUMNS.items():
            if name not in present:
                self.db.execute(f"ALTER TABLE messages ADD COLUMN {name} {declaration}")

    def _recover_interrupted(self) -> int:
        """Answers still marked as streaming were cut off by a crash: keep them, marked."""
        cursor = self.db.execute(
            "UPDATE messages SET status = ? WHERE status = ?",
            (MessageStatus.INTERRUPTED, MessageStatus.STREAMING),
        )
        return cursor.rowcount

    # -- conversations ------------------------------------------------------------------------
    def create(self, title: str = "New chat") -> Conversation:
        now = time.time()
        cursor = self.db.execute(
            "INSERT INTO conversations(title, created_at, updated_at) VALUES (?, ?, ?)", (title, now, now)
        )
        assert cursor.lastrowid is not None
        return self.get(cursor.lastrowid)

    def get(self, conversation_id: int) -> Conversation:
        row = self.db.execute(
            "SELECT c.*, (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id) AS n"
            " FROM conversations c WHERE c.id = ?",
            (conversation_id,),
        ).fetchone()
        if row is None:
            raise UsageError(f"There is no conversation {conversation_id}.")
        return _conversation(row)

    def list(self, search: str | None = None) -> builtins.list[Conversation]:
        sql = (
            "SELECT c.*, (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id) AS n"
            " FROM conversations c"
        )
        params: tuple[Any, ...] = ()
        if search:
            sql += " WHERE c.title LIKE ? ESCAPE '\\'"
            escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            params = (f"%{escaped}%",)
        rows = self.db.execute(sql + " ORDER BY c.updated_at DESC, c.id DESC", params)
        return [_conversation(row) for row in rows]

    def rename(self, conversation_id: int, title: str) -> Conversation:
        title = " ".join(title.split())
        if not title:
            raise UsageError("A conversation title cannot be empty.")
        self.get(conversation_id)
        self.db.execute("UPDATE conversations SET title = ? WHERE id = ?", (title, conversation_id))
        return self.get(conversation_id)

    def delete(self, conversation_id: int) -> None:
        self.get(conversation_id)
        self.db.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))

    # -- messages -----------------------------------------------------------------------------
    def messages(self, conversation_id: int) -> builtins.list[Message]:
        self.get(conversation_id)
        rows = self.db.execute(
            "SELECT * FROM messages WHERE conversation_id = ? ORDER BY id", (conversation_id,)
        )
        return [_message(row) for row in rows]

    def add_user_message(self, conversation_id: int, text: str) -> Message:
        with transaction(self.db):
            message_id = self._insert(conversation_id, "user", text, MessageStatus.COMPLETE, None)
            if self.db.execute(
                "SELECT count(*) FROM messages WHERE conversation_id = ?", (conversation_id,)
            ).fetchone()[0] == 1:
                self.db.execute(
                    "UPDATE conversations SET title = ? WHERE id = ? AND title = 'New chat'",
                    (title_from(text), conversation_id),
                )
        return self.message(message_id)

    def start_answer(self, conversation_id: int, model: str | None) -> int:
        return self._insert(conversation_id, "assistant", "", MessageStatus.STREAMING, model)

    def save_partial(self, message_id: int, text: str) -> None:
        self.db.execute("UPDATE messages SET text = ? WHERE id = ?", (text, message_id))

    def finish_answer(
        self,
        message_id: int,
        *,
        text: str,
        status: MessageStatus,
        citations: Sequence[Citation] = (),
        passages: Sequence[Passage] = (),
        timings: Timings | None = None,
        notes: Sequence[str] = (),
        sentences: Sequence[SentenceSupport] = (),
        excerpts: Sequence[Excerpt] = (),
        confidence: float | None = None,
        setup: AnswerSetup | None = None,
    ) -> Message:
        self.db.execute(
            "UPDATE messages SET text = ?, status = ?, citations = ?, passages = ?, timings = ?, notes = ?,"
            " sentences = ?, excerpts = ?, confidence = ?, setup = ? WHERE id = ?",
            (
                text, status,
                json.dumps([c.model_dump() for c in citations]),
                json.dumps([p.model_dump() for p in passages]),
                timings.model_dump_json() if timings else None,
                json.dumps(list(notes)),
                json.dumps([s.model_dump() for s in sentences]),
                json.dumps([e.model_dump() for e in excerpts]),
                confidence,
                setup.model_dump_json() if setup else None,
                message_id,
            ),
        )
        return self.message(message_id)

    def answer_records(self) -> builtins.list[AnswerRecord]:
        """Every finished answer, oldest first."""
        rows = self.db.execute(
            "SELECT id, conversation_id, created_at, model, status, timings, feedback, confidence, setup,"
            " (SELECT max(json_extract(s.value, '$.supported')) FROM json_each(messages.sentences) s) AS supported,"
            " notes LIKE ? AS not_covered"
            " FROM messages WHERE role = 'assistant' AND status IN (?, ?) ORDER BY id",
            (f"%{NOT_COVERED_NOTE}%", MessageStatus.COMPLETE, MessageStatus.STOPPED),
        )
        return [
            AnswerRecord(
                id=row["id"], conversation_id=row["conversation_id"], created_at=row["created_at"], model=row["model"],
                status=MessageStatus(row["status"]),
                timings=Timings.model_validate_json(row["timings"]) if row["timings"] else None,
                feedback=Feedback(row["feedback"]) if row["feedback"] else None,
                confidence=row["confidence"],
                setup=AnswerSetup.model_validate_json(row["setup"]) if row["setup"] else None,
                supported=None if row["supported"] is None else bool(row["supported"]),
                not_covered=bool(row["not_covered"]),
            )
            for row in rows
        ]

    def question_of(self, answer_id: int) -> str:
        """The question an answer answers: the user's message just before it."""
        row = self.db.execute(
            "SELECT q.text FROM messages a JOIN messages q ON q.conversation_id = a.conversation_id"
            " AND q.id < a.id AND q.role = 'user' WHERE a.id = ? ORDER BY q.id DESC LIMIT 1",
            (answer_id,),
        ).fetchone()
        return row["text"] if row else ""
    def save_tool_calls(self, message_id: int, calls: Sequence[ToolCallRecord]) -> None:
        """Each call is saved as it ends, so a crash mid-way keeps what the assistant already did."""
        self.db.execute(
            "UPDATE messages SET tool_calls = ? WHERE id = ?",
            (json.dumps([c.model_dump(mode="json") for c in calls]), message_id),
        )

    def message(self, message_id: int) -> Message:
        row = self.db.execute("SELECT * FROM messages WHERE id = ?", (message_id,)).fetchone()
        if row is None:
            raise UsageError(f"There is no message {message_id}.")
        return _message(row)

    def set_feedback(self, message_id: int, feedback: Feedback | None) -> Message:
        """The user's thumbs up or down on an answer (None takes it back)."""
        message = self.message(message_id)
        if message.role != "assistant":
            raise UsageError(f"Message {message_id} is a question; only answers take feedback.")
        self.db.execute("UPDATE messages SET feedback = ? WHERE id = ?", (feedback, message_id))
        return self.message(message_id)

    def delete_message(self, message_id: int) -> None:
        """Used by 'regenerate': the old answer goes, the question stays."""
        self.db.execute("DELETE FROM messages WHERE id = ?", (message_id,))

    def _insert(
        self, conversation_id: int, role: str, text: str, status: MessageStatus, model: str | None
    ) -> int:
        self.get(conversation_id)
        now = time.time()
        cursor = self.db.execute(
            "INSERT INTO messages(conversation_id, role, text, created_at, model, status) VALUES (?, ?, ?, ?, ?, ?)",
            (conversation_id, role, text, now, model, status),
        )
        self.db.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (now, conversation_id))
        assert cursor.lastrowid is not None
        return cursor.lastrowid


def _conversation(row: sqlite3.Row) -> Conversation:
    return Conversation(
        id=row["id"], title=row["title"], created_at=row["created_at"], updated_at=row["updated_at"],
        messages=row["n"],
    )


def _message(row: sqlite3.Row) -> Message:
    return Message(
        id=row["id"], conversation_id=row["conversation_id"], role=row["role"], text=row["text"],
        created_at=row["created_at"], model=row["model"], status=MessageStatus(row["status"]),
        citations=tuple(Citation.model_validate(c) for c in json.loads(row["citations"])),
        passages=tuple(Passage.model_validate(p) for p in json.loads(row["passages"])),
        timings=Timings.model_validate_json(row["timings"]) if row["timings"] else None,
        notes=tuple(json.loads(row["notes"])),
        sentences=tuple(SentenceSupport.model_validate(s) for s in json.loads(row["sentences"])),
        excerpts=tuple(Excerpt.model_validate(e) for e in json.loads(row["excerpts"])),
        feedback=Feedback(row["feedback"]) if row["feedback"] else None,
        confidence=row["confidence"],
        setup=AnswerSetup.model_validate_json(row["setup"]) if row["setup"] else None,
        tool_calls=tuple(ToolCallRecord.model_validate(c) for c in json.loads(row["tool_calls"])),
    )
