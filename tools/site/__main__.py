"""``python -m tools.site [--out DIR]``: runs :func:`tools.site.main`."""

import sys

from tools.site import main

if __name__ == "__main__":
    sys.exit(main())
