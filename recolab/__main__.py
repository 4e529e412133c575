"""Entry point for ``python -m recolab``."""

import sys

from recolab.cli import main

sys.exit(main())
