"""The CLI contract: one JSON document on stdout with --json, exit codes 0/1/2, never a traceback."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from desktop import cli
from desktop.llm import host as host_module
from desktop.services.workspace import Workspace
from tests.conftest import MODELS
from tests.samples import GARDEN, KETTLE
from tests.scripted_host import Script, scripted_host

REPO = Path(__file__).resolve().parents[1]


def hearth(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HEARTH_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "desktop", *args], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=300)


def test_index_search_status_eval_as_a_subprocess(corpus: Path, hearth_home: Path, tmp_path: Path) -> None:
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.7 garbage")
    indexed = hearth("index", "--json", str(corpus), home=hearth_home)
    assert indexed.returncode == 1, indexed.stderr  # one file failed, the rest indexed
    report = json.loads(indexed.stdout)
    assert set(report) == {"added", "updated", "unchanged", "removed", "failed", "skipped", "chunks"}
    assert report["added"] == 5 and report["failed"][0]["path"].endswith("broken.pdf")
    assert report["failed"][0]["reason"]
    assert "Traceback" not in indexed.stderr

    found = hearth("search", "--json", "Saturn rings ice", "-k", "3", home=hearth_home)
    assert found.returncode == 0
    hits = json.loads(found.stdout)
    assert 1 <= len(hits) <= 3
    assert set(hits[0]) == {"path", "page", "heading", "score", "text", "also_in", "ocr_confidence"}
    assert hits[0]["path"] == str(corpus / "astronomy.pdf") and hits[0]["page"] == 2
    assert hits[0]["ocr_confidence"] is None  # a text layer, not OCR
    assert hits == sorted(hits, key=lambda h: -h["score"])

    status = json.loads(hearth("status", "--json", home=hearth_home).stdout)
    assert status == {"documents": 6, "chunks": status["chunks"], "failed": 1, "skipped": 0,
                      "embedder": "all-MiniLM-L6-v2", "data_dir": str(hearth_home), "remote": []}

    questions = tmp_path / "qa.jsonl"
    questions.write_text(json.dumps({"question": "What are Saturn's rings made of?",
                                     "relevant": ["astronomy.pdf"]}) + "\n")
    scored = json.loads(hearth("eval", str(questions), "--root", str(corpus), "--json", home=hearth_home).stdout)
    (only,) = scored["sets"]
    summary = only["summaries"]["hybrid"]
    assert only["n"] == 1 and summary["recall@1"] == 1.0 and summary["mrr"] == 1.0
    assert set(summary["ci95"]) == {"recall@1", "recall@5", "recall@10", "mrr"}

    # Two sets at once, each scored within its own corpus, compared mode against mode.
    other = tmp_path / "qa-other.jsonl"
    other.write_text(json.dumps({"question": "How do I descale a kettle?", "relevant": ["kettle.txt"],
                                 "kind": "howto"}) + "\n")
    compared = hearth("eval", str(questions), "--root", str(corpus), str(other), "--root", str(corpus),
                      "--compare", "vector", "hybrid", "--json", home=hearth_home)
    assert compared.returncode == 0, compared.stderr
    report = json.loads(compared.stdout)
    assert report["configs"] == ["vector", "hybrid"]
    assert [s["name"] for s in report["sets"]] == ["qa", "qa-other", "all sets"]
    assert report["sets"][2]["n"] == 2 and set(report["sets"][2]["difference"]) == set(summary["ci95"])
    assert report["sets"][1]["by_kind"]["hybrid"]["howto"]["n"] == 1


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
    (tmp_path / "pictures" / "cat.gif").write_bytes(b"GIF89a")
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


# Text output never passes a control character through raw (a name or an answer could retitle or
# recolour the terminal, or flip its text's direction); JSON output stays exact.
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
TITLE = "\x1b]0;pwned\x07"  # sets the terminal's title
SHOWN_TITLE = "\\x1b]0;pwned\\x07"


def _shown_path(path: Path) -> str:
    return str(path).replace(TITLE, SHOWN_TITLE)


def test_search_and_index_text_output_escape_control_characters(tmp_path: Path, hearth_home: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    name = f"boiler{TITLE}\u202e.txt"
    (docs / name).write_text("The boiler must be serviced once a year.\n", encoding="utf-8")
    (docs / "broken\x1b[2J.pdf").write_bytes(b"%PDF-1.7 garbage")
    home = hearth_home.parent / "home\x1b[7m"

    indexed = hearth("index", str(docs), home=home)
    found = hearth("search", "boiler serviced", home=home)
    status = hearth("status", home=home)
    for run in (indexed, found, status):
        assert not RAW_CONTROL.search(run.stdout + run.stderr), run.stdout
    assert indexed.returncode == 1 and "broken\\x1b[2J.pdf: " in indexed.stdout
    assert found.returncode == 0 and f"boiler{SHOWN_TITLE}\\u202e.txt" in found.stdout
    assert "home\\x1b[7m" in status.stdout

    as_json = hearth("search", "--json", "boiler serviced", home=home)
    assert json.loads(as_json.stdout)[0]["path"] == str(docs / name)


@pytest.fixture
def scripted_ask(tmp_path: Path, in_process: None, monkeypatch: pytest.MonkeyPatch) -> Callable[[Script], Path]:
    """Index a kettle manual whose name sets the terminal's title; the model will write what the script says."""
    docs = tmp_path / "docs"
    docs.mkdir()
    manual = docs / f"kettle{TITLE}.txt"
    manual.write_text(KETTLE, encoding="utf-8")
    (docs / "garden.md").write_text(GARDEN, encoding="utf-8")
    assert cli.main(["index", "--quiet", str(docs)]) == 0

    def script(answer: Script) -> Path:
        monkeypatch.setattr(host_module, "ModelHost", scripted_host(answer))
        return manual

    return script


def test_ask_and_chats_text_output_escape_what_models_and_files_wrote(
    scripted_ask: Callable[[Script], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    manual = scripted_ask(lambda prompt: ["Unplug it\x1b", "]0;pwned\x07 and let it cool", "\x1b[2J [1]."])
    capsys.readouterr()
    assert cli.main(["ask", f"{TITLE}What does error code KX-409 mean?"]) == 0
    asked = capsys.readouterr()
    assert cli.main(["chats", "list"]) == 0
    listed = capsys.readouterr()
    assert cli.main(["chats", "show", "1"]) == 0
    shown = capsys.readouterr()
    for output in (asked, listed, shown):
        assert not RAW_CONTROL.search(output.out + output.err), output.out
    assert f"Unplug it{SHOWN_TITLE} and let it cool\\x1b[2J [1]." in asked.out
    assert f"[1] {_shown_path(manual)}" in asked.out
    assert SHOWN_TITLE in listed.out and _shown_path(manual) in shown.out

    assert cli.main(["ask", "--json", "What does error code KX-409 mean?"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["answer"] == f"Unplug it{TITLE} and let it cool\x1b[2J [1]."
    assert answer["citations"][0]["path"] == str(manual)


def test_answer_citing_an_absurd_number_is_finished(
    scripted_ask: Callable[[Script], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    absurd = "[" + "7" * 5000 + "]"
    manual = scripted_ask(lambda prompt: ["Unplug it and let it cool ", absurd, " [1]."])
    capsys.readouterr()
    assert cli.main(["ask", "--json", "What does error code KX-409 mean?"]) == 0
    captured = capsys.readouterr()
    assert "unexpected error" not in captured.err
    answer = json.loads(captured.out)
    assert answer["answer"] == f"Unplug it and let it cool {absurd} [1]."
    assert [(c["n"], c["path"]) for c in answer["citations"]] == [(1, str(manual))]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([{"relevant": ["kettle.txt"]}], "qa.jsonl:1: the field 'question' is missing"),
        ([{"question": "Descale?", "relevant": ["kettle.txt"]}, "not json"], "qa.jsonl:2: not a JSON object"),
        ([{"question": "Descale?", "relevant": ["kettle.txt"], "kind": "trivia"}], "qa.jsonl:1: unknown kind 'trivia'"),
        ([{"question": "Descale?", "relevant": ["toaster.txt"]}], "qa.jsonl:1: relevant file 'toaster.txt' is not in"),
        ([{"question": "Descale?", "relevant": []}], "qa.jsonl:1: 'relevant'"),
        ([], "holds no questions"),
    ],
)
def test_bad_question_sets_name_the_line_and_change_nothing(
    lines: list[object], message: str, corpus: Path, tmp_path: Path, in_process: None, hearth_home: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    questions = tmp_path / "qa.jsonl"
    questions.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    assert cli.main(["eval", str(questions), "--root", str(corpus)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not (hearth_home / "index").exists()  # nothing indexed, nothing made


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--root", "/no/such/corpus"], "No such folder: /no/such/corpus"),
        ([], "Give one --root for each question file"),
        (["--root", "{corpus}", "--sets", "{sets}"], "not both"),
    ],
)
def test_eval_roots_and_set_lists_are_checked(
    args: list[str], message: str, corpus: Path, tmp_path: Path, in_process: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    questions = tmp_path / "qa.jsonl"
    questions.write_text(json.dumps({"question": "Descale?", "relevant": ["kettle.txt"]}) + "\n")
    sets = tmp_path / "sets.toml"
    sets.write_text(f'[[set]]\nquestions = "qa.jsonl"\nroot = "{corpus}"\n')
    argv = ["eval", str(questions), *(a.format(corpus=corpus, sets=sets) for a in args)]
    assert cli.main(argv) == 2
    assert message in capsys.readouterr().err


def test_eval_of_a_corpus_never_indexed_says_so(
    corpus: Path, tmp_path: Path, in_process: None, capsys: pytest.CaptureFixture[str]
) -> None:
    sets = tmp_path / "sets.toml"
    (tmp_path / "qa.jsonl").write_text(json.dumps({"question": "Descale?", "relevant": ["kettle.txt"]}) + "\n")
    sets.write_text(f'[[set]]\nquestions = "qa.jsonl"\nroot = "{corpus}"\nname = "kitchen"\n')
    assert cli.main(["eval", "--sets", str(sets)]) == 2
    assert f"Nothing under {corpus} is indexed" in capsys.readouterr().err


def test_models_lists_those_added_in_the_window_too(
    tmp_path: Path, in_process: None, capsys: pytest.CaptureFixture[str]
) -> None:
    from desktop.services.models import add_model

    elsewhere = tmp_path / "downloads" / "my-model.gguf"
    elsewhere.parent.mkdir()
    elsewhere.symlink_to(MODELS / "SmolLM2-135M-Instruct.Q4_1.gguf")
    add_model(Workspace(models_dir=MODELS), elsewhere)  # what the window's "Add model file" does
    assert cli.main(["models", "--json"]) == 0
    listed = [model["path"] for model in json.loads(capsys.readouterr().out)]
    assert str(elsewhere) in listed and str(MODELS / "SmolLM2-135M-Instruct.Q4_1.gguf") in listed


def test_regenerate_answers_the_last_question_again_in_place(
    scripted_ask: Callable[[Script], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    scripted_ask(lambda prompt: ["Unplug it [1]."])
    assert cli.main(["ask", "--json", "What does error code KX-409 mean?"]) == 0
    conversation = json.loads(capsys.readouterr().out)["conversation"]
    scripted_ask(lambda prompt: ["Let it cool for ten minutes [1]."])

    assert cli.main(["regenerate", str(conversation), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["conversation"] == conversation and again["answer"].startswith("Let it cool")
    assert cli.main(["chats", "show", str(conversation)]) == 0
    shown = capsys.readouterr().out
    assert "Let it cool" in shown and shown.count("## You") == 1 and shown.count("## Hearth") == 1

    assert cli.main(["regenerate", "999"]) == 2
    assert "There is no conversation 999." in capsys.readouterr().err


def test_eval_against_another_data_folder_compares_question_by_question(
    corpus: Path, tmp_path: Path, hearth_home: Path, in_process: None, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Two indexes of one corpus (here with other passage sizes) on the same questions, paired."""
    questions = tmp_path / "qa.jsonl"
    questions.write_text("".join(json.dumps(q) + "\n" for q in [
        {"question": "What are Saturn's rings made of?", "relevant": ["astronomy.pdf"]},
        {"question": "How do I descale the kettle?", "relevant": ["kettle.txt"]},
    ]))
    other = tmp_path / "small-passages"
    other.mkdir()
    (other / "settings.json").write_text(json.dumps({"index": {"chunk_tokens": 64, "chunk_overlap": 8}}))
    monkeypatch.setenv("HEARTH_HOME", str(other))
    assert cli.main(["index", "--quiet", str(corpus)]) in (0, 1)
    monkeypatch.setenv("HEARTH_HOME", str(hearth_home))
    assert cli.main(["index", "--quiet", str(corpus)]) in (0, 1)
    capsys.readouterr()

    assert cli.main(["eval", str(questions), "--root", str(corpus), "--against", str(other), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    (only,) = report["sets"]
    assert report["configs"] == ["this folder", "other folder"] and only["n"] == 2
    assert set(only["difference"]) == {"recall@1", "recall@5", "recall@10", "mrr"}

    for args, message in [
        (["--against", str(tmp_path / "nowhere")], "no Hearth data folder there"),
        (["--against", str(hearth_home)], "names this data folder itself"),
        (["--against", str(other), "--compare", "vector", "hybrid"], "leave out --compare"),
    ]:
        assert cli.main(["eval", str(questions), "--root", str(corpus), *args]) == 2
        assert message in capsys.readouterr().err

def test_ask_with_drafts_keeps_the_best_supported_and_refuses_a_count_out_of_range(
    scripted_ask: Callable[[Script], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    drafts = iter(["Kettles are older than electricity.", "Error code KX-409 means the heating element overheated."])
    scripted_ask(lambda prompt: [next(drafts, "Kettles are older than electricity.")])
    capsys.readouterr()
    for wrong in ("0", "6"):
        assert cli.main(["ask", "--drafts", wrong, "What does error code KX-409 mean?"]) == 2
        assert f"--drafts takes 1 to 5 drafts, not {wrong}." in capsys.readouterr().err
    assert cli.main(["ask", "--drafts", "2", "What does error code KX-409 mean?"]) == 0
    out, err = capsys.readouterr()
    assert "Writing another draft to check against your files: 2 of 2" in err
    assert "Checked against your files:\nError code KX-409 means the heating element overheated" in out
    assert "wrote 2 drafts and kept draft 2" in out


def test_ask_agent_refuses_writing_tools_unless_approved_and_lists_each_call(
    scripted_ask: Callable[[Script], Path], capsys: pytest.CaptureFixture[str], hearth_home: Path
) -> None:
    note = json.dumps({"tool": "create_note", "arguments": {"title": "Kettle", "text": "Descale monthly."}})

    def script(prompt: str) -> list[str]:
        if "Reply with one JSON object" not in prompt:
            return ["Noted [1]."]
        return [note if '<result tool="' not in prompt else '{"tool": "answer"}']

    scripted_ask(script)
    capsys.readouterr()
    assert cli.main(["ask", "--approve", "Save a note"]) == 2
    assert "--approve lets the assistant's writing tools run: it needs --agent" in capsys.readouterr().err
    assert cli.main(["ask", "--agent", "Save a note about the kettle"]) == 0
    refused = capsys.readouterr()
    assert 'tool 1: create_note {"title": "Kettle", "text": "Descale monthly."} [refused: writing tools need ' \
           "--approve]" in refused.err
    assert not (hearth_home / "notes").exists()
    assert cli.main(["ask", "--agent", "--approve", "--json", "Save a note about the kettle"]) == 0
    approved = capsys.readouterr()
    assert "[command line (--approve)]" in approved.err
    answer = json.loads(approved.out)
    assert answer["tool_calls"][0]["approval"] == "command line (--approve)"
    assert (hearth_home / "notes" / "Kettle.md").read_text() == "# Kettle\n\nDescale monthly.\n"


def test_ask_agent_prints_where_open_in_viewer_would_open(
    scripted_ask: Callable[[Script], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    opens = json.dumps({"tool": "open_in_viewer", "arguments": {"path": "garden.md", "page": 1}})

    def script(prompt: str) -> list[str]:
        if "Reply with one JSON object" not in prompt:
            return ["Here it is [1]."]
        return [opens if '<result tool="' not in prompt else '{"tool": "answer"}']

    manual = scripted_ask(script)
    capsys.readouterr()
    assert cli.main(["ask", "--agent", "Show me the garden notes"]) == 0
    shown = capsys.readouterr()
    assert f"Open: {manual.parent / 'garden.md'}\n" in shown.out
    assert cli.main(["ask", "--agent", "--json", "Show me the garden notes"]) == 0
    as_json = capsys.readouterr()
    assert json.loads(as_json.out)["tool_calls"][0]["tool"] == "open_in_viewer"  # stdout: one JSON document
    assert f"Open: {manual.parent / 'garden.md'}" in as_json.err
