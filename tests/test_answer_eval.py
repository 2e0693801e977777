"""`hearth eval --answers`: questions asked through the real model, answers scored, pipelines compared."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from desktop import cli
from desktop.services.workspace import Workspace
from tests.samples import GARDEN, KETTLE

QUESTIONS = [
    {"id": "k1", "question": "What does error code KX-409 mean on my kettle?", "relevant": ["kettle.txt"],
     "answer": "The heating element overheated; unplug the kettle and let it cool for ten minutes.",
     "evidence": "Error code KX-409 means the heating element overheated", "kind": "lookup"},
    {"id": "g1", "question": "How often should tomatoes be watered?", "relevant": ["garden.md"],
     "answer": "Deep watering twice a week, in full sun.", "evidence": "deep watering twice a week",
     "kind": "howto"},
]


@pytest.fixture
def question_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder) -> tuple[Path, Path]:  # type: ignore[no-untyped-def]
    def make(*, writes: bool = False) -> Workspace:
        ws = Workspace(exclusive=writes)
        ws.embedder = embedder
        return ws

    monkeypatch.setattr(cli, "_workspace", make)
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "kettle.txt").write_text(KETTLE, encoding="utf-8")
    (notes / "garden.md").write_text(GARDEN, encoding="utf-8")
    assert cli.main(["index", "--quiet", str(notes)]) == 0
    questions = tmp_path / "qa.jsonl"
    questions.write_text("\n".join(json.dumps(q) for q in QUESTIONS), encoding="utf-8")
    return questions, notes


def test_answers_are_scored_and_two_pipelines_compared(
    question_set: tuple[Path, Path], capsys: pytest.CaptureFixture[str], hearth_home: Path
) -> None:
    questions, notes = question_set
    capsys.readouterr()
    code = cli.main(["eval", str(questions), "--root", str(notes), "--answers", "--compare", "model-only", "tagged",
                     "--max-tokens", "48", "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["configs"] == ["model-only", "tagged"] and report["max_tokens"] == 48
    (scored,) = report["sets"]
    assert scored["n"] == 2 and set(scored["difference"]) == set(scored["summaries"]["tagged"])
    for config in ("model-only", "tagged"):
        figures = scored["summaries"][config]
        assert set(figures) == {"cites_relevant", "sentences_cite_relevant", "supported", "recall", "leaked",
                                "not_covered", "tokens_per_second"}
        answers = scored["answers"][config]
        assert [a["id"] for a in answers] == ["k1", "g1"] and all(a["answer"] for a in answers)
        assert all(0 <= a["recall"] <= 1 and a["leaked"] in (0, 1) for a in answers)
        assert figures["tokens_per_second"]["n"] == 2 and figures["tokens_per_second"]["mean"] > 0
    # The answers were the evaluation's own: the data folder's conversations are untouched.
    assert not (hearth_home / "conversations.sqlite3").exists()

    assert cli.main(["eval", str(questions), "--root", str(notes), "--answers", "--limit", "1",
                     "--max-tokens", "24"]) == 0
    printed = capsys.readouterr().out
    assert "qa: 1 questions" in printed and "sentences supported" in printed and "leaks prompt markup" in printed


@pytest.mark.parametrize(("arguments", "message"), [
    (["--answers", "--compare", "vector", "hybrid"], "With --answers, --compare takes answer pipelines"),
    (["--compare", "tagged", "numbered"], "--compare takes retrieval modes"),
])
def test_configurations_that_do_not_go_together_are_refused(
    question_set: tuple[Path, Path], capsys: pytest.CaptureFixture[str], arguments: list[str], message: str
) -> None:
    questions, notes = question_set
    capsys.readouterr()
    assert cli.main(["eval", str(questions), "--root", str(notes), *arguments]) == 2
    assert message in capsys.readouterr().err


def test_questions_without_gold_answers_cannot_score_answers(
    question_set: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    questions, notes = question_set
    questions.write_text(json.dumps({"question": "Descale?", "relevant": ["kettle.txt"]}), encoding="utf-8")
    capsys.readouterr()
    assert cli.main(["eval", str(questions), "--root", str(notes), "--answers"]) == 2
    assert "has no 'answer' fields" in capsys.readouterr().err
