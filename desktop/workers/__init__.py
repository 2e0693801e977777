"""Qt workers: QObjects in QThreads that own heavy objects and talk through queued signals (QtCore only)."""
