"""Hybrid search is never worse than vectors alone: `hearth eval --compare` on a fixed slice of each dev corpus.

The full corpora take minutes to index (``make eval`` does that); here each corpus is cut to the
dev questions whose relevant pages are small, plus a fixed spread of other pages as distractors,
so the comparison runs in the test suite and fails if fusion ever drops below vectors alone.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from desktop import cli
from desktop.services import evaluation

EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval"
CORPORA = {
    "sqlite": (EVAL / "sqlite_docs_qa.jsonl", Path("/usr/share/doc/sqlite3")),
    "git": (EVAL / "git_docs_qa.jsonl", Path("/usr/share/doc/git-doc")),
}
RELEVANT_BYTES = 40_000  # a question is kept if one of its relevant files is this small
DISTRACTORS = 30
DISTRACTOR_BYTES = 30_000
TOLERANCE = 0.01  # recall@5 hybrid may trail vector-only by at most this, overall
EXTENSIONS = (".html", ".txt")


def _slice(questions_file: Path, root: Path, into: Path) -> Path:
    """Copy the chosen pages below ``into``; the question file for them.

    A question scores a hit on any of its relevant files, so each keeps only its smallest one (the
    Git corpus holds every page twice, as HTML and as its source): embedding is the test's cost."""
    question_set = evaluation.load_set(questions_file, root)  # the dev corpus must be installed (make system)
    size = {r: (root / r).stat().st_size for q in question_set.questions for r in q.relevant}
    kept = [
        q.model_copy(update={"relevant": [min(q.relevant, key=size.__getitem__)]})
        for q in question_set.questions if min(size[r] for r in q.relevant) <= RELEVANT_BYTES
    ]
    relevant = {r for q in kept for r in q.relevant}
    others = sorted(
        str(p.relative_to(root)) for p in root.rglob("*")
        if p.suffix in EXTENSIONS and p.is_file() and str(p.relative_to(root)) not in size
        and p.stat().st_size <= DISTRACTOR_BYTES
    )
    distractors = others[:: max(1, len(others) // DISTRACTORS)][:DISTRACTORS]
    for name in sorted(relevant) + distractors:
        (into / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / name, into / name)
    sliced = into.parent / f"{into.name}.jsonl"
    sliced.write_text("".join(q.model_dump_json() + "\n" for q in kept), encoding="utf-8")
    return sliced


@pytest.mark.slow
@pytest.mark.parametrize("corpus", CORPORA)
def test_hybrid_is_not_below_vector_only(
    corpus: str, tmp_path: Path, in_process: None, capsys: pytest.CaptureFixture[str]
) -> None:
    questions_file, root = CORPORA[corpus]
    folder = tmp_path / corpus
    questions = _slice(questions_file, root, folder)
    assert cli.main(["index", "--quiet", str(folder)]) == 0
    capsys.readouterr()
    assert cli.main(["eval", str(questions), "--root", str(folder), "--compare", "vector", "hybrid", "--json"]) == 0
    (report,) = json.loads(capsys.readouterr().out)["sets"]
    assert report["n"] >= 10, "too few questions to compare"
    vector, hybrid = report["summaries"]["vector"], report["summaries"]["hybrid"]
    print(f"{corpus} slice, {report['n']} questions: recall@5 vector {vector['recall@5']:.3f}, "
          f"hybrid {hybrid['recall@5']:.3f}; mrr vector {vector['mrr']:.3f}, hybrid {hybrid['mrr']:.3f}")
    assert hybrid["recall@5"] >= vector["recall@5"] - TOLERANCE
    for kind, figures in report["by_kind"]["hybrid"].items():
        lost = (report["by_kind"]["vector"][kind]["recall@5"] - figures["recall@5"]) * figures["n"]
        assert lost <= 1 + 1e-9, f"{kind} questions lost {lost:.0f} to fusion"
