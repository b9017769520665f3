"""``skelcon plot tsne|retrieval|augment|skeleton|curves|confusion``: figures as PNG files (headless)."""

from __future__ import annotations

import argparse

from .common import (
    DEVICE_HELP,
    RANDOM_INIT_HELP,
    Parser,
    add_common_args,
    add_override_args,
    add_representation_arg,
)


def _model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True, help="run directory or .pt file")
    add_representation_arg(p, required=True)
    p.add_argument("--data", required=True, help="prepared dataset directory")
    p.add_argument("--out", required=True, help="PNG file to write")
    p.add_argument("--random-init", action="store_true", help=RANDOM_INIT_HELP)
    p.add_argument("--seed", type=int, default=0, help="random draws (default 0)")
    add_common_args(p, device=False)
    p.add_argument("--device", default="auto", help=DEVICE_HELP)


def _tsne(args) -> int:
    from ..viz.tsne import plot_tsne

    out = plot_tsne(
        args.checkpoint,
        args.representation,
        args.data,
        args.benchmark,
        args.out,
        split=args.split,
        classes=args.classes,
        subsets=args.subsets,
        per_class=args.per_class,
        perplexity=args.perplexity,
        random_init=args.random_init,
        seed=args.seed,
        device=args.device,
        progress=not args.quiet,
    )
    print(f"t-SNE figure written to {out}")
    return 0


def _retrieval(args) -> int:
    from ..viz.retrieval import plot_retrieval

    out = plot_retrieval(
        args.checkpoint,
        args.representation,
        args.data,
        args.benchmark,
        args.out,
        query=args.query,
        neighbours=args.neighbours,
        frames=args.frames,
        query_split=args.split,
        random_init=args.random_init,
        seed=args.seed,
        device=args.device,
        progress=not args.quiet,
    )
    print(f"retrieval figure written to {out}")
    return 0


def _augment(args) -> int:
    from ..config import PretrainConfig, load_config
    from ..recipes import resolve_config_path
    from ..viz.augment import plot_augment

    cfg = load_config(PretrainConfig, resolve_config_path(args.config), args.overrides)
    out = plot_augment(
        args.data,
        args.benchmark,
        args.out,
        split=args.split,
        index=args.index,
        frames=args.frames,
        seed=args.seed,
        cfg=cfg.augment,
    )
    print(f"augmentation figure written to {out}")
    return 0


def _skeleton(args) -> int:
    from ..errors import SkelconError

    if args.clip is not None:
        if args.data is not None:
            raise SkelconError("give --data (a prepared dataset) or --clip (an extracted clip)")
        from ..viz.video import plot_video_skeleton

        out = plot_video_skeleton(args.clip, args.out, video=args.video, frames=args.frames)
        print(f"skeleton figure written to {out}")
        return 0
    if args.video is not None:
        raise SkelconError("--video draws an extracted clip: give it with --clip CLIP.json")
    if args.data is None:
        raise SkelconError(
            "plot skeleton needs --data DIR (a prepared dataset) or --clip CLIP.json "
            "(a clip skelcon extract wrote, drawn on its video)"
        )
    from ..viz.clip import plot_skeleton

    out = plot_skeleton(
        args.data,
        args.skeleton_benchmark,
        args.out,
        split=args.split,
        index=args.index,
        frames=args.frames,
    )
    print(f"skeleton figure written to {out}")
    return 0


def _curves(args) -> int:
    from ..viz.curves import plot_curves

    out = plot_curves(args.run, args.out)
    print(f"training curves written to {out}")
    return 0


def _confusion(args) -> int:
    from ..viz.confusion import plot_confusion

    out = plot_confusion(args.source, args.out, fraction=args.fraction)
    print(f"confusion matrix written to {out}")
    return 0


def add_cli(sub) -> None:
    plot = sub.add_parser(
        "plot",
        help="figures: t-SNE, retrieval, augmentations, skeletons, training curves, confusion matrix",
    )
    psub = plot.add_subparsers(dest="figure", required=True, parser_class=Parser)

    p = psub.add_parser("tsne", help="t-SNE of features of random class subsets (paper Figure 7)")
    _model_args(p)
    p.add_argument(
        "--split", default="test", help="split whose samples are embedded (default test)"
    )
    p.add_argument("--classes", type=int, default=10, help="classes per subset (default 10)")
    p.add_argument(
        "--subsets", type=int, default=3, help="random class subsets side by side (default 3)"
    )
    p.add_argument(
        "--per-class", type=int, default=100, help="at most this many samples per class (100)"
    )
    p.add_argument(
        "--perplexity", type=float, default=30.0, help="t-SNE perplexity (capped for few points)"
    )
    p.set_defaults(func=_tsne)

    p = psub.add_parser(
        "retrieval", help="a test query and its nearest training samples (paper Figure 8)"
    )
    _model_args(p)
    p.add_argument(
        "--query", type=int, default=0, help="index of the query in the query split (default 0)"
    )
    p.add_argument("--split", default="test", help="split the query comes from (default test)")
    p.add_argument(
        "--neighbours", type=int, default=4, help="nearest training samples shown (default 4)"
    )
    p.add_argument("--frames", type=int, default=4, help="frames drawn per sample (default 4)")
    p.set_defaults(func=_retrieval)

    p = psub.add_parser(
        "augment", help="one sample under shear, jitter, crop-resize (paper Figures 2-4)"
    )
    p.add_argument("--data", required=True, help="prepared dataset directory")
    p.add_argument(
        "--benchmark", help="benchmark of --data (default: the dataset's only benchmark)"
    )
    # train, unlike embed/tsne/retrieval: augmentations are what pre-training sees
    p.add_argument("--split", default="train", help="split the sample comes from (default train)")
    p.add_argument("--index", type=int, default=0, help="sample index within the split (default 0)")
    p.add_argument("--out", required=True, help="PNG file to write")
    p.add_argument("--frames", type=int, default=4, help="frames drawn per column (default 4)")
    p.add_argument("--seed", type=int, default=0, help="augmentation draws (default 0)")
    # augment.* settings of a pre-training config, e.g. --set augment.l_min=0.5
    add_override_args(p)
    p.set_defaults(func=_augment)

    p = psub.add_parser(
        "skeleton",
        help="frames of one clip as stick figures (2D or 3D data), or an extracted clip "
        "drawn on its video",
    )
    p.add_argument("--data", help="prepared dataset directory (or --clip)")
    p.add_argument(
        "--clip",
        metavar="CLIP.json",
        help="instead of --data: a clip `skelcon extract` wrote, drawn on its video's frames",
    )
    p.add_argument(
        "--video",
        help="with --clip: the video it was extracted from (default: the path the clip names)",
    )
    # its own dest: skelcon's main resolves a missing --benchmark (and refuses one missing
    # on a dataset of several), but without --benchmark and --split --index counts over
    # the whole dataset
    p.add_argument(
        "--benchmark",
        dest="skeleton_benchmark",
        metavar="BENCHMARK",
        help="count --index within this benchmark's --split (with --split alone: "
        "the dataset's only benchmark)",
    )
    p.add_argument(
        "--split",
        help="count --index within this split of --benchmark (default "
        "train when --benchmark is given)",
    )
    p.add_argument(
        "--index",
        type=int,
        default=0,
        help="clip index (default 0): within --benchmark/--split when given, else "
        "within the whole dataset, in stored order",
    )
    p.add_argument("--frames", type=int, default=4, help="frames drawn (default 4)")
    p.add_argument("--out", required=True, help="PNG file to write")
    p.set_defaults(func=_skeleton)

    p = psub.add_parser(
        "curves",
        help="loss, contrast accuracy, kNN monitor, embedding health and lr of a pre-training run",
    )
    p.add_argument("run", help="pre-training run directory (or its metrics.jsonl)")
    p.add_argument("--out", required=True, help="PNG file to write")
    p.set_defaults(func=_curves)

    p = psub.add_parser(
        "confusion", help="confusion matrix of an evaluation, rows normalised, class names"
    )
    p.add_argument(
        "source",
        metavar="RUN_OR_METRICS",
        help="evaluation directory (skelcon eval --out) or its metrics.json",
    )
    p.add_argument("--out", required=True, help="PNG file to write")
    p.add_argument(
        "--fraction",
        type=float,
        help="label fraction of semi/supervised results (default: the largest)",
    )
    p.set_defaults(func=_confusion)
