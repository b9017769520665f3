"""``skelcon eval <protocol>`` subcommands."""

from __future__ import annotations

import argparse

from ..config import FinetuneConfig, KnnConfig, LinearEvalConfig, load_config


def _common_args(p: argparse.ArgumentParser) -> None:
    from ..cli import RANDOM_INIT_HELP, add_common_args, add_override_args, add_representation_arg

    p.add_argument("--checkpoint", required=True, help="run directory or .pt file")
    add_representation_arg(p, required=True)
    p.add_argument("--data", required=True, help="prepared dataset directory")
    p.add_argument("--out", required=True, help="directory for metrics.json")
    p.add_argument("--random-init", action="store_true", help=RANDOM_INIT_HELP)
    add_common_args(p)
    add_override_args(p)


RANDOM_INIT_SEED_HELP = (
    "seed of --random-init weights (default: the run's pre-training seed, which gives the run's "
    "own encoder before its first step: the epoch-0 figure of its kNN monitor)"
)


def _overrides(args, extra: list[tuple[str, object]]) -> list[str]:
    items = [f"{k}={v}" for k, v in extra if v is not None]
    if args.device is not None:
        items.append(f"device={args.device}")
    return items + args.overrides


def _print(rec: dict) -> None:
    tag = "random-init" if rec["random_init"] else "pre-trained"
    bank = rec.get("crop_bank")
    print(
        f"{rec['protocol']} {rec['representation']} ({tag}) on {rec['dataset']}/{rec['benchmark']}: "
        f"top-1 {rec['top1']:.2f} %  (train {rec['num_train']}, test {rec['num_test']})"
        + (f"  [crop bank {bank['k']}: not the exact protocol]" if bank else "")
    )
    _print_reachable(rec)


def _print_reachable(rec: dict) -> None:
    """The note beside an accuracy when some test clips' classes never occur in training."""
    from ..data.coverage import reachable_note

    note = reachable_note(rec.get("reachable_test", rec["num_test"]), rec["num_test"])
    if note:
        print(f"skelcon: note: {note}")


def _frozen(args, cfg_cls, runner, extra: list[tuple[str, object]], **kw) -> int:
    """Shared body of the frozen-encoder protocols (linear, knn)."""
    from ..cli import resolve_config_path
    from ..engine.distributed import distributed

    cfg = load_config(cfg_cls, resolve_config_path(args.config), _overrides(args, extra))
    with distributed(cfg.device) as (world, _):  # torchrun: features are extracted in shards
        rec = runner(args.checkpoint, args.representation, args.data, args.benchmark, args.out,
                     cfg, random_init=args.random_init, progress=not args.quiet, **kw)  # fmt: skip
        if world.is_main:
            _print(rec)
    return 0


def _linear(args) -> int:
    from .run import run_linear

    extra = [("epochs", args.epochs), ("batch_size", args.batch_size), ("seed", args.seed)]
    return _frozen(args, LinearEvalConfig, run_linear, extra)


def _knn(args) -> int:
    from .run import run_knn

    extra = [("k", args.k), ("similarity", args.similarity), ("batch_size", args.batch_size)]
    return _frozen(args, KnnConfig, run_knn, extra, seed=args.seed)


def _training_args(p: argparse.ArgumentParser, cfg_cls: type, epochs_help: str) -> None:
    """``--epochs``, ``--batch-size`` and ``--seed``, with ``cfg_cls``'s defaults in the help."""
    p.add_argument("--epochs", type=int,
                   help=f"{epochs_help} (default: the config's, {cfg_cls.epochs})")  # fmt: skip
    p.add_argument("--batch-size", type=int,
                   help=f"training batch (default: the config's, {cfg_cls.batch_size})")  # fmt: skip
    p.add_argument("--seed", type=int, help="random seed (default: the config's, 0)")


def add_cli(sub) -> None:
    from ..cli import _Parser

    ev = sub.add_parser("eval", help="downstream evaluation protocols")
    ev_sub = ev.add_subparsers(dest="protocol", required=True, parser_class=_Parser)

    p = ev_sub.add_parser("linear", help="linear classifier on the frozen encoder")
    _common_args(p)
    _training_args(p, LinearEvalConfig, "classifier epochs")
    p.set_defaults(func=_linear)

    p = ev_sub.add_parser("knn", help="nearest-neighbour retrieval (cosine, k=1 by default)")
    _common_args(p)
    p.add_argument("--k", type=int, help=f"neighbours (default: the config's, {KnnConfig.k})")
    p.add_argument("--similarity", choices=["cosine", "euclidean"])
    p.add_argument(
        "--batch-size", type=int,
        help=f"feature extraction batch (default: the config's, {KnnConfig.batch_size})",
    )  # fmt: skip
    p.add_argument("--seed", type=int, default=None, help=RANDOM_INIT_SEED_HELP)
    p.set_defaults(func=_knn)

    add_finetune_cli(ev_sub, sub)


# ---------------------------------------------------------------------------
# Fine-tuning protocols (semi, supervised, finetune, transfer) and `skelcon embed`


def _finetune_args(p: argparse.ArgumentParser, *, checkpoint: str, random_init: bool) -> None:
    from ..cli import RANDOM_INIT_HELP, add_common_args, add_override_args, add_representation_arg

    if checkpoint == "required":
        p.add_argument("--checkpoint", required=True, help="run directory or .pt file")
    else:
        p.add_argument("--checkpoint", help="take the architecture (not the weights) from this run")
        p.add_argument("--preset", help="or build the architecture from a preset: paper or small")
        p.add_argument(
            "--frames", type=int, default=64, help="input length with --preset (default 64)"
        )
    add_representation_arg(p, required=True)
    p.add_argument("--data", required=True, help="prepared dataset directory")
    p.add_argument("--out", required=True, help="directory for metrics.json and subsets.json")
    if random_init:
        p.add_argument("--random-init", action="store_true", help=RANDOM_INIT_HELP)
    p.add_argument(
        "--fractions", help="comma-separated fractions of the labels, e.g. 0.01,0.05,0.1,0.2"
    )
    p.add_argument("--repeats", type=int, help="random subsets per fraction")
    _training_args(p, FinetuneConfig, "training epochs")
    p.add_argument(
        "--num-classes", type=int, help="expected class count (checked against the data)"
    )
    add_common_args(p)
    add_override_args(p)


def _parse_fractions(text: str | None) -> str | None:
    from ..errors import SkelconError

    if text is None:
        return None
    values = []
    for item in text.split(","):
        try:
            values.append(float(item))
        except ValueError:
            raise SkelconError(
                f"fraction {item.strip()!r} is not a number (valid: 0 < fraction <= 1)"
            ) from None
    return "[" + ", ".join(repr(v) for v in values) + "]"


def _finetune_config(args, protocol: str):
    import functools

    from ..cli import resolve_config_path
    from ..config import FinetuneConfig

    factory = FinetuneConfig
    if protocol in ("finetune", "transfer"):  # all labels, one run, unless configured otherwise
        factory = functools.partial(FinetuneConfig, fractions=[1.0], repeats=1)
    shortcuts = [
        ("fractions", _parse_fractions(args.fractions)),
        ("repeats", args.repeats),
        ("epochs", args.epochs),
        ("batch_size", args.batch_size),
        ("seed", args.seed),
    ]
    return load_config(factory, resolve_config_path(args.config), _overrides(args, shortcuts))


def _print_finetune(rec: dict) -> None:
    tag = "random-init" if rec["random_init"] else "pre-trained"
    where = f"{rec['dataset']}/{rec['benchmark']}"
    if rec["protocol"] == "transfer":
        where = f"{rec['source_dataset']} -> {where}"
    for r in rec["results"]:
        print(
            f"{rec['protocol']} {rec['representation']} ({tag}) on {where}, "
            f"{100 * r['fraction']:g} % labels: "
            f"top-1 {r['mean']:.2f} ± {r['std']:.2f} % over {len(r['runs'])} run(s) "
            f"({min(r['num_labelled'])}-{max(r['num_labelled'])} labelled, test {rec['num_test']})"
        )
    _print_reachable(rec)


def _finetune_cmd(protocol: str):
    def run(args) -> int:
        from .run import run_finetune, run_transfer

        cfg = _finetune_config(args, protocol)
        common = dict(num_classes=args.num_classes, progress=not args.quiet)
        if protocol == "transfer":
            rec = run_transfer(
                args.checkpoint,
                args.representation,
                args.data,
                args.benchmark,
                args.out,
                cfg,
                **common,
            )
        else:
            rec = run_finetune(
                protocol,
                args.checkpoint,
                args.representation,
                args.data,
                args.benchmark,
                args.out,
                cfg,
                random_init=getattr(args, "random_init", False),
                preset=getattr(args, "preset", None),
                frames=getattr(args, "frames", 64),
                **common,
            )
        _print_finetune(rec)
        return 0

    return run


def _embed(args) -> int:
    from .embed import embed, sidecar_path

    side = embed(
        args.checkpoint,
        args.representation,
        args.data,
        args.benchmark,
        args.split,
        args.out,
        random_init=args.random_init,
        seed=args.seed,
        device=args.device,
        batch_size=args.batch_size,
        progress=not args.quiet,
    )
    print(
        f"wrote {side['num_samples']} x {side['feature_dim']} {side['representation']} features to "
        f"{args.out} (names, labels: {sidecar_path(args.out)})"
    )
    return 0


def add_finetune_cli(ev_sub, sub) -> None:
    """``eval semi|supervised|finetune|transfer`` under ``ev_sub``; ``embed`` under ``sub``."""
    from ..cli import DEVICE_HELP, RANDOM_INIT_HELP, add_common_args, add_representation_arg

    p = ev_sub.add_parser("semi", help="fine-tune encoder + classifier on fractions of the labels")
    _finetune_args(p, checkpoint="required", random_init=True)
    p.set_defaults(func=_finetune_cmd("semi"))

    p = ev_sub.add_parser("supervised", help="the same training from random initialisation")
    _finetune_args(p, checkpoint="optional", random_init=False)
    p.set_defaults(func=_finetune_cmd("supervised"))

    p = ev_sub.add_parser("finetune", help="fine-tune encoder + classifier on all labels")
    _finetune_args(p, checkpoint="required", random_init=True)
    p.set_defaults(func=_finetune_cmd("finetune"))

    p = ev_sub.add_parser(
        "transfer", help="fine-tune on another dataset (new classifier, maybe new layout)"
    )
    _finetune_args(p, checkpoint="required", random_init=False)
    p.set_defaults(func=_finetune_cmd("transfer"))

    p = sub.add_parser("embed", help="export encoder features of a split to .npy (+ .json sidecar)")
    p.add_argument("--checkpoint", required=True, help="run directory or .pt file")
    add_representation_arg(p, required=True)
    p.add_argument("--data", required=True, help="prepared dataset directory")
    p.add_argument("--split", default="test", help="split to embed (default test)")
    p.add_argument(
        "--out", required=True, help="features file, e.g. feats.npy (sidecar: feats.json)"
    )
    p.add_argument("--random-init", action="store_true", help=RANDOM_INIT_HELP)
    p.add_argument("--seed", type=int, default=None, help=RANDOM_INIT_SEED_HELP)
    p.add_argument(
        "--batch-size", type=int, default=256, help="feature extraction batch (default 256)"
    )
    add_common_args(p, device=False)
    p.add_argument("--device", default="auto", help=DEVICE_HELP)
    p.set_defaults(func=_embed)
