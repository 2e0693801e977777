"""Nothing leaks: index, search and ask connect exactly where the backend settings say, and nowhere else.

Everything local (the default): a guard loaded into every Python process of the run (children
included) records and refuses any connect() at all, loopback included, and the run happens inside a
network namespace with no interfaces (`unshare -n`), where any attempt would fail too.

Servers configured (`remote`): the same guard allows exactly the endpoints the settings name (the list
the status bar shows), and records and refuses every other one; the servers prove they were used.
OCR's native Tesseract is watched by strace instead (tests/test_ocr.py).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.core.backends import remote_endpoints
from desktop.core.settings import load_settings
from tests.scans import page_image
from tests.servers import Server, remote_settings

REPO = Path(__file__).resolve().parents[1]
GUARD = REPO / "tests" / "network_guard"


def _run(args: list[str], env: dict[str, str], prefix: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*(prefix or []), sys.executable, "-m", "desktop", *args], capture_output=True,
                          text=True, env=env, cwd=REPO, timeout=300)


def _workflow(corpus: Path, env: dict[str, str], prefix: list[str] | None = None) -> None:
    page_image(["Brinewater salt works receipt"]).save(corpus / "receipt.png")  # read by OCR, a native program
    indexed = _run(["index", "--json", str(corpus)], env, prefix)
    assert indexed.returncode == 0, indexed.stderr
    searched = _run(["search", "--json", "KX-409"], env, prefix)
    assert json.loads(searched.stdout)[0]["path"].endswith("kettle.txt"), searched.stderr
    searched = _run(["search", "--json", "Brinewater salt works"], env, prefix)
    assert json.loads(searched.stdout)[0]["path"].endswith("receipt.png"), searched.stderr
    asked = _run(["ask", "--json", "What does KX-409 mean?"], env, prefix)
    assert asked.returncode == 0, asked.stderr
    assert json.loads(asked.stdout)["answer"]


def test_guard_catches_a_real_attempt(tmp_path: Path) -> None:
    """The guard itself works: without this, the next test could pass vacuously."""
    log = tmp_path / "network.log"
    env = {**os.environ, "PYTHONPATH": str(GUARD), "HEARTH_NETWORK_LOG": str(log)}
    script = "import socket; socket.create_connection(('192.0.2.1', 80), timeout=1)"
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "network guard" in result.stderr
    assert "192.0.2.1" in log.read_text()


def test_guard_allows_exactly_the_configured_endpoints(tmp_path: Path) -> None:
    """With servers configured, another port on the same loopback address is still refused."""
    log = tmp_path / "network.log"
    with socket.create_server(("127.0.0.1", 0)) as allowed, socket.create_server(("127.0.0.1", 0)) as other:
        allowed_port, other_port = allowed.getsockname()[1], other.getsockname()[1]
        env = {**os.environ, "PYTHONPATH": str(GUARD), "HEARTH_NETWORK_LOG": str(log),
               "HEARTH_NETWORK_ALLOW": f"127.0.0.1:{allowed_port}"}
        script = (f"import socket; socket.create_connection(('127.0.0.1', {allowed_port}), timeout=5).close(); "
                  f"socket.create_connection(('127.0.0.1', {other_port}), timeout=5)")
        result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "network guard" in result.stderr
    assert log.read_text().count("connect") == 1 and str(other_port) in log.read_text()


def _can_unshare() -> bool:
    if not shutil.which("unshare"):
        return False
    return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0


def test_workflow_opens_no_connection(corpus: Path, hearth_home: Path, tmp_path: Path) -> None:
    """Both proofs in one run: the guard records any attempt, and, where the machine allows it,
    the run happens in a namespace with no network interface, so an attempt would also fail."""
    log = tmp_path / "network.log"
    env = {**os.environ, "HEARTH_HOME": str(hearth_home), "PYTHONPATH": str(GUARD),
           "HEARTH_NETWORK_LOG": str(log),
           "HEARTH_GENERATION__MAX_TOKENS": "32"}  # the whole answer path runs; 512 tokens only cost time
    isolated = _can_unshare()
    _workflow(corpus, env, prefix=["unshare", "-n", "--"] if isolated else None)
    assert not log.exists(), log.read_text()
    print(f"network guard: 0 connections; network namespace: {'yes' if isolated else 'not allowed here'}")


def _answers_served(model: Server) -> int:
    return model.log.read_text(errors="replace").count("POST /v1/chat/completions")


@pytest.mark.remote
def test_with_servers_the_workflow_connects_only_to_them(
    servers: tuple[Server, Server], corpus: Path, hearth_home: Path, tmp_path: Path
) -> None:
    """No network namespace here: the servers listen on this machine's loopback, outside any new one."""
    chroma, model = servers
    hearth_home.mkdir(parents=True, exist_ok=True)
    (hearth_home / "settings.json").write_text(json.dumps(remote_settings(chroma, model)), encoding="utf-8")
    allowed = remote_endpoints(load_settings(hearth_home).backends)
    assert [str(e) for e in allowed] == [f"127.0.0.1:{chroma.port}", f"127.0.0.1:{model.port}"]
    log = tmp_path / "network.log"
    answered_before = _answers_served(model)
    env = {**os.environ, "HEARTH_HOME": str(hearth_home), "PYTHONPATH": str(GUARD), "HEARTH_NETWORK_LOG": str(log),
           "HEARTH_NETWORK_ALLOW": ",".join(str(e) for e in allowed)}
    _workflow(corpus, env)
    assert not log.exists(), log.read_text()
    assert not (hearth_home / "index" / "chroma").exists()  # the vectors went to the server...
    assert _answers_served(model) > answered_before  # ...and the question to the model server
    print(f"network guard: 0 connections outside {', '.join(str(e) for e in allowed)}")
