"""``hearth mcp``: the library for other apps, over stdio with the Model Context Protocol.

Three read-only tools: ``search`` (passages for a query, each naming its document), ``fetch`` (a
document's text by id, part by part) and ``list_documents``. They read the index only (the
registry's passages, as the assistant's tools do), so no request can read a file outside the
library, and nothing is written. Requests are served one at a time: the SDK runs each in a worker
thread, and the workspace is shared.

stdout carries the protocol alone; logs go to the data folder's log file.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, Field

from desktop.core.errors import HearthError
from desktop.services.home import Home
from desktop.services.tools.library_access import MAX_SEARCH_RESULTS, Library

FETCH_CHARS = 20_000  # characters of a document per fetch; ask for the next part for more
SNIPPET_CHARS = 500


class SearchResult(BaseModel):
    id: str  # the document's id, for fetch
    title: str
    path: str
    page: int | None
    heading: str | None
    text: str  # the passage (clipped)
    score: float


class SearchResults(BaseModel):
    results: list[SearchResult]


class FetchedDocument(BaseModel):
    id: str
    title: str
    path: str
    part: int
    parts: int  # fetch part + 1 for the rest
    text: str


class DocumentEntry(BaseModel):
    id: str
    title: str
    path: str
    kind: str
    pages: int | None
    passages: int


class DocumentList(BaseModel):
    documents: list[DocumentEntry]
    total: int


class LibraryServer:
    """The tools' work, with the workspace opened on first use and then shared under a lock."""

    def __init__(self, home: Home) -> None:
        self.home = home
        self._lock = threading.Lock()
        self._library: Library | None = None

    def _open(self) -> Library:
        if self._library is None:
            self._library = Library(self.home.workspace())
        return self._library

    def search(self, query: str, k: int) -> SearchResults:
        with self._lock:
            hits = self._open().search(query, k)
        return SearchResults(results=[
            SearchResult(id=str(h.document_id), title=Path(h.path).name, path=h.path, page=h.page, heading=h.heading,
                         text=" ".join(h.text.split())[:SNIPPET_CHARS], score=round(h.score, 4))
            for h in hits
        ])

    def fetch(self, document_id: str, part: int) -> FetchedDocument:
        if not document_id.strip().isdigit():
            raise HearthError(f"'{document_id[:40]}' is not a document id: use an id from search or list_documents")
        with self._lock:
            library = self._open()
            document = library.by_id(int(document_id))
            read = library.read(document, part, part_chars=FETCH_CHARS)
        return FetchedDocument(id=str(document.id), title=document.title or Path(document.path).name,
                               path=document.path, part=read.part, parts=read.parts, text=read.text)

    def list_documents(self, contains: str) -> DocumentList:
        with self._lock:
            documents = self._open().documents(contains)
        return DocumentList(total=len(documents), documents=[
            DocumentEntry(id=str(d.id), title=d.title or Path(d.path).name, path=d.path, kind=d.kind, pages=d.pages,
                          passages=d.chunks)
            for d in documents[:200]
        ])

    def close(self) -> None:
        with self._lock:
            if self._library is not None:
                self._library.workspace.close()
                self._library = None


def serve(home: Home) -> None:
    """Serve the library on stdin/stdout until the client closes it."""
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
    from mcp.types import ToolAnnotations

    library = LibraryServer(home)
    server: MCPServer[None] = MCPServer(
        "hearth", instructions="Search and read the documents in the user's Hearth library (read-only).",
        log_level="WARNING",
    )
    reads = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)

    @server.tool(annotations=reads)
    def search(
        query: Annotated[str, Field(min_length=1, max_length=1000)],
        k: Annotated[int, Field(ge=1, le=MAX_SEARCH_RESULTS)] = 5,
    ) -> SearchResults:
        """Find passages in the user's documents about a query (keywords and meaning); each names its document's id."""
        try:
            return library.search(query, k)
        except HearthError as exc:
            raise ToolError(str(exc)) from None

    @server.tool(annotations=reads)
    def fetch(
        id: Annotated[str, Field(min_length=1, max_length=18)],  # SQLite ids are 64-bit
        part: Annotated[int, Field(ge=1, le=100_000)] = 1,
    ) -> FetchedDocument:
        """A document's text by id (from search or list_documents), in parts of about 20,000 characters."""
        try:
            return library.fetch(id, part)
        except HearthError as exc:
            raise ToolError(str(exc)) from None

    @server.tool(annotations=reads)
    def list_documents(contains: Annotated[str, Field(max_length=200)] = "") -> DocumentList:
        """The indexed documents (at most 200), optionally only those whose file name contains a text."""
        return library.list_documents(contains)

    try:
        server.run("stdio")
    finally:
        library.close()
