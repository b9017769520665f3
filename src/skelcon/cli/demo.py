"""``skelcon demo``: synthetic data -> pre-training -> evaluation, in minutes on a CPU."""

from __future__ import annotations

import argparse

DEMO_EPOCHS_HELP = "pre-training epochs (default: {})"


def _demo(args: argparse.Namespace) -> int:
    from ..demo import run_demo

    run_demo(args.out, quiet=args.quiet, epochs=args.epochs)
    return 0


def add_cli(sub) -> None:
    """``skelcon demo`` under the top-level subparsers ``sub``."""
    from ..demo import DEMO_EPOCHS

    p = sub.add_parser(
        "demo", help="synthetic data -> pre-training -> evaluation, in minutes on a CPU"
    )
    p.add_argument("--out", default="runs/demo", help="demo directory (default: runs/demo)")
    p.add_argument("--epochs", type=int, help=DEMO_EPOCHS_HELP.format(DEMO_EPOCHS))
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=_demo)
