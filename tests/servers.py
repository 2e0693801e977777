"""Real servers on 127.0.0.1 for the `remote` tests: a `chroma run` server from the installed chromadb and
llama-cpp-python's OpenAI-compatible server with the default model. Each can be killed and started again
on the same port and data, as the fault tests need."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import MODELS

START_TIMEOUT_S = 120.0  # a hang guard: the model server loads the model first
MODEL_KEY = "test-key"
MODEL_FILE = MODELS / "SmolLM2-135M-Instruct.Q4_1.gguf"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """One server process; ``kill()`` is SIGKILL (no goodbye), ``start()`` brings it back on the same port."""

    def __init__(self, name: str, command: list[str], url: str, ready: str, log: Path,
                 headers: dict[str, str] | None = None) -> None:
        self.name, self.command, self.url, self.log = name, command, url, log
        self._ready, self._headers = ready, headers or {}
        self.process: subprocess.Popen[bytes] | None = None
        self.port = int(url.rsplit(":", 1)[1].split("/")[0])

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT,
                                            env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"{self.name} exited while starting: {self.log.read_text(errors='replace')[-2000:]}")
            try:
                if httpx.get(self.url + self._ready, headers=self._headers, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        pytest.fail(f"{self.name} did not start: {self.log.read_text(errors='replace')[-2000:]}")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def ensure_running(self) -> None:
        if self.process is None or self.process.poll() is not None:
            self.start()


def _chroma_binary() -> str:
    beside = Path(sys.executable).parent / "chroma"
    return str(beside) if beside.exists() else "chroma"


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("chroma-server")
    port = free_port()
    server = Server(
        "chroma run", [_chroma_binary(), "run", "--path", str(folder / "data"), "--host", "127.0.0.1",
                       "--port", str(port)],
        f"http://127.0.0.1:{port}", "/api/v2/heartbeat", folder / "chroma.log",
    )
    server.start()
    yield server
    server.kill()


@pytest.fixture(scope="session")
def model_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if not MODEL_FILE.exists():
        pytest.skip("the default model is not in models/ (make models)")
    folder = tmp_path_factory.mktemp("model-server")
    port = free_port()
    server = Server(
        "llama-cpp-python server",
        [sys.executable, "-m", "llama_cpp.server", "--model", str(MODEL_FILE), "--host", "127.0.0.1",
         "--port", str(port), "--n_ctx", "4096", "--api_key", MODEL_KEY, "--n_threads", "2",
         "--model_alias", "SmolLM2-135M-Instruct"],
        f"http://127.0.0.1:{port}/v1", "/models", folder / "server.log",
        headers={"Authorization": f"Bearer {MODEL_KEY}"},
    )
    server.start()
    yield server
    server.kill()


@pytest.fixture
def servers(chroma_server: Server, model_server: Server) -> tuple[Server, Server]:
    """Both servers, running (a fault test before this one may have killed them)."""
    chroma_server.ensure_running()
    model_server.ensure_running()
    return chroma_server, model_server


def remote_settings(chroma: Server | None, model: Server | None, **backends: object) -> dict[str, object]:
    """A settings.json naming the servers, with short answers (the tests need some answer, not a long one)."""
    chosen: dict[str, object] = {}
    if chroma is not None:
        chosen["vector_server"] = chroma.url
    if model is not None:
        chosen |= {"model_server": model.url, "model_api_key": MODEL_KEY}
    return {"backends": chosen | backends, "generation": {"max_tokens": 48}}
