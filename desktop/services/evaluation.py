"""Retrieval quality: recall@k and MRR with bootstrap intervals, and paired comparisons.

With a few dozen questions, one or two questions' difference is noise; every figure therefore
comes with a 95% bootstrap interval, and a comparison of two configurations reports the paired
difference, its interval and a sign-flip permutation p-value.
"""

from __future__ import annotations

import os
import random
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from desktop.core.errors import UsageError
from desktop.core.types import SearchHit

K_VALUES = (1, 5, 10)
RESAMPLES = 2000


KINDS = ("lookup", "howto", "concept", "exact-term", "pdf")


class EvalQuestion(BaseModel):
    id: str | None = None
    question: str = Field(min_length=1)
    relevant: list[str] = Field(min_length=1)
    kind: Literal["lookup", "howto", "concept", "exact-term", "pdf"] | None = None
    answer: str | None = None  # a gold answer, for answer metrics
    evidence: str | None = None  # an exact phrase of a relevant file


class QuestionSet(BaseModel):
    """Questions over one corpus: scored against the documents below ``root``."""

    name: str
    root: Path
    questions: list[EvalQuestion]


class QuestionResult(BaseModel):
    id: str | None
    kind: str | None
    rank: int | None  # 1-based rank of the first relevant document in the top 10, or None

    def hit(self, k: int) -> float:
        return 1.0 if self.rank is not None and self.rank <= k else 0.0

    def reciprocal_rank(self) -> float:
        return 1.0 / self.rank if self.rank else 0.0


def metric_names() -> list[str]:
    return [f"recall@{k}" for k in K_VALUES] + ["mrr"]


def per_question(result: QuestionResult, metric: str) -> float:
    return result.reciprocal_rank() if metric == "mrr" else result.hit(int(metric.split("@")[1]))


def _line_problem(error: ValidationError) -> str:
    item = error.errors()[0]
    field = ".".join(str(part) for part in item["loc"])
    if item["type"] == "missing":
        return f"the field '{field}' is missing"
    if field == "kind":
        return f"unknown kind {item.get('input')!r} (known: {', '.join(KINDS)})"
    return f"'{field}': {item['msg']}"


def load_set(path: Path, root: Path, name: str | None = None) -> QuestionSet:
    """A question file checked line by line against its corpus; UsageError naming the line."""
    if not path.is_file():
        raise UsageError(f"No such question file: {path}")
    if not root.is_dir():
        raise UsageError(f"No such folder: {root} (the corpus root of {path.name})")
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            question = EvalQuestion.model_validate_json(line)
        except ValidationError as exc:
            if any(item["type"] == "json_invalid" for item in exc.errors()):
                raise UsageError(f"{path}:{number}: not a JSON object") from None
            raise UsageError(f"{path}:{number}: {_line_problem(exc)}") from None
        missing = [r for r in question.relevant if not (root / r).is_file()]
        if missing:
            raise UsageError(f"{path}:{number}: relevant file {missing[0]!r} is not in {root}")
        questions.append(question)
    if not questions:
        raise UsageError(f"{path} holds no questions.")
    return QuestionSet(name=name or path.stem, root=root, questions=questions)


class _SetEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    questions: Path
    root: Path
    name: str | None = None


class _SetList(BaseModel):
    model_config = ConfigDict(extra="forbid")

    set: list[_SetEntry] = Field(min_length=1)


def load_set_list(path: Path) -> list[QuestionSet]:
    """Question sets listed in a TOML file (``[[set]]`` tables with ``questions``, ``root``, ``name``);
    relative paths are relative to that file."""
    if not path.is_file():
        raise UsageError(f"No such file: {path}")
    try:
        listing = _SetList.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path} is not valid TOML: {exc}") from None
    except ValidationError as exc:
        raise UsageError(f"{path}: {_line_problem(exc)}") from None
    return [
        load_set(path.parent / entry.questions, path.parent / entry.root, entry.name) for entry in listing.set
    ]


def run_questions(
    questions: list[EvalQuestion], root: Path, search: Callable[[str, int], list[SearchHit]]
) -> list[QuestionResult]:
    """Ranks count documents, not passages: a second passage of a document shown above takes no
    place, and a hit standing for several copies of one text counts for each of them."""
    root_text = os.path.abspath(root)
    results = []
    for question in questions:
        relevant = {os.path.normpath(os.path.join(root_text, r)) for r in question.relevant}
        documents: list[set[str]] = []
        seen: set[str] = set()
        for hit in search(question.question, max(K_VALUES)):
            paths = {os.path.normpath(p) for p in (hit.path, *hit.also_in)}
            if not paths <= seen:
                documents.append(paths)
                seen |= paths
        rank = next((n for n, paths in enumerate(documents[: max(K_VALUES)], start=1) if paths & relevant), None)
        results.append(QuestionResult(id=question.id, kind=question.kind, rank=rank))
    return results


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _interval(values: list[float], rng: random.Random) -> list[float]:
    n = len(values)
    means = sorted(_mean([values[rng.randrange(n)] for _ in range(n)]) for _ in range(RESAMPLES))
    return [round(means[int(0.025 * RESAMPLES)], 4), round(means[int(0.975 * RESAMPLES) - 1], 4)]


def summarize(results: list[QuestionResult], seed: int = 0) -> dict[str, object]:
    rng = random.Random(seed)
    summary: dict[str, object] = {"n": len(results)}
    intervals = {}
    for metric in metric_names():
        values = [per_question(r, metric) for r in results]
        summary[metric] = round(_mean(values), 4)
        intervals[metric] = _interval(values, rng)
    summary["ci95"] = intervals
    return summary


def by_kind(results: list[QuestionResult]) -> dict[str, dict[str, float]]:
    kinds: dict[str, list[QuestionResult]] = {}
    for result in results:
        kinds.setdefault(result.kind or "unknown", []).append(result)
    return {
        kind: {"n": len(group), **{m: round(_mean([per_question(r, m) for r in group]), 4) for m in metric_names()}}
        for kind, group in sorted(kinds.items())
    }


class PairedDifference(BaseModel):
    difference: float
    ci95: tuple[float, float]
    p_value: float
    better: int  # questions where B scored higher than A
    worse: int

    def verdict(self, higher_is_better: bool | None = True) -> str:
        """A plain-words reading (``higher_is_better`` None: a rise is neither). With few questions the
        bootstrap interval is optimistic, so a difference counts only when the permutation test agrees."""
        low, high = self.ci95
        up, down = {True: ("better", "worse"), False: ("worse", "better"), None: ("higher", "lower")}[higher_is_better]
        if (low > 0 or high < 0) and self.p_value < 0.05:
            return f"{up} (significant)" if low > 0 else f"{down} (significant)"
        if low > 0 or high < 0:
            return f"{up if low > 0 else down}, but not significant (p={self.p_value:.2f})"
        return "no significant difference (the interval includes zero)"


def paired_difference(differences: list[float], rng: random.Random) -> PairedDifference:
    """Per-question differences b − a: mean, bootstrap interval, sign-flip permutation p-value, wins/losses."""
    observed = abs(_mean(differences))
    extreme = sum(
        abs(_mean([d if rng.random() < 0.5 else -d for d in differences])) >= observed - 1e-12
        for _ in range(RESAMPLES)
    )
    low, high = _interval(differences, rng) if differences else [0.0, 0.0]
    return PairedDifference(
        difference=round(_mean(differences), 4),
        ci95=(low, high),
        p_value=round((extreme + 1) / (RESAMPLES + 1), 4),
        better=sum(d > 0 for d in differences),
        worse=sum(d < 0 for d in differences),
    )


def mean_with_interval(values: list[float], rng: random.Random) -> tuple[float, list[float]]:
    """The mean and its 95% bootstrap interval."""
    return round(_mean(values), 4), _interval(values, rng) if values else [0.0, 0.0]


def compare(a: list[QuestionResult], b: list[QuestionResult], seed: int = 0) -> dict[str, PairedDifference]:
    """Paired difference b − a per metric: mean, bootstrap interval, permutation p-value, wins/losses."""
    rng = random.Random(seed)
    return {
        metric: paired_difference(
            [per_question(y, metric) - per_question(x, metric) for x, y in zip(a, b, strict=True)], rng
        )
        for metric in metric_names()
    }


class SetReport(BaseModel):
    """One question set (or all of them pooled) under one or two retrieval configurations."""

    name: str
    n: int
    summaries: dict[str, dict[str, object]]  # configuration -> summarize()
    by_kind: dict[str, dict[str, dict[str, float]]]  # configuration -> kind -> metric
    difference: dict[str, PairedDifference] | None = None  # the second configuration minus the first


def report(name: str, runs: dict[str, list[QuestionResult]]) -> SetReport:
    """``runs``: each configuration's results on the same questions, in the same order."""
    results = list(runs.values())
    return SetReport(
        name=name,
        n=len(results[0]),
        summaries={config: summarize(run) for config, run in runs.items()},
        by_kind={config: by_kind(run) for config, run in runs.items()},
        difference=compare(results[0], results[1]) if len(results) == 2 else None,
    )


def pooled(name: str, per_set: list[dict[str, list[QuestionResult]]]) -> SetReport:
    """Every set's questions together, each configuration's results concatenated in the same order."""
    configs = list(per_set[0])
    return report(name, {config: [r for runs in per_set for r in runs[config]] for config in configs})
