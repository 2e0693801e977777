"""Which passage sentence supports each sentence of an answer, whatever model wrote it.

An answer is split into sentences; each is compared with every sentence of the passages the model
was given, by embedding similarity (the embedder the index already loaded) and lexical overlap (the
share of the sentence's content words that the passage sentence holds). The best match above
``SUPPORT_THRESHOLD`` supports the sentence: it gets that passage's citation ``[n]`` and the exact
span of the supporting sentence. When several passages support it, the one retrieval ranked highest
is cited (passages are numbered in retrieval order): support scores a few hundredths apart do not
tell which passage the sentence came from, while the ranking weighed the whole question against
each passage's document. A citation the model wrote stands when its passage supports the
sentence; otherwise it is moved to the passage that does, or dropped when none does. A sentence
nothing supports is marked unsupported.

Before the model is asked at all, ``retrieval_confidence`` says whether any passage is close enough
to the question for an answer to be worth generating (the cosine similarity of the question to the
passages' stored vectors: the vector search's own measure, which no change of fusion or ranking
moves).

The thresholds were calibrated once on the dev sets (``benchmarks/calibrate_answers.py``, figures in
``docs/answer-eval.md``), never question by question.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from desktop.core.types import Citation, Excerpt, Passage, SentenceSupport, Span
from desktop.services.citations import MARKER, marker_numbers
from desktop.services.figures import held, unstated

Embed = Callable[[Sequence[str]], np.ndarray]  # unit-length rows, as Embedder.embed

# Calibrated on the dev sets by fixed rules (benchmarks/calibrate_answers.py, docs/answer-eval.md):
# SUPPORT_THRESHOLD best separates gold answers from what the model writes without the passages
# (Youden's J); 97.5% of answerable questions have a passage above CONFIDENCE_THRESHOLD.
SUPPORT_THRESHOLD = 0.446
CONFIDENCE_THRESHOLD = 0.452
EMBEDDING_WEIGHT = 0.5  # of the support score; the rest is lexical overlap (fixed, not tuned)
MIN_CONTENT_WORDS = 2  # a shorter sentence ("Yes.") has nothing to check
MAX_SENTENCE_CHARS = 400  # longer runs (tables, lists without stops) are cut at spaces
MAX_ANSWER_SENTENCES = 200  # beyond these an answer's sentences are left unchecked: the work stays bounded
EXCERPTS = 2  # passage sentences quoted under an answer mostly unsupported
SHORTLIST = 8  # passage sentences embedded per answer sentence: those sharing the most words with it

_ABBREVIATIONS = frozenset({"e.g", "i.e", "etc", "vs", "cf", "fig", "no", "dr", "mr", "mrs", "ms", "st", "approx"})
# A line break ends a sentence only before a blank line or a new block (list item, heading, quote,
# table row): PDF text and soft-wrapped notes break lines mid-sentence.
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s)|\n\s*(?=\n|[-*+#>|]|\d{1,3}[.)]\s)\s*")
_FENCE = re.compile(r"^\s*(```|~~~).*?(?:^\s*\1[^\n]*$|\Z)", re.DOTALL | re.MULTILINE)
_LEADING_MARKERS = re.compile(r"(?:[ \t]*\[\d{1,6}(?:\s*,\s*\d{1,6})*\])+")
_WORD = re.compile(r"\w+")
_CLOSERS = ".!?…:;\"'”’)]"
_TRAILING = re.compile(r"[\s.!?…:;,\"'”’)]*$")  # where a citation goes: before the sentence's closing punctuation
_STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had has
    have having he her here hers him his how i if in into is it its itself just let lets may me might
    more most must my no nor not now of off on once only or other our ours out over own same shall she
    should so some such than that the their theirs them then there these they this those through to too
    under until up upon us very was we were what when where which while who whom why will with would
    yes you your yours however therefore thus use used using one two""".split()
)
_SUFFIXES = ("ations", "ation", "ingly", "ings", "ing", "edly", "ied", "ies", "ed", "es", "s", "ly")


def content_words(text: str) -> set[str]:
    """The words that carry meaning, lower-cased and crudely stemmed (serviced, service -> servic)."""
    return {_stem(word) for word in _WORD.findall(text.lower()) if len(word) > 1 and word not in _STOPWORDS}


def _stem(word: str) -> str:
    if len(word) > 4 and not word.isdigit():
        for suffix in _SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                return word[: -len(suffix)]
    return word


def sentence_spans(text: str, *, keep_code: bool = False) -> list[Span]:
    """The sentences of ``text`` as spans, trimmed; a fenced code block is one span when ``keep_code``,
    else left out. Long runs without a full stop are cut at spaces near ``MAX_SENTENCE_CHARS``."""
    spans: list[Span] = []
    position = 0
    for fence in _FENCE.finditer(text):
        spans.extend(_prose_spans(text, position, fence.start()))
        if keep_code:
            spans.append(Span(start=fence.start(), end=fence.end()))
        position = fence.end()
    spans.extend(_prose_spans(text, position, len(text)))
    return spans


def _prose_spans(text: str, start: int, end: int) -> list[Span]:
    spans: list[Span] = []
    begin = start
    for match in _SENTENCE_END.finditer(text, start, end):
        if match.start() < begin or (match.group()[0] in ".!?…" and _abbreviation_before(text, match.start())):
            continue
        # "... cool. [1] Next": the marker after the full stop belongs to the sentence it ends.
        markers = _LEADING_MARKERS.match(text, match.end(), end)
        boundary = markers.end() if markers and match.group()[0] in ".!?…" else match.end()
        spans.extend(_trimmed(text, begin, boundary))
        begin = boundary
    spans.extend(_trimmed(text, begin, end))
    return _attach_markers(text, spans)


def _abbreviation_before(text: str, stop: int) -> bool:
    word = re.search(r"(\w+(?:\.\w+)*)$", text[max(0, stop - 12) : stop])
    return word is not None and (word.group(1).lower() in _ABBREVIATIONS or len(word.group(1)) == 1)


def _trimmed(text: str, start: int, end: int) -> list[Span]:
    """[start, end) without surrounding blanks, cut at spaces if it is too long."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    pieces = []
    while end - start > MAX_SENTENCE_CHARS:
        cut = text.rfind(" ", start + MAX_SENTENCE_CHARS // 2, start + MAX_SENTENCE_CHARS)
        cut = cut if cut > start else start + MAX_SENTENCE_CHARS
        pieces.append(Span(start=start, end=cut))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if end > start:
        pieces.append(Span(start=start, end=end))
    return pieces


def _attach_markers(text: str, spans: list[Span]) -> list[Span]:
    """A sentence made only of citation markers ("... cool. [1]") belongs to the sentence before it."""
    joined: list[Span] = []
    for span in spans:
        alone = MARKER.sub("", text[span.start : span.end]).strip() == ""
        if alone and joined:
            joined[-1] = Span(start=joined[-1].start, end=span.end)
        else:
            joined.append(span)
    return joined


@dataclass
class Candidates:
    """The sentences of the passages that can support something, with where each comes from: a
    sentence of fewer than MIN_CONTENT_WORDS content words (a heading such as "# Boiler") says too
    little to back a claim."""

    texts: list[str] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)
    words: list[set[str]] = field(default_factory=list)

    @classmethod
    def of(cls, passages: Sequence[Passage]) -> Candidates:
        found = cls()
        for passage in passages:
            for span in sentence_spans(passage.text, keep_code=True):
                sentence = passage.text[span.start : span.end]
                words = content_words(sentence)
                if len(words) >= MIN_CONTENT_WORDS:
                    found.texts.append(" ".join(sentence.split()))
                    found.spans.append(span)
                    found.numbers.append(passage.n)
                    found.words.append(words)
        return found


def support_scores(
    sentences: Sequence[str],
    candidates: Sequence[str],
    candidate_words: Sequence[set[str]],
    embed: Embed,
    *,
    question: str = "",
    shortlist: int = SHORTLIST,
) -> np.ndarray:
    """scores[i, j]: how well candidate j supports sentence i, in [0, 1].

    The overlap counts the words a sentence adds to the question: restating the question ("PRAGMA
    quick_check is a pragma that...") is no evidence, and it is what an invented answer does most
    (a sentence made only of the question's words is measured on all its words). Only the
    ``shortlist`` candidates sharing the most words with some sentence are embedded; any other
    scores its overlap alone: with no shared word a candidate would need a cosine of 0.75 to count,
    which paraphrases in other words rarely reach, and embedding is most of the cost."""
    overlap = np.zeros((len(sentences), len(candidates)), dtype=np.float32)
    if not sentences or not candidates:
        return overlap
    asked = content_words(question)
    for i, sentence in enumerate(sentences):
        words = content_words(sentence)
        words = words - asked or words
        if words:
            overlap[i] = [len(words & found) / len(words) for found in candidate_words]
    chosen = sorted({int(j) for row in overlap for j in np.argsort(-row, kind="stable")[:shortlist]})
    vectors = embed([*sentences, *(candidates[j] for j in chosen)])
    similarity = np.zeros_like(overlap)
    similarity[:, chosen] = np.clip(vectors[: len(sentences)] @ vectors[len(sentences) :].T, 0.0, 1.0)
    return EMBEDDING_WEIGHT * similarity + (1 - EMBEDDING_WEIGHT) * overlap


class SentenceEmbeddings:
    """``embed`` with a memory: passage sentences come back with follow-up questions, and an answer
    is checked again when it is scored."""

    def __init__(self, embed: Embed, size: int = 4096) -> None:
        self.embed = embed
        self.size = size
        self._known: OrderedDict[str, np.ndarray] = OrderedDict()

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self._known))
        if missing:
            for text, vector in zip(missing, self.embed(missing), strict=True):
                self._known[text] = vector
        rows = []
        for text in texts:
            self._known.move_to_end(text)
            rows.append(self._known[text])
        while len(self._known) > self.size:
            self._known.popitem(last=False)
        return np.stack(rows) if rows else np.zeros((0, 0), dtype=np.float32)


@dataclass
class Attribution:
    text: str  # the answer with its citations checked
    sentences: list[SentenceSupport]
    citations: list[Citation]  # in order of first mention
    passages: list[Passage]  # marked cited, with the spans that support the answer
    corrected: int = 0  # citations the model wrote that named a passage not supporting its sentence
    dropped: int = 0
    invented: list[int] = field(default_factory=list)  # numbers the model cited that name no passage given


@dataclass
class _Sentence:
    span: Span
    plain: str  # without citation markers
    cited: list[int]  # what the model cited in it
    checked: bool
    ends_sentence: bool  # False for a piece of a run cut at MAX_SENTENCE_CHARS: no marker goes in there


def attribute(answer: str, passages: Sequence[Passage], embed: Embed, *, question: str = "") -> Attribution:
    """Check every sentence of ``answer`` (to ``question``) against ``passages`` and cite the one that
    supports it."""
    given = {p.n for p in passages}
    sentences = _answer_sentences(answer, given)
    candidates = Candidates.of(passages)
    checked = [s for s in sentences if s.checked]
    scores = support_scores([s.plain for s in checked], candidates.texts, candidates.words, embed, question=question)
    _require_figures(scores, [s.plain for s in checked], candidates, passages, question)
    rows = dict(zip((id(s) for s in checked), scores, strict=True))
    builder = _Rewriter(answer)
    corrected = dropped = 0
    for sentence in sentences:
        valid = [n for n in sentence.cited if n in given]
        row = rows.get(id(sentence))
        if row is None:  # nothing to check: the model's valid citations stand
            builder.keep(sentence, valid, None)
            continue
        numbers, support = _decide(row, candidates, valid)
        if valid and numbers != valid:
            corrected += bool(numbers)
            dropped += not numbers
        builder.keep(sentence, numbers, support)
    invented = list(dict.fromkeys(n for s in sentences for n in s.cited if n not in given))
    return builder.finish(passages, corrected, dropped, invented)


def _require_figures(
    scores: np.ndarray, sentences: Sequence[str], candidates: Candidates, passages: Sequence[Passage], question: str
) -> None:
    """A passage that lacks a figure a sentence states (R275 where it says R231) does not support it."""
    numbers = np.array(candidates.numbers)
    in_passage = {passage.n: held(passage.text, question) for passage in passages}
    for i, sentence in enumerate(sentences):
        for n, figures in in_passage.items():
            if unstated(sentence, figures):
                scores[i, numbers == n] = 0.0


def _decide(row: np.ndarray, candidates: Candidates, cited: list[int]) -> tuple[list[int], SentenceSupport]:
    """The citations a checked sentence gets, and its support: the passages the model cited that
    support it, else the passage that supports it best, else none."""
    standing = [n for n in cited if _best_in(row, candidates, n)[1] >= SUPPORT_THRESHOLD]
    best = int(np.argmax(row)) if row.size else -1
    if standing:
        best = _best_in(row, candidates, standing[0])[0]
    elif best < 0 or float(row[best]) < SUPPORT_THRESHOLD:
        return [], SentenceSupport(start=0, end=0, supported=False, score=round(float(row[best]), 4) if best >= 0
                                   else 0.0)
    else:
        best = _best_in(row, candidates, _first_supporting(row, candidates))[0]
    number = candidates.numbers[best]
    support = SentenceSupport(start=0, end=0, supported=True, n=number, span=candidates.spans[best],
                              score=round(float(row[best]), 4))
    return standing or [number], support


def _first_supporting(row: np.ndarray, candidates: Candidates) -> int:
    """The highest-ranked passage (lowest number) with a sentence above the support threshold."""
    return min(n for n, score in zip(candidates.numbers, row, strict=True) if score >= SUPPORT_THRESHOLD)


def _best_in(row: np.ndarray, candidates: Candidates, number: int) -> tuple[int, float]:
    """The candidate of passage ``number`` that best supports the sentence, and its score."""
    best, score = -1, -1.0
    for j, n in enumerate(candidates.numbers):
        if n == number and float(row[j]) > score:
            best, score = j, float(row[j])
    return best, score


def _answer_sentences(answer: str, given: set[int]) -> list[_Sentence]:
    sentences = []
    for index, span in enumerate(sentence_spans(answer, keep_code=True)):
        raw = answer[span.start : span.end]
        code = raw.lstrip().startswith(("```", "~~~"))
        plain = MARKER.sub("", raw) if not code else raw
        checked = not code and index < MAX_ANSWER_SENTENCES and len(content_words(plain)) >= MIN_CONTENT_WORDS
        cited = [] if code else [n for match in MARKER.finditer(raw) for n in marker_numbers(match)]
        following = answer[span.end : span.end + 1]
        ends_sentence = raw.rstrip()[-1:] in _CLOSERS or following in ("", "\n")
        sentences.append(_Sentence(span=span, plain=" ".join(plain.split()), cited=list(dict.fromkeys(cited)),
                                   checked=checked, ends_sentence=ends_sentence))
    return sentences


class _Rewriter:
    """Builds the answer again, sentence by sentence, with the citations decided for each. A sentence
    whose citations are unchanged is kept exactly as written."""

    def __init__(self, answer: str) -> None:
        self.answer = answer
        self.parts: list[str] = []
        self.position = 0  # in the original answer
        self.length = 0  # of the new one
        self.sentences: list[SentenceSupport] = []
        self.cited: list[int] = []

    def _emit(self, text: str) -> None:
        self.parts.append(text)
        self.length += len(text)

    def keep(self, sentence: _Sentence, numbers: list[int], support: SentenceSupport | None) -> None:
        self._emit(self.answer[self.position : sentence.span.start])
        raw = self.answer[sentence.span.start : sentence.span.end]
        if numbers != sentence.cited:
            # A wrong citation goes wherever it stood; a new one only where a sentence ends.
            shown = numbers if sentence.ends_sentence else [n for n in numbers if n in sentence.cited]
            raw = _with_citations(MARKER.sub("", raw), shown)
        start = self.length
        self._emit(raw)
        self.position = sentence.span.end
        for n in numbers:
            if n not in self.cited:
                self.cited.append(n)
        if support is not None:
            self.sentences.append(support.model_copy(update={"start": start, "end": self.length}))
        else:
            self.sentences.append(SentenceSupport(start=start, end=self.length, supported=None))

    def finish(self, passages: Sequence[Passage], corrected: int, dropped: int, invented: list[int]) -> Attribution:
        self._emit(self.answer[self.position :])
        by_number = {p.n: p for p in passages}
        supports: dict[int, list[Span]] = {}
        for sentence in self.sentences:
            if sentence.supported and sentence.n is not None and sentence.span is not None:
                spans = supports.setdefault(sentence.n, [])
                if sentence.span not in spans:
                    spans.append(sentence.span)
        citations = [citation(by_number[n]) for n in self.cited]
        marked = [
            p.model_copy(update={"cited": p.n in self.cited, "supports": tuple(sorted(supports.get(p.n, []),
                                                                                    key=lambda s: s.start))})
            for p in passages
        ]
        return Attribution("".join(self.parts), self.sentences, citations, marked, corrected, dropped, invented)


def citation(passage: Passage) -> Citation:
    return Citation(n=passage.n, path=passage.path, page=passage.page, heading=passage.heading)


def _with_citations(sentence: str, numbers: list[int]) -> str:
    """``sentence`` with ``[n]`` before its closing punctuation ("... cool [1].")."""
    if not numbers:
        return sentence
    closing = _TRAILING.search(sentence)
    cut = closing.start() if closing else len(sentence)
    return f"{sentence[:cut]} [{', '.join(map(str, numbers))}]{sentence[cut:]}"


def excerpts(question: str, passages: Sequence[Passage], embed: Embed, count: int = EXCERPTS) -> list[tuple[int, Span]]:
    """The passage sentences that best answer ``question``: (passage number, span). First the best
    sentence of the highest-ranked passage, then the best of the rest. Which passage answers is
    retrieval's call: it weighed the question against whole documents, and is measured doing so
    (docs/retrieval.md); a question scored against single sentences is a weaker signal, and the
    support threshold was calibrated for answers, not questions."""
    candidates = Candidates.of(passages)
    if not candidates.texts:
        return []
    row = support_scores([question], candidates.texts, candidates.words, embed)[0]
    first = _best_in(row, candidates, min(candidates.numbers))[0]
    order = [first, *(int(j) for j in np.argsort(-row, kind="stable") if j != first)]
    return [(candidates.numbers[j], candidates.spans[j]) for j in order[:count]]


def retrieval_confidence(question_vectors: np.ndarray, passage_vectors: np.ndarray) -> float:
    """The best cosine similarity between the question (or its variants, one per row) and any passage."""
    if question_vectors.size == 0 or passage_vectors.size == 0:
        return 0.0
    return float(np.max(question_vectors @ passage_vectors.T))


def markdown_literal(text: str) -> str:
    """Text (a file name, a quoted sentence) shown literally in Markdown: it can make no link, no citation."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!<>|~])", r"\\\1", text)


def excerpts_markdown(quoted: Sequence[Excerpt]) -> str:
    """The "From your files" block shown under an answer mostly unsupported."""
    lines = "\n>\n".join(f"> “{markdown_literal(e.text)}” [{e.n}]" for e in quoted)
    return f"**From your files:**\n\n{lines}"
