"""``python -m perflab.nbtools``: runs :func:`perflab.nbtools.cli.main`."""

import sys

from perflab.nbtools.cli import main

if __name__ == "__main__":
    sys.exit(main())
