"""Read-only access to the library for tools: the assistant's and other apps' (``hearth mcp``).

Everything comes from the index (the registry's passages), never from the disk: a document is
named by its path or file name and must be an indexed document, so no argument can make a tool
read a file outside the library.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from desktop.core.errors import UsageError
from desktop.core.types import DocumentInfo, DocumentStatus, SearchHit
from desktop.services.retrieval import Retriever
from desktop.services.workspace import Workspace
from desktop.store.registry import StoredChunk

MAX_SEARCH_RESULTS = 10
MAX_LISTED = 50


class NotInLibrary(UsageError):
    """A document the library does not hold (or holds more than once under that name)."""


@dataclass(frozen=True)
class DocumentPart:
    document: DocumentInfo
    part: int  # 1-based
    parts: int
    text: str
    chunks: tuple[StoredChunk, ...]  # the passages the text comes from, to cite


class Library:
    """The indexed documents of a workspace, optionally only some of them (a chat's scope)."""

    def __init__(self, workspace: Workspace, document_ids: Sequence[int] | None = None) -> None:
        self.workspace = workspace
        self.scope = set(document_ids) if document_ids is not None else None

    def documents(self, contains: str = "") -> list[DocumentInfo]:
        needle = contains.strip().lower()
        return [
            d for d in self.workspace.registry.documents()
            if d.status == DocumentStatus.INDEXED and (self.scope is None or d.id in self.scope)
            and needle in Path(d.path).name.lower()
        ]

    def search(self, query: str, k: int = 5) -> list[SearchHit]:
        if not query.strip():
            raise UsageError("the search query is empty")
        scope = sorted(self.scope) if self.scope is not None else None
        return Retriever(self.workspace).search(query, min(max(k, 1), MAX_SEARCH_RESULTS), document_ids=scope)

    def find(self, name: str) -> DocumentInfo:
        """An indexed document by its full path, or by its file name when only one has it."""
        name = name.strip()
        documents = self.documents()
        exact = [d for d in documents if d.path == name]
        if exact:
            return exact[0]
        wanted = Path(name).name.lower()
        named = [d for d in documents if Path(d.path).name.lower() == wanted]
        if len(named) == 1 and Path(name).name == name:  # a path must match exactly; a bare name, uniquely
            return named[0]
        if len(named) > 1:
            raise NotInLibrary(f"several documents are called '{wanted[:80]}': give the full path")
        raise NotInLibrary(f"'{name[:120]}' is not a document in the library (list_documents shows them)")

    def by_id(self, document_id: int) -> DocumentInfo:
        document = self.workspace.registry.document(document_id)
        if document is None or document.status != DocumentStatus.INDEXED or (
            self.scope is not None and document_id not in self.scope
        ):
            raise NotInLibrary(f"there is no document {document_id} in the library")
        return document

    def read(self, document: DocumentInfo, part: int = 1, part_chars: int = 1500) -> DocumentPart:
        """The ``part``-th stretch of about ``part_chars`` characters of the document's text."""
        chunks = self.workspace.registry.document_chunks(document.id)
        pieces = _stitched(chunks)
        groups: list[list[tuple[StoredChunk, str]]] = [[]]
        size = 0
        for chunk, text in pieces:
            if size and size + len(text) > part_chars:
                groups.append([])
                size = 0
            groups[-1].append((chunk, text))
            size += len(text)
        if not 1 <= part <= len(groups):
            raise UsageError(f"{Path(document.path).name} has {len(groups)} part(s): ask for part 1 to {len(groups)}")
        chosen = groups[part - 1]
        return DocumentPart(
            document=document, part=part, parts=len(groups), text="".join(text for _, text in chosen).strip(),
            chunks=tuple(chunk for chunk, _ in chosen),
        )

    def at_page(self, document: DocumentInfo, page: int) -> StoredChunk | None:
        """The document's first passage on ``page`` (a document without pages is one page); None for a page
        that holds no text (a picture, a blank page). A page outside the document is a UsageError."""
        pages = document.pages or 1
        if not 1 <= page <= pages:
            name = Path(document.path).name
            raise UsageError(f"{name} has {pages} page(s): give a page from 1 to {pages}" if document.pages
                             else f"{name} has no pages: give page 1 (its start)")
        chunks = self.workspace.registry.document_chunks(document.id)
        return next((c for c in chunks if document.pages is None or c.page == page), None)

    def stats(self) -> dict[str, int]:
        documents = self.documents()
        counts: Counter[str] = Counter(d.kind for d in documents)
        return {"documents": len(documents), "passages": sum(d.chunks for d in documents), **dict(counts.most_common())}


def _stitched(chunks: Sequence[StoredChunk]) -> list[tuple[StoredChunk, str]]:
    """Each passage's text without what it shares with the one before (passages overlap)."""
    pieces: list[tuple[StoredChunk, str]] = []
    end = 0
    for chunk in chunks:
        skip = max(0, min(end - chunk.start, len(chunk.text))) if pieces else 0
        text = chunk.text[skip:]
        pieces.append((chunk, text if not pieces or skip else "\n\n" + text))
        end = max(end, chunk.end)
    return pieces
