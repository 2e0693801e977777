"""What the window talks to, one facade per domain, each the single owner of its state.

Each lives in the GUI thread, sends requests to the workers as queued signals and re-emits their
results as typed signals (desktop.workers.typed), after updating its own state.
"""
