"""Nothing is lost on a crash: SIGKILL Hearth at random moments while it indexes, re-indexes,
forgets or answers, start again, and check the invariants every time.

HEARTH_CRASH_RUNS sets the number of kills: 8 by default, which with this seed kill each of index,
re-index, forget and ask at least once (`make test` stays quick); `make crash-soak` runs 60.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from itertools import pairwise
from pathlib import Path
from typing import Any

from desktop.core.types import MessageStatus

REPO = Path(__file__).resolve().parents[1]
RUNS = int(os.environ.get("HEARTH_CRASH_RUNS", "8"))


def _start(args: list[str], home: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "HEARTH_HOME": str(home), "HEARTH_INDEX__EMBED_BATCH_SIZE": "8"}
    return subprocess.Popen([sys.executable, "-m", "desktop", *args], cwd=REPO, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)


def _kill_after(process: subprocess.Popen[str], seconds: float) -> str:
    """SIGKILL the whole process group (parse workers and model host too); return what it printed."""
    try:
        out, _ = process.communicate(timeout=seconds)
        return out
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, _ = process.communicate()
        return out


def _probe(home: Path) -> dict[str, Any]:
    result = subprocess.run([sys.executable, "-m", "tests.crash_probe", str(home)], cwd=REPO,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _mutate(corpus: Path, rng: random.Random, step: int) -> None:
    files = sorted(corpus.glob("*.md"))
    choice = rng.choice(["edit", "rename", "delete", "add"])
    if choice == "edit" and files:
        rng.choice(files).write_text(f"# Edited {step}\n\n" + "Changed text about lanterns. " * 200)
    elif choice == "rename" and files:
        victim = rng.choice(files)
        victim.rename(victim.with_name(f"renamed-{step}.md"))
    elif choice == "delete" and len(files) > 5:
        rng.choice(files).unlink()
    else:
        (corpus / f"new-{step}.md").write_text(f"# New {step}\n\n" + f"Fresh notes number {step}. " * 300)


def test_kill_at_random_moments_then_start_again(tmp_path: Path) -> None:
    rng = random.Random(20261126)
    home, corpus = tmp_path / "home", tmp_path / "corpus"
    corpus.mkdir()
    for n in range(24):
        (corpus / f"note-{n:02}.md").write_text(
            f"# Note {n}\n\n" + "\n\n".join(f"Paragraph {p} of note {n} about kettles and gardens. " * 12
                                            for p in range(10)))
    failures: list[str] = []
    kinds: dict[str, int] = {}
    seen_messages: set[int] = set()
    for run in range(RUNS):
        action = rng.choice(["index", "index", "index", "forget", "ask"])
        kinds[action] = kinds.get(action, 0) + 1
        if action == "index":
            _mutate(corpus, rng, run)
            printed = _kill_after(_start(["index", "--quiet", str(corpus)], home), rng.uniform(2.0, 14.0))
        elif action == "forget":
            victim = rng.choice(sorted(corpus.glob("*.md")))
            printed = _kill_after(_start(["forget", str(victim)], home), rng.uniform(1.0, 8.0))
        else:
            printed = _kill_after(_start(["ask", "Tell me everything about kettles and gardens."], home),
                                  rng.uniform(3.0, 12.0))
        state = _probe(home)
        if not state["check"]["ok"]:  # unfinished documents are pending, not damage
            failures.append(f"run {run} ({action}): {state['check']['problems']}")
        messages = state["messages"]
        if any(m["status"] == MessageStatus.STREAMING for m in messages):
            failures.append(f"run {run}: an answer is still marked as streaming after restart")
        for before, after in pairwise(messages):
            if after["role"] == "assistant" and before["role"] != "user":
                failures.append(f"run {run}: an answer without its question")
        # Each ask starts a conversation, and conversations are listed newest first: this run's
        # answer is the one message not seen before (none if it was killed before saving any).
        answers = [m for m in messages if m["id"] not in seen_messages and m["role"] == "assistant"]
        seen_messages.update(m["id"] for m in messages)
        if action == "ask" and answers:
            answer = answers[-1]
            # Killed mid-answer: what was saved (every half second) and what was shown agree as far as
            # both go. A finished answer is saved without invented citations, so only its status counts.
            if answer["status"] == MessageStatus.INTERRUPTED:
                saved, shown = answer["text"].lstrip(), printed.lstrip()
                if not shown.startswith(saved[: len(shown)]):
                    failures.append(f"run {run}: saved answer {saved!r} is not what was shown: {shown!r}")
            elif answer["status"] != MessageStatus.COMPLETE:
                failures.append(f"run {run}: a finished answer saved as {answer['status']}")
    # finally let it finish: everything indexed exactly once, and the stores agree
    finished = subprocess.run([sys.executable, "-m", "desktop", "index", "--json", str(corpus)], cwd=REPO,
                              env={**os.environ, "HEARTH_HOME": str(home)}, capture_output=True, text=True,
                              timeout=600)
    assert finished.returncode == 0, finished.stderr
    final = _probe(home)
    assert final["check"]["ok"], final["check"]["problems"]
    print(f"crash test: {RUNS} kills ({kinds}), {len(failures)} failures")
    assert not failures, "\n".join(failures)
