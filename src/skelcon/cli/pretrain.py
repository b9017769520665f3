"""``skelcon pretrain``: contrastive pre-training of one run."""

from __future__ import annotations

import argparse

from ..config import PRECISIONS, PRESETS
from .common import (
    STREAM_HELP,
    add_common_args,
    add_override_args,
    add_representation_arg,
    add_stream_arg,
    rank,
)


def _pretrain(args: argparse.Namespace) -> int:
    from ..config import PretrainConfig, apply_overrides, from_dict, load_config
    from ..engine.pretrain import load_resume, pretrain
    from ..recipes import resolve_config_path

    shortcuts = []
    for flag, key in (
        ("epochs", "epochs"),
        ("batch_size", "batch_size"),
        ("seed", "seed"),
        ("preset", "preset"),
        ("representation", "representations"),
        ("stream", "stream"),
        ("device", "device"),
    ):
        v = getattr(args, flag)
        if v is not None:
            shortcuts.append(f"{key}={v}")
    path = resolve_config_path(args.config)
    resume = args.resume or args.resume_from is not None
    if resume and path is None:  # continue with the run's own config
        ckpt = load_resume(args.out, args.data, args.benchmark, args.resume_from)
        cfg = from_dict(PretrainConfig, ckpt["config"])
        apply_overrides(cfg, shortcuts + args.overrides)
    else:
        cfg = load_config(PretrainConfig, path, shortcuts + args.overrides)
    pretrain(
        cfg,
        args.data,
        args.benchmark,
        args.out,
        resume=resume,
        resume_from=args.resume_from,
        progress=not args.quiet,
    )
    if rank() == 0:  # under torchrun, rank 0 alone speaks
        print(
            f"run in {args.out} (last.pt, config.yaml, metrics.jsonl; curves: skelcon plot curves)"
        )
    return 0


def add_cli(sub) -> None:
    """``skelcon pretrain`` under the top-level subparsers ``sub``."""
    p = sub.add_parser(
        "pretrain",
        help="contrastive pre-training (MoCo, intra or inter-skeleton)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="several processes (GPUs, nodes; docs/scaling.md):\n"
        "  torchrun --nproc_per_node=N -m skelcon pretrain ...   (batch_size is the global batch)\n"
        f"speed: --set precision={'|'.join(PRECISIONS[1:])}  --set compile=true  --set sync_bn=true (GPUs)",
    )
    p.add_argument("--data", required=True, help="prepared dataset directory")
    p.add_argument("--out", required=True, help="run directory")
    add_override_args(p)
    p.add_argument("--resume", action="store_true", help="continue the run in --out from last.pt")
    p.add_argument(
        "--resume-from",
        metavar="FILE",
        help="continue the run in --out from this checkpoint (e.g. an epoch_NNNN.pt)",
    )
    p.add_argument(
        "--epochs",
        type=int,
        help="training epochs (default: the config's); turns the config's min_steps off",
    )
    p.add_argument("--batch-size", type=int, help="training batch (default: the config's)")
    p.add_argument("--seed", type=int, help="random seed (default: the config's, 0)")
    p.add_argument("--preset", choices=PRESETS, help="encoder sizes")
    add_representation_arg(p, required=False)
    add_stream_arg(
        p, STREAM_HELP + " (default: the config's, joint); every evaluation of the run applies it"
    )
    add_common_args(p)  # --benchmark: its train split is used
    p.set_defaults(func=_pretrain)
