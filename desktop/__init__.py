"""Hearth: a private desktop assistant that answers from your own files, entirely offline."""

__version__ = "0.1.0"
