"""`hearth check` finds each kind of disagreement between the stores, and --repair mends it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from desktop.core.types import DocumentStatus
from desktop.services.indexing import Indexer
from desktop.services.integrity import check, repair
from desktop.services.retrieval import Retriever
from desktop.services.workspace import Workspace

REPO = Path(__file__).resolve().parents[1]


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
    assert _kinds(workspace) == {"missing_vectors", "orphan_vectors", "fts_mismatch", "bad_document"}
    assert check(workspace).pending_paths == [recipes.path]

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


def test_an_interrupted_run_is_pending_not_damage_and_the_next_run_finishes_it(tmp_path: Path) -> None:
    home, corpus = tmp_path / "home", tmp_path / "corpus"
    corpus.mkdir()
    for n in range(30):
        (corpus / f"note-{n:02}.md").write_text(f"# Note {n}\n\n" + f"Paragraph about lanterns number {n}. " * 400)
    env = {**os.environ, "HEARTH_HOME": str(home), "HEARTH_INDEX__EMBED_BATCH_SIZE": "8"}
    run = subprocess.Popen([sys.executable, "-m", "desktop", "index", "--quiet", str(corpus)], cwd=REPO, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait_for_a_document_half_indexed(home / "index" / "registry.sqlite3", run)
    finally:
        os.killpg(run.pid, signal.SIGKILL)
        run.wait()

    def hearth(*args: str) -> dict[str, Any]:
        done = subprocess.run([sys.executable, "-m", "desktop", *args, "--json"], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout + done.stderr
        return json.loads(done.stdout)

    after_kill = hearth("check")
    assert after_kill["ok"] is True and after_kill["problems"] == [], after_kill
    assert after_kill["pending"] >= 1 and "hearth index" in after_kill["hint"]
    assert hearth("index", str(corpus))["failed"] == []
    finished = hearth("check")
    assert finished["ok"] and finished["pending"] == 0 and finished["hint"] is None
    assert hearth("status")["documents"] == 30


def _wait_for_a_document_half_indexed(registry: Path, run: subprocess.Popen[bytes]) -> None:
    """Until some passages of a still-pending document are stored (polled read-only, with a deadline)."""
    deadline = time.monotonic() + 300
    query = ("SELECT count(*) FROM documents d WHERE d.status = 'pending' "
             "AND EXISTS (SELECT 1 FROM chunks c WHERE c.document_id = d.id)")
    while time.monotonic() < deadline:
        assert run.poll() is None, "the index run ended before it could be interrupted"
        if registry.exists():
            with contextlib.suppress(sqlite3.OperationalError), sqlite3.connect(f"{registry.as_uri()}?mode=ro",
                                                                                uri=True) as db:
                if db.execute(query).fetchone()[0]:
                    return
        time.sleep(0.05)
    raise AssertionError("no document was ever half indexed")


def test_second_writer_is_refused_with_a_clear_message(hearth_home: Path) -> None:
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

