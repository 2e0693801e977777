"""How many cores this machine offers to compute-heavy work."""

from __future__ import annotations

import os

import psutil


def physical_cores() -> int:
    """Physical cores: hyper-threads add little to llama.cpp or torch and slow the window."""
    return psutil.cpu_count(logical=False) or os.cpu_count() or 1
