"""``python -m tools.nbtools``: runs :func:`tools.nbtools.cli.main`."""

import sys

from tools.nbtools.cli import main

if __name__ == "__main__":
    sys.exit(main())
