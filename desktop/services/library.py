"""Questions about the collection itself, answered from the registry rather than from passages.

"How many PDFs have I indexed?", "list my documents", "which files do I have about tax?" are
about metadata: top-k passages would answer them wrongly, so they never reach the model.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from desktop.core.errors import UsageError
from desktop.core.markup import escape_markdown
from desktop.core.types import Citation, DocumentStatus
from desktop.services.retrieval import Retriever
from desktop.services.workspace import Workspace

_KIND_WORDS = {
    "pdf": "pdf", "pdfs": "pdf", "word": "docx", "docx": "docx", "html": "html", "web": "html",
    "markdown": "markdown", "text": "text", "epub": "epub", "ebooks": "epub", "csv": "csv", "code": "code",
}
_DOCS = r"(?:documents?|files?|docs|notes|pdfs?|books?|ebooks?)"
# The documents word is required: "how many columns can a table have" is a question for the passages.
_COUNT = re.compile(rf"\bhow many\b(?P<what>[\w\s]*?)\b{_DOCS}\b.*\b(indexed|have|library|stored|are there)\b", re.I)
_LIST = re.compile(rf"^\s*(?:please\s+)?(?:list|show)(?: me)?(?: all)?(?: of)? (?:my|the) (?:indexed )?{_DOCS}\b", re.I)
_ABOUT = re.compile(
    rf"\b(?:which|what)\s+{_DOCS}\s+(?:do i have|have i (?:got|indexed|added)|are there|mention|talk)\b.*?"
    r"\b(?:about|on|regarding|mentioning|concerning|for)\s+(?P<topic>.+?)\s*\??$",
    re.I,
)
LIST_LIMIT = 50


@dataclass(frozen=True)
class LibraryAnswer:
    text: str
    citations: list[Citation]


def documents_in(workspace: Workspace, paths: list[Path]) -> list[int]:
    """Ids of indexed documents at or below ``paths``, to restrict a chat to them."""
    ids = [
        document.id
        for path in paths
        for document in workspace.registry.documents(under=os.path.abspath(path))
        if document.status == DocumentStatus.INDEXED
    ]
    if not ids:
        raise UsageError(f"No indexed documents in {', '.join(map(str, paths))}.")
    return ids


def answer_library_question(question: str, workspace: Workspace) -> LibraryAnswer | None:
    """An answer when the question is about the collection, else None."""
    documents = [d for d in workspace.registry.documents() if d.status == DocumentStatus.INDEXED]
    if match := _ABOUT.search(question):
        topic = match.group("topic").strip(" ?.!")
        hits = Retriever(workspace).search(topic, 20)
        seen: dict[str, int | None] = {}
        for hit in hits:
            seen.setdefault(hit.path, hit.page)
        if not seen:
            return LibraryAnswer(f"I found no indexed documents about {escape_markdown(topic)}.", [])
        lines = [f"Documents about {escape_markdown(topic)}:"]
        lines += [f"- {escape_markdown(Path(p).name)} [{n}]" for n, p in enumerate(seen, 1)]
        citations = [Citation(n=n, path=p, page=page) for n, (p, page) in enumerate(seen.items(), 1)]
        return LibraryAnswer("\n".join(lines), citations)
    if match := _COUNT.search(question):
        words = match.group(0).lower().split()
        kinds = {_KIND_WORDS[w] for w in words if w in _KIND_WORDS}
        chosen = [d for d in documents if not kinds or d.kind in kinds]
        label = " or ".join(sorted(k.upper() if k == "pdf" else k for k in kinds)) if kinds else ""
        by_kind = Counter(d.kind for d in documents)
        breakdown = ", ".join(f"{count} {kind}" for kind, count in by_kind.most_common())
        noun = "document" if len(chosen) == 1 else "documents"
        text = f"You have {len(chosen)} {label + ' ' if label else ''}{noun} indexed."
        if not kinds and breakdown:
            text += f" ({breakdown})"
        return LibraryAnswer(text, [])
    if _LIST.search(question):
        if not documents:
            return LibraryAnswer("Your library is empty: drop files or folders on the window to add some.", [])
        shown = documents[:LIST_LIMIT]
        lines = [f"You have {len(documents)} indexed documents:"]
        lines += [
            f"- {escape_markdown(Path(d.path).name)} ({d.kind}, {d.chunks} passage{'' if d.chunks == 1 else 's'})"
            for d in shown
        ]
        if len(documents) > LIST_LIMIT:
            lines.append(f"… and {len(documents) - LIST_LIMIT} more.")
        return LibraryAnswer("\n".join(lines), [])
    return None
