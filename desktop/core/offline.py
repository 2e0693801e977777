"""Make the libraries we use unable to reach the network: Hugging Face offline, Chroma telemetry off."""

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


def enforce_offline() -> None:
    """Called by every entry point before the libraries are imported (never at import time)."""
    for name, value in OFFLINE_ENVIRONMENT.items():
        os.environ[name] = value
