"""Near-duplicate documents on real indexed files (real parsing, embedder and Chroma): the same note
as Markdown and HTML and an edited copy are grouped, a note on the same subject is not; forgetting the
copies through the library's forget path leaves the original searchable and the counts right."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from desktop.services import duplicates, indexing
from desktop.services.duplicates import (
    HELD,
    MIN_SHINGLES,
    document_shingles,
    duplicate_groups,
    find_duplicates,
    record_copies,
)
from desktop.services.indexing import Indexer
from desktop.services.retrieval import Retriever
from tests.planted import BOILER, BOILER_SERVICE, write_copies


def test_copies_are_grouped_and_forgetting_them_keeps_the_original(workspace: Any, tmp_path: Path) -> None:
    files = write_copies(tmp_path / "notes")
    other = tmp_path / "notes" / "garden.md"
    other.write_text("# Garden\n\n" + "Water the tomatoes deeply twice a week and pinch out the side shoots. " * 6,
                     encoding="utf-8")
    Indexer(workspace).index([tmp_path / "notes"])

    report = find_duplicates(workspace)
    assert report.unavailable is None and len(report.groups) == 1
    (group,) = report.groups
    members = {group.kept, *(c.path for c in group.copies)}
    assert members == {str(files["markdown"]), str(files["html"]), str(files["edited"])}
    assert group.kept in (str(files["markdown"]), str(files["html"]))  # it holds the others' text, not the edit
    assert all(HELD <= c.held <= 1.0 for c in group.copies)
    edited = next(c for c in group.copies if c.path == str(files["edited"]))
    assert edited.held < 1.0  # a few words changed

    copies = [Path(c.path) for c in group.copies]
    assert Indexer(workspace).forget(copies) == 2  # the library page's forget action runs this
    assert all(path.is_file() for path in copies)  # the files stay on disk
    hits = Retriever(workspace).search("error code F22 water pressure too low", 5)
    assert hits and hits[0].path == group.kept
    found = {h.path for h in hits} | {p for h in hits for p in h.also_in}
    assert not found & {str(p) for p in copies}
    counts = workspace.registry.counts()
    kept = [d for d in workspace.registry.documents()]
    assert counts["documents"] == counts["indexed"] == 3
    assert counts["chunks"] == sum(d.chunks for d in kept) == workspace.vectors.count()
    assert find_duplicates(workspace).groups == []


def test_index_runs_record_the_copies_for_search_only_when_the_passages_changed(
    workspace: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = write_copies(tmp_path / "notes")
    compared: list[int | None] = []

    def counted(*args: Any) -> int | None:
        compared.append(record_copies(*args))
        return compared[-1]

    monkeypatch.setattr(indexing, "record_copies", counted)
    Indexer(workspace).index([tmp_path / "notes"])
    ids = {Path(d.path): d.id for d in workspace.registry.documents()}
    originals = workspace.registry.originals(ids.values())
    assert set(originals) | set(originals.values()) == {ids[files[k]] for k in ("markdown", "html", "edited")}
    assert ids[files["related"]] not in originals  # on the same subject, not a copy

    Indexer(workspace).index([tmp_path / "notes"])
    assert len(compared) == 1  # nothing changed: not compared again
    files["edited"].write_text("An unrelated text now: " + " ".join(BOILER_SERVICE), encoding="utf-8")
    Indexer(workspace).index([tmp_path / "notes"])
    assert len(compared) == 2 and ids[files["edited"]] not in workspace.registry.originals(ids.values())

    def fails(*args: Any) -> None:
        raise MemoryError("a library too large for this machine")

    files["edited"].write_text("The boiler\n\n" + "\n\n".join(BOILER) + "\n", encoding="utf-8")
    monkeypatch.setattr(indexing, "record_copies", fails)
    report = Indexer(workspace).index([tmp_path / "notes"])  # what was indexed stands
    assert report.updated == 1 and workspace.registry.counts()["pending"] == 0
    monkeypatch.setattr(indexing, "record_copies", counted)
    Indexer(workspace).index([tmp_path / "notes"])  # nothing changed since, but the copies are found now
    originals = workspace.registry.originals(ids.values())
    assert len(compared) == 3 and ids[files["edited"]] in {*originals, *originals.values()}

    monkeypatch.setattr(duplicates, "MAX_COPY_PASSAGES", 0)
    assert record_copies(workspace) is None and workspace.registry.originals(ids.values()) == {}


def test_too_little_to_compare_is_said(workspace: Any, tmp_path: Path) -> None:
    assert "empty" in (find_duplicates(workspace).unavailable or "")
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "one.md").write_text("The boiler pressure should stay between one and two bar. " * 5, encoding="utf-8")
    Indexer(workspace).index([folder])
    assert "one document" in (find_duplicates(workspace).unavailable or "")
    (folder / "short.md").write_text("See the manual.", encoding="utf-8")
    Indexer(workspace).index([folder])
    assert "too little text" in (find_duplicates(workspace).unavailable or "")


def test_a_library_of_identical_passages_is_one_group(workspace: Any, tmp_path: Path) -> None:
    folder = tmp_path / "same"
    folder.mkdir()
    text = " ".join(BOILER[:2])
    for n in range(60):  # more than BOILERPLATE: an exact copy is found however many there are
        (folder / f"note-{n:02}.txt").write_text(text, encoding="utf-8")
    Indexer(workspace).index([folder])
    (group,) = find_duplicates(workspace).groups
    first = min(workspace.registry.documents(), key=lambda d: d.id)
    assert group.kept == first.path and len(group.copies) == 59 and {c.held for c in group.copies} == {1.0}


def _words(rng: random.Random, count: int) -> str:
    return " ".join(f"w{rng.randrange(100_000)}" for _ in range(count))


def test_pages_built_from_a_shared_part_are_not_copies() -> None:
    """The Git docs' shape: two pages each include the same long options list, and each page has a
    source file holding its own text. Each page is grouped with its source; the pages are not grouped
    with each other (each is mostly the shared list), nor is the list with either page."""
    rng = random.Random(0)
    shared, own_a, own_b = _words(rng, 900), _words(rng, 120), _words(rng, 150)
    texts = {1: own_a + " " + shared, 2: own_a, 3: own_b + " " + shared, 4: own_b, 5: shared}
    groups = duplicate_groups(document_shingles(sorted(texts.items())))
    assert sorted((kept, sorted(d for d, _ in copies)) for kept, copies in groups) == [(1, [2]), (3, [4])]


def test_a_near_copy_is_grouped_with_its_original_and_a_short_text_is_not_compared() -> None:
    rng = random.Random(1)
    original = _words(rng, 300).split()
    edited = list(original)
    for i in rng.sample(range(300), 4):
        edited[i] = "changed"
    texts = {1: " ".join(original), 2: " ".join(edited), 3: _words(rng, 300), 4: "too short", 5: "too short"}
    shingles = document_shingles(sorted(texts.items()))
    assert len(shingles[4]) < 20 and np.array_equal(shingles[4], shingles[5])
    groups = duplicate_groups({d: s for d, s in shingles.items() if len(s) >= 20})
    assert [(kept, [d for d, _ in copies]) for kept, copies in groups] == [(1, [2])]
    assert 0.9 < groups[0][1][0][1] < 1.0


GIT_DOCS = Path("/usr/share/doc/git-doc")


@pytest.mark.slow
@pytest.mark.skipif(not GIT_DOCS.is_dir(), reason="the Git docs are installed by the set-up (dev set 'git')")
def test_the_git_docs_pages_are_grouped_with_their_sources_and_never_with_each_other() -> None:
    """Every page of the Git docs is there as HTML and as its AsciiDoc source; the HTML expands the
    options lists the sources include, so many pages are mostly the same lists. Read by Hearth's own
    loaders (the texts its passages are cut from)."""
    from desktop.ingest.loaders import kind_for, load_document

    # index.html links to git.html: the walker reads a linked file once, and so does this test.
    files = sorted(
        p for p in GIT_DOCS.rglob("*") if p.is_file() and not p.is_symlink() and kind_for(p) in ("html", "text")
    )
    texts = {n: load_document(p).text for n, p in enumerate(files, 1)}
    shingles = {n: s for n, s in document_shingles(sorted(texts.items())).items() if len(s) >= MIN_SHINGLES}
    groups = duplicate_groups(shingles)
    page = {n: p.with_suffix("").relative_to(GIT_DOCS) for n, p in enumerate(files, 1)}
    pages = {page[n] for n, p in enumerate(files, 1) if p.suffix == ".html"}
    paired = pages & {page[n] for n, p in enumerate(files, 1) if p.suffix == ".txt"}
    grouped_pages = [{page[d] for d in (kept, *(c for c, _ in copies))} & pages for kept, copies in groups]
    mixed = [sorted(map(str, found)) for found in grouped_pages if len(found) > 1]
    assert not mixed  # never two pages in one group
    together = {
        next(iter(found)) for (kept, copies), found in zip(groups, grouped_pages, strict=True)
        if found and sum(page[d] == next(iter(found)) for d in (kept, *(c for c, _ in copies))) == 2
    }
    print(f"{len(together)} of {len(paired)} pages grouped with their source, in {len(groups)} groups")
    assert len(together) >= 0.95 * len(paired)


def test_hearth_duplicates_json(tmp_path: Path, in_process: None, capsys: pytest.CaptureFixture[str]) -> None:
    from desktop import cli

    assert cli.main(["duplicates", "--json"]) == 0
    assert "empty" in json.loads(capsys.readouterr().out)["unavailable"]
    files = write_copies(tmp_path / "notes")
    assert cli.main(["index", str(tmp_path / "notes"), "--json"]) == 0
    capsys.readouterr()
    assert cli.main(["duplicates", "--json"]) == 0
    (group,) = json.loads(capsys.readouterr().out)["groups"]
    copies = {group["kept"], *(c["path"] for c in group["copies"])}
    assert copies == {str(files[k]) for k in ("markdown", "html", "edited")}
    assert cli.main(["duplicates"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("1 group of near-duplicates") and "keep" in out and "copy" in out
