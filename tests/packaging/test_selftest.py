"""`python -m desktop --selftest` from the source checkout (the frozen one is in test_bundle.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _selftest(env: dict[str, str]) -> tuple[int, dict[str, object], str]:
    result = subprocess.run([sys.executable, "-m", "desktop", "--selftest"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=600)
    lines = result.stdout.splitlines()
    assert len(lines) == 1, f"stdout: {result.stdout!r}\nstderr: {result.stderr[-3000:]}"
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    return result.returncode, json.loads(lines[0]), result.stderr


def test_selftest_passes_and_leaves_the_data_folder_alone(hearth_home: Path) -> None:
    code, report, stderr = _selftest(dict(os.environ))
    assert code == 0 and report["ok"], f"{report}\n{stderr[-3000:]}"
    assert report["indexed"] == 5 and report["searched"] == 5 and not report["frozen"]
    citation = report["citation"]
    assert isinstance(citation, dict) and (citation["path"], citation["page"]) == ("astronomy.pdf", 2)
    assert not hearth_home.exists(), "the self-test works in a temporary folder"


def test_a_failure_is_one_json_line_and_exit_1(tmp_path: Path) -> None:
    code, report, _ = _selftest({**os.environ, "HEARTH_MODELS": str(tmp_path)})
    assert code == 1 and report["ok"] is False
    assert str(report["reason"]).startswith("index: Embedding model all-MiniLM-L6-v2 was not found")
