"""The naive retrieval script Hearth must beat: fixed character windows, MiniLM, Chroma, summed RRF.

    .venv/bin/python benchmarks/baseline_naive.py --sets benchmarks/dev_sets.toml

Not part of the app: it is the simple thing a person could write in an afternoon, rebuilt as a
yardstick (issue 18). Visible text is extracted (HTML without tags, scripts and styles; PDFs page by
page), cut into 800-character windows overlapping by 150, each window embedded as it is (no title or
heading), stored in a Chroma collection with cosine distance. A question takes its 30 nearest
windows; each file scores the sum of 1/(60 + rank) over its windows; the top files are the answer.

The index is cached per corpus under benchmarks/results/ (re-used while the corpus is unchanged).
Prints a table and one JSON line.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import print_json, print_table
from desktop.core.offline import enforce_offline
from desktop.core.paths import models_dir
from desktop.services import evaluation
from desktop.store.embedder import embedder_folder

WINDOW, OVERLAP = 800, 150
NEAREST = 30
RRF_K = 60
TOP_FILES = max(evaluation.K_VALUES)
EXTENSIONS = {".html", ".htm", ".txt", ".pdf", ".md"}
CACHE = Path(__file__).resolve().parent / "results"


def visible_text(path: Path) -> str:
    if path.suffix.lower() in (".html", ".htm"):
        import lxml.html

        try:
            tree = lxml.html.fromstring(path.read_bytes())
        except (ValueError, lxml.etree.ParserError):
            return ""
        for element in tree.xpath("//script|//style"):
            element.drop_tree()
        return str(tree.text_content())
    if path.suffix.lower() == ".pdf":
        import pypdfium2

        document = pypdfium2.PdfDocument(str(path))
        return "\n".join(page.get_textpage().get_text_range() for page in document)
    return path.read_text(encoding="utf-8", errors="replace")


def windows(text: str) -> list[str]:
    step = WINDOW - OVERLAP
    return [text[start : start + WINDOW] for start in range(0, max(len(text) - OVERLAP, 1), step)
            if text[start : start + WINDOW].strip()]


def corpus_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in EXTENSIONS)


def cache_folder(root: Path, files: list[Path]) -> Path:
    fingerprint = hashlib.sha256()
    for path in files:
        info = path.stat()
        fingerprint.update(f"{path}:{info.st_size}:{info.st_mtime_ns}\n".encode())
    return CACHE / f"naive-{root.name}-{fingerprint.hexdigest()[:12]}"


class NaiveIndex:
    def __init__(self, root: Path) -> None:
        import chromadb
        from sentence_transformers import SentenceTransformer

        self.root = root
        files = corpus_files(root)
        folder = cache_folder(root, files)
        self.model = SentenceTransformer(str(embedder_folder(models_dir(), "all-MiniLM-L6-v2")), device="cpu")
        client = chromadb.PersistentClient(path=str(folder), settings=chromadb.Settings(anonymized_telemetry=False))
        self.collection = client.get_or_create_collection("naive", metadata={"hnsw:space": "cosine"})
        self.index_s: float | None = None
        self.windows = self.collection.count()
        if not self.windows:
            self._build(files)
            (folder / "index_s.json").write_text(json.dumps({"index_s": self.index_s}))
        else:
            self.index_s = json.loads((folder / "index_s.json").read_text())["index_s"]

    def _build(self, files: list[Path]) -> None:
        started = time.perf_counter()
        texts: list[str] = []
        owners: list[str] = []
        for path in files:
            for window in windows(visible_text(path)):
                texts.append(window)
                owners.append(str(path))
        vectors = self.model.encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
        for start in range(0, len(texts), 4000):
            end = start + 4000
            self.collection.add(
                ids=[str(i) for i in range(start, min(end, len(texts)))],
                embeddings=vectors[start:end].tolist(),
                metadatas=[{"path": owner} for owner in owners[start:end]],
            )
        self.index_s = time.perf_counter() - started
        self.windows = len(texts)

    def top_files(self, question: str, k: int = TOP_FILES) -> list[str]:
        vector = self.model.encode([question], normalize_embeddings=True)
        found = self.collection.query(query_embeddings=vector.tolist(), n_results=NEAREST, include=["metadatas"])
        scores: dict[str, float] = defaultdict(float)
        for rank, metadata in enumerate(found["metadatas"][0], start=1):  # type: ignore[index]
            scores[str(metadata["path"])] += 1 / (RRF_K + rank)
        return sorted(scores, key=lambda path: -scores[path])[:k]


def evaluate(question_set: evaluation.QuestionSet) -> tuple[NaiveIndex, list[evaluation.QuestionResult]]:
    index = NaiveIndex(question_set.root)
    results = []
    for question in question_set.questions:
        relevant = {os.path.normpath(os.path.join(question_set.root, r)) for r in question.relevant}
        files = index.top_files(question.question)
        rank = next((n for n, path in enumerate(files, start=1) if os.path.normpath(path) in relevant), None)
        results.append(evaluation.QuestionResult(id=question.id, kind=question.kind, rank=rank))
    return index, results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", required=True, type=Path, help="a TOML list of question sets ([[set]] tables)")
    args = parser.parse_args()
    enforce_offline()
    record: dict[str, object] = {"benchmark": "baseline_naive"}
    for question_set in evaluation.load_set_list(args.sets):
        index, results = evaluate(question_set)
        summary = evaluation.summarize(results)
        rows = [(metric, f"{summary[metric]:.3f}  95% CI {summary['ci95'][metric]}")  # type: ignore[index]
                for metric in evaluation.metric_names()]
        rows += [("windows", f"{index.windows:,}"), ("index time", f"{index.index_s:.0f} s")]
        print_table(f"Naive baseline on {question_set.name} ({question_set.root})", rows)
        record[question_set.name] = {**summary, "windows": index.windows, "index_s": index.index_s}
    print_json(record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
