"""The assistant with tools, measured with the default model on ``agent_tasks.py``.

For each task the agent runs as ``hearth ask --agent --approve`` would (writing tools approved, a
fixed clock, greedy decoding, a fixed seed) on a generated library, and these are recorded:

- tool choice: the first call is the tool the task needs first (answering at once counts as a miss);
- tools covered: every tool the task needs was called;
- valid calls: of everything the model wrote at a step, the share that was a valid call (the grammar
  should make it 100%);
- steps: tool calls per task;
- evidence: some tool result holds the expected answer (the model found it);
- success: the final answer holds it (a note task: a note was written that holds it).

Each figure comes with a 95% bootstrap interval over the tasks. Prints a table, then one JSON line.

Run: ``.venv/bin/python benchmarks/bench_agent.py [--limit N] [--max-tokens 64]``.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import bundled_model, print_json, print_table
from benchmarks.agent_tasks import TASKS, TODAY, AgentTask, write_library
from desktop.core.offline import enforce_offline
from desktop.core.paths import models_dir
from desktop.core.settings import GenerationSettings, HearthSettings, ToolSettings
from desktop.core.types import Approval, Message
from desktop.services.agent import Agent, ToolsDone, approve_writes
from desktop.services.answering import AnswerFinished
from desktop.services.evaluation import mean_with_interval
from desktop.services.home import Home
from desktop.services.indexing import Indexer

MODEL = "SmolLM2-135M-Instruct.Q4_1.gguf"
SEED = 42


def _holds(text: str, expected: list[str]) -> bool:
    return any(e.lower() in text.lower() for e in expected)


def score(task: AgentTask, message: Message, done: ToolsDone, notes: Path) -> dict[str, float]:
    called = [c.tool for c in message.tool_calls]
    if task.note:
        written = [p.read_text(encoding="utf-8") for p in notes.glob("*.md")] if notes.is_dir() else []
        success = any(_holds(text, task.expected) for text in written)
    else:
        success = _holds(message.text, task.expected)
    return {
        "tool_choice": float(bool(called) and called[0] == task.first_tool),
        "tools_covered": float(set(task.tools) <= set(called)),
        "valid_calls": (done.outputs - done.invalid) / done.outputs if done.outputs else 1.0,
        "steps": float(len(called)),
        "evidence": float(any(c.ok and _holds(c.result, task.expected) for c in message.tool_calls)),
        "success": float(success),
    }


def main() -> int:
    enforce_offline()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, help="only the first N tasks")
    parser.add_argument("--max-tokens", type=int, default=64, help="longest final answer (tokens)")
    args = parser.parse_args()
    model = bundled_model(MODEL)
    if model is None:
        return 1
    tasks = TASKS[: args.limit] if args.limit else TASKS
    rows: list[dict[str, Any]] = []
    outputs = invalid = 0
    with tempfile.TemporaryDirectory(prefix="hearth-agent-bench-") as scratch:
        root = Path(scratch)
        write_library(root / "library")
        generation = GenerationSettings(temperature=0.0, seed=SEED, max_tokens=args.max_tokens)
        settings = HearthSettings(generation=generation, default_model=MODEL,
                                  tools=ToolSettings(notes_folder=str(root / "notes")))
        answerer = Home(root / "data", models_dir=models_dir(), settings=settings).answerer()
        try:
            Indexer(answerer.workspace).index([root / "library"])
            agent = Agent(answerer, approve=approve_writes, today=lambda: TODAY)
            for number, task in enumerate(tasks, 1):
                for note in (root / "notes").glob("*.md") if (root / "notes").is_dir() else []:
                    note.unlink()  # each note task is scored on its own notes
                began = time.perf_counter()
                events = list(agent.ask(task.question))
                (done,) = [e for e in events if isinstance(e, ToolsDone)]
                (finished,) = [e for e in events if isinstance(e, AnswerFinished)]
                scores = score(task, finished.message, done, root / "notes")
                outputs += done.outputs
                invalid += done.invalid
                calls = " → ".join(c.tool + ("" if c.ok else "✗") for c in finished.message.tool_calls) or "(none)"
                print(f"{number:>2}. {'✓' if scores['success'] else '✗'} {calls} [{done.reason}] "
                      f"{time.perf_counter() - began:.0f}s  {task.question}", file=sys.stderr)
                rows.append({"question": task.question, "calls": [c.tool for c in finished.message.tool_calls],
                             "approvals": [str(c.approval) for c in finished.message.tool_calls
                                           if c.approval != Approval.NOT_NEEDED],
                             "ended": done.reason, "answer": finished.message.text[:200], **scores})
        finally:
            answerer.close()
    rng = random.Random(SEED)
    summary: dict[str, dict[str, Any]] = {}
    for metric in ("tool_choice", "tools_covered", "valid_calls", "steps", "evidence", "success"):
        mean, interval = mean_with_interval([row[metric] for row in rows], rng)
        summary[metric] = {"mean": round(mean, 3), "ci95": [round(v, 3) for v in interval]}
    pooled_valid = (outputs - invalid) / outputs if outputs else 1.0
    print_table(f"{MODEL}, {len(rows)} tasks, greedy, seed {SEED}, answers of at most {args.max_tokens} tokens", [
        *((name, f"{figures['mean']:.3f}  95% CI [{figures['ci95'][0]:.3f}, {figures['ci95'][1]:.3f}]")
          for name, figures in summary.items()),
        ("valid calls, pooled", f"{pooled_valid:.3f} ({outputs - invalid} of {outputs} steps)"),
    ])
    print_json({"benchmark": "agent", "model": MODEL, "tasks": len(rows), "summary": summary,
                "valid_calls_pooled": pooled_valid, "steps_written": outputs, "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
