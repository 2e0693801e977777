"""Plain data that crosses layers, threads and processes."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field


class Frozen(BaseModel):
    # Bytes (OCR word boxes) cross the parse workers' pipes as JSON: base64 there.
    model_config = ConfigDict(frozen=True, ser_json_bytes="base64", val_json_bytes="base64")


class Section(Frozen):
    """A run of extracted text that shares one location: a PDF page, or the text under a heading."""

    text: str
    page: int | None = None  # 1-based
    heading: str | None = None  # "Chapter > Section"
    ocr_confidence: float | None = None  # 0..1 when the text was read from a picture by OCR; None: a text layer
    ocr_boxes: bytes | None = None  # OCR only: each word's box on the page (desktop/core/word_boxes.py)


class OcrText(Frozen):
    """What OCR read on one page."""

    text: str  # clean words joined by " ", lines by "\n", paragraphs by "\n\n"
    confidence: float  # 0..1, Tesseract's word confidences weighted by word length
    boxes: bytes = b""  # each word's box on the page, in order (desktop/core/word_boxes.py)


class OcrPage(Frozen):
    """One page's OCR, kept while its file is being read so that an interrupted run need not read it again."""

    page: int = Field(ge=1)
    read: OcrText


class ExtractedDocument(Frozen):
    kind: str  # "pdf", "docx", "html", "text", ...
    title: str | None = None
    sections: tuple[Section, ...] = ()
    pages: int | None = None

    SEPARATOR: ClassVar[str] = "\n\n"

    @property
    def text(self) -> str:
        """The whole text; chunk spans are offsets into it."""
        return self.SEPARATOR.join(section.text for section in self.sections)


class ChunkDraft(Frozen):
    """A passage before it has an id: what parsing workers send back."""

    seq: int
    text: str
    page: int | None = None
    heading: str | None = None
    start: int  # character span in ExtractedDocument.text
    end: int
    context: str = ""  # document title and heading, prepended when embedding
    ocr_confidence: float | None = None  # as its section's: chunks never join sections of different pages
    ocr_boxes: bytes | None = None  # OCR only: the box of each word of ``text`` on its page

    def embedding_text(self) -> str:
        return embedding_text(self.context, self.text)


def embedding_text(context: str, text: str) -> str:
    """What the embedder sees: a passage alone is often ambiguous; its title and heading say what it is about."""
    return f"{context}\n{text}" if context else text


class ParsedFile(Frozen):
    """What a parsing worker returns for one file."""

    kind: str
    title: str | None = None
    pages: int | None = None
    chunks: tuple[ChunkDraft, ...] = ()


class DocumentStatus(StrEnum):
    PENDING = "pending"  # chunks being written; not yet searchable as a whole
    INDEXED = "indexed"
    FAILED = "failed"
    SKIPPED = "skipped"  # readable, but holds no text (a photo): reported apart from failures


class DocumentInfo(Frozen):
    id: int
    path: str
    kind: str
    title: str | None = None
    size: int
    mtime: float
    content_hash: str
    status: DocumentStatus
    reason: str | None = None
    chunks: int = 0
    pages: int | None = None
    indexed_at: float | None = None


class FailedFile(Frozen):
    path: str
    reason: str


class IndexReport(Frozen):
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    failed: tuple[FailedFile, ...] = ()
    skipped: tuple[FailedFile, ...] = ()  # files with no text to index (photos), with why
    chunks: int = 0


class IndexPhase(StrEnum):
    SCANNING = "scanning"
    INDEXING = "indexing"
    DONE = "done"


class IndexProgress(Frozen):
    phase: IndexPhase
    files_done: int = 0
    files_total: int = 0
    chunks_done: int = 0
    current_file: str | None = None
    step: str | None = None  # what the parser is doing in current_file, e.g. "OCR page 12 of 80"
    eta_seconds: float | None = None
    failed: tuple[FailedFile, ...] = ()


class SearchHit(Frozen):
    chunk_id: int
    document_id: int
    path: str
    page: int | None = None
    heading: str | None = None
    score: float
    text: str
    start: int
    end: int
    retrievers: tuple[str, ...] = Field(default=(), description="'vector', 'keyword' or both")
    similarity: float | None = Field(default=None, description="cosine similarity to the query, if vectors found it")
    also_in: tuple[str, ...] = Field(default=(), description="other files holding the same text")
    ocr_confidence: float | None = Field(default=None, description="0..1 if the text was read by OCR")


class Span(Frozen):
    """Character offsets into a text: ``text[start:end]``."""

    start: int
    end: int


class Passage(Frozen):
    """A passage shown to the model, numbered as the answer cites it."""

    n: int
    chunk_id: int
    document_id: int
    path: str
    page: int | None = None
    heading: str | None = None
    text: str
    score: float
    start: int = 0
    end: int = 0
    cited: bool = False
    supports: tuple[Span, ...] = ()  # its sentences that support the answer, as offsets into ``text``
    also_in: tuple[str, ...] = ()  # other files holding the same text (a page's source, a copy)

    @classmethod
    def of_hit(cls, hit: SearchHit, n: int) -> Passage:
        """A search hit as passage ``n``."""
        return cls(
            n=n, chunk_id=hit.chunk_id, document_id=hit.document_id, path=hit.path, page=hit.page,
            heading=hit.heading, text=hit.text, score=hit.score, start=hit.start, end=hit.end, also_in=hit.also_in,
        )


class Citation(Frozen):
    n: int
    path: str
    page: int | None = None
    heading: str | None = None


class SentenceSupport(Frozen):
    """One sentence of an answer and the passage sentence that supports it, if any."""

    start: int  # offsets into the answer's text
    end: int
    supported: bool | None  # None: nothing to check (no content words, or code)
    n: int | None = None  # the passage that supports it, as cited
    span: Span | None = None  # the supporting sentence, as offsets into that passage's text
    score: float = 0.0


class Excerpt(Frozen):
    """A passage sentence quoted under an answer that nothing in the passages supports."""

    n: int
    span: Span  # offsets into that passage's text
    text: str


class Timings(Frozen):
    retrieval_ms: float = 0.0
    prompt_tokens: int = 0
    time_to_first_token_ms: float | None = None
    generated_tokens: int = 0
    tokens_per_second: float | None = None
    attribution_ms: float = 0.0  # checking each sentence against the passages
    total_ms: float = 0.0


class Feedback(StrEnum):
    UP = "up"
    DOWN = "down"


class AnswerSetup(Frozen):
    """What produced an answer, so answers before and after a change of model, settings or index can be compared."""

    model: str | None = None
    generation: str = ""  # a short digest of the generation settings
    index: str = ""  # a stamp of the index: passages and the last indexing time

    def differences(self, other: AnswerSetup) -> list[str]:
        """What changed from ``other`` to this one, in words."""
        changed = []
        if self.model != other.model:
            changed.append(f"model {other.model or 'none'} → {self.model or 'none'}")
        if self.generation != other.generation:
            changed.append("generation settings")
        if self.index != other.index:
            changed.append("index")
        return changed


class MessageStatus(StrEnum):
    COMPLETE = "complete"
    STREAMING = "streaming"  # being written; found after a crash, it becomes INTERRUPTED
    STOPPED = "stopped"  # the user pressed Stop
    INTERRUPTED = "interrupted"  # the app or the model died mid-answer
    FAILED = "failed"


class Approval(StrEnum):
    """Who let a tool call run, or why it did not."""

    NOT_NEEDED = "not needed (reads only)"
    USER = "user"
    USER_FOR_CHAT = "user, for this chat"
    COMMAND_LINE = "command line (--approve)"
    REJECTED = "rejected by the user"
    TIMED_OUT = "rejected: no answer in time"
    REFUSED = "refused: writing tools need --approve"
    INVALID = "not run: invalid call"

    @property
    def allows(self) -> bool:
        return self in (Approval.NOT_NEEDED, Approval.USER, Approval.USER_FOR_CHAT, Approval.COMMAND_LINE)


class ToolCallRecord(Frozen):
    """One tool call the assistant made while answering, saved with the answer."""

    step: int  # 1-based
    tool: str
    arguments: dict[str, Any]  # as the model wrote them (an unreadable call: {"raw": its text, clipped})
    result: str  # what the model was told: the tool's output, or a short error
    ok: bool
    approval: Approval
    started_at: float
    finished_at: float


class Message(Frozen):
    id: int
    conversation_id: int
    role: str  # "user" | "assistant"
    text: str
    created_at: float
    model: str | None = None
    status: MessageStatus = MessageStatus.COMPLETE
    citations: tuple[Citation, ...] = ()
    passages: tuple[Passage, ...] = ()
    timings: Timings | None = None
    notes: tuple[str, ...] = ()  # e.g. what had to be cut to fit the context window
    sentences: tuple[SentenceSupport, ...] = ()  # how each sentence is supported; () before attribution
    excerpts: tuple[Excerpt, ...] = ()  # "From your files": shown when fewer than half the sentences are supported
    feedback: Feedback | None = None  # the user's thumbs up or down on an answer
    confidence: float | None = None  # the question's best passage similarity; None when not measured
    setup: AnswerSetup | None = None  # what answered: compared before and after a change
    tool_calls: tuple[ToolCallRecord, ...] = ()  # what the assistant did before answering (agent mode)


class Conversation(Frozen):
    id: int
    title: str
    created_at: float
    updated_at: float
    messages: int = 0
