"""Servers that misbehave, on 127.0.0.1: malformed events, an answer cut short, a server too slow, an
error mid-stream, a page instead of events, and a port that does not speak HTTP. Each is one sentence
(a ModelError or StoreError), never a traceback or a hang. The real servers' tests are in tests/remote."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from desktop.core.errors import ModelError, StoreError
from desktop.core.settings import BackendSettings, GenerationSettings
from desktop.llm.openai_host import OpenAIHost
from desktop.llm.templates import ChatMessage
from desktop.store.chroma_server import check_server

GOOD = 'data: {"choices": [{"delta": {"content": "Hello"}, "finish_reason": null}]}\n\n'
REPLIES = {
    "malformed": GOOD + "data: {not json\n\n",
    "cut short": GOOD,  # no finish reason, no [DONE]: the connection just ends
    "error event": GOOD + 'data: {"error": {"message": "the model ran out of memory"}}\n\n',
    "page": "<html><body>Welcome to nginx!</body></html>\n",
    "finished": GOOD + 'data: {"choices": [{"delta": {}, "finish_reason": "stop"}]}\n\ndata: [DONE]\n\n',
}


class _Handler(BaseHTTPRequestHandler):
    reply: ClassVar[str] = "finished"
    delay_s: ClassVar[float] = 0.0
    refuses: ClassVar[bool] = False  # as a proxy in front of `chroma run` refuses a wrong token

    def do_GET(self) -> None:
        if self.refuses:
            self._send(401, "text/plain", "Unauthorized")
            return
        self._send(200, "application/json", json.dumps({"data": [{"id": "tiny"}]}))

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        time.sleep(self.delay_s)
        if self.reply == "too long":
            self._send(400, "application/json", json.dumps({"error": {"message": "Requested tokens exceed context"}}))
            return
        kind = "text/html" if self.reply == "page" else "text/event-stream"
        self._send(200, kind, REPLIES[self.reply])

    def _send(self, status: int, kind: str, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError):  # the slow-server test's client stopped waiting
            self.wfile.write(data)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, type[_Handler]]]:
    handler = type("Handler", (_Handler,), {})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1", handler
    httpd.shutdown()
    httpd.server_close()


def _answer(url: str, timeout_s: float = 30.0) -> list[object]:
    host = OpenAIHost(BackendSettings(model_server=url, timeout_s=timeout_s))
    try:
        host.connect(GenerationSettings())
        prompt = host.render_prompt([ChatMessage(role="user", content="Hello?")])
        return list(host.generate(prompt, GenerationSettings()))
    finally:
        host.close()


@pytest.mark.parametrize(("reply", "message"), [
    ("malformed", "sent a malformed event; what was written is kept"),
    ("cut short", "ended the answer without finishing it"),
    ("error event", "stopped the answer: the model ran out of memory"),
    ("page", "sent a malformed event"),
    ("too long", "refused the request: Requested tokens exceed context"),
])
def test_a_misbehaving_model_server_is_one_sentence(
    server: tuple[str, type[_Handler]], reply: str, message: str
) -> None:
    url, handler = server
    handler.reply = reply
    with pytest.raises(ModelError, match=message) as raised:
        _answer(url)
    assert str(raised.value).startswith(("The model server at " + url, url)) and "\n" not in str(raised.value)


def test_a_well_behaved_stream_is_one_answer(server: tuple[str, type[_Handler]]) -> None:
    url, _ = server
    *pieces, result = _answer(url)
    assert [getattr(p, "text", None) for p in pieces] == ["Hello"]
    assert getattr(result, "text", None) == "Hello" and getattr(result, "finish_reason", None) == "stop"


def test_a_slow_model_server_is_refused_after_the_timeout(server: tuple[str, type[_Handler]]) -> None:
    url, handler = server
    handler.delay_s = 2.0
    with pytest.raises(ModelError, match=re.escape("did not answer within 0.5 s")):
        _answer(url, timeout_s=0.5)


@pytest.fixture
def not_http() -> Iterator[str]:
    """A port that greets in another protocol (SSH's banner) and hangs up."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            with connection:
                connection.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()


def test_a_port_that_does_not_speak_http_is_named(not_http: str) -> None:
    with pytest.raises(StoreError, match="does not answer in HTTP"):
        check_server(not_http, None, 5.0)
    host = OpenAIHost(BackendSettings(model_server=not_http + "/v1", timeout_s=5.0))
    with pytest.raises(ModelError, match="does not answer in HTTP"):
        host.connect(GenerationSettings())
    host.close()


def test_a_refused_chroma_token_is_named(server: tuple[str, type[_Handler]]) -> None:
    """`chroma run` checks no token itself: the TLS proxy in front of it does (deploy/), with a 401."""
    url, handler = server
    handler.refuses = True
    chroma = url.removesuffix("/v1")
    with pytest.raises(StoreError, match=f"^The Chroma server at {re.escape(chroma)} refused the token.$"):
        check_server(chroma, "wrong", 5.0)
    with pytest.raises(StoreError, match=re.escape("needs a token (backends.vector_token)")):
        check_server(chroma, None, 5.0)
