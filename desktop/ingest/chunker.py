"""Split extracted text into passages measured in the embedder's own word-pieces.

MiniLM reads at most 256 word-pieces (254 plus two special tokens); a longer passage would
be cut silently, so every chunk is checked against ``max_tokens`` with the real tokenizer.
Splits prefer, in order: section boundaries (page, heading), blank lines, sentence ends,
then word boundaries. Windows cut from one long paragraph overlap by ``overlap`` tokens.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from desktop.core import word_boxes
from desktop.core.types import ChunkDraft, ExtractedDocument

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+")


class Encoding(Protocol):
    offsets: list[tuple[int, int]]


class Tokenizer(Protocol):
    """The subset of ``tokenizers.Tokenizer`` the chunker uses."""

    def encode_batch(self, inputs: list[str], add_special_tokens: bool = ...) -> list[Encoding]: ...


def load_tokenizer(model_folder: Path) -> Tokenizer:
    """The embedder's fast tokenizer, without truncation (we must see the real length)."""
    from tokenizers import Tokenizer as HFTokenizer

    tokenizer = HFTokenizer.from_file(str(model_folder / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer  # type: ignore[return-value]


@dataclass
class _Piece:
    """A span of the document text that will not be split further (a paragraph or part of one)."""

    start: int
    end: int
    tokens: int
    section: int


def model_token_limit(model_folder: Path) -> int:
    """Word-pieces the embedder reads, without its two special tokens."""
    config = json.loads((model_folder / "sentence_bert_config.json").read_text(encoding="utf-8"))
    return int(config["max_seq_length"]) - 2


class Chunker:
    def __init__(self, tokenizer: Tokenizer, max_tokens: int, overlap: int, *, context_tokens: int = 0) -> None:
        """``context_tokens``: room left by ``max_tokens`` under the model's limit, given to the
        title-and-heading context each chunk is embedded with."""
        if not 0 <= overlap < max_tokens // 2:
            raise ValueError("overlap must be less than half of max_tokens")
        self.tokenizer = tokenizer
        self.max_tokens = max_tokens
        self.overlap = overlap
        self.context_tokens = context_tokens

    def count(self, texts: list[str]) -> list[int]:
        return [len(e.offsets) for e in self.tokenizer.encode_batch(texts, add_special_tokens=False)]

    def chunk(self, document: ExtractedDocument) -> list[ChunkDraft]:
        text = document.text
        pieces = self._pieces(document, text)
        drafts: list[ChunkDraft] = []
        for group in self._pack(pieces, document):
            start, end = group[0].start, group[-1].end
            section = document.sections[group[0].section]
            drafts.append(
                ChunkDraft(
                    seq=len(drafts),
                    text=text[start:end],
                    page=section.page,
                    heading=section.heading,
                    start=start,
                    end=end,
                    ocr_confidence=section.ocr_confidence,
                )
            )
        drafts = _with_boxes(self._enforce_limit(drafts, text), document)
        return self._with_context(drafts, document.title)

    def _with_context(self, drafts: list[ChunkDraft], title: str | None) -> list[ChunkDraft]:
        if self.context_tokens <= 1 or not drafts:
            return drafts
        contexts = [_context(title, draft.heading) for draft in drafts]
        fitted: dict[str, str] = {}
        for context in set(contexts) - {""}:
            offsets = self.tokenizer.encode_batch([context], add_special_tokens=False)[0].offsets
            # One token of the budget is the line break between context and passage.
            fitted[context] = context if len(offsets) < self.context_tokens else context[
                : offsets[self.context_tokens - 2][1]
            ]
        return [d.model_copy(update={"context": fitted.get(c, "")}) for d, c in zip(drafts, contexts, strict=True)]

    def _pieces(self, document: ExtractedDocument, text: str) -> list[_Piece]:
        spans: list[tuple[int, int, int]] = []
        offset = 0
        for index, section in enumerate(document.sections):
            for start, end in _split_spans(section.text, _PARAGRAPH_BREAK):
                spans.append((offset + start, offset + end, index))
            offset += len(section.text) + len(document.SEPARATOR)
        counts = self.count([text[s:e] for s, e, _ in spans]) if spans else []
        pieces: list[_Piece] = []
        for (start, end, owner), tokens in zip(spans, counts, strict=True):
            if tokens <= self.max_tokens:
                pieces.append(_Piece(start, end, tokens, owner))
            else:
                pieces.extend(self._split_long(text, start, end, owner))
        return pieces

    def _split_long(self, text: str, start: int, end: int, section: int) -> list[_Piece]:
        """Sentences when they fit, else overlapping windows cut at word boundaries."""
        sentences = [(start + s, start + e) for s, e in _split_spans(text[start:end], _SENTENCE_END)]
        counts = self.count([text[s:e] for s, e in sentences])
        pieces: list[_Piece] = []
        for (s, e), tokens in zip(sentences, counts, strict=True):
            if tokens <= self.max_tokens:
                pieces.append(_Piece(s, e, tokens, section))
            else:
                pieces.extend(self._windows(text, s, e, section))
        return pieces

    def _windows(self, text: str, start: int, end: int, section: int) -> list[_Piece]:
        encoding = self.tokenizer.encode_batch([text[start:end]], add_special_tokens=False)[0]
        offsets = encoding.offsets
        # A window may only begin where a word begins, so re-tokenizing it gives the same pieces.
        word_starts = [i for i, (s, _) in enumerate(offsets) if i == 0 or s > offsets[i - 1][1]]
        windows: list[_Piece] = []
        first = 0
        while first < len(offsets):
            limit = first + self.max_tokens
            if limit >= len(offsets):
                last = len(offsets)
            else:
                last = max((w for w in word_starts if first < w <= limit), default=limit)
            windows.append(
                _Piece(start + offsets[first][0], start + offsets[last - 1][1], last - first, section)
            )
            if last >= len(offsets):
                break
            target = max(first + 1, last - self.overlap)
            first = min((w for w in word_starts if w >= target), default=last)
        return windows

    def _pack(self, pieces: list[_Piece], document: ExtractedDocument) -> list[list[_Piece]]:
        """Greedily join neighbouring pieces; a new section starts a new chunk once this one is half full."""
        groups: list[list[_Piece]] = []
        current: list[_Piece] = []
        used = 0
        for piece in pieces:
            # Joined pieces gain a separator token or so; keep a small margin, checked later anyway.
            fits = used + piece.tokens + len(current) <= self.max_tokens
            # Sections join only on the same page, so a chunk's page number stays exact.
            new_section_ok = bool(current) and _same_page(document, current[-1].section, piece.section) and (
                _same_heading(document, current[-1].section, piece.section) or used < self.max_tokens // 2
            )
            if current and fits and (current[-1].section == piece.section or new_section_ok):
                current.append(piece)
                used += piece.tokens
                continue
            if current:
                groups.append(current)
            current, used = [piece], piece.tokens
        if current:
            groups.append(current)
        return groups

    def _enforce_limit(self, drafts: list[ChunkDraft], text: str) -> list[ChunkDraft]:
        """Guarantee no chunk exceeds the limit; a too-long joined chunk is split in windows."""
        counts = self.count([d.text for d in drafts]) if drafts else []
        if all(count <= self.max_tokens for count in counts):
            return drafts
        fixed: list[ChunkDraft] = []
        for draft, count in zip(drafts, counts, strict=True):
            spans = [(draft.start, draft.end)] if count <= self.max_tokens else [
                (p.start, p.end) for p in self._windows(text, draft.start, draft.end, 0)
            ]
            for start, end in spans:
                fixed.append(draft.model_copy(update={
                    "seq": len(fixed), "text": text[start:end], "start": start, "end": end,
                }))
        return fixed


def _with_boxes(drafts: list[ChunkDraft], document: ExtractedDocument) -> list[ChunkDraft]:
    """Each passage read by OCR gets the boxes of the words it shows (a word it cuts in two included)."""
    if not any(section.ocr_boxes for section in document.sections):
        return drafts
    starts: list[int] = []  # where each section begins in the document's text
    words: list[tuple[list[int], list[int]]] = []  # each section's word starts and ends, in the document's text
    offset = 0
    for section in document.sections:
        spans = word_boxes.word_spans(section.text)
        starts.append(offset)
        words.append(([offset + s for s, _ in spans], [offset + e for _, e in spans]))
        offset += len(section.text) + len(document.SEPARATOR)
    fitted = []
    for draft in drafts:
        parts: list[bytes | None] = []
        for index in range(max(0, bisect.bisect_right(starts, draft.start) - 1), bisect.bisect_left(starts, draft.end)):
            word_starts, word_ends = words[index]
            first, last = bisect.bisect_right(word_ends, draft.start), bisect.bisect_left(word_starts, draft.end)
            if first < last:
                boxes = document.sections[index].ocr_boxes
                parts.append(word_boxes.slice_words(boxes, first, last) if boxes else None)
        packed = None if None in parts else b"".join(p for p in parts if p is not None)
        fitted.append(draft.model_copy(update={"ocr_boxes": packed or None}))
    return fitted


def _context(title: str | None, heading: str | None) -> str:
    parts = [part.strip() for part in (title, heading) if part and part.strip()]
    if len(parts) == 2 and parts[1].startswith(parts[0]):
        parts = parts[1:]  # the heading path already begins with the title
    return " — ".join(parts)


def _same_page(document: ExtractedDocument, a: int, b: int) -> bool:
    return document.sections[a].page == document.sections[b].page


def _same_heading(document: ExtractedDocument, a: int, b: int) -> bool:
    return document.sections[a].heading == document.sections[b].heading


def _split_spans(text: str, separator: re.Pattern[str]) -> list[tuple[int, int]]:
    """Spans of ``text`` between separators, with surrounding whitespace trimmed, empty ones dropped."""
    spans = []
    position = 0
    for match in [*separator.finditer(text), None]:
        stop = match.start() if match else len(text)
        segment = text[position:stop]
        stripped = segment.strip()
        if stripped:
            lead = len(segment) - len(segment.lstrip())
            spans.append((position + lead, position + lead + len(stripped)))
        if match:
            position = match.end()
    return spans
