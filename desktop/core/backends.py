"""What leaves the machine: the servers the backend settings name, as host and port.

The status bar, ``hearth backends`` and the privacy test's connection guard all read this, so what
Hearth says it connects to and what the guard allows are the same list."""

from __future__ import annotations

from typing import Any, NamedTuple
from urllib.parse import urlsplit

from desktop.core.settings import BackendSettings

OFFLINE = "Offline"


class Endpoint(NamedTuple):
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


def endpoint(url: str) -> Endpoint:
    """The host and port a validated server URL connects to (80 or 443 when it names none)."""
    parsed = urlsplit(url)
    assert parsed.hostname is not None  # the settings refuse a URL without a host
    return Endpoint(parsed.hostname, parsed.port or (443 if parsed.scheme == "https" else 80))


def remote_endpoints(backends: BackendSettings) -> list[Endpoint]:
    """Every host and port Hearth may connect to; empty when everything is local."""
    urls = [backends.vector_server, backends.model_server]
    return list(dict.fromkeys(endpoint(url) for url in urls if url is not None))


def outside_machine(backends: BackendSettings) -> list[str]:
    """One line per server in use, as the status bar shows them; empty when everything is local."""
    lines = []
    if backends.vector_server is not None:
        lines.append(f"Remote vectors: {endpoint(backends.vector_server)}")
    if backends.model_server is not None:
        lines.append(f"Remote model: {endpoint(backends.model_server).host}")
    return lines


def vector_place(backends: BackendSettings) -> dict[str, Any]:
    """What the vector store opened depends on: when it changes, the store is opened again."""
    return backends.model_dump(include={"vector_server", "vector_token", "collection", "timeout_s"})


def model_place(backends: BackendSettings) -> dict[str, Any]:
    """What the model host depends on: when it changes, the answerer takes a new host."""
    return backends.model_dump(include={"model_server", "model_api_key", "model_name", "timeout_s"})
