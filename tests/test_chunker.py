from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desktop.core.types import ExtractedDocument, Section
from desktop.ingest.chunker import Chunker, load_tokenizer


@pytest.fixture(scope="module")
def chunker(embedder_folder: Path) -> Chunker:
    return Chunker(load_tokenizer(embedder_folder), max_tokens=120, overlap=20)


def _document(*sections: Section) -> ExtractedDocument:
    return ExtractedDocument(kind="text", sections=sections)


def test_no_chunk_exceeds_the_limit_and_spans_are_exact(chunker: Chunker) -> None:
    long_paragraph = " ".join(f"word{i} antidisestablishmentarianism," for i in range(600))
    no_spaces = "x" * 5000
    document = _document(
        Section(text="Intro.\n\nShort paragraph.", heading="Intro"),
        Section(text=long_paragraph, heading="Long"),
        Section(text=no_spaces, heading="Blob"),
    )
    chunks = chunker.chunk(document)
    counts = chunker.count([c.text for c in chunks])
    assert max(counts) <= 120
    text = document.text
    assert all(text[c.start : c.end] == c.text for c in chunks)
    assert [c.seq for c in chunks] == list(range(len(chunks)))
    covered = "".join(c.text for c in chunks)
    assert "word599" in covered and "Short paragraph" in covered


def test_long_paragraph_windows_overlap(chunker: Chunker) -> None:
    words = " ".join(f"alpha{i}" for i in range(400))
    chunks = chunker.chunk(_document(Section(text=words)))
    assert len(chunks) > 2
    for first, second in pairwise(chunks):
        assert second.start < first.end, "consecutive windows of one paragraph must overlap"


def test_pages_are_never_merged(chunker: Chunker) -> None:
    document = _document(Section(text="Page one text.", page=1), Section(text="Page two text.", page=2))
    chunks = chunker.chunk(document)
    assert [(c.page, c.text) for c in chunks] == [(1, "Page one text."), (2, "Page two text.")]


def test_small_sections_join_and_keep_the_first_heading(chunker: Chunker) -> None:
    document = _document(
        Section(text="# Install", heading="Install"),
        Section(text="## Linux\n\nRun make.", heading="Install > Linux"),
    )
    chunks = chunker.chunk(document)
    assert len(chunks) == 1
    assert chunks[0].heading == "Install"
    assert "Run make." in chunks[0].text


def test_empty_document_gives_no_chunks(chunker: Chunker) -> None:
    assert chunker.chunk(_document(Section(text="   \n\n  "))) == []


section_texts = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=3000)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(section_texts, min_size=1, max_size=4), pages=st.booleans())
def test_fuzz_chunker_keeps_its_promises(chunker: Chunker, texts: list[str], pages: bool) -> None:
    document = _document(*(Section(text=t, page=i + 1 if pages else None) for i, t in enumerate(texts)))
    chunks = chunker.chunk(document)
    full = document.text
    assert all(full[c.start : c.end] == c.text and c.text.strip() for c in chunks)
    if chunks:
        assert max(chunker.count([c.text for c in chunks])) <= chunker.max_tokens
    words = [w for t in texts for w in t.split()]
    if words:
        assert chunks, "text with words must give at least one chunk"


def test_context_of_title_and_heading_fits_the_model_limit(embedder_folder: Path) -> None:
    from desktop.ingest.chunker import model_token_limit

    limit = model_token_limit(embedder_folder)
    chunker = Chunker(load_tokenizer(embedder_folder), max_tokens=200, overlap=20, context_tokens=limit - 200)
    long_title = "A very long document title " * 20  # far more than the context budget
    document = ExtractedDocument(kind="html", title=long_title, sections=(
        Section(text="word " * 1000, heading=long_title.strip() + " > Install"),
        Section(text="other " * 300, heading="Other"),
    ))
    chunks = chunker.chunk(document)
    assert chunks[0].context.startswith("A very long document title")
    assert chunks[-1].heading == "Other" and chunks[-1].context.startswith("A very long")
    assert max(chunker.count([c.embedding_text() for c in chunks])) <= limit


def test_a_passage_read_by_ocr_keeps_the_box_of_each_word_it_shows(chunker: Chunker) -> None:
    """Windows cut from a long OCR'd page (and a word cut in two) each carry exactly their words' boxes."""
    from desktop.core import word_boxes

    words = [f"w{i}" for i in range(900)] + ["x" * 3000]  # a word too long for one window is cut inside
    lines = "\n".join(" ".join(words[i : i + 9]) for i in range(0, len(words), 9))
    boxes = [(i / 1000, 0.5, (i + 1) / 1000, 0.6) for i in range(len(words))]  # the box says which word
    scanned = Section(text=lines, page=2, ocr_confidence=0.9, ocr_boxes=word_boxes.pack(boxes))
    document = ExtractedDocument(kind="pdf", sections=(Section(text="A typed cover page.", page=1), scanned))
    chunks = chunker.chunk(document)
    assert chunks[0].ocr_boxes is None  # a text layer has no boxes
    read = [c for c in chunks if c.page == 2]
    assert len(read) > 3
    start = len(document.sections[0].text) + len(document.SEPARATOR)
    for chunk in read:
        marked = word_boxes.boxes_for(chunk.text, chunk.ocr_boxes)
        first = len(word_boxes.word_spans(document.text[start : chunk.start + 1])) - 1  # the word it begins in
        assert [round(box[0] * 1000) for box in marked] == list(range(first, first + len(marked)))
        assert len(marked) == len(chunk.text.split())
