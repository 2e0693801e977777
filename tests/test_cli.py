"""The CLI contract: one JSON document on stdout with --json, exit codes 0/1/2, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from desktop import cli
from desktop.services.workspace import Workspace

REPO = Path(__file__).resolve().parents[1]


def hearth(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HEARTH_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "desktop", *args], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=300)


@pytest.fixture
def in_process(monkeypatch: pytest.MonkeyPatch, embedder) -> None:  # type: ignore[no-untyped-def]
    """Run commands in this process, sharing the session's embedder."""
    def make(*, writes: bool = False) -> Workspace:
        ws = Workspace(exclusive=writes)
        ws.embedder = embedder
        return ws

    monkeypatch.setattr(cli, "_workspace", make)


def test_index_search_status_eval_as_a_subprocess(corpus: Path, hearth_home: Path, tmp_path: Path) -> None:
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.7 garbage")
    indexed = hearth("index", "--json", str(corpus), home=hearth_home)
    assert indexed.returncode == 1, indexed.stderr  # one file failed, the rest indexed
    report = json.loads(indexed.stdout)
    assert set(report) == {"added", "updated", "unchanged", "removed", "failed", "chunks"}
    assert report["added"] == 5 and report["failed"][0]["path"].endswith("broken.pdf")
    assert report["failed"][0]["reason"]
    assert "Traceback" not in indexed.stderr

    found = hearth("search", "--json", "Saturn rings ice", "-k", "3", home=hearth_home)
    assert found.returncode == 0
    hits = json.loads(found.stdout)
    assert 1 <= len(hits) <= 3 and set(hits[0]) == {"path", "page", "heading", "score", "text"}
    assert hits[0]["path"] == str(corpus / "astronomy.pdf") and hits[0]["page"] == 2
    assert hits == sorted(hits, key=lambda h: -h["score"])

    status = json.loads(hearth("status", "--json", home=hearth_home).stdout)
    assert status == {"documents": 6, "chunks": status["chunks"], "failed": 1,
                      "embedder": "all-MiniLM-L6-v2", "data_dir": str(hearth_home)}

    questions = tmp_path / "qa.jsonl"
    questions.write_text(json.dumps({"question": "What are Saturn's rings made of?",
                                     "relevant": ["astronomy.pdf"]}) + "\n")
    scored = json.loads(hearth("eval", str(questions), "--root", str(corpus), "--json", home=hearth_home).stdout)
    assert scored["n"] == 1 and scored["recall@1"] == 1.0 and scored["mrr"] == 1.0
    assert set(scored["ci95"]) == {"recall@1", "recall@5", "recall@10", "mrr"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["index", "/no/such/folder"], "No such file or folder"),
        (["search", "   "], "empty"),
        (["forget", "/never/indexed"], "Not in the library"),
        (["eval", "/no/qa.jsonl", "--root", "/tmp"], "No such question file"),
        (["search"], "required"),
        (["frobnicate"], "invalid choice"),
        (["chats", "show", "42"], "no conversation 42"),
        (["ask", ""], "empty"),
        (["ask", "hi", "--model", "/no/model.gguf"], "Model file not found"),
    ],
)
def test_usage_errors_are_one_line_exit_2(
    args: list[str], message: str, in_process: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and lines[0].startswith("hearth: ")


def test_folder_with_nothing_indexable(tmp_path: Path, in_process: None, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "pictures").mkdir()
    (tmp_path / "pictures" / "cat.jpg").write_bytes(b"\xff\xd8\xff")
    assert cli.main(["index", str(tmp_path / "pictures")]) == 2
    assert "Nothing Hearth can read" in capsys.readouterr().err


def test_unexpected_error_is_logged_not_shown(
    monkeypatch: pytest.MonkeyPatch, hearth_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def explode(_: object) -> int:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(cli, "cmd_status", explode)
    assert cli.main(["status"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "disk on fire" in err
    assert "Traceback" in (hearth_home / "logs" / "hearth.log").read_text()


def test_index_then_search_in_process(corpus: Path, in_process: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["index", "--json", str(corpus)]) == 0
    json.loads(capsys.readouterr().out)
    assert cli.main(["index", "--json", str(corpus)]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["unchanged"] == 5 and again["added"] == 0 and again["chunks"] == 0
    assert cli.main(["search", "KX-409", "--json", "-k", "1"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["path"].endswith("kettle.txt")
