"""``python -m clusterecon …``: the same command line as the ``clusterecon`` script (useful where the venv's
scripts folder is not on PATH)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
