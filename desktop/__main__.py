"""Entry point of ``python -m desktop`` and of the frozen app: the window without arguments, the CLI with them.

``--version`` and ``--selftest`` are answered here, before the window or the CLI load anything.
"""

import multiprocessing
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--version"]:
        from desktop import __version__

        print(f"Hearth {__version__}")
        return 0
    if args[:1] == ["--selftest"]:
        from desktop.selftest import main as selftest

        return selftest()
    from desktop.app import main as app_main

    return app_main(args)


if __name__ == "__main__":
    # First of all: in the frozen app, the model host and parse workers are this executable re-run
    # by multiprocessing ("spawn"), and this call turns such a run into the child it should be.
    multiprocessing.freeze_support()
    sys.exit(main())
