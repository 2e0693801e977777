"""A Chroma server as the vector store's client: checked with one request before the client is made,
so a wrong address, protocol or token is one clear sentence (chromadb's own errors for them are long
and differ by version), and every later failure names the server."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import httpx

from desktop.core.backends import endpoint
from desktop.core.errors import StoreError

TOKEN_PROVIDER = "chromadb.auth.token_authn.TokenAuthClientProvider"
PROBE_PATH = "/api/v2/auth/identity"  # answers on a bare server, and checks the token on a secured one


def _auth_headers(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def check_server(url: str, token: str | None, timeout_s: float) -> None:
    """Raise StoreError (one sentence) unless ``url`` is a Chroma server that accepts ``token``."""
    try:
        response = httpx.get(url + PROBE_PATH, headers=_auth_headers(token), timeout=timeout_s)
    except httpx.ConnectError:
        raise StoreError(
            f"Cannot reach the Chroma server at {url}: check that it runs and the address is right."
        ) from None
    except httpx.TimeoutException:
        raise StoreError(f"The Chroma server at {url} did not answer within {timeout_s:g} s.") from None
    except httpx.HTTPError:
        raise StoreError(f"{url} does not answer in HTTP: is it the Chroma server's address?") from None
    if response.status_code in (401, 403):
        refused = "refused the token" if token else "needs a token (backends.vector_token)"
        raise StoreError(f"The Chroma server at {url} {refused}.")
    if response.status_code != 200 or not _is_identity(response):
        raise StoreError(f"{url} does not answer as a Chroma server (GET {PROBE_PATH} gave {response.status_code}).")


def _is_identity(response: httpx.Response) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and "tenant" in body


def client(url: str, token: str | None, timeout_s: float) -> Any:
    """A checked ``chromadb.HttpClient`` for ``url``."""
    check_server(url, token, timeout_s)
    import chromadb
    from chromadb.config import Settings

    where = endpoint(url)
    settings = Settings(
        anonymized_telemetry=False, allow_reset=True,
        chroma_client_auth_provider=TOKEN_PROVIDER if token else None, chroma_client_auth_credentials=token,
    )
    with failures(url):
        return chromadb.HttpClient(host=where.host, port=where.port, ssl=url.startswith("https://"), settings=settings)


@contextlib.contextmanager
def failures(url: str) -> Iterator[None]:
    """A server that stops answering mid-call is one sentence; the registry's journal keeps the index
    consistent (vectors are journaled before they are sent)."""
    from chromadb.errors import ChromaError

    try:
        yield
    except httpx.TimeoutException:
        raise StoreError(f"The Chroma server at {url} stopped answering in time.") from None
    except httpx.HTTPError as exc:
        raise StoreError(f"The Chroma server at {url} is unreachable ({exc}); nothing is lost, try again.") from None
    except ChromaError as exc:
        raise StoreError(f"The Chroma server at {url} refused a request: {exc}") from None
