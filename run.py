#!/usr/bin/env python3
"""nodeswap launcher: ``python run.py`` opens the editor; see ``python run.py -h``."""

import sys

from nodeswap.cli import main

if __name__ == "__main__":
    sys.exit(main())
