"""``python -m desktop``: the window without arguments, the CLI with them."""

import sys

from desktop.app import main

if __name__ == "__main__":
    sys.exit(main())
