"""The document registry: the source of truth for what is indexed.

A row per file (hash, size, mtime, status), a row per chunk, and an FTS5 table over the chunks
for keyword search. Chroma only mirrors the chunk ids found here and can be rebuilt from them.

Chunk ids are ``document_id << 20 | seq``: deterministic, so a resumed or repeated write of the
same chunk is an idempotent upsert, and never reused, because document ids are AUTOINCREMENT.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop.core.types import ChunkDraft, DocumentInfo, DocumentStatus, OcrPage, OcrText
from desktop.store.sqlite import connect, transaction

SEQ_BITS = 20
MAX_CHUNKS_PER_DOCUMENT = 1 << SEQ_BITS

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS roots (path TEXT PRIMARY KEY, added_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    path TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    title TEXT,
    size INTEGER NOT NULL,
    mtime REAL NOT NULL,
    content_hash TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    pages INTEGER,
    chunk_count INTEGER NOT NULL DEFAULT 0,
    indexed_at REAL
);
CREATE INDEX IF NOT EXISTS documents_hash ON documents(content_hash);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY,
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    text TEXT NOT NULL,
    page INTEGER,
    heading TEXT,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    context TEXT NOT NULL DEFAULT '',
    ocr_confidence REAL,  -- 0..1 for text read by OCR; NULL for a text layer
    ocr_boxes BLOB  -- OCR only: each word's box on its page (desktop/core/word_boxes.py)
);
CREATE INDEX IF NOT EXISTS chunks_document ON chunks(document_id);
-- Documents whose text another one holds (a page's source, a file saved twice), found after a run that
-- changed the library: search shows a copy and its original as one hit. Derived, like the vectors.
CREATE TABLE IF NOT EXISTS copies (
    document_id INTEGER PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
    original_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE
);
-- Chunk ids whose vector may disagree with this registry: written before Chroma is touched,
-- cleared once both sides agree. After a crash, these are the only ids worth looking at.
CREATE TABLE IF NOT EXISTS vector_journal (chunk_id INTEGER PRIMARY KEY);
-- Pages of a file read by OCR while it is being read, by its content: a run interrupted mid-file reads only
-- the rest next time. Dropped once the file is indexed or refused, changed, or forgotten.
CREATE TABLE IF NOT EXISTS ocr_pages (
    content_hash TEXT NOT NULL,
    page INTEGER NOT NULL,
    path TEXT NOT NULL,  -- where it was read: pages of a file that changed or went are found by it
    text TEXT NOT NULL,
    confidence REAL NOT NULL,
    boxes BLOB NOT NULL,
    PRIMARY KEY (content_hash, page)
) WITHOUT ROWID;
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    title, heading, text,
    tokenize = "porter unicode61 remove_diacritics 2 tokenchars '_'"
);
"""

# bm25 column weights: a match in a title or heading says more than one in the body.
FTS_WEIGHTS = (4.0, 2.0, 1.0)


def fts_any(terms: Sequence[str]) -> str:
    """FTS5: any of these terms, each quoted so that no FTS5 syntax can come from a question."""
    return " OR ".join('"' + term.replace('"', '""') + '"' for term in terms)


def chunk_id(document_id: int, seq: int) -> int:
    return (document_id << SEQ_BITS) | seq


@dataclass(frozen=True)
class StoredChunk:
    id: int
    document_id: int
    path: str
    title: str | None
    seq: int
    text: str
    page: int | None
    heading: str | None
    start: int
    end: int
    context: str
    ocr_confidence: float | None
    ocr_boxes: bytes | None = None


class Registry:
    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self.path = path
        self.db = connect(path, read_only=read_only)
        if not read_only:
            self.db.executescript(_SCHEMA)
            columns = {row["name"] for row in self.db.execute("PRAGMA table_info(chunks)")}
            if "context" not in columns:  # registries made before contextual embeddings
                self.db.execute("ALTER TABLE chunks ADD COLUMN context TEXT NOT NULL DEFAULT ''")
            if "ocr_confidence" not in columns:  # registries made before OCR
                self.db.execute("ALTER TABLE chunks ADD COLUMN ocr_confidence REAL")
            if "ocr_boxes" not in columns:  # registries made before OCR kept where its words are
                self.db.execute("ALTER TABLE chunks ADD COLUMN ocr_boxes BLOB")
            # Registries made before a picture without text was skipped rather than failed.
            self.db.execute(
                "UPDATE documents SET status = 'skipped', reason = 'no text found (image)'"
                " WHERE status = 'failed' AND reason = 'no text found in the image (OCR)'"
            )

    def close(self) -> None:
        self.db.close()

    # -- meta ---------------------------------------------------------------------------------
    def get_meta(self, key: str) -> Any:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row["value"]) if row else None

    def set_meta(self, key: str, value: Any) -> None:
        self.db.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, json.dumps(value, sort_keys=True)),
        )

    # -- roots: folders and files the user added, re-scanned and watched ---------------------
    def add_root(self, path: str) -> None:
        self.db.execute("INSERT OR IGNORE INTO roots(path, added_at) VALUES (?, ?)", (path, time.time()))

    def remove_root(self, path: str) -> None:
        self.db.execute("DELETE FROM roots WHERE path = ?", (path,))

    def roots(self) -> list[str]:
        return [row["path"] for row in self.db.execute("SELECT path FROM roots ORDER BY path")]

    # -- documents ----------------------------------------------------------------------------
    def document(self, document_id: int) -> DocumentInfo | None:
        row = self.db.execute("SELECT * FROM documents WHERE id = ?", (document_id,)).fetchone()
        return _document(row) if row else None

    def document_by_path(self, path: str) -> DocumentInfo | None:
        row = self.db.execute("SELECT * FROM documents WHERE path = ?", (path,)).fetchone()
        return _document(row) if row else None

    def documents(self, *, under: str | None = None) -> list[DocumentInfo]:
        if under is None:
            rows = self.db.execute("SELECT * FROM documents ORDER BY path")
        else:
            prefix = under.rstrip("/") + "/"
            rows = self.db.execute(
                "SELECT * FROM documents WHERE path = ? OR substr(path, 1, ?) = ? ORDER BY path",
                (under, len(prefix), prefix),
            )
        return [_document(row) for row in rows]

    def documents_with_hash(self, content_hash: str) -> list[DocumentInfo]:
        rows = self.db.execute("SELECT * FROM documents WHERE content_hash = ?", (content_hash,))
        return [_document(row) for row in rows]

    def start_document(
        self, *, path: str, kind: str, size: int, mtime: float, content_hash: str
    ) -> int:
        """Create or reset the row for a file about to be (re)indexed; status PENDING."""
        with transaction(self.db):
            row = self.db.execute("SELECT id FROM documents WHERE path = ?", (path,)).fetchone()
            if row is None:
                cursor = self.db.execute(
                    "INSERT INTO documents(path, kind, size, mtime, content_hash, status)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (path, kind, size, mtime, content_hash, DocumentStatus.PENDING),
                )
                assert cursor.lastrowid is not None
                return cursor.lastrowid
            self.db.execute(
                "UPDATE documents SET kind = ?, size = ?, mtime = ?, content_hash = ?, status = ?,"
                " reason = NULL WHERE id = ?",
                (kind, size, mtime, content_hash, DocumentStatus.PENDING, row["id"]),
            )
            return int(row["id"])

    def set_parsed(self, document_id: int, *, title: str | None, pages: int | None) -> None:
        self.db.execute(
            "UPDATE documents SET title = ?, pages = ? WHERE id = ?", (title, pages, document_id)
        )

    def mark_failed(
        self, *, path: str, kind: str, size: int, mtime: float, content_hash: str, reason: str,
        status: DocumentStatus = DocumentStatus.FAILED,
    ) -> list[int]:
        """Record a file that could not be indexed (or, ``status`` SKIPPED, that holds no text); returns chunk
        ids of an older version to drop."""
        with transaction(self.db):
            row = self.db.execute("SELECT id FROM documents WHERE path = ?", (path,)).fetchone()
            old_chunks: list[int] = []
            if row is None:
                self.db.execute(
                    "INSERT INTO documents(path, kind, size, mtime, content_hash, status, reason)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (path, kind, size, mtime, content_hash, status, reason),
                )
            else:
                old_chunks = self._delete_chunks(row["id"])
                self.db.execute(
                    "UPDATE documents SET kind = ?, size = ?, mtime = ?, content_hash = ?, status = ?,"
                    " reason = ?, chunk_count = 0, indexed_at = NULL WHERE id = ?",
                    (kind, size, mtime, content_hash, status, reason, row["id"]),
                )
            self.db.execute("DELETE FROM ocr_pages WHERE content_hash = ?", (content_hash,))
            return old_chunks

    def mark_indexed(self, document_id: int) -> None:
        with transaction(self.db):
            count = self.db.execute(
                "SELECT count(*) FROM chunks WHERE document_id = ?", (document_id,)
            ).fetchone()[0]
            self.db.execute(
                "UPDATE documents SET status = ?, chunk_count = ?, indexed_at = ? WHERE id = ?",
                (DocumentStatus.INDEXED, count, time.time(), document_id),
            )
            # Its passages are all stored: the pages kept in case its reading was interrupted are not needed.
            self.db.execute(
                "DELETE FROM ocr_pages WHERE content_hash = (SELECT content_hash FROM documents WHERE id = ?)",
                (document_id,),
            )

    def touch(self, document_id: int, *, size: int, mtime: float) -> None:
        """The file's stat changed but its content did not."""
        self.db.execute(
            "UPDATE documents SET size = ?, mtime = ? WHERE id = ?", (size, mtime, document_id)
        )

    def move(self, document_id: int, new_path: str, *, mtime: float) -> None:
        """A renamed file with unchanged content keeps its chunks and vectors."""
        self.db.execute(
            "UPDATE documents SET path = ?, mtime = ? WHERE id = ?", (new_path, mtime, document_id)
        )

    def delete_document(self, document_id: int) -> list[int]:
        """Remove a document and its chunks; returns the chunk ids whose vectors must go too."""
        with transaction(self.db):
            chunk_ids = self._delete_chunks(document_id)
            row = self.db.execute("SELECT content_hash FROM documents WHERE id = ?", (document_id,)).fetchone()
            self.db.execute("DELETE FROM documents WHERE id = ?", (document_id,))
            if row is not None:
                self._drop_unowned_pages([row["content_hash"]])
        return chunk_ids

    def clear_chunks(self, document_id: int) -> list[int]:
        with transaction(self.db):
            return self._delete_chunks(document_id)

    def invalidate_all(self) -> None:
        """Drop every chunk and mark every document for re-indexing (a rebuild)."""
        with transaction(self.db):
            self.db.execute("DELETE FROM chunks_fts")
            self.db.execute("DELETE FROM chunks")
            self.db.execute("DELETE FROM vector_journal")  # the caller resets the whole collection
            self.db.execute("DELETE FROM copies")
            self.db.execute(
                "UPDATE documents SET status = ?, content_hash = '', chunk_count = 0, indexed_at = NULL",
                (DocumentStatus.PENDING,),
            )

    def rebuild_fts(self) -> None:
        """Make the keyword index match the chunk rows exactly."""
        with transaction(self.db):
            self.db.execute("DELETE FROM chunks_fts")
            self.db.execute(
                "INSERT INTO chunks_fts(rowid, title, heading, text)"
                " SELECT c.id, coalesce(d.title, ''), coalesce(c.heading, ''), c.text"
                " FROM chunks c JOIN documents d ON d.id = c.document_id"
            )

    def reset_document(self, document_id: int) -> list[int]:
        """Forget what is stored for a document so the next run indexes it from scratch;
        returns the chunk ids whose vectors must go too."""
        with transaction(self.db):
            removed = self._delete_chunks(document_id)
            self.db.execute(
                "UPDATE documents SET status = ?, content_hash = '', chunk_count = 0 WHERE id = ?",
                (DocumentStatus.PENDING, document_id),
            )
        return removed

    def _delete_chunks(self, document_id: int) -> list[int]:
        ids = [r[0] for r in self.db.execute("SELECT id FROM chunks WHERE document_id = ?", (document_id,))]
        self.db.executemany("DELETE FROM chunks_fts WHERE rowid = ?", ((i,) for i in ids))
        self.db.execute("DELETE FROM chunks WHERE document_id = ?", (document_id,))
        # Its text is changing or going: what it copied, or what copied it, is not known any more.
        self.db.execute("DELETE FROM copies WHERE document_id = ? OR original_id = ?", (document_id, document_id))
        self.db.executemany("INSERT OR IGNORE INTO vector_journal(chunk_id) VALUES (?)", ((i,) for i in ids))
        return ids

    # -- pages read by OCR, kept while their file is being read ------------------------------
    def keep_ocr_page(self, path: str, content_hash: str, page: OcrPage) -> None:
        read = page.read
        self.db.execute(
            "INSERT OR REPLACE INTO ocr_pages(content_hash, page, path, text, confidence, boxes)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (content_hash, page.page, path, read.text, read.confidence, read.boxes),
        )

    def ocr_pages(self, content_hash: str) -> list[OcrPage]:
        rows = self.db.execute(
            "SELECT page, text, confidence, boxes FROM ocr_pages WHERE content_hash = ? ORDER BY page", (content_hash,)
        )
        return [
            OcrPage(page=row["page"], read=OcrText(text=row["text"], confidence=row["confidence"], boxes=row["boxes"]))
            for row in rows
        ]

    def ocr_page_hashes(self) -> set[str]:
        return {row[0] for row in self.db.execute("SELECT DISTINCT content_hash FROM ocr_pages")}

    def drop_ocr_pages(self, *, under: str, keep: Iterable[tuple[str, str]] = ()) -> None:
        """Drop the pages read from files at or below ``under`` but those of (path, content hash) in ``keep``:
        the files still being read as they were."""
        prefix = under.rstrip("/") + "/"
        kept = set(keep)
        rows = self.db.execute(
            "SELECT DISTINCT path, content_hash FROM ocr_pages WHERE path = ? OR substr(path, 1, ?) = ?",
            (under, len(prefix), prefix),
        ).fetchall()
        with transaction(self.db):
            self.db.executemany(
                "DELETE FROM ocr_pages WHERE path = ? AND content_hash = ?",
                (tuple(row) for row in rows if tuple(row) not in kept),
            )

    def _drop_unowned_pages(self, hashes: Iterable[str]) -> None:
        self.db.executemany(
            "DELETE FROM ocr_pages WHERE content_hash = ? AND NOT EXISTS"
            " (SELECT 1 FROM documents WHERE content_hash = ocr_pages.content_hash)",
            ((content_hash,) for content_hash in hashes),
        )

    # -- the vector journal -------------------------------------------------------------------
    def journal_add(self, ids: Sequence[int]) -> None:
        with transaction(self.db):
            self.db.executemany("INSERT OR IGNORE INTO vector_journal(chunk_id) VALUES (?)", ((i,) for i in ids))

    def journal_clear(self, ids: Sequence[int]) -> None:
        with transaction(self.db):
            self.db.executemany("DELETE FROM vector_journal WHERE chunk_id = ?", ((i,) for i in ids))

    def journal(self) -> list[int]:
        return [row[0] for row in self.db.execute("SELECT chunk_id FROM vector_journal")]

    # -- chunks -------------------------------------------------------------------------------
    def stored_seqs(self, document_id: int) -> set[int]:
        rows = self.db.execute("SELECT seq FROM chunks WHERE document_id = ?", (document_id,))
        return {row[0] for row in rows}

    def add_chunks(self, items: Sequence[tuple[int, str | None, ChunkDraft]]) -> None:
        """Store (document id, document title, draft) triples in one transaction; their vectors
        are already stored, so their journal entries go in the same transaction."""
        with transaction(self.db):
            self.db.executemany(
                "DELETE FROM vector_journal WHERE chunk_id = ?", ((chunk_id(doc, d.seq),) for doc, _, d in items)
            )
            self.db.executemany(
                "INSERT OR REPLACE INTO chunks(id, document_id, seq, text, page, heading, start, end, context,"
                " ocr_confidence, ocr_boxes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    (chunk_id(doc, d.seq), doc, d.seq, d.text, d.page, d.heading, d.start, d.end, d.context,
                     d.ocr_confidence, d.ocr_boxes)
                    for doc, _, d in items
                ),
            )
            self.db.executemany(
                "DELETE FROM chunks_fts WHERE rowid = ?", ((chunk_id(doc, d.seq),) for doc, _, d in items)
            )
            self.db.executemany(
                "INSERT INTO chunks_fts(rowid, title, heading, text) VALUES (?, ?, ?, ?)",
                ((chunk_id(doc, d.seq), title or "", d.heading or "", d.text) for doc, title, d in items),
            )

    def chunks(self, ids: Iterable[int]) -> dict[int, StoredChunk]:
        found: dict[int, StoredChunk] = {}
        for batch, marks in _batches(ids):
            rows = self.db.execute(
                "SELECT c.*, d.path, d.title FROM chunks c JOIN documents d ON d.id = c.document_id"
                f" WHERE c.id IN ({marks})",
                batch,
            )
            for row in rows:
                columns = row.keys()  # ``in row`` would look among the values
                found[row["id"]] = StoredChunk(
                    id=row["id"], document_id=row["document_id"], path=row["path"], title=row["title"],
                    seq=row["seq"], text=row["text"], page=row["page"], heading=row["heading"],
                    start=row["start"], end=row["end"], context=row["context"],
                    # A registry opened read-only is not migrated: one made before OCR has no such columns.
                    ocr_confidence=row["ocr_confidence"] if "ocr_confidence" in columns else None,
                    ocr_boxes=row["ocr_boxes"] if "ocr_boxes" in columns else None,
                )
        return found

    def chunk_documents(self) -> list[tuple[int, int, float]]:
        """(chunk id, document id, when its document was indexed) for every passage of an indexed document."""
        rows = self.db.execute(
            "SELECT c.id, c.document_id, d.indexed_at FROM chunks c JOIN documents d ON d.id = c.document_id"
            " WHERE d.status = 'indexed' ORDER BY c.id"
        )
        return [(row[0], row[1], row[2] or 0.0) for row in rows]

    def document_texts(self) -> Iterator[tuple[int, str]]:
        """(document id, passage text) of every indexed document, a document's passages in reading order."""
        rows = self.db.execute(
            "SELECT c.document_id, c.text FROM chunks c JOIN documents d ON d.id = c.document_id"
            " WHERE d.status = 'indexed' ORDER BY c.document_id, c.seq"
        )
        for row in rows:
            yield row[0], row[1]

    def document_chunks(self, document_id: int) -> list[StoredChunk]:
        """A document's passages in reading order."""
        ids = [row[0] for row in self.db.execute(
            "SELECT id FROM chunks WHERE document_id = ? ORDER BY seq", (document_id,)
        )]
        found = self.chunks(ids)
        return [found[i] for i in ids if i in found]

    def replace_copies(self, originals: Mapping[int, int]) -> None:
        """Record which document each copy copies (copy id -> original id), forgetting the rest."""
        with transaction(self.db):
            self.db.execute("DELETE FROM copies")
            self.db.executemany(
                "INSERT INTO copies(document_id, original_id) SELECT ?, ? WHERE EXISTS"
                " (SELECT 1 FROM documents WHERE id = ?) AND EXISTS (SELECT 1 FROM documents WHERE id = ?)",
                ((copy, original, copy, original) for copy, original in originals.items()),
            )

    def originals(self, document_ids: Iterable[int]) -> dict[int, int]:
        """copy id -> original id, for those of ``document_ids`` that copy another document."""
        found: dict[int, int] = {}
        for batch, marks in _batches(document_ids):
            rows = self.db.execute(f"SELECT document_id, original_id FROM copies WHERE document_id IN ({marks})", batch)
            found.update((row[0], row[1]) for row in rows)
        return found

    def all_chunk_ids(self) -> set[int]:
        return {row[0] for row in self.db.execute("SELECT id FROM chunks")}

    def passages_with_terms(self, terms: Sequence[str]) -> tuple[dict[str, int], int]:
        """How many passages hold each term (as FTS5 tokenises it), and how many there are."""
        counts = {}
        for term in terms:
            try:
                sql = "SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH ?"
                counts[term] = self.db.execute(sql, (fts_any([term]),)).fetchone()[0]
            except sqlite3.OperationalError:
                counts[term] = 0
        return counts, self.db.execute("SELECT count(*) FROM chunks").fetchone()[0]

    def keyword_search(
        self, match: str, limit: int, document_ids: Sequence[int] | None = None, *, required: str | None = None
    ) -> list[tuple[int, float]]:
        """(chunk id, bm25 score; higher is better) for an FTS5 MATCH expression; with ``required``,
        only passages that also match that expression are scored."""
        sql = (
            "SELECT rowid, -bm25(chunks_fts, ?, ?, ?) AS score FROM chunks_fts WHERE chunks_fts MATCH ?"
        )
        params: list[Any] = [*FTS_WEIGHTS, match]
        if required is not None:
            # '+rowid': a plain rowid IN would make SQLite fetch each listed row through FTS5, re-matching
            # the whole expression for every one (seconds instead of milliseconds).
            sql += " AND +rowid IN (SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ?)"
            params.append(required)
        if document_ids is not None:
            marks = ",".join("?" * len(document_ids))
            sql += f" AND (rowid >> {SEQ_BITS}) IN ({marks})"
            params.extend(document_ids)
        sql += " ORDER BY bm25(chunks_fts, ?, ?, ?) LIMIT ?"
        params.extend([*FTS_WEIGHTS, limit])
        try:
            return [(row[0], row[1]) for row in self.db.execute(sql, params)]
        except sqlite3.OperationalError:
            return []  # a query FTS5 cannot parse finds nothing rather than failing the search

    # -- figures ------------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        row = self.db.execute(
            "SELECT count(*) AS documents,"
            " coalesce(sum(status = 'indexed'), 0) AS indexed,"
            " coalesce(sum(status = 'failed'), 0) AS failed,"
            " coalesce(sum(status = 'skipped'), 0) AS skipped,"
            " coalesce(sum(status = 'pending'), 0) AS pending FROM documents"
        ).fetchone()
        chunks = self.db.execute("SELECT count(*) FROM chunks").fetchone()[0]
        return {**dict(row), "chunks": chunks}


    def contents_stamp(self) -> str:
        """Changes whenever a document is indexed, indexed again or removed (``stamp`` is coarser)."""
        row = self.db.execute(
            "SELECT count(*), coalesce(max(indexed_at), 0) FROM documents WHERE status = 'indexed'"
        ).fetchone()
        return f"{row[0]}@{row[1]!r}"

    def stamp(self) -> str:
        """Changes whenever passages are added or removed: answers before and after it are compared."""
        row = self.db.execute(
            "SELECT (SELECT count(*) FROM chunks) AS chunks, (SELECT max(indexed_at) FROM documents) AS last"
        ).fetchone()
        return f"{row['chunks']}@{row['last'] or 0:.0f}"


def _batches(ids: Iterable[int], size: int = 500) -> Iterator[tuple[list[int], str]]:
    """The ids in batches small enough for one ``IN (...)``, each with its placeholders."""
    wanted = list(ids)
    for start in range(0, len(wanted), size):
        batch = wanted[start : start + size]
        yield batch, ",".join("?" * len(batch))


def _document(row: sqlite3.Row) -> DocumentInfo:
    return DocumentInfo(
        id=row["id"], path=row["path"], kind=row["kind"], title=row["title"], size=row["size"],
        mtime=row["mtime"], content_hash=row["content_hash"], status=DocumentStatus(row["status"]),
        reason=row["reason"], chunks=row["chunk_count"], pages=row["pages"], indexed_at=row["indexed_at"],
    )
