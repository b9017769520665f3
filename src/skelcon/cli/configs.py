"""``skelcon configs``: the packaged recipes and what each is for (imports no torch)."""

from __future__ import annotations

import argparse


def _configs(args: argparse.Namespace) -> int:
    from ..recipes import packaged_configs, recipe_summary

    names = packaged_configs()
    width = max(map(len, names), default=0)
    for name in names:
        print(f"{name:<{width}}  {recipe_summary(name)}".rstrip())
    return 0


def add_cli(sub) -> None:
    """``skelcon configs`` under the top-level subparsers ``sub``."""
    c = sub.add_parser("configs", help="list the packaged recipes and what each is for")
    c.set_defaults(func=_configs)
