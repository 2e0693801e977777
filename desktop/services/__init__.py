"""The API the CLI and the window share: indexing, searching, answering, conversations. No Qt."""
