"""Choosing retrieval settings that generalise: every candidate method on the same candidates, both dev corpora.

    .venv/bin/python benchmarks/retrieval_lab.py index VARIANT [--corpus sqlite|git] [--set key=value ...]
    .venv/bin/python benchmarks/retrieval_lab.py dump VARIANT
    .venv/bin/python benchmarks/retrieval_lab.py score VARIANT [VARIANT ...]

``index`` builds a data folder per corpus and chunking variant (settings given with --set) under
benchmarks/results/lab/; ``dump`` stores, per question, what each retriever returns (ids and scores,
200 deep) with the chunk each id names; ``score`` replays every fusion, aggregation and duplicate
rule over those dumps, prints recall@5/@10/MRR per corpus, and picks a configuration
leave-one-corpus-out: chosen on one corpus, reported on the other.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from desktop.core.offline import enforce_offline
from desktop.core.settings import HearthSettings, RetrievalSettings
from desktop.services import evaluation, ranking
from desktop.services.home import Home

REPO = Path(__file__).resolve().parents[1]
LAB = REPO / "benchmarks" / "results" / "lab"
EVAL = REPO.parent / "shared" / "eval"
CORPORA = {
    "sqlite": (EVAL / "sqlite_docs_qa.jsonl", Path("/usr/share/doc/sqlite3")),
    "git": (EVAL / "git_docs_qa.jsonl", Path("/usr/share/doc/git-doc")),
}
DEPTH = 200
# The app's rules for questions naming something specific and for unrelated vector candidates
# (see desktop/services/retrieval.py).
SELECTIVE_TERM_PASSAGES = RetrievalSettings.model_fields["selective_term_passages"].default
SELECTIVE_KEYWORD_WEIGHT = RetrievalSettings.model_fields["selective_keyword_weight"].default
VECTOR_FLOOR = RetrievalSettings.model_fields["vector_floor"].default


def home(variant: str) -> Path:
    """One data folder per variant holding both corpora, as `make eval` builds it; each question
    set is searched within its own corpus."""
    return LAB / variant


def parse_sets(pairs: list[str]) -> dict[str, Any]:
    return {key: json.loads(value) for key, value in (pair.split("=", 1) for pair in pairs)}


def cmd_index(args: argparse.Namespace) -> None:
    from desktop.services.indexing import Indexer

    folder = home(args.variant)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "settings.json").write_text(json.dumps(parse_sets(args.set)))
    workspace = Home(folder).workspace(writes=True)
    indexer = Indexer(workspace)
    stats: dict[str, Any] = {}
    for corpus, (_, root) in CORPORA.items():
        before = workspace.registry.counts()["chunks"]
        report = indexer.index([root])
        stats[corpus] = {"chunks": workspace.registry.counts()["chunks"] - before, "total_s": indexer.stats.total_s,
                         "embed_s": indexer.stats.embed_s, "failed": len(report.failed)}
        print(args.variant, corpus, stats[corpus], flush=True)
    (folder / "index-stats.json").write_text(json.dumps(stats))
    workspace.close()


def cmd_dump(args: argparse.Namespace) -> None:
    from desktop.services.retrieval import Mode, Retriever

    workspace = Home(home(args.variant)).workspace()
    retriever = Retriever(workspace)
    for corpus, (questions_file, root) in CORPORA.items():
        within = [d.id for d in workspace.registry.documents(under=str(root))]
        questions = evaluation.load_set(questions_file, root).questions
        chunks: dict[int, dict[str, Any]] = {}
        records = []
        for question in questions:
            found = retriever.candidates(question.question, DEPTH, mode=Mode.HYBRID, document_ids=within)
            for chunk_id in {i for scored in found.lists.values() for i, _ in scored}:
                chunk = found.chunks[chunk_id]
                chunks[chunk_id] = {"doc": chunk.document_id, "path": chunk.path, "text": chunk.text}
            records.append({
                "id": question.id, "kind": question.kind, "rarest": found.rarest,
                "relevant": sorted(os.path.normpath(os.path.join(root, r)) for r in question.relevant),
                **found.lists,
            })
        (home(args.variant) / f"candidates-{corpus}.json").write_text(
            json.dumps({"questions": records, "chunks": chunks}))
        print("dumped", corpus, len(records), "questions,", len(chunks), "chunks", flush=True)
    workspace.close()


def _minmax(scored: list[tuple[int, float]]) -> dict[int, float]:
    high, low = max(s for _, s in scored), min(s for _, s in scored)
    return {item: (score - low) / (high - low) if high > low else 1.0 for item, score in scored}


def _zscores(scored: list[tuple[int, float]]) -> dict[int, float]:
    values = [s for _, s in scored]
    mean = sum(values) / len(values)
    spread = (sum((v - mean) ** 2 for v in values) / len(values)) ** 0.5 or 1.0
    return {item: (score - mean) / spread for item, score in scored}


def convex(lists: dict[str, list[tuple[int, float]]], keyword_weight: float, method: str) -> ranking.Fused:
    """Tried and dropped: a weighted sum of normalised scores (an id a retriever did not return gets
    that retriever's lowest normalised score)."""
    normalise = _minmax if method == "minmax" else _zscores
    weights = {"vector": 1.0 - keyword_weight, "keyword": keyword_weight}
    normalised = {name: normalise(scored) for name, scored in lists.items() if scored}
    floors = {name: min(values.values()) for name, values in normalised.items()}
    items = {item for values in normalised.values() for item in values}
    fused = {i: sum(weights[n] * v.get(i, floors[n]) for n, v in normalised.items()) for i in items}
    return [(i, fused[i], ()) for i in sorted(fused, key=lambda i: (-fused[i], i))]


@dataclass(frozen=True)
class Config:
    retrievers: tuple[str, ...]
    fusion: str  # "rrf" (the app's), "minmax" or "zscore"
    keyword_weight: float
    aggregation: str  # "damped" (the app's), "best", "rrf-sum", or "passages" (the old list, two per document)
    depth: int
    collapse: bool
    selective: bool = False  # the app's rule: more keyword weight when a question's term is rare
    rrf_k: int = ranking.RRF_K
    damping: float = 0.5  # for "damped": how much each next passage of a document counts

    def name(self) -> str:
        fusion = "+".join(self.retrievers) if len(self.retrievers) == 1 else f"{self.fusion}(kw={self.keyword_weight})"
        rule = " selective" if self.selective else ""
        tuning = f" k={self.rrf_k}" if self.rrf_k != ranking.RRF_K else ""
        tuning += f" d={self.damping}" if self.aggregation == "damped" and self.damping != 0.5 else ""
        return f"{fusion}{rule} {self.aggregation}{tuning} n={self.depth}{' dedup' if self.collapse else ''}"


def configs() -> list[Config]:
    found: list[Config] = []
    for aggregation, depth, collapse in itertools.product(
        ("passages", "best", "damped", "rrf-sum"), (20, 30, 50, 100), (False, True)
    ):
        found.append(Config(("vector",), "rrf", 0.0, aggregation, depth, collapse))
        found.append(Config(("keyword",), "rrf", 1.0, aggregation, depth, collapse))
        for fusion, weight in itertools.product(("rrf", "minmax", "zscore"), (0.3, 0.5, 1.0)):
            found.append(Config(("vector", "keyword"), fusion, weight, aggregation, depth, collapse))
        for weight in (0.3, 0.5):
            found.append(Config(("vector", "keyword"), "rrf", weight, aggregation, depth, collapse, selective=True))
    # How flat the fused scores are (RRF's k) and how much a document's further passages add.
    for rrf_k, damping, depth in itertools.product((10, 20, 60), (0.1, 0.25, 0.5), (30, 50, 100)):
        for weight in (0.3, 0.5):
            found.append(Config(("vector", "keyword"), "rrf", weight, "damped", depth, True, True, rrf_k, damping))
        found.append(Config(("vector",), "rrf", 0.0, "damped", depth, True, False, rrf_k, damping))
    return list(dict.fromkeys(found))


def ranked_paths(config: Config, record: dict[str, Any], chunks: dict[str, dict[str, Any]]) -> list[list[str]]:
    """The result list: each entry the files one hit stands for (several when duplicates collapse)."""
    lists = {name: [(int(i), s) for i, s in record.get(name, [])[: config.depth]] for name in config.retrievers}
    if "vector" in lists:
        lists["vector"] = ranking.above_floor(lists["vector"], VECTOR_FLOOR)
    rarest = record.get("rarest")
    selective = config.selective and rarest is not None and rarest <= SELECTIVE_TERM_PASSAGES
    if config.fusion == "rrf":
        weight = SELECTIVE_KEYWORD_WEIGHT if selective else config.keyword_weight
        fused = ranking.rrf(lists, {"vector": 1.0, "keyword": weight}, k=config.rrf_k)
    else:
        fused = convex(lists, config.keyword_weight, config.fusion)
    document_of = {i: int(chunks[str(i)]["doc"]) for i, _, _ in fused}
    path_of = {int(chunks[str(i)]["doc"]): chunks[str(i)]["path"] for i, _, _ in fused}
    if config.aggregation == "passages":
        taken: dict[int, int] = {}
        shown: list[list[str]] = []
        for item, _, _ in fused:
            document = document_of[item]
            if taken.get(document, 0) < 2:
                taken[document] = taken.get(document, 0) + 1
                shown.append([path_of[document]])
        return shown
    if config.aggregation == "rrf-sum":  # each passage counts 1 / (60 + its rank in the fused list)
        fused = [(i, 1 / (config.rrf_k + rank), found) for rank, (i, _, found) in enumerate(fused, start=1)]
    documents = ranking.rank_documents(fused, document_of, damping={"best": 0.0, "damped": config.damping}.get(
        config.aggregation, 1.0))
    if not config.collapse:
        return [[path_of[d.document]] for d in documents]
    texts = {i: chunks[str(i)]["text"] for i, _, _ in fused}
    return [[path_of[d.document] for d in group] for group in ranking.collapse_duplicates(documents, texts)]


def evaluate(config: Config, dump: dict[str, Any]) -> list[evaluation.QuestionResult]:
    results = []
    for record in dump["questions"]:
        relevant = set(record["relevant"])
        shown = ranked_paths(config, record, dump["chunks"])[: max(evaluation.K_VALUES)]
        rank = next((n for n, paths in enumerate(shown, start=1) if relevant & set(paths)), None)
        results.append(evaluation.QuestionResult(id=record["id"], kind=record["kind"], rank=rank))
    return results


def cmd_score(args: argparse.Namespace) -> None:
    table: dict[tuple[str, str], dict[str, float]] = {}
    for variant in args.variants:
        dumps = {corpus: json.loads((home(variant) / f"candidates-{corpus}.json").read_text()) for corpus in CORPORA}
        for config in configs():
            name = f"[{variant}] {config.name()}"
            for corpus, dump in dumps.items():
                summary = evaluation.summarize(evaluate(config, dump))
                table[(name, corpus)] = {m: float(summary[m]) for m in ("recall@5", "recall@10", "mrr")}  # type: ignore[arg-type]
    names = sorted({name for name, _ in table})

    def quality(name: str, corpus: str) -> float:
        """One figure per corpus: recall@5 and MRR count alike (a 1-question change in recall@5 is 0.025)."""
        return table[(name, corpus)]["recall@5"] + table[(name, corpus)]["mrr"]

    def row(name: str) -> str:
        cells = " ".join(f"{table[(name, c)]['recall@5']:>11.3f} {table[(name, c)]['recall@10']:>6.3f} "
                         f"{table[(name, c)]['mrr']:>6.3f}" for c in CORPORA)
        return f"{name:<60} {cells}"

    print("best in the worse of the two corpora (recall@5 + MRR):")
    print(f"{'configuration':<60} " + " ".join(f"{c + ' r@5':>11} {'r@10':>6} {'mrr':>6}" for c in CORPORA))
    for name in sorted(names, key=lambda n: -min(quality(n, c) for c in CORPORA))[: args.top]:
        print(row(name))
    settings = RetrievalSettings()
    app = Config(("vector", "keyword"), "rrf", settings.keyword_weight, "damped", settings.candidates, True,
                 selective=True)
    vector = Config(("vector",), "rrf", 0.0, "damped", settings.candidates, True)
    print("\nthe app's settings, and vector only ranked the same way")
    for variant in args.variants:
        for config in (app, vector):
            print(row(f"[{variant}] {config.name()}"))
    print("\nleave one corpus out: chosen on one corpus (recall@5 + MRR), reported on the other")
    for chosen_on, reported_on in itertools.permutations(CORPORA, 2):
        best = max(names, key=lambda n: quality(n, chosen_on))
        print(f"  best on {chosen_on}: {best}  ->  on {reported_on}: r@5 {table[(best, reported_on)]['recall@5']:.3f}"
              f" mrr {table[(best, reported_on)]['mrr']:.3f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    index = commands.add_parser("index")
    index.add_argument("variant")
    index.add_argument("--set", action="append", default=[], help="a setting, key=JSON value")
    dump = commands.add_parser("dump")
    dump.add_argument("variant")
    score = commands.add_parser("score")
    score.add_argument("variants", nargs="+")
    score.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    enforce_offline()
    HearthSettings()  # fail early on a bad HEARTH_* variable
    {"index": cmd_index, "dump": cmd_dump, "score": cmd_score}[args.command](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
