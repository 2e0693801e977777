"""Retrieval quality: recall@k and MRR with bootstrap intervals, and paired comparisons.

With a few dozen questions, one or two questions' difference is noise; every figure therefore
comes with a 95% bootstrap interval, and a comparison of two configurations reports the paired
difference, its interval and a sign-flip permutation p-value.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, ValidationError

from desktop.core.errors import UsageError
from desktop.core.types import SearchHit

K_VALUES = (1, 5, 10)
RESAMPLES = 2000


class EvalQuestion(BaseModel):
    id: str | None = None
    question: str
    relevant: list[str]
    kind: str | None = None


class QuestionResult(BaseModel):
    id: str | None
    kind: str | None
    rank: int | None  # 1-based rank of the first relevant passage in the top 10, or None

    def hit(self, k: int) -> float:
        return 1.0 if self.rank is not None and self.rank <= k else 0.0

    def reciprocal_rank(self) -> float:
        return 1.0 / self.rank if self.rank else 0.0


def metric_names() -> list[str]:
    return [f"recall@{k}" for k in K_VALUES] + ["mrr"]


def per_question(result: QuestionResult, metric: str) -> float:
    return result.reciprocal_rank() if metric == "mrr" else result.hit(int(metric.split("@")[1]))


def load_questions(path: Path) -> list[EvalQuestion]:
    if not path.is_file():
        raise UsageError(f"No such question file: {path}")
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            questions.append(EvalQuestion.model_validate_json(line))
        except (ValidationError, json.JSONDecodeError):
            raise UsageError(f"{path}:{number}: each line must be JSON with 'question' and 'relevant'") from None
    if not questions:
        raise UsageError(f"{path} holds no questions.")
    return questions


def run_questions(
    questions: list[EvalQuestion], root: Path, search: Callable[[str, int], list[SearchHit]]
) -> list[QuestionResult]:
    root_text = os.path.abspath(root)
    results = []
    for question in questions:
        relevant = {os.path.normpath(os.path.join(root_text, r)) for r in question.relevant}
        hits = search(question.question, max(K_VALUES))
        rank = next((n for n, hit in enumerate(hits, start=1) if os.path.normpath(hit.path) in relevant), None)
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

    def verdict(self) -> str:
        """A plain-words reading. With few questions the bootstrap interval is optimistic, so a
        difference counts only when the permutation test agrees."""
        low, high = self.ci95
        if (low > 0 or high < 0) and self.p_value < 0.05:
            return "better (significant)" if low > 0 else "worse (significant)"
        if low > 0 or high < 0:
            return f"{'better' if low > 0 else 'worse'}, but not significant (p={self.p_value:.2f})"
        return "no significant difference (the interval includes zero)"


def compare(a: list[QuestionResult], b: list[QuestionResult], seed: int = 0) -> dict[str, PairedDifference]:
    """Paired difference b − a per metric: mean, bootstrap interval, permutation p-value, wins/losses."""
    rng = random.Random(seed)
    out: dict[str, PairedDifference] = {}
    for metric in metric_names():
        differences = [per_question(y, metric) - per_question(x, metric) for x, y in zip(a, b, strict=True)]
        observed = abs(_mean(differences))
        extreme = sum(
            abs(_mean([d if rng.random() < 0.5 else -d for d in differences])) >= observed - 1e-12
            for _ in range(RESAMPLES)
        )
        low, high = _interval(differences, rng)
        out[metric] = PairedDifference(
            difference=round(_mean(differences), 4),
            ci95=(low, high),
            p_value=round((extreme + 1) / (RESAMPLES + 1), 4),
            better=sum(d > 0 for d in differences),
            worse=sum(d < 0 for d in differences),
        )
    return out
