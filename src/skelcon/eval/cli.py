"""``skelcon eval <protocol>`` subcommands."""

from __future__ import annotations

import argparse

from ..config import KnnConfig, LinearEvalConfig, load_config


def _common_args(p: argparse.ArgumentParser) -> None:
    from ..cli import add_override_args

    p.add_argument("--checkpoint", required=True, help="run directory or .pt file")
    p.add_argument("--representation", required=True, help="seq, img, stg or a combination like seq+stg")
    p.add_argument("--data", required=True, help="prepared dataset directory")
    p.add_argument("--benchmark", required=True)
    p.add_argument("--out", required=True, help="directory for metrics.json")
    p.add_argument("--random-init", action="store_true", help="evaluate the same architecture, untrained")
    p.add_argument("--device", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--quiet", action="store_true")
    add_override_args(p)


def _overrides(args, extra: list[tuple[str, object]]) -> list[str]:
    items = [f"{k}={v}" for k, v in extra if v is not None]
    if args.device is not None:
        items.append(f"device={args.device}")
    return items + args.overrides


def _print(rec: dict) -> None:
    tag = "random-init" if rec["random_init"] else "pre-trained"
    print(
        f"{rec['protocol']} {rec['representation']} ({tag}) on {rec['dataset']}/{rec['benchmark']}: "
        f"top-1 {rec['top1']:.2f} %  (train {rec['num_train']}, test {rec['num_test']})"
    )


def _linear(args) -> int:
    from ..cli import resolve_config_path
    from .run import run_linear

    cfg = load_config(LinearEvalConfig, resolve_config_path(args.config),
                      _overrides(args, [("epochs", args.epochs), ("seed", args.seed)]))  # fmt: skip
    rec = run_linear(args.checkpoint, args.representation, args.data, args.benchmark, args.out, cfg,
                     random_init=args.random_init, progress=not args.quiet)  # fmt: skip
    _print(rec)
    return 0


def _knn(args) -> int:
    from ..cli import resolve_config_path
    from .run import run_knn

    cfg = load_config(KnnConfig, resolve_config_path(args.config),
                      _overrides(args, [("k", args.k), ("similarity", args.similarity)]))  # fmt: skip
    rec = run_knn(args.checkpoint, args.representation, args.data, args.benchmark, args.out, cfg,
                  random_init=args.random_init, progress=not args.quiet)  # fmt: skip
    _print(rec)
    return 0


def add_cli(sub) -> None:
    from ..cli import _Parser

    ev = sub.add_parser("eval", help="downstream evaluation protocols")
    ev_sub = ev.add_subparsers(dest="protocol", required=True, parser_class=_Parser)

    p = ev_sub.add_parser("linear", help="linear classifier on the frozen encoder")
    _common_args(p)
    p.add_argument("--epochs", type=int)
    p.add_argument("--seed", type=int)
    p.set_defaults(func=_linear)

    p = ev_sub.add_parser("knn", help="nearest-neighbour retrieval (cosine, k=1 by default)")
    _common_args(p)
    p.add_argument("--k", type=int)
    p.add_argument("--similarity", choices=["cosine", "euclidean"])
    p.set_defaults(func=_knn)
