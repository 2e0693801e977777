"""`hearth check` finds each kind of disagreement between the stores, and --repair mends it."""

from __future__ import annotations

from pathlib import Path

from desktop.core.types import DocumentStatus
from desktop.services.indexing import Indexer
from desktop.services.integrity import check, repair
from desktop.services.retrieval import Retriever
from desktop.services.workspace import Workspace


def _kinds(workspace: Workspace) -> set[str]:
    return {p.kind for p in check(workspace).problems}


def test_clean_index_is_ok(workspace: Workspace, corpus: Path) -> None:
    Indexer(workspace).index([corpus])
    assert check(workspace).ok


def test_each_damage_is_found_and_repaired(workspace: Workspace, corpus: Path) -> None:
    Indexer(workspace).index([corpus])
    registry = workspace.registry
    kettle = registry.document_by_path(str(corpus / "kettle.txt"))
    garden = registry.document_by_path(str(corpus / "garden.md"))
    recipes = registry.document_by_path(str(corpus / "recipes.docx"))
    assert kettle and garden and recipes
    kettle_ids = sorted(i for i in registry.all_chunk_ids() if i >> 20 == kettle.id)
    # a vector lost, an orphan vector, an FTS row lost, a document marked indexed without chunks,
    # and one left unfinished
    workspace.vectors.delete(kettle_ids[:1])
    workspace.vectors.upsert([999 << 20], workspace.embedder.embed(["orphan"]), [999])
    registry.db.execute("DELETE FROM chunks_fts WHERE rowid = ?", (kettle_ids[0],))
    registry.db.execute("DELETE FROM chunks WHERE document_id = ?", (garden.id,))
    registry.db.execute("UPDATE documents SET status = ? WHERE id = ?", (DocumentStatus.PENDING, recipes.id))
    assert _kinds(workspace) == {"missing_vectors", "orphan_vectors", "fts_mismatch", "bad_document", "unfinished"}

    report = repair(workspace)
    assert report.ok and report.repaired, report.problems
    assert Retriever(workspace).search("compost heap", 1)[0].path.endswith("garden.md")
    assert Retriever(workspace).search("KX-409", 1)[0].path.endswith("kettle.txt")


def test_repair_forgets_a_damaged_document_whose_file_is_gone(workspace: Workspace, corpus: Path) -> None:
    Indexer(workspace).index([corpus])
    garden = workspace.registry.document_by_path(str(corpus / "garden.md"))
    assert garden
    workspace.registry.db.execute("UPDATE documents SET status = 'pending' WHERE id = ?", (garden.id,))
    (corpus / "garden.md").unlink()
    assert repair(workspace).ok
    assert workspace.registry.document_by_path(str(corpus / "garden.md")) is None


def test_second_writer_is_refused_with_a_clear_message(hearth_home: Path) -> None:
    import subprocess
    import sys

    first = Workspace(hearth_home, exclusive=True)
    same_process = Workspace(hearth_home, exclusive=True)  # the window's other worker threads
    script = (
        "from pathlib import Path; from desktop.services.workspace import Workspace\n"
        f"Workspace(Path({str(hearth_home)!r}), exclusive=True)\n"
    )
    other = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert other.returncode != 0 and "Another Hearth is using" in other.stderr
    same_process.close()
    first.close()
    again = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr

