"""Hybrid retrieval earns its place: exact identifiers that vectors blur are found."""

from __future__ import annotations

import random
from pathlib import Path

from desktop.services.indexing import Indexer
from desktop.services.retrieval import Mode, Retriever
from desktop.services.workspace import Workspace


def test_hybrid_finds_exact_identifiers_that_vectors_blur(workspace: Workspace, tmp_path: Path) -> None:
    rng = random.Random(3)
    folder = tmp_path / "tickets"
    folder.mkdir()
    codes = sorted({f"TCK-{rng.randint(10000, 99999)}" for _ in range(40)})
    for code in codes:
        (folder / f"{code}.txt").write_text(
            f"Support ticket {code}. The customer reports that the printer jams when printing double-sided "
            f"pages. Status: {rng.choice(['open', 'waiting', 'closed'])}.\n"
        )
    Indexer(workspace).index([folder])
    retriever = Retriever(workspace)
    hybrid_top1 = vector_top1 = 0
    for code in codes:
        question = f"What is the status of ticket {code}?"
        hybrid_top1 += retriever.search(question, 1, mode=Mode.HYBRID)[0].path.endswith(f"{code}.txt")
        vector_top1 += retriever.search(question, 1, mode=Mode.VECTOR)[0].path.endswith(f"{code}.txt")
    print(f"exact-identifier questions: hybrid top-1 {hybrid_top1}/{len(codes)}, "
          f"vector top-1 {vector_top1}/{len(codes)}")
    assert hybrid_top1 >= 0.9 * len(codes)
    assert hybrid_top1 >= vector_top1 + len(codes) // 2


def test_keyword_side_ignores_stop_words(workspace: Workspace, tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "filler.txt").write_text("How does it do what it does? It is what it is, and that is how it does it.\n")
    (folder / "boiler.txt").write_text("Bleed the radiators before winter so the boiler runs efficiently.\n")
    Indexer(workspace).index([folder])
    hits = Retriever(workspace).search("how does it do the boiler bleeding?", 2, mode=Mode.KEYWORD)
    assert hits[0].path.endswith("boiler.txt")
