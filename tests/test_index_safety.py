"""`hearth index` on files that are not what they seem, and on links out of the folder the user chose.

Each test runs the real command in this process (sharing the session's embedder), on real files,
links, pipes and /proc files, and fails without its protection: a link to a key outside ~/Notes made
the key searchable; a link to /proc/self/pagemap was hashed for minutes; a file swapped for a pipe
after the scan blocked in open(); a folder 1,000 levels deep raised RecursionError and indexed nothing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from desktop import cli
from desktop.ingest.walker import FoundFile, SkippedFile, walk
from desktop.services import indexing
from desktop.services.workspace import Workspace
from tests.hostile.generate import deep_folder, remove_tree

SECRET = "ZX-ed25519-secret-4417"
LEAVES = "link leaves the indexed folder"

Hearth = Callable[..., tuple[int, Any]]


@pytest.fixture
def hearth(monkeypatch: pytest.MonkeyPatch, embedder: Any, capsys: pytest.CaptureFixture[str]) -> Hearth:
    """Run ``hearth ARGS --json``; returns the exit code and the JSON it printed."""

    def workspace(*, writes: bool = False) -> Workspace:
        ws = Workspace(exclusive=writes)
        ws.embedder = embedder
        return ws

    monkeypatch.setattr(cli, "_workspace", workspace)

    def run(*args: str | Path) -> tuple[int, Any]:
        code = cli.main([*map(str, args), "--json"])
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err
        return code, json.loads(captured.out) if captured.out else captured.err

    return run


def failed(report: dict[str, Any]) -> dict[str, str]:
    return {item["path"]: item["reason"] for item in report["failed"]}


def secret_found(hearth: Hearth) -> bool:
    code, hits = hearth("search", SECRET, "-k", "10")
    assert code == 0
    return any(SECRET in hit["text"] for hit in hits)


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    """~/Notes with a note and a link inside it, a link to a key outside it and a link to a private folder."""
    folder, outside = tmp_path / "Notes", tmp_path / "outside"
    (outside / "private").mkdir(parents=True)
    (outside / "id_ed25519.md").write_text(f"-----BEGIN OPENSSH PRIVATE KEY-----\n{SECRET}\n")
    (outside / "private" / "diary.md").write_text(f"# Diary\n\nThe safe's code is {SECRET}.\n")
    (folder / "boiler").mkdir(parents=True)
    (folder / "boiler" / "service.md").write_text("# Boiler\n\nThe boiler was serviced in March by Hallworth.\n")
    (folder / "also-boiler").symlink_to(folder / "boiler", target_is_directory=True)  # stays inside: followed
    (folder / "key.md").symlink_to(outside / "id_ed25519.md")
    (folder / "private").symlink_to(outside / "private", target_is_directory=True)
    return folder


def test_links_leaving_the_folder_are_skipped_and_never_searchable(notes: Path, hearth: Hearth) -> None:
    code, report = hearth("index", notes)
    assert code == 1  # some files were skipped; the rest is indexed
    assert failed(report) == {str(notes / "key.md"): LEAVES, str(notes / "private"): LEAVES}
    assert report["added"] == 1
    assert not secret_found(hearth)


def test_following_links_is_a_setting_and_turning_it_off_removes_what_was_followed(
    notes: Path, hearth: Hearth, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEARTH_INDEX__FOLLOW_EXTERNAL_LINKS", "true")
    code, report = hearth("index", notes)
    assert code == 0 and report["added"] == 3
    assert secret_found(hearth)

    # The re-sync the folder watcher asks for is this same run over the library's folder.
    monkeypatch.delenv("HEARTH_INDEX__FOLLOW_EXTERNAL_LINKS")
    code, report = hearth("index", notes)
    assert code == 1 and report["removed"] == 2 and set(failed(report).values()) == {LEAVES}
    assert not secret_found(hearth)


def test_a_link_the_user_names_is_indexed(notes: Path, hearth: Hearth) -> None:
    code, report = hearth("index", notes / "key.md", notes / "private")
    assert code == 0 and report["added"] == 2
    assert secret_found(hearth)


def test_a_link_into_another_library_folder_stays_indexed_when_one_folder_is_resynced(
    notes: Path, hearth: Hearth
) -> None:
    outside = notes.parent / "outside"
    code, report = hearth("index", notes, outside)
    assert code == 0 and report["added"] == 3  # the key and the diary once each, whichever path reached them
    code, report = hearth("index", notes)  # what the watcher asks for when only ~/Notes changed
    assert code == 0 and report["removed"] == 0 and report["unchanged"] == 3


@pytest.mark.timeout(120)  # a hang guard: reading /proc/self/pagemap to its end takes hours
@pytest.mark.skipif(not os.path.exists("/proc/self/pagemap"), reason="no /proc here")
def test_proc_files_are_read_no_further_than_they_claim(tmp_path: Path, hearth: Hearth) -> None:
    """They say they are empty regular files, then stream gigabytes: read by the size they claim, 0 bytes."""
    folder = tmp_path / "Notes"
    folder.mkdir()
    (folder / "note.md").write_text("An ordinary note about the garden shed.\n")
    links = {name: folder / name for name in ("pagemap.txt", "mem.txt")}
    links["pagemap.txt"].symlink_to("/proc/self/pagemap")
    links["mem.txt"].symlink_to("/proc/self/mem")

    code, report = hearth("index", folder)
    assert code == 1 and failed(report) == {str(link): LEAVES for link in links.values()}

    code, report = hearth("index", *links.values())  # named directly, so taken: the size bound protects
    assert code == 1 and failed(report) == {str(link): "empty document" for link in links.values()}


@pytest.mark.timeout(120)  # a hang guard: a plain open() of the pipe waits for a writer forever
def test_a_file_swapped_for_a_pipe_after_the_scan_is_reported_not_waited_for(
    tmp_path: Path, hearth: Hearth, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "Notes"
    folder.mkdir()
    (folder / "kept.md").write_text("The shed key hangs behind the kitchen door.\n")
    swapped = folder / "swapped.md"
    swapped.write_text("Scanned as a note, a pipe by the time it is hashed.\n")

    def scan_then_swap(*args: Any, **kwargs: Any) -> Iterator[FoundFile | SkippedFile]:
        yield from walk(*args, **kwargs)  # the indexer scans everything, then hashes
        swapped.unlink()
        os.mkfifo(swapped)

    monkeypatch.setattr(indexing, "walk", scan_then_swap)
    code, report = hearth("index", folder)
    assert code == 1 and report["added"] == 1
    assert failed(report) == {str(swapped): "not a regular file (a pipe, socket or device)"}


def test_a_folder_a_thousand_levels_deep_is_reported_and_the_rest_indexed(tmp_path: Path, hearth: Hearth) -> None:
    folder = tmp_path / "Notes"
    try:
        (deep_folder(folder, 3) / "near.md").write_text("A note three folders down about the attic.\n")
        (deep_folder(folder, 1_000) / "bottom.md").write_text("A note a thousand folders down.\n")
        code, report = hearth("index", folder)
        assert code == 1 and report["added"] == 1
        assert failed(report) == {str(folder / ("d/" * 65).rstrip("/")): "folder nested more than 64 levels deep"}
    finally:
        remove_tree(folder)  # shutil.rmtree, and so pytest's clean-up, recurse too
