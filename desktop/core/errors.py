"""Errors whose message is meant for a person: one clear sentence, never a traceback."""

from __future__ import annotations


class HearthError(Exception):
    """Base class: ``str(error)`` is shown to the user as it is."""


class UsageError(HearthError):
    """The request itself is wrong (missing path, empty query, unknown id)."""


class ParseError(HearthError):
    """A file could not be turned into text; the message is the reason shown in the library."""


class ModelError(HearthError):
    """A model cannot be used (not GGUF, corrupt, too big, crashed while loading)."""


class StoreError(HearthError):
    """The data folder cannot be used (locked by another Hearth, disk full, corrupt)."""


class Cancelled(HearthError):
    """The user stopped the operation."""
