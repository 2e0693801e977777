"""Calibrate the two thresholds of desktop/services/attribution.py on the dev sets, by fixed rules.

Needs a data folder (HEARTH_HOME) holding both dev corpora (see ../shared/eval/README.md).

* Support (is an answer sentence backed by a passage sentence?). Positives: each question's gold
  answer against the passage holding its evidence phrase (its best sentence against the best
  candidate sentence, as attribution does). Negatives: the sentences the default model writes when
  asked each question *without* the passages (plain chat, greedy), against the passages retrieved
  for that question: fluent, on-topic text written without the sources, as a hallucination is.
  Rule: the threshold that maximises Youden's J (true-positive rate minus false-positive rate).
  Reported alongside, the two one-sided rules tried first: the 95th percentile of the gold answer
  against the next question's passages (off-topic negatives: far too lenient on on-topic text) and
  the 95th percentile of the sentences written without sources (too strict: many of those restate,
  correctly, what the passages say, so they are not all negatives).
* Retrieval confidence (is any passage close enough to answer from?). Positives: each question
  searched within its own corpus. Negatives: the same question searched within the other corpus
  (the dev sets have no unanswerable questions; another subject's corpus stands in for them). The
  score is the best cosine similarity between the question and the passages' stored vectors. Rule:
  the 2.5th percentile of the positives (97.5% of answerable questions go on to the model).

Nothing is chosen question by question. The model's answers without sources are kept in
``--answers FILE`` (written the first time, read after), so the figures can be recomputed without
asking the model again. Run:
``HEARTH_HOME=... .venv/bin/python benchmarks/calibrate_answers.py --answers unsourced.json``
(about 10 minutes the first time). Prints the distributions, the thresholds and what they do, then
one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from desktop.core.offline import enforce_offline
from desktop.core.types import Passage
from desktop.services import attribution
from desktop.services.answering import Answerer, AnswerFinished, to_passages
from desktop.services.evaluation import EvalQuestion, QuestionSet, load_set
from desktop.services.home import Home
from desktop.services.retrieval import Retriever
from desktop.services.workspace import Workspace

SETS = {
    "sqlite": ("sqlite_docs_qa.jsonl", "/usr/share/doc/sqlite3"),
    "git": ("git_docs_qa.jsonl", "/usr/share/doc/git-doc"),
}
CONFIDENCE_QUANTILE = 2.5  # of positives


def _normal(text: str) -> str:
    return " ".join(text.lower().split())


def _evidence_passage(workspace: Workspace, question: EvalQuestion, root: Path) -> Passage | None:
    """The stored passage of a relevant file that holds the evidence phrase."""
    phrase = _normal(question.evidence or "")
    for relevant in question.relevant:
        document = workspace.registry.document_by_path(os.path.join(root, relevant))
        if document is None or not phrase:
            continue
        rows = workspace.registry.db.execute("SELECT id FROM chunks WHERE document_id = ?", (document.id,))
        chunks = workspace.registry.chunks([row["id"] for row in rows])
        for chunk in chunks.values():
            if phrase in _normal(chunk.text):
                return Passage(n=1, chunk_id=chunk.id, document_id=chunk.document_id, path=chunk.path,
                               text=chunk.text, score=1.0)
    return None


def _support(text: str, passages: list[Passage], workspace: Workspace, question: str) -> list[float]:
    """For each checkable sentence of ``text`` (to ``question``), its best support score by any sentence
    of ``passages``."""
    sentences = [
        text[s.start : s.end] for s in attribution.sentence_spans(text)
        if len(attribution.content_words(text[s.start : s.end])) >= attribution.MIN_CONTENT_WORDS
    ]
    candidates = attribution.Candidates.of(passages)
    scores = attribution.support_scores(
        sentences, candidates.texts, candidates.words, workspace.embedder.embed, question=question
    )
    return [float(row.max()) if row.size else 0.0 for row in scores]


def _without_sources(answerer: Answerer, question: str) -> str:
    """What the model says to the question in plain chat, without any passage."""
    finished = [e for e in answerer.ask(question, rag=False) if isinstance(e, AnswerFinished)]
    return finished[-1].message.text


def _unsourced_answers(sets: dict[str, QuestionSet], path: Path, max_tokens: int) -> dict[str, str]:
    """question -> the model's answer without sources, from ``path`` or asked now and kept there."""
    if path.is_file():
        return dict(json.loads(path.read_text(encoding="utf-8")))
    home = Home()
    settings = home.settings.value
    home.settings.replace(settings.model_copy(update={"generation": settings.generation.model_copy(
        update={"temperature": 0.0, "seed": 42, "max_tokens": max_tokens})}))
    with tempfile.TemporaryDirectory() as scratch:
        answerer = home.answerer(workspace=home.workspace(), conversations=home.conversations(Path(scratch) / "c.db"))
        try:
            answers = {q.question: _without_sources(answerer, q.question) for s in sets.values() for q in s.questions}
        finally:
            answerer.close()
    path.write_text(json.dumps(answers, indent=1, ensure_ascii=False), encoding="utf-8")
    return answers


def youden(positives: list[float], negatives: list[float]) -> tuple[float, float, float]:
    """(threshold, true-positive rate, false-positive rate) maximising TPR − FPR."""
    best = (1.0, 0.0, 0.0)
    for threshold in sorted(set(positives) | set(negatives)):
        tpr = float(np.mean(np.array(positives) >= threshold))
        fpr = float(np.mean(np.array(negatives) >= threshold))
        if tpr - fpr > best[1] - best[2]:
            best = (threshold, tpr, fpr)
    return best


def auc(positives: list[float], negatives: list[float]) -> float:
    """The chance that a positive scores above a negative (ties count half)."""
    p, n = np.array(positives)[:, None], np.array(negatives)[None, :]
    return float(np.mean((p > n) + 0.5 * (p == n)))


def _confidence(workspace: Workspace, question: str, within: list[int]) -> float:
    passages = to_passages(Retriever(workspace).search(question, document_ids=within))
    stored = workspace.vectors.vectors([p.chunk_id for p in passages])
    return attribution.retrieval_confidence(workspace.embedder.embed([question]), stored)


def _ids(workspace: Workspace, root: str) -> list[int]:
    return [d.id for d in workspace.registry.documents(under=root)]


def _describe(name: str, values: list[float]) -> str:
    q = np.percentile(values, [2.5, 5, 25, 50, 75, 95, 97.5])
    return f"{name:<34} n={len(values):<3} " + "  ".join(
        f"p{p}={v:.3f}" for p, v in zip((2.5, 5, 25, 50, 75, 95, 97.5), q, strict=True)
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--eval", default=str(Path(__file__).resolve().parents[2] / "shared" / "eval"))
    parser.add_argument("--answers", default="unsourced-answers.json",
                        help="where the model's answers without sources are kept")
    parser.add_argument("--max-tokens", type=int, default=160, help="of each answer written without sources")
    args = parser.parse_args()
    enforce_offline()
    sets: dict[str, QuestionSet] = {
        name: load_set(Path(args.eval) / file, Path(root), name) for name, (file, root) in SETS.items()
    }
    unsourced_answers = _unsourced_answers(sets, Path(args.answers), args.max_tokens)
    workspace = Home().workspace()
    corpora = {name: _ids(workspace, root) for name, (_, root) in SETS.items()}
    if not all(corpora.values()):
        print("Index both dev corpora in this data folder first.", file=sys.stderr)
        return 1
    positives, unrelated_gold, unsourced, confident, unanswerable = [], [], [], [], []
    missing = 0
    for name, question_set in sets.items():
        other = next(n for n in sets if n != name)
        questions = question_set.questions
        for index, question in enumerate(questions):
            confident.append(_confidence(workspace, question.question, corpora[name]))
            unanswerable.append(_confidence(workspace, question.question, corpora[other]))
            passages = to_passages(Retriever(workspace).search(question.question, document_ids=corpora[name]))
            unsourced += _support(unsourced_answers[question.question], passages, workspace, question.question)
            evidence = _evidence_passage(workspace, question, question_set.root)
            if evidence is None or not question.answer:
                missing += 1
                continue
            positives.append(max(_support(question.answer, [evidence], workspace, question.question), default=0.0))
            neighbour = questions[(index + 1) % len(questions)]
            relevant = {os.path.join(question_set.root, r) for r in question.relevant}
            others = [
                p for p in to_passages(Retriever(workspace).search(neighbour.question, document_ids=corpora[name]))
                if p.path not in relevant
            ]
            unrelated_gold.append(max(_support(question.answer, others, workspace, question.question), default=0.0))
    workspace.close()
    support, tpr, fpr = youden(positives, unsourced)
    confidence = float(np.percentile(confident, CONFIDENCE_QUANTILE))
    print(_describe("support, gold vs evidence passage", positives))
    print(_describe("support, gold vs unrelated passages", unrelated_gold))
    print(_describe("support, written without sources", unsourced))
    print(_describe("confidence, own corpus", confident))
    print(_describe("confidence, other corpus", unanswerable))
    print(f"\nsupport: AUC {auc(positives, unsourced):.3f} (gold vs written without sources)")
    for rule, threshold in (
        ("Youden's J (chosen)", support),
        ("p95 of gold vs unrelated", float(np.percentile(unrelated_gold, 95))),
        ("p95 of written without sources", float(np.percentile(unsourced, 95))),
    ):
        print(f"  {rule:<32} {threshold:.3f}: gold supported {np.mean(np.array(positives) >= threshold):.3f}, "
              f"written without sources passing {np.mean(np.array(unsourced) >= threshold):.3f}, "
              f"unrelated passing {np.mean(np.array(unrelated_gold) >= threshold):.3f}")
    print(f"confidence threshold (p{CONFIDENCE_QUANTILE} of answerable): {confidence:.3f}: "
          f"{np.mean(np.array(confident) >= confidence):.3f} of answerable questions go on, "
          f"{np.mean(np.array(unanswerable) < confidence):.3f} of other-corpus questions are refused "
          f"({missing} questions without an evidence passage left out)")
    print(json.dumps({
        "bench": "calibrate_answers", "support_threshold": round(support, 3), "support_tpr": round(tpr, 3),
        "support_fpr": round(fpr, 3), "support_auc": round(auc(positives, unsourced), 3),
        "confidence_threshold": round(confidence, 3),
        "confidence_pass": round(float(np.mean(np.array(confident) >= confidence)), 3),
        "confidence_refused_other": round(float(np.mean(np.array(unanswerable) < confidence)), 3),
    }))
    return 0

if __name__ == "__main__":
    sys.exit(main())
