"""Near-duplicate documents: the same text indexed twice (a page as HTML and as its source, a file
saved under two names, a copy with a few words changed), found from the passage texts in the registry.

Why word shingles, not embeddings: on the Git documentation (every page as HTML and as its AsciiDoc
source, 535 files) the mean passage vectors of a page and its own source are 0.80-0.97 cosine apart,
while different pages that share an included options list reach 0.99; no threshold separates them.
What does: the share of a document's word sequences (3-word shingles) another document holds.

A copies B when:
1. B holds at least ``HELD`` of A's shingles (containment, not Jaccard: an HTML page expands the
   includes its source only names, so the source is inside the page but the page is not inside it);
2. every document holding A that much also holds the others: several documents that do not hold
   each other all holding A make A a part they share (an included options list), not a copy;
3. what of A B lacks is not, for the most part, another document's text: then A is B's text plus
   that document's (two command pages built around the same options list), not a copy of B.
Exact copies (the same shingles) are grouped first, whatever their number. On the Git docs this
groups 238 of the 239 pages with their source (the one left is a source that only includes another
file) and never two different pages; 8 groups also hold an included file used by that page alone,
whose whole text is indeed in it. Each group keeps the document holding most of the others' text
(the page rather than its source, the original rather than an edited copy; the first indexed when
equal) and offers to forget the rest. Search uses the same finding (``record_copies``, after each
index run that indexed or removed a document): a copy and the document it copies are one hit.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from itertools import groupby

import numpy as np

from desktop.core.types import DocumentStatus, Frozen
from desktop.services.workspace import Workspace

SHINGLE = 3
MIN_SHINGLES = 20  # a shorter text ("See git-config(1).") says too little to call two of them copies
HELD = 0.8
BOILERPLATE = 50  # a word sequence more documents hold is a footer or a licence: it says nothing of copying
ELSEWHERE = 30  # shingles of A's difference from B that a third document must hold to make A a composite
# Comparing every document after each run costs about 0.1 s per 1,000 passages and their shingles' memory:
# beyond this, copies are not recorded and search collapses copied passages only (docs/retrieval.md).
MAX_COPY_PASSAGES = 250_000
METHOD = (
    f"containment of word {SHINGLE}-shingles (a copy's text is at least {HELD:.0%} in the document kept, "
    "and is neither a part several documents share nor one document's text plus another's)"
)
_WORD = re.compile(r"\w+")


class DuplicateCopy(Frozen):
    document_id: int
    path: str
    held: float  # share of its word sequences the kept document holds


class DuplicateGroup(Frozen):
    kept_id: int
    kept: str
    copies: list[DuplicateCopy]


class Duplicates(Frozen):
    documents: int  # indexed documents looked at
    groups: list[DuplicateGroup]
    method: str = METHOD
    seconds: float = 0.0
    unavailable: str | None = None


def find_duplicates(workspace: Workspace) -> Duplicates:
    began = time.perf_counter()
    paths = {d.id: d.path for d in workspace.registry.documents() if d.status == DocumentStatus.INDEXED}
    if len(paths) < 2:
        return Duplicates(documents=len(paths), groups=[], unavailable=(
            "The library is empty: there are no documents to compare." if not paths
            else "The library holds one document: there is nothing to compare it with yet."
        ))
    shingled = document_shingles(workspace.registry.document_texts())
    comparable = {d: s for d, s in shingled.items() if len(s) >= MIN_SHINGLES and d in paths}
    if len(comparable) < 2:
        return Duplicates(documents=len(paths), groups=[], unavailable=(
            f"Fewer than two documents have {MIN_SHINGLES + SHINGLE - 1} words or more: too little text to compare."
        ))
    groups = [
        DuplicateGroup(kept_id=kept, kept=paths[kept], copies=[
            DuplicateCopy(document_id=d, path=paths[d], held=held) for d, held in copies
        ])
        for kept, copies in duplicate_groups(comparable)
    ]
    return Duplicates(documents=len(paths), groups=groups, seconds=time.perf_counter() - began)


def record_copies(workspace: Workspace, checkpoint: Callable[[], None] = lambda: None) -> int | None:
    """Record, for search, which indexed document each copy copies (its group's kept document, when
    that holds at least ``HELD`` of it); returns how many copy one, or None for a library too large
    to compare after every run. ``checkpoint`` is called while the texts are read (it may raise)."""
    registry = workspace.registry
    if registry.counts()["chunks"] > MAX_COPY_PASSAGES:
        registry.replace_copies({})
        return None
    shingled = document_shingles(_checked(registry.document_texts(), checkpoint))
    comparable = {d: s for d, s in shingled.items() if len(s) >= MIN_SHINGLES}
    groups = duplicate_groups(comparable) if len(comparable) >= 2 else []
    originals = {copy: kept for kept, copies in groups for copy, held in copies if held >= HELD}
    registry.replace_copies(originals)
    return len(originals)


def _checked(rows: Iterable[tuple[int, str]], checkpoint: Callable[[], None]) -> Iterator[tuple[int, str]]:
    for n, row in enumerate(rows):
        if n % 1000 == 0:
            checkpoint()
        yield row


def document_shingles(texts: Iterable[tuple[int, str]]) -> dict[int, np.ndarray]:
    """Each document's distinct word 3-shingles as 64-bit hashes, from its passages in reading order."""
    vocabulary: dict[str, int] = {}
    found: dict[int, np.ndarray] = {}
    for document, rows in groupby(texts, key=lambda row: row[0]):
        words = np.fromiter(
            (vocabulary.setdefault(w, len(vocabulary)) for _, text in rows for w in _WORD.findall(text.lower())),
            dtype=np.uint64,
        )
        if len(words) < SHINGLE:
            found[document] = np.zeros(0, np.uint64)
            continue
        # Overflow wraps: a mixing hash, with collisions too rare to matter among millions of shingles.
        with np.errstate(over="ignore"):
            hashed = (words[:-2] * np.uint64(0x9E3779B97F4A7C15) + words[1:-1]) * np.uint64(0xBF58476D1CE4E5B9)
            hashed += words[2:]
        found[document] = np.unique(hashed)
    return found


def duplicate_groups(shingles: Mapping[int, np.ndarray]) -> list[tuple[int, list[tuple[int, float]]]]:
    """(kept document, [(copy, share of its shingles the kept one holds)]) per group of copies, the
    groups with the most copied text first. ``shingles``: the documents long enough to compare."""
    exact: dict[bytes, list[int]] = {}
    for document in sorted(shingles):  # the same text, however many times: one representative compared
        exact.setdefault(shingles[document].tobytes(), []).append(document)
    members = list(exact.values())
    texts = _Containment([shingles[m[0]] for m in members])
    parent = list(range(len(members)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(members)):
        hosts = texts.hosts(i)
        if not hosts or all(find(h) == find(i) for h in hosts):
            continue
        if all(texts.copies(i, h) for h in hosts) and all(texts.copies(a, b) for a in hosts for b in hosts if a != b):
            for h in hosts:
                parent[find(i)] = find(h)

    grouped: dict[int, list[int]] = {}
    for i in range(len(members)):
        grouped.setdefault(find(i), []).append(i)
    result = []
    for group in grouped.values():
        documents = [(d, i) for i in group for d in members[i]]
        if len(documents) < 2:
            continue
        holds = {  # how much of the group's other documents each one holds (its exact copies wholly)
            r: len(members[r]) - 1 + sum(len(members[o]) * texts.share(o, r) for o in group if o != r) for r in group
        }
        keeper, keeper_row = min(documents, key=lambda item: (-holds[item[1]], -texts.size[item[1]], item[0]))
        copies = [(d, 1.0 if i == keeper_row else texts.share(i, keeper_row)) for d, i in documents if d != keeper]
        copied = sum(float(texts.size[i]) for d, i in documents if d != keeper)
        result.append((copied, keeper, sorted(copies)))
    return [(keeper, copies) for _, keeper, copies in sorted(result, key=lambda r: (-r[0], r[1]))]


class _Containment:
    """Which texts hold which: shared shingles of every pair at once (a sparse product)."""

    def __init__(self, columns: list[np.ndarray]) -> None:
        from scipy import sparse

        rows = np.repeat(np.arange(len(columns)), [len(c) for c in columns])
        distinct, column = np.unique(np.concatenate(columns), return_inverse=True)
        common = np.bincount(column, minlength=len(distinct))[column] > BOILERPLATE
        self.matrix = sparse.csr_matrix(
            (np.ones(int((~common).sum()), np.float32), (rows[~common], column[~common])),
            shape=(len(columns), len(distinct)),
        )
        self.size = np.asarray(self.matrix.sum(axis=1)).ravel()
        self.shared = sparse.csr_matrix(self.matrix @ self.matrix.T)
        held = sparse.csr_matrix(sparse.diags(1 / np.maximum(self.size, 1)) @ self.shared)
        row_of = np.repeat(np.arange(len(columns)), np.diff(held.indptr))
        held.data[(held.data < HELD) | (row_of == held.indices) | (self.size[row_of] < MIN_SHINGLES)] = 0
        held.eliminate_zeros()
        self.held = held  # row i: the documents holding at least HELD of i
        self.by_column = self.matrix.tocsc()
        self._copies: dict[tuple[int, int], bool] = {}

    def share(self, i: int, j: int) -> float:
        return float(self.shared[i, j]) / max(float(self.size[i]), 1.0)

    def hosts(self, i: int) -> list[int]:
        return self.held.indices[self.held.indptr[i] : self.held.indptr[i + 1]].tolist()

    def copies(self, i: int, host: int) -> bool:
        """``host`` holds ``i``, and what of ``i`` it lacks is not mostly a third document's text."""
        if (i, host) not in self._copies:
            self._copies[(i, host)] = host in self.hosts(i) and not self._composite(i, host)
        return self._copies[(i, host)]

    def _composite(self, i: int, host: int) -> bool:
        matrix = self.matrix
        own = matrix.indices[matrix.indptr[i] : matrix.indptr[i + 1]]
        lacking = np.setdiff1d(own, matrix.indices[matrix.indptr[host] : matrix.indptr[host + 1]], assume_unique=True)
        if len(lacking) < ELSEWHERE:
            return False
        elsewhere = np.asarray(self.by_column[:, lacking].sum(axis=1)).ravel()
        elsewhere[[i, *self.hosts(i)]] = 0  # i's other hosts may hold it: they are then copies of one text
        return bool(elsewhere.max() >= max(ELSEWHERE, 0.5 * len(lacking)))
