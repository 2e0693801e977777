"""The local language model: GGUF checks, chat templates and the crash-isolated model host."""
