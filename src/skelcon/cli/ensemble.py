"""``skelcon ensemble``: fuse the saved per-sample scores of several evaluations."""

from __future__ import annotations

import argparse
import sys


def _ensemble(args: argparse.Namespace) -> int:
    from ..eval.ensemble import ensemble, parse_weights, summary_line

    weights = parse_weights(args.weights) if args.weights is not None else None
    warnings: list[str] = []
    rec = ensemble(args.eval_dirs, args.out, weights, warnings=warnings)
    for w in warnings:
        print(f"skelcon: warning: {w}", file=sys.stderr)
    print(summary_line(rec))
    return 0


def add_cli(sub) -> None:
    """``skelcon ensemble`` under the top-level subparsers ``sub``."""
    p = sub.add_parser(
        "ensemble",
        help="fuse the per-sample scores of several evaluations (e.g. joint, bone, motion)",
        description="Fuse the scores.npy that evaluations wrote beside their metrics.json: the "
        "weighted sum of the raw per-sample scores (logits, kNN similarities; no softmax). "
        "Every directory must be on the same test split (same clips in the same order, labels, "
        "classes, dataset, benchmark) and hold one model. Default weights: 0.6, 0.6, 0.4 "
        "(AimCLR/HiCLR) for exactly one joint, one bone and one motion member, 1 each "
        "otherwise. Writes metrics.json, scores.npy and scores.json to --out.",
    )
    p.add_argument(
        "eval_dirs", nargs="+", metavar="EVAL_DIR", help="evaluation directories (at least 2)"
    )
    p.add_argument(
        "--weights",
        metavar="W1,W2,...",
        help="one weight >= 0 per EVAL_DIR, in order (e.g. 0.6,0.6,0.4); never chosen on the "
        "test split",
    )
    p.add_argument("--out", required=True, help="directory for metrics.json and scores.npy")
    p.set_defaults(func=_ensemble, flag_of={"dirs": "EVAL_DIR"})
