"""The process environment set before heavy libraries load: no network for the libraries we use
(Hugging Face offline, Chroma telemetry off), and torch threads that sleep instead of spinning."""

from __future__ import annotations

import os

OFFLINE_ENVIRONMENT = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "TOKENIZERS_PARALLELISM": "false",
}

# Hearth shares a few cores with the model host and parse workers: OpenMP threads spinning while
# they wait made a 10-token query embedding take 450 ms instead of 20 ms on a busy 2-core machine.
# Only for the app's own process: see use_llama_threading.
THREADING_ENVIRONMENT = {"OMP_WAIT_POLICY": "PASSIVE"}


def enforce_offline() -> None:
    """Called by every entry point before the libraries are imported (never at import time)."""
    for name, value in OFFLINE_ENVIRONMENT.items():
        os.environ[name] = value
    for name, value in THREADING_ENVIRONMENT.items():
        os.environ.setdefault(name, value)


def use_llama_threading() -> None:
    """For the model host, before llama.cpp loads: leave OpenMP's wait policy at its default.

    A token is hundreds of small steps with a barrier between each; passive threads go to sleep at
    every barrier (40 instead of 100 tokens/s here), active ones spin even while the model is idle,
    taking the cores from the app. The default spins briefly, then sleeps. So this process ignores
    the app's policy (and any the user set for the app)."""
    for name in THREADING_ENVIRONMENT:
        os.environ.pop(name, None)
