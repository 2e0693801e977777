"""The PyInstaller bundle, built afresh, moved elsewhere and run as a user would run it (`make test-dist`).

Every run gets a bare environment (no virtualenv, no PYTHONPATH, a fresh HOME) and, where the
machine allows it, a network namespace without interfaces, so the bundle proves it needs nothing
from the build machine's Python and nothing from the network. The bundle itself must not change.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop import __version__

pytestmark = [pytest.mark.packaging, pytest.mark.timeout(3600)]

REPO = Path(__file__).resolve().parents[2]
MAX_MB = 800  # about 566 MB today; more means something heavy slipped in
Snapshot = dict[str, tuple[int, int]]


def _snapshot(folder: Path) -> Snapshot:
    return {
        str(path.relative_to(folder)): (stat.st_size, stat.st_mtime_ns)
        for path in folder.rglob("*")
        if not path.is_dir() and (stat := path.lstat())
    }


def _megabytes(path: Path) -> int:
    if path.is_file() or path.is_symlink():
        return path.lstat().st_size // 2**20
    return sum(p.lstat().st_size for p in path.rglob("*") if not p.is_dir()) // 2**20


def _offline_prefix() -> list[str]:
    """`unshare -n`: no network interface at all, where the machine allows it."""
    if shutil.which("unshare") and subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0:
        return ["unshare", "-n", "--"]
    return []


def _environment(home: Path, **extra: str) -> dict[str, str]:
    """What a fresh user account has: no virtualenv, no PYTHONPATH, no HEARTH_* settings."""
    (home / "tmp").mkdir(parents=True, exist_ok=True)
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "TMPDIR": str(home / "tmp"),
            "LANG": "C.UTF-8", **extra}


class Bundle:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.executable = folder / "Hearth"
        self.built = _snapshot(folder)

    def assert_unchanged(self) -> None:
        now = _snapshot(self.folder)
        added, removed = sorted(now.keys() - self.built.keys()), sorted(self.built.keys() - now.keys())
        changed = sorted(k for k in now.keys() & self.built.keys() if now[k] != self.built[k])
        assert not (added or removed or changed), f"the bundle changed: +{added[:5]} -{removed[:5]} ~{changed[:5]}"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bundle]:
    root = tmp_path_factory.mktemp("bundle")
    started = time.monotonic()
    build = subprocess.run(
        [sys.executable, "-m", "PyInstaller", "build.spec", "--noconfirm", "--log-level", "WARN",
         "--workpath", str(REPO / "build" / "pyinstaller"), "--distpath", str(root / "dist")],
        cwd=REPO, capture_output=True, text=True, timeout=3000,
    )
    assert build.returncode == 0, build.stderr[-5000:]
    print(f"\nbuild: {time.monotonic() - started:.0f} s")
    # Relocatable: everything runs from a folder the bundle was moved to after the build.
    moved = root / "somewhere" / "else" / "Hearth"
    moved.parent.mkdir(parents=True)
    shutil.move(root / "dist" / "Hearth", moved)
    yield Bundle(moved)
    shutil.rmtree(root, ignore_errors=True)  # a gigabyte: not left for pytest's temporary folder rotation


def test_bundle_is_lean(bundle: Bundle) -> None:
    internal = bundle.folder / "_internal"
    parts = sorted(((_megabytes(p), p.name) for p in internal.iterdir()), reverse=True)
    total = _megabytes(bundle.folder)
    print(f"\nbundle: {total} MB; largest parts: " + ", ".join(f"{name} {mb} MB" for mb, name in parts[:10]))
    names = [path.name for path in internal.rglob("*")]
    assert not [n for n in names if n.startswith(("libcud", "libcublas", "libnccl", "libQt6WebEngine", "libQt6Quick"))]
    assert not (internal / "nvidia").exists()
    # The app embeds through ONNX Runtime from the int8 file set-up made: torch has no reason to be here.
    assert not [n for n in ("torch", "sentence_transformers", "transformers") if (internal / n).exists()]
    # The Insights page clusters and tests with scikit-learn and scipy, and draws with QtCharts.
    assert all((internal / n).is_dir() for n in ("sklearn", "scipy"))
    assert (internal / "models" / "all-MiniLM-L6-v2-onnx-int8" / "model.onnx").is_file()
    assert (internal / "models" / "manifest.json").is_file() and (internal / "resources" / "samples").is_dir()
    assert total < MAX_MB


def test_version(bundle: Bundle, tmp_path: Path) -> None:
    result = subprocess.run([str(bundle.executable), "--version"], env=_environment(tmp_path),
                            capture_output=True, text=True, timeout=120)
    assert (result.returncode, result.stdout.strip()) == (0, f"Hearth {__version__}"), result.stderr


def test_selftest_offline(bundle: Bundle, tmp_path: Path) -> None:
    prefix = _offline_prefix()
    started = time.monotonic()
    result = subprocess.run([*prefix, str(bundle.executable), "--selftest"], env=_environment(tmp_path),
                            capture_output=True, text=True, timeout=900)
    lines = result.stdout.splitlines()
    print(f"\nselftest ({'no network' if prefix else 'network present'}, {time.monotonic() - started:.0f} s): "
          f"{result.stdout.strip()}")
    assert len(lines) == 1, f"stdout: {result.stdout!r}\nstderr: {result.stderr[-5000:]}"
    report = json.loads(lines[0])
    assert result.returncode == 0 and report["ok"], f"{report}\nstderr: {result.stderr[-5000:]}"
    assert report["frozen"] and report["indexed"] == 5 and report["answer_chars"] > 0
    assert "Traceback" not in result.stderr, result.stderr[-5000:]
    bundle.assert_unchanged()


def test_window_opens_and_closes_offscreen(bundle: Bundle, tmp_path: Path) -> None:
    """Started with no arguments the window opens; a polite SIGTERM closes it the normal way (exit 0).
    User data lands in the platform's user data folder under HOME, never in the bundle."""
    data = tmp_path / ".local" / "share" / "Hearth"
    process = subprocess.Popen(
        [*_offline_prefix(), str(bundle.executable)], env=_environment(tmp_path, QT_QPA_PLATFORM="offscreen"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 180
        while not (data / "logs").is_dir() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(15)  # the window shows, its workers start, and the model host loads the default model
        assert process.poll() is None, f"the app ended on its own: {process.communicate()[1][-5000:]}"
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr[-5000:]
    assert "Traceback" not in stderr and "Could not load the Qt platform plugin" not in stderr, stderr[-5000:]
    assert (data / "logs" / "hearth.log").is_file(), sorted(os.listdir(tmp_path))
    # The window opened its vectors: in the bundle, through the vector host (a spawned child of the frozen app).
    assert (data / "index" / "chroma" / "chroma.sqlite3").is_file()
    bundle.assert_unchanged()
