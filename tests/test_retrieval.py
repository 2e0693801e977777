"""Hybrid retrieval earns its place: exact identifiers that vectors blur are found."""

from __future__ import annotations

import random
from pathlib import Path

from desktop.core.types import ChunkDraft
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


def _keyword_corpus(workspace: Workspace, texts: list[str]) -> None:
    """Passages straight into the registry: the keyword side needs no vectors."""
    for n, text in enumerate(texts):
        document = workspace.registry.start_document(
            path=f"/notes/{n:03}.txt", kind="text", size=1, mtime=0.0, content_hash=str(n)
        )
        workspace.registry.add_chunks([(document, None, ChunkDraft(seq=0, text=text, start=0, end=len(text)))])
        workspace.registry.mark_indexed(document)


def test_passages_holding_only_common_terms_are_not_scored(workspace: Workspace) -> None:
    # "kettle" is in every passage, "descaling" in 2 of 60: only those two are worth scoring.
    _keyword_corpus(workspace, [
        f"Kettle note {n}." + (" Descaling with citric acid." if n in (7, 41) else " Boils water quickly.")
        for n in range(60)
    ])
    hits = Retriever(workspace).search("kettle descaling", 10, mode=Mode.KEYWORD)
    assert sorted(hit.path for hit in hits) == ["/notes/007.txt", "/notes/041.txt"]


def test_when_every_term_is_common_the_rarest_decides_what_is_scored(workspace: Workspace) -> None:
    _keyword_corpus(workspace, [f"Kettle note {n}." + (" Water." if n % 2 else "") for n in range(60)])
    hits = Retriever(workspace).search("kettle water", 50, mode=Mode.KEYWORD)
    assert len(hits) == 30 and all(int(hit.path[-7:-4]) % 2 for hit in hits)


def test_copies_of_one_text_take_one_place_and_name_every_file(workspace: Workspace, tmp_path: Path) -> None:
    folder = tmp_path / "manual"
    folder.mkdir()
    rebase = ("git rebase --update-refs automatically force-updates any branches that point to commits that are "
              "being rebased. Branches that are checked out in a worktree are not updated in this way.")
    (folder / "git-rebase.txt").write_text(f"git-rebase(1)\n\n{rebase}\n")
    (folder / "git-rebase.html").write_text(f"<html><body><h1>git-rebase(1)</h1><p>{rebase}</p></body></html>")
    (folder / "git-merge.txt").write_text("git merge joins two or more development histories together.\n")
    (folder / "git-tag.txt").write_text("git tag creates, lists, deletes or verifies a tag object signed with GPG.\n")
    Indexer(workspace).index([folder])
    hits = Retriever(workspace).search("Which branches does rebase --update-refs move?", 3)
    assert {hits[0].path, *hits[0].also_in} == {str(folder / "git-rebase.txt"), str(folder / "git-rebase.html")}
    assert len(hits[0].also_in) == 1
    assert not any(hit.path.startswith(str(folder / "git-rebase")) for hit in hits[1:])  # the copy took no place


def test_a_page_and_its_source_take_one_place_when_their_passages_are_cut_apart(
    workspace: Workspace, tmp_path: Path
) -> None:
    folder = tmp_path / "manual"
    folder.mkdir()
    rules = " ".join(f"Rule {n}: the inspector reads gauge G{n} and logs it as R{7 * n}." for n in range(1, 61))
    preface = " ".join(f"Preface note P{n} applies to site S{n}." for n in range(1, 16))
    # The page holds a preface its source does not, so every passage of one straddles two of the other:
    # no passage copies another, but the source is wholly in the page.
    page, source = folder / "inspection.html", folder / "inspection.txt"
    page.write_text(f"<html><body><h1>Inspection rules</h1><p>{preface}</p><p>{rules}</p></body></html>")
    source.write_text(f"Inspection rules\n\n{rules}\n")
    (folder / "kettle.txt").write_text("The kettle is descaled with citric acid every month. " * 5)
    Indexer(workspace).index([folder])
    question = "What does the inspector log for gauge G33?"

    hits = Retriever(workspace).search(question, 3)
    assert {hits[0].path, *hits[0].also_in} == {str(page), str(source)}
    assert not any(hit.path == str(page) for hit in hits[1:])  # the other copy took no place of its own

    revised = " ".join(f"Rule {n}: the auditor reads meter M{n} and files it as F{9 * n}." for n in range(1, 61))
    source.write_text(f"Inspection rules, revised\n\n{revised}\n")
    Indexer(workspace).index([folder])  # no longer a copy: the two take a place each again
    hits = Retriever(workspace).search(question, 3)
    assert not hits[0].also_in and {hit.path for hit in hits} >= {str(page), str(source)}


def test_an_empty_library_finds_nothing_in_any_mode(workspace: Workspace) -> None:
    """The vector store answers an empty collection with no ids (a search no longer counts it first)."""
    for mode in Mode:
        assert Retriever(workspace).search("how do I descale the kettle?", 5, mode=mode) == []
