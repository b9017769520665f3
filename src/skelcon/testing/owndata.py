"""Deprecated name of :mod:`skelcon.examples` (the synthetic pose-pipeline inputs).

``python -m skelcon.testing.owndata --out DIR`` still works: it says once that the
command is now ``python -m skelcon.examples`` and runs it. Imports from here get the
same functions as :mod:`skelcon.examples`.
"""

from __future__ import annotations

import sys

from ..examples import (
    IMAGE,
    main,
    synth_clips,
    try_commands,
    write_folder,
    write_kinetics,
    write_pyskl,
)

__all__ = [
    "IMAGE",
    "main",
    "synth_clips",
    "try_commands",
    "write_folder",
    "write_kinetics",
    "write_pyskl",
]

if __name__ == "__main__":
    print(
        "note: `python -m skelcon.testing.owndata` is deprecated; use `python -m skelcon.examples`",
        file=sys.stderr,
    )
    raise SystemExit(main())
