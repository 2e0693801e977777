"""Turning files into passages: walking folders, parsing formats, chunking. No Qt, no torch."""
