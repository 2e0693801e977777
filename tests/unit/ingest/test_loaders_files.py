"""Filesystem protections: only regular, readable files within the size limit are read."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from desktop.core.errors import ParseError
from desktop.ingest.limits import LoadLimits
from desktop.ingest.loaders import load_document


def _load_in_thread(path: Path, seconds: float = 5.0) -> BaseException | None:
    """Run the loader where a hang cannot stall the test run; returns what it raised."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            load_document(path)
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), "the loader blocked"
    return outcome[0]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    error = _load_in_thread(fifo)
    assert isinstance(error, ParseError)
    assert "not a regular file" in str(error)


def test_fifo_swapped_in_after_stat_does_not_block(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The open itself is non-blocking and re-checked, so a race with stat cannot hang the worker."""
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    regular = tmp_path / "regular.txt"
    regular.write_text("hello")
    real_stat = os.stat
    monkeypatch.setattr(os, "stat", lambda path, *a, **k: real_stat(regular if Path(path) == fifo else path))
    error = _load_in_thread(fifo)
    assert isinstance(error, ParseError)
    assert "not a regular file" in str(error)


def test_directory_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "folder.txt"
    folder.mkdir()
    with pytest.raises(ParseError, match="folder"):
        load_document(folder)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ParseError, match="file not found"):
        load_document(tmp_path / "nowhere.txt")


def test_file_vanishing_between_stat_and_open(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello")

    def gone(*_: object) -> int:
        raise FileNotFoundError(2, "No such file or directory")

    monkeypatch.setattr(os, "open", gone)
    with pytest.raises(ParseError, match="file vanished while reading"):
        load_document(path)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file_real_permissions(tmp_path: Path) -> None:
    path = tmp_path / "secret.txt"
    path.write_text("hello")
    path.chmod(0)
    try:
        with pytest.raises(ParseError, match="permission denied"):
            load_document(path)
    finally:
        path.chmod(0o600)


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Works as root too: the OS refusal is simulated where it happens, at open."""
    path = tmp_path / "secret.txt"
    path.write_text("hello")

    def denied(*_: object) -> int:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "open", denied)
    with pytest.raises(ParseError, match="permission denied"):
        load_document(path)


def test_file_over_size_limit_is_refused_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.txt"
    path.write_text("x" * 2000)

    def must_not_open(*_: object) -> int:
        raise AssertionError("opened a file that is over the limit")

    monkeypatch.setattr(os, "open", must_not_open)
    with pytest.raises(ParseError, match=r"file is larger than the 1 KB limit"):
        load_document(path, LoadLimits(max_bytes=1024))


def test_default_size_limit_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.txt"
    path.write_text("x")
    real_stat = os.stat

    def huge(target: object, *args: object, **kwargs: object) -> os.stat_result:
        info = real_stat(target, *args, **kwargs)  # type: ignore[arg-type]
        fields = list(info)
        fields[6] = 300 * 2**20  # st_size
        return os.stat_result(fields)

    monkeypatch.setattr(os, "stat", huge)
    with pytest.raises(ParseError, match="file is larger than the 256 MB limit"):
        load_document(path)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.md"
    path.touch()
    with pytest.raises(ParseError, match="empty document"):
        load_document(path)


def test_whitespace_only_file(tmp_path: Path) -> None:
    path = tmp_path / "blank.txt"
    path.write_text(" \n\t\n\n  \n")
    with pytest.raises(ParseError, match="empty document"):
        load_document(path)


def test_size_from_the_open_descriptor_is_checked_against_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """stat said small, but the file grew before it was opened: the size fstat gives is what counts."""
    path = tmp_path / "growing.log"
    path.write_text("x" * 500)
    real_fstat = os.fstat

    def grown(fd: int) -> os.stat_result:
        fields = list(real_fstat(fd))
        fields[6] = 5000  # st_size once the writer went on
        return os.stat_result(fields)

    monkeypatch.setattr(os, "fstat", grown)
    with pytest.raises(ParseError, match="file is larger than the 1 KB limit"):
        load_document(path, LoadLimits(max_bytes=1024))


def test_read_stops_at_the_size_fstat_gave(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Like /proc/self/pagemap, which claims 0 bytes then streams gigabytes: no read goes past the size."""
    path = tmp_path / "status.txt"
    path.write_text("state: running\n" * 100)
    real_fstat = os.fstat
    claimed = {"size": 15}

    def lying(fd: int) -> os.stat_result:
        fields = list(real_fstat(fd))
        fields[6] = claimed["size"]
        return os.stat_result(fields)

    monkeypatch.setattr(os, "fstat", lying)
    assert load_document(path).text == "state: running"
    claimed["size"] = 0
    with pytest.raises(ParseError, match="empty document"):
        load_document(path)
