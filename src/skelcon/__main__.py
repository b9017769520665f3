"""``python -m skelcon ...``: the same as the ``skelcon`` command."""

import sys

from .cli import main

sys.exit(main())
