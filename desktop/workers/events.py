"""Plain, immutable data carried by the workers' signals (declared as ``Signal(object)``)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Literal

from desktop.core.document_task import DocumentTask
from desktop.core.model_info import ModelInfo
from desktop.core.types import (
    Conversation,
    DocumentInfo,
    DocumentStatus,
    FailedFile,
    Feedback,
    IndexReport,
    Message,
    Passage,
)
from desktop.core.word_boxes import Box
from desktop.services.documents import Picture
from desktop.services.insights import AnswerInsights
from desktop.services.library_insights import LibraryInsights


@dataclass(frozen=True)
class Problem:
    """Something failed in a worker; ``message`` is written for the user."""

    source: str  # "model", "chat", "indexing", "library", "viewer", "settings", "watcher"
    message: str


# -- engine ---------------------------------------------------------------------------------------
class EnginePhase(StrEnum):
    STARTING = "starting"
    LOADING_MODEL = "loading-model"
    LOADING_EMBEDDER = "loading-embedder"
    READY = "ready"
    NO_MODEL = "no-model"  # none could be loaded; chat waits until one is chosen


@dataclass(frozen=True)
class EngineStatus:
    phase: EnginePhase
    text: str
    model: ModelInfo | None = None


@dataclass(frozen=True)
class AskRequest:
    question: str
    conversation_id: int | None
    document_ids: tuple[int, ...] | None = None  # None: the whole library
    rag: bool = True
    regenerate: bool = False  # ask the conversation's last question again, in place of its answer
    task: DocumentTask | None = None  # a whole-document task from a menu; ``question`` says what it is
    agent: bool = False  # the assistant may call tools before it answers


@dataclass(frozen=True)
class AnswerFailed:
    conversation_id: int | None
    reason: str


@dataclass(frozen=True)
class ModelChoice:
    path: str
    force: bool = False  # load even if the memory estimate says it does not fit


# -- conversations and library ------------------------------------------------------------------
@dataclass(frozen=True)
class ConversationList:
    search: str
    conversations: tuple[Conversation, ...]


@dataclass(frozen=True)
class ConversationContent:
    conversation: Conversation
    messages: tuple[Message, ...]


@dataclass(frozen=True)
class RenameRequest:
    conversation_id: int
    title: str


@dataclass(frozen=True)
class ExportRequest:
    conversation_id: int
    target: Path
    format: Literal["markdown", "json"]


@dataclass(frozen=True)
class LibrarySnapshot:
    documents: tuple[DocumentInfo, ...]
    roots: tuple[str, ...]
    passages: int

    @property
    def indexed(self) -> int:
        """Documents answers can use (not those still being indexed, nor those that failed)."""
        return sum(1 for d in self.documents if d.status == DocumentStatus.INDEXED)


@dataclass(frozen=True)
class ModelCatalog:
    models: tuple[ModelInfo, ...]
    crashed: frozenset[str]  # resolved paths that crashed the model host while loading


# -- indexing -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class IndexRequest:
    paths: tuple[str, ...]
    forget_first: bool = False  # "re-index": drop what is stored, then read the files again
    created: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class IndexStarted:
    paths: tuple[str, ...]


@dataclass(frozen=True)
class IndexFinished:
    report: IndexReport | None  # None when cancelled or failed before the end
    cancelled: bool = False
    failed: tuple[FailedFile, ...] = ()


# -- viewer -------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class DocumentRequest:
    """One click on a citation; a newer request abandons this one (requests compare by identity)."""

    passage: Passage


@dataclass(frozen=True)
class DocumentText:
    """The extracted text of a cited document; the passage is ``text[passage.start:passage.end]``."""

    passage: Passage
    kind: str
    text: str


@dataclass(frozen=True)
class DocumentPdf:
    """A cited PDF's bytes for QtPdf, which never opens the path itself; ``boxes``: where on the passage's
    page to mark it, when the page was read by OCR (none: found by a text search)."""

    passage: Passage
    data: bytes
    boxes: tuple[Box, ...] = ()


@dataclass(frozen=True)
class DocumentPicture:
    """The cited page of an image file as OCR saw it, and the boxes of the passage's words on it."""

    passage: Passage
    picture: Picture
    boxes: tuple[Box, ...]


@dataclass(frozen=True)
class DocumentRefused:
    """A cited document that cannot be shown; ``message`` names it and says why."""

    passage: Passage
    message: str


DocumentShown = DocumentText | DocumentPdf | DocumentPicture | DocumentRefused


# -- insights -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FeedbackRequest:
    message_id: int
    feedback: Feedback | None  # None takes it back


@dataclass(frozen=True)
class InsightsSnapshot:
    """What the Insights page draws; ``library`` is None until the (slower) library part is computed."""

    answers: AnswerInsights
    library: LibraryInsights | None = None
