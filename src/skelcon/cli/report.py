"""``skelcon report``: gather ``metrics.json`` files into the paper's tables."""

from __future__ import annotations

import argparse
import sys


def _report(args: argparse.Namespace) -> int:
    from ..report import write_report

    warnings: list[str] = []
    results = write_report(args.paths, args.out, args.format, warnings)
    for w in warnings:
        print(f"skelcon: warning: {w}", file=sys.stderr)
    print(f"report of {len(results)} results written to {args.out}")
    return 0


def add_cli(sub) -> None:
    """``skelcon report`` under the top-level subparsers ``sub``."""
    from ..report import FORMATS

    p = sub.add_parser(
        "report",
        help="gather metrics.json files into the paper's tables",
        description="Gather the metrics.json files under the given run or evaluation directories "
        "into the paper's tables, with the paper's numbers beside ours where the result is "
        "comparable (full official dataset, the paper's protocol settings, the paper's recipe "
        "for at least its epochs) and the reason where it is not.",
    )
    p.add_argument(
        "paths", nargs="+", metavar="RUN_OR_EVAL_DIR", help="directories (searched recursively)"
    )
    p.add_argument("--out", required=True, help="report file (written atomically)")
    p.add_argument(
        "--format", choices=FORMATS, help="md, csv or json (default: from --out's suffix, else md)"
    )
    p.set_defaults(func=_report)
