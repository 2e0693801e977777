from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from desktop.core.settings import DEFAULT_IGNORE
from desktop.ingest.walker import MAX_DEPTH, FoundFile, SkippedFile, walk
from tests.hostile.generate import deep_folder, remove_tree


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


def test_thousand_deep_tree_is_walked_to_the_limit_and_reported(tmp_path: Path) -> None:
    """A recursive walk raised RecursionError here; now the too-deep folder is one skipped entry."""
    root = tmp_path / "deep"
    try:
        (deep_folder(root, 5) / "near.md").write_text("near")
        (deep_folder(root, MAX_DEPTH) / "at-the-limit.md").write_text("still in")
        (deep_folder(root, 1_000) / "bottom.md").write_text("too far")
        found, skipped = _run(root)
        assert found == ["at-the-limit.md", "near.md"]
        assert [(s.path, s.reason) for s in skipped] == [
            (str(root / ("d/" * (MAX_DEPTH + 1)).rstrip("/")), "folder nested more than 64 levels deep")
        ]
    finally:
        remove_tree(root)  # shutil.rmtree, and so pytest's clean-up, recurse too


def _linked_notes(tmp_path: Path) -> Path:
    """~/Notes with a note, a link inside it, and links to a key and a folder outside it."""
    notes, outside = tmp_path / "Notes", tmp_path / "outside"
    (outside / "private").mkdir(parents=True)
    (outside / "id_ed25519.md").write_text("PRIVATE KEY")
    (outside / "private" / "diary.md").write_text("secret diary")
    notes.mkdir()
    (notes / "plan.md").write_text("plan")
    (notes / "alias").symlink_to(notes / "sub", target_is_directory=True)
    (notes / "sub").mkdir()
    (notes / "sub" / "inside.md").write_text("inside")
    (notes / "key.md").symlink_to(outside / "id_ed25519.md")
    (notes / "private").symlink_to(outside / "private", target_is_directory=True)
    return notes


def test_links_leaving_the_root_are_skipped_and_links_inside_followed(tmp_path: Path) -> None:
    notes = _linked_notes(tmp_path)
    items = list(walk([notes], ignore=DEFAULT_IGNORE, supported=_supported))
    found = sorted(item.path for item in items if isinstance(item, FoundFile))
    skipped = [(item.path, item.reason, item.excluded) for item in items if isinstance(item, SkippedFile)]
    assert found == [str(notes / "alias" / "inside.md"), str(notes / "plan.md")]  # inside.md once, via alias
    assert sorted(skipped) == [
        (str(notes / "key.md"), "link leaves the indexed folder", True),
        (str(notes / "private"), "link leaves the indexed folder", True),
    ]


def test_links_into_another_library_folder_or_followed_by_choice(tmp_path: Path) -> None:
    notes = _linked_notes(tmp_path)
    found, skipped = _run_with(notes, within=[tmp_path / "outside"])
    assert found == ["diary.md", "id_ed25519.md", "inside.md", "plan.md"] and skipped == []
    found, skipped = _run_with(notes, follow_links=True)
    assert found == ["diary.md", "id_ed25519.md", "inside.md", "plan.md"] and skipped == []


def test_a_link_named_directly_is_taken(tmp_path: Path) -> None:
    notes = _linked_notes(tmp_path)
    found, skipped = _run(notes / "key.md", notes / "private")
    assert found == ["diary.md", "key.md"] and skipped == []


def _run_with(root: Path, **options: Any) -> tuple[list[str], list[SkippedFile]]:
    items = list(walk([root], ignore=DEFAULT_IGNORE, supported=_supported, **options))
    found = sorted(os.path.basename(os.path.realpath(item.path)) for item in items if isinstance(item, FoundFile))
    return found, [item for item in items if isinstance(item, SkippedFile)]
