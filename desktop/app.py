"""The one place that wires everything together and starts Hearth."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from desktop.cli import main as cli_main


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    return cli_main(args or ["--help"])


if __name__ == "__main__":
    sys.exit(main())
