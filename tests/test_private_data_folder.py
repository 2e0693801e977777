"""The data folder holds the text of every indexed document, the chats and the logs: nothing in it is
open to other local users, whatever the umask, and a folder an older version left open is closed on
the next start (said once in the log)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.services.conversations import ConversationStore

REPO = Path(__file__).resolve().parents[1]
FIXED_NOTE = "open to other users"  # how the log says that the folder was closed

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """The usual desktop umask, under which files are made readable by everyone; Hearth's child
    processes inherit it."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def hearth(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "desktop", *args], capture_output=True, text=True,
                            env={**os.environ, "HEARTH_HOME": str(home)}, cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stderr
    return result


def index_notes(home: Path, tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "kettle.txt").write_text("Descale the kettle with citric acid every month.", encoding="utf-8")
    (notes / "garden.md").write_text("# Garden\n\nWater the tomatoes on Sunday.", encoding="utf-8")
    hearth("index", str(notes), home=home)


def everything_in(home: Path) -> list[Path]:
    return [Path(folder, name) for folder, folders, files in os.walk(home) for name in (*folders, *files)]


def open_to_others(home: Path) -> list[str]:
    """Files and folders others may read or enter (a link's own mode means nothing on Linux)."""
    return [f"{oct(stat.S_IMODE(p.lstat().st_mode))} {p}" for p in [home, *everything_in(home)]
            if not p.is_symlink() and stat.S_IMODE(p.lstat().st_mode) & 0o077]


def test_indexing_and_a_saved_conversation_leave_nothing_open_to_others(hearth_home: Path, tmp_path: Path) -> None:
    index_notes(hearth_home, tmp_path)
    store = ConversationStore(hearth_home / "conversations.sqlite3")
    try:
        chat = store.create()
        store.add_user_message(chat.id, "When should I descale the kettle?")
        names = {p.name for p in everything_in(hearth_home)}
        # The walk covers the registry, Chroma's files, the logs, the lock and SQLite's side files.
        assert {"registry.sqlite3", "chroma.sqlite3", "hearth.log", "hearth.lock",
                "conversations.sqlite3-wal", "conversations.sqlite3-shm"} <= names
        assert any(p.suffix == ".bin" for p in everything_in(hearth_home / "index" / "chroma"))
        assert open_to_others(hearth_home) == []
    finally:
        store.close()


def test_a_folder_left_open_by_an_older_version_is_closed_on_the_next_start(hearth_home: Path, tmp_path: Path) -> None:
    index_notes(hearth_home, tmp_path)
    ConversationStore(hearth_home / "conversations.sqlite3").close()
    # As an older version left it: folders 0755, files 0644.
    for path in [hearth_home, *everything_in(hearth_home)]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    # A link inside is never followed, and the user's own files beside Hearth's are theirs.
    outside = tmp_path / "shared.txt"
    outside.write_text("not Hearth's", encoding="utf-8")
    outside.chmod(0o644)
    (hearth_home / "index" / "link").symlink_to(outside)
    (hearth_home / "mine.txt").write_text("the user's own", encoding="utf-8")
    (hearth_home / "mine.txt").chmod(0o644)
    assert open_to_others(hearth_home)

    hearth("status", home=hearth_home)
    assert [entry for entry in open_to_others(hearth_home) if not entry.endswith("mine.txt")] == []
    assert stat.S_IMODE(outside.stat().st_mode) == 0o644
    log = hearth_home / "logs" / "hearth.log"
    assert log.read_text(encoding="utf-8").count(FIXED_NOTE) == 1

    hearth("status", home=hearth_home)  # nothing left to close: nothing more is said
    assert log.read_text(encoding="utf-8").count(FIXED_NOTE) == 1


def test_a_rewritten_file_is_synced_before_and_after_its_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Settings, ui state, crash marks, exports: a power cut leaves the old file or the new one."""
    from desktop.core import private

    synced: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(descriptor: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{descriptor}"))
        real_fsync(descriptor)

    monkeypatch.setattr(private.os, "fsync", recording_fsync)
    target = tmp_path / "settings.json"
    private.write_private_text(target, '{"top_k": 7}')
    assert target.read_text() == '{"top_k": 7}'
    assert synced == [str(tmp_path / "settings.tmp"), str(tmp_path)]
