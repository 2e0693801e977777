from __future__ import annotations

import os
from pathlib import Path

from desktop.core.settings import DEFAULT_IGNORE
from desktop.ingest.walker import FoundFile, SkippedFile, walk


def _supported(path: Path) -> bool:
    return path.suffix in {".md", ".txt"}


def _run(*roots: Path) -> tuple[list[str], list[SkippedFile]]:
    found, skipped = [], []
    for item in walk(list(roots), ignore=DEFAULT_IGNORE, supported=_supported):
        if isinstance(item, FoundFile):
            found.append(os.path.basename(item.path))
        else:
            skipped.append(item)
    return sorted(found), skipped


def test_recursive_walk_skips_ignored_and_unsupported(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("a")
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / "sub" / "deeper" / "b.txt").write_text("b")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "c.md").write_text("c")
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "d.md").write_text("d")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    found, skipped = _run(tmp_path)
    assert found == ["a.md", "b.txt"]
    assert skipped == []


def test_symlink_loop_ends(tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "n.md").write_text("n")
    os.symlink(tmp_path, tmp_path / "notes" / "loop")
    found, _ = _run(tmp_path)
    assert found == ["n.md"]


def test_fifo_is_skipped_with_reason_not_opened(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.txt")
    found, skipped = _run(tmp_path)
    assert found == []
    assert [s.reason for s in skipped] == ["not a regular file (device, pipe or socket)"]


def test_explicit_hidden_path_is_accepted_and_unsupported_explicit_is_reported(tmp_path: Path) -> None:
    hidden = tmp_path / ".private.md"
    hidden.write_text("secret notes")
    other = tmp_path / "photo.jpg"
    other.write_bytes(b"\xff\xd8")
    found, skipped = _run(hidden, other)
    assert found == [".private.md"]
    assert skipped[0].reason.startswith("unsupported file type")


def test_broken_link_is_reported(tmp_path: Path) -> None:
    os.symlink(tmp_path / "gone.md", tmp_path / "link.md")
    _, skipped = _run(tmp_path)
    assert [s.reason for s in skipped] == ["broken link"]
