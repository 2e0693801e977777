"""Conversations exported to Markdown (to read) and JSON (to keep or process), with citations."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence

from pydantic import BaseModel

from desktop.core.types import Conversation, Message, MessageStatus, ToolCallRecord
from desktop.services.attribution import excerpts_markdown
from desktop.services.conversations import ConversationStore

FORMAT_VERSION = 1


class ConversationExport(BaseModel):
    format: str = "hearth-conversation"
    version: int = FORMAT_VERSION
    conversation: Conversation
    messages: list[Message]


def export_json(store: ConversationStore, conversation_id: int) -> ConversationExport:
    return ConversationExport(
        conversation=store.get(conversation_id), messages=store.messages(conversation_id)
    )


def _when(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M")


def export_markdown(store: ConversationStore, conversation_id: int) -> str:
    conversation = store.get(conversation_id)
    lines = [f"# {conversation.title}", "", f"*{_when(conversation.created_at)}*", ""]
    for message in store.messages(conversation_id):
        who = "You" if message.role == "user" else "Hearth"
        lines += [f"## {who} · {_when(message.created_at)}", ""]
        if message.tool_calls:
            lines += [*tool_calls_markdown(message.tool_calls), ""]
        lines += [message.text.strip() or "*(no text)*", ""]
        if message.excerpts:
            lines += [excerpts_markdown(message.excerpts), ""]
        unsupported = [message.text[s.start : s.end] for s in message.sentences if s.supported is False]
        if unsupported:
            lines += ["*Not found in your files:* " + " / ".join(f"“{s}”" for s in unsupported), ""]
        if message.status not in (MessageStatus.COMPLETE,):
            lines += [f"*Answer {message.status.value}.*", ""]
        if message.citations:
            lines.append("**Sources**")
            lines.append("")
            for citation in message.citations:
                where = f", page {citation.page}" if citation.page else (
                    f", {citation.heading}" if citation.heading else "")
                lines.append(f"{citation.n}. `{citation.path}`{where}")
            lines.append("")
    return "\n".join(lines)


def tool_calls_markdown(calls: Sequence[ToolCallRecord]) -> list[str]:
    """Each call in full: tool, arguments, who approved it, when, and what it returned."""
    lines = ["**Tool calls**", ""]
    for call in calls:
        when = dt.datetime.fromtimestamp(call.started_at).strftime("%H:%M:%S")
        lines += [
            f"{call.step}. `{call.tool}` · {call.approval.value} · {when}" + ("" if call.ok else " · failed"),
            "",
            _fenced(json.dumps(call.arguments, ensure_ascii=False, indent=2), "json"),
            "",
            _fenced(call.result, "text"),
            "",
        ]
    return lines


def _fenced(text: str, language: str) -> str:
    """A code block no backticks in ``text`` can close."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{text}\n{fence}"
