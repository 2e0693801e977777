"""Types, errors, paths and settings shared by every layer. No Qt, no heavy imports."""
