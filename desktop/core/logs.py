"""Logging to a file in the data folder, so details stay out of the user's way but are kept."""

from __future__ import annotations

import logging
from logging.handlers import RotatingFileHandler
from pathlib import Path

from desktop.core.private import create_private_file, ensure_private_dir


def setup_logging(data_dir: Path, *, verbose: bool = False) -> Path:
    log_dir = ensure_private_dir(data_dir / "logs")
    log_file = log_dir / "hearth.log"
    create_private_file(log_file)  # rotated files are private through the entry points' umask
    handler = RotatingFileHandler(log_file, maxBytes=2_000_000, backupCount=3, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for noisy in ("chromadb", "httpx", "urllib3", "sentence_transformers", "transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return log_file
