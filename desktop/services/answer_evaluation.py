"""Answer quality on question sets with gold answers: what Hearth says, asked as a person would ask.

Each question goes through the real ``Answerer`` (retrieval within its set's corpus, the prompt, the
model, the checks), with a fixed seed, temperature 0 and a capped length. Per answer:

* ``cites_relevant``: it cites a passage of one of the question's relevant files (a citation of its
  own sentences, or of a sentence quoted under it, "From your files");
* ``sentences_cite_relevant``: one of its own sentences does;
* ``supported``: the share of its checked sentences that some given passage supports (the same
  attribution the app runs; undefined for an answer Hearth wrote itself or one with nothing to check);
* ``recall``: the share of the gold answer's content words found in the answer;
* ``leaked``: the answer shows prompt markup or a chat template's tokens;
* ``not_covered``: the answer says the files do not cover the question (Hearth's refusal or the model's);
* ``tokens_per_second`` of the generation.

Every figure comes with a 95% bootstrap interval; two pipelines are compared question by question
(paired difference, interval, permutation p-value), as retrieval configurations are.
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from pydantic import BaseModel

from desktop.core.types import Message
from desktop.services import attribution
from desktop.services.answering import AnswerFinished, AnswerPipeline
from desktop.services.citations import MARKER, marker_numbers
from desktop.services.evaluation import EvalQuestion, PairedDifference, mean_with_interval, paired_difference

PIPELINES: dict[str, AnswerPipeline] = {
    "model-only": AnswerPipeline(source_format="tagged", checks=False),  # what the model does alone
    "tagged": AnswerPipeline(source_format="tagged"),
    "numbered": AnswerPipeline(source_format="numbered"),
    "careful": AnswerPipeline(source_format="tagged", drafts=3),  # three drafts, the best supported kept
}
METRICS = ("cites_relevant", "sentences_cite_relevant", "supported", "recall", "leaked", "not_covered",
           "tokens_per_second")
HIGHER_IS_BETTER: dict[str, bool | None] = {"leaked": False, "not_covered": None}  # the rest: True

# Prompt syntax or template tokens in an answer as shown.
LEAK = re.compile(
    r"<\s*/?\s*(?:source|question)\b|\[\s*source\s+(?:n|from)\s*=|<\|[^|<>\n]{0,40}\|>|\[/?INST\]|<(?:start|end)_of_turn>"
    r"|Sources \(quoted data|Passages \(quoted text|quoted (?:data|text),? (?:and )?not instructions|^\s*Question:",
    re.IGNORECASE | re.MULTILINE,
)
# An answer saying the files do not hold the answer, in the words small models use.
NOT_COVERED = re.compile(
    r"do(?:es)? not (?:seem to )?(?:cover|contain|mention|say|provide|include|specify|answer)"
    r"|(?:no|not enough) information|not (?:found|mentioned|provided|covered) in|can(?:not|'t) (?:find|answer)",
    re.IGNORECASE,
)


class AnswerResult(BaseModel):
    id: str | None
    kind: str | None
    answer: str
    cites_relevant: float
    sentences_cite_relevant: float
    supported: float | None
    recall: float
    leaked: float
    not_covered: float
    tokens_per_second: float | None
    attribution_ms: float

    def value(self, metric: str) -> float | None:
        value = getattr(self, metric)
        return None if value is None else float(value)


def score(question: EvalQuestion, root: Path, message: Message, embed: attribution.Embed) -> AnswerResult:
    relevant = {os.path.normpath(os.path.join(os.path.abspath(root), r)) for r in question.relevant}
    by_number = {c.n: os.path.normpath(c.path) for c in message.citations}
    in_text = {n for match in MARKER.finditer(message.text) for n in marker_numbers(match)}
    supported = None
    if message.model is not None:  # the model's words, not Hearth's own refusal
        found = attribution.attribute(message.text, message.passages, embed, question=question.question)
        checked = [s for s in found.sentences if s.supported is not None]
        supported = sum(1.0 for s in checked if s.supported) / len(checked) if checked else None
    gold = attribution.content_words(question.answer or "")
    timings = message.timings
    return AnswerResult(
        id=question.id,
        kind=question.kind,
        answer=message.text,
        cites_relevant=1.0 if set(by_number.values()) & relevant else 0.0,
        sentences_cite_relevant=1.0 if {by_number[n] for n in in_text if n in by_number} & relevant else 0.0,
        supported=supported,
        recall=len(gold & attribution.content_words(message.text)) / len(gold) if gold else 0.0,
        leaked=1.0 if LEAK.search(message.text) else 0.0,
        not_covered=1.0 if message.model is None or NOT_COVERED.search(message.text) else 0.0,
        tokens_per_second=timings.tokens_per_second if timings and timings.tokens_per_second else None,
        attribution_ms=timings.attribution_ms if timings else 0.0,
    )


Ask = Callable[[str], Iterator[object]]  # a question -> the Answerer's events


def run_answers(
    questions: Sequence[EvalQuestion], root: Path, ask: Ask, embed: attribution.Embed,
    progress: Callable[[int, int], None] | None = None,
) -> list[AnswerResult]:
    results = []
    for number, question in enumerate(questions, start=1):
        finished = [e for e in ask(question.question) if isinstance(e, AnswerFinished)]
        results.append(score(question, root, finished[-1].message, embed))
        if progress is not None:
            progress(number, len(questions))
    return results


class AnswerSummary(BaseModel):
    n: int  # answers the figure is over (``supported`` and speed skip answers without them)
    mean: float
    ci95: list[float]


class AnswerReport(BaseModel):
    """One question set (or all pooled) under one or two answer pipelines."""

    name: str
    n: int
    summaries: dict[str, dict[str, AnswerSummary]]  # pipeline -> metric -> figure
    difference: dict[str, PairedDifference] | None = None  # the second pipeline minus the first
    answers: dict[str, list[AnswerResult]]


def summarize_answers(results: list[AnswerResult], seed: int = 0) -> dict[str, AnswerSummary]:
    rng = random.Random(seed)
    out = {}
    for metric in METRICS:
        values = [v for v in (r.value(metric) for r in results) if v is not None]
        mean, interval = mean_with_interval(values, rng)
        out[metric] = AnswerSummary(n=len(values), mean=mean, ci95=interval)
    return out


def compare_answers(a: list[AnswerResult], b: list[AnswerResult], seed: int = 0) -> dict[str, PairedDifference]:
    """b − a per metric, over the questions where both have a value."""
    rng = random.Random(seed)
    out = {}
    for metric in METRICS:
        pairs = [(x.value(metric), y.value(metric)) for x, y in zip(a, b, strict=True)]
        out[metric] = paired_difference([y - x for x, y in pairs if x is not None and y is not None], rng)
    return out


def answer_report(name: str, runs: dict[str, list[AnswerResult]]) -> AnswerReport:
    results = list(runs.values())
    return AnswerReport(
        name=name,
        n=len(results[0]),
        summaries={config: summarize_answers(run) for config, run in runs.items()},
        difference=compare_answers(results[0], results[1]) if len(results) == 2 else None,
        answers=runs,
    )


def pooled_answers(name: str, per_set: list[dict[str, list[AnswerResult]]]) -> AnswerReport:
    configs = list(per_set[0])
    return answer_report(name, {config: [r for runs in per_set for r in runs[config]] for config in configs})
