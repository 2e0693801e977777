"""``hearth check``: do the registry, the FTS table and the Chroma collection agree? And mend them.

The registry is the source of truth. Vectors without a chunk row are orphans (deleted); chunk
rows without a vector are re-embedded from their stored text; FTS rows are rebuilt from chunk
rows; a document marked indexed whose chunk count disagrees is indexed again from its file.

An interrupted run is a normal state, not damage: documents left unfinished (and vectors written
by a batch whose rows a crash kept from committing, still in the journal) are counted as pending,
and the next `hearth index` or `check --repair` resumes them.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, computed_field

from desktop.core.types import DocumentStatus, embedding_text
from desktop.services.indexing import Indexer
from desktop.services.workspace import Workspace
from desktop.store.registry import SEQ_BITS


class Problem(BaseModel):
    kind: str  # orphan_vectors | missing_vectors | fts_mismatch | bad_document
    detail: str
    count: int = 1
    path: str | None = None  # the document concerned, if one


class CheckReport(BaseModel):
    ok: bool  # registry, keyword index and vectors agree; pending documents do not make it false
    problems: list[Problem]
    pending: int = 0  # documents an interrupted run left unfinished
    pending_paths: list[str] = []
    repaired: bool = False

    @computed_field  # type: ignore[prop-decorator]
    @property
    def hint(self) -> str | None:
        if not self.pending:
            return None
        return (f"{self.pending} document(s) were left unfinished by an interrupted run; "
                "`hearth index` or `hearth check --repair` finishes them.")


def check(workspace: Workspace) -> CheckReport:
    problems: list[Problem] = []
    registry = workspace.registry
    chunk_ids = registry.all_chunk_ids()
    vector_ids = workspace.vectors.all_ids()
    settling = set(registry.journal())  # written by a batch a crash interrupted: the next writer settles them
    if orphans := vector_ids - chunk_ids - settling:
        problems.append(Problem(kind="orphan_vectors", detail="vectors with no passage in the registry",
                                count=len(orphans)))
    if missing := chunk_ids - vector_ids:
        problems.append(Problem(kind="missing_vectors", detail="passages with no vector", count=len(missing)))
    fts_ids = {row[0] for row in registry.db.execute("SELECT rowid FROM chunks_fts")}
    if fts_ids != chunk_ids:
        problems.append(Problem(kind="fts_mismatch", detail="keyword index differs from the passages",
                                count=len(fts_ids ^ chunk_ids)))
    per_document: dict[int, int] = {}
    for chunk in chunk_ids:
        per_document[chunk >> SEQ_BITS] = per_document.get(chunk >> SEQ_BITS, 0) + 1
    pending: list[str] = []
    for document in registry.documents():
        stored = per_document.get(document.id, 0)
        if document.status == DocumentStatus.INDEXED and (stored == 0 or stored != document.chunks):
            problems.append(Problem(kind="bad_document", path=document.path,
                                    detail=f"marked indexed with {stored} of {document.chunks} passages"))
        elif document.status == DocumentStatus.PENDING:
            pending.append(document.path)
    return CheckReport(ok=not problems, problems=problems, pending=len(pending), pending_paths=pending)


def repair(workspace: Workspace) -> CheckReport:
    """Mend every problem ``check`` finds, then check again."""
    registry = workspace.registry
    chunk_ids = registry.all_chunk_ids()
    vector_ids = workspace.vectors.all_ids()
    workspace.settle()
    if orphans := sorted(vector_ids - chunk_ids):
        workspace.vectors.delete(orphans)
    if missing := sorted(chunk_ids - vector_ids):
        stored = registry.chunks(missing)
        for start in range(0, len(missing), 256):
            ids = [i for i in missing[start : start + 256] if i in stored]
            vectors = workspace.embedder.embed([embedding_text(stored[i].context, stored[i].text) for i in ids])
            workspace.vectors.upsert(ids, vectors, [stored[i].document_id for i in ids])
    registry.rebuild_fts()
    before = check(workspace)
    damaged = {p.path for p in before.problems if p.path} | set(before.pending_paths)
    for path in damaged:
        document = registry.document_by_path(path)
        if document is not None and document.status == DocumentStatus.INDEXED:
            workspace.drop_vectors(registry.reset_document(document.id))
    if present := [Path(p) for p in sorted(damaged) if Path(p).exists()]:
        Indexer(workspace).index(present)
    if gone := [Path(p) for p in sorted(damaged) if not Path(p).exists()]:
        Indexer(workspace).forget(gone)
    return check(workspace).model_copy(update={"repaired": True})
