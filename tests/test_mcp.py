"""``hearth mcp``: the library served over stdio, driven by the MCP SDK's own stdio client."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.types import CallToolResult, TextContent

from desktop.services.indexing import Indexer
from desktop.services.workspace import Workspace
from tests.samples import KETTLE

REPO = Path(__file__).resolve().parents[1]
HANG_GUARD_S = 240


def _structured(result: Any) -> dict[str, Any]:
    assert isinstance(result, CallToolResult) and not result.is_error, result
    assert result.structured_content is not None
    return result.structured_content


def _error_text(result: Any) -> str:
    assert isinstance(result, CallToolResult) and result.is_error
    return " ".join(c.text for c in result.content if isinstance(c, TextContent))


def _files(home: Path) -> dict[str, int]:
    """Every file of the data folder but the logs, with its size; SQLite's side files come and go."""
    return {
        str(p.relative_to(home)): p.stat().st_size for p in home.rglob("*")
        if p.is_file() and "logs" not in p.parts and not p.name.endswith(("-wal", "-shm", "-journal"))
    }


@pytest.mark.slow
def test_other_apps_search_fetch_and_list_the_library_read_only(
    workspace: Workspace, tmp_path: Path, hearth_home: Path
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "kettle.txt").write_text(KETTLE)
    (docs / "long.md").write_text("# Long\n\n" + "\n\n".join(f"Paragraph {i} about gardening." for i in range(3000)))
    Indexer(workspace).index([docs])
    before = _files(hearth_home)
    server = StdioServerParameters(
        command=sys.executable, args=["-m", "desktop", "mcp"], cwd=REPO,
        env={**os.environ, "HEARTH_HOME": str(hearth_home)},
    )
    seen: dict[str, Any] = {}

    async def drive() -> None:
        with anyio.fail_after(HANG_GUARD_S):
            async with stdio_client(server) as (read, write), ClientSession(read, write) as session:
                await session.initialize()
                tools = (await session.list_tools()).tools
                seen["tools"] = {t.name: t for t in tools}
                seen["search"] = _structured(await session.call_tool("search", {"query": "KX-409 overheated", "k": 2}))
                found = seen["search"]["results"][0]
                seen["fetch"] = _structured(await session.call_tool("fetch", {"id": found["id"]}))
                seen["listed"] = _structured(await session.call_tool("list_documents", {"contains": "long"}))
                long_id = seen["listed"]["documents"][0]["id"]
                seen["part2"] = _structured(await session.call_tool("fetch", {"id": long_id, "part": 2}))
                seen["bad_id"] = _error_text(await session.call_tool("fetch", {"id": "../../etc/passwd"}))
                seen["no_doc"] = _error_text(await session.call_tool("fetch", {"id": "999999"}))
                seen["bad_type"] = await session.call_tool("search", {"query": "x", "k": "many"})

    anyio.run(drive)
    tools = seen["tools"]
    assert set(tools) == {"search", "fetch", "list_documents"}
    assert all(t.annotations is not None and t.annotations.read_only_hint for t in tools.values())
    hit = seen["search"]["results"][0]
    assert hit["path"] == str(docs / "kettle.txt") and "KX-409" in hit["text"]
    assert seen["fetch"]["path"] == str(docs / "kettle.txt") and "Descale the kettle monthly" in seen["fetch"]["text"]
    assert seen["listed"]["total"] == 1 and seen["listed"]["documents"][0]["kind"] == "markdown"
    assert seen["part2"]["part"] == 2 and seen["part2"]["parts"] >= 3 and "Paragraph" in seen["part2"]["text"]
    assert "is not a document id" in seen["bad_id"]
    assert "there is no document 999999" in seen["no_doc"]
    assert seen["bad_type"].is_error
    assert "Traceback" not in json.dumps(seen["bad_type"].model_dump(mode="json"))
    assert _files(hearth_home) == before  # nothing written (but the log)
