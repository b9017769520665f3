"""``skelcon eval <protocol>`` and ``skelcon embed``: the evaluation protocols' commands,
what each trains in words (generated from its config), and the lines they print."""

from __future__ import annotations

import argparse

from ..config import (
    SIMILARITIES,
    FinetuneConfig,
    KnnConfig,
    LinearEvalConfig,
    finetune_defaults,
    load_config,
)
from ..recipes import resolve_config_path
from ..utils.text import number_list
from .common import (
    DEVICE_HELP,
    RANDOM_INIT_HELP,
    STREAM_CHECK_HELP,
    Parser,
    add_common_args,
    add_override_args,
    add_representation_arg,
    add_stream_arg,
    rank,
)

# ---------------------------------------------------------------------------
# What a protocol trains, in words: generated from its config (the dataclass defaults in
# --help, the run's own config in the line each command prints at its start).


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _schedule(milestones: list[int], gamma: float) -> str:
    if not milestones:
        return ""
    return f" (x{gamma:g} at {'epoch' if len(milestones) == 1 else 'epochs'} " + (
        ", ".join(str(m) for m in milestones) + ")"
    )


def linear_plan(cfg: LinearEvalConfig) -> str:
    """What ``eval linear`` trains with ``cfg``, one clause."""
    if cfg.train_crop == "center":
        crops = "centre crops, features cached once (not the protocol's random crops)"
    elif cfg.crop_bank:
        crops = (
            f"random crop-resize (ratio ~ U[{cfg.crop_min:g}, 1]) from a bank of "
            f"{cfg.crop_bank} per clip (not the exact protocol)"
        )
    else:
        crops = f"a random crop-resize of every clip (ratio ~ U[{cfg.crop_min:g}, 1]) each epoch"
    return (
        f"1 linear classifier on the frozen encoder's features, {_plural(cfg.epochs, 'epoch')}, "
        f"batch {cfg.batch_size}, SGD lr {cfg.lr:g}{_schedule(cfg.milestones, cfg.gamma)}"
        f"{', standardised features' if cfg.standardize else ''}; training: {crops}; "
        "test: centre crop, final epoch"
    )


def knn_plan(cfg: KnnConfig) -> str:
    """What ``eval knn`` does with ``cfg``, one clause."""
    return (
        f"no training; each test clip gets the label of its k={cfg.k} nearest "
        f"{'neighbour' if cfg.k == 1 else 'neighbours'} ({cfg.similarity}) among the train "
        "split's frozen features, centre crops"
    )


def finetune_plan(cfg: FinetuneConfig) -> str:
    """What a fine-tuning protocol trains with ``cfg``, one clause: how many models (label
    fractions x repeats), epochs, optimiser and crops."""
    n = len(cfg.fractions) * cfg.repeats
    if n == 1 and cfg.fractions == [1.0]:
        what = "1 model (encoder + classifier) on 100 % of the labels"
    else:
        what = (
            f"{_plural(n, 'model')} (encoder + classifier; label "
            f"{'fraction' if len(cfg.fractions) == 1 else 'fractions'} "
            f"{', '.join(f'{100 * f:g}' for f in cfg.fractions)} % x "
            f"{_plural(cfg.repeats, 'random subset')}{' each' if len(cfg.fractions) > 1 else ''})"
        )
    return (
        f"{what}, {_plural(cfg.epochs, 'epoch')}{' each' if n > 1 else ''}, batch "
        f"{cfg.batch_size}, Adam lr {cfg.lr:g}{_schedule(cfg.milestones, cfg.gamma)}; training: "
        f"random crop-resize (ratio ~ U[{cfg.crop_min:g}, 1]); test: centre crop, final epoch"
    )


PLAN_FLAGS = {
    "linear": "--epochs/--batch-size",
    "knn": "--k/--similarity",
    "finetune": "--fractions/--repeats/--epochs",
}


def _say_plan(protocol: str, plan: str) -> None:
    """The line every ``eval`` command prints at its start (rank 0 alone under torchrun)."""
    if rank() == 0:
        flags = PLAN_FLAGS.get(protocol, PLAN_FLAGS["finetune"])
        print(
            f"skelcon: eval {protocol}: {plan}; {flags} (or --config/--set) change it", flush=True
        )


def _description(help_text: str, plan: str, flags: str) -> str:
    return f"{help_text[0].upper()}{help_text[1:]}. By default: {plan}. {flags} change it."


def _common_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True, help="run directory or .pt file")
    add_representation_arg(p, required=True)
    add_stream_arg(p, STREAM_CHECK_HELP)
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


def _tag(rec: dict) -> str:
    """How the encoder's weights came: ``random-init``, ``pre-trained`` (by skelcon) or
    ``imported: the authors' weights (skeleton-contrast, FILE)``."""
    from ..eval.record import imported_words

    if rec["random_init"]:
        return "random-init"
    words = imported_words(rec.get("imported"))
    return f"imported: {words}" if words else "pre-trained"


def _print(rec: dict) -> None:
    tag = _tag(rec)
    bank = rec.get("crop_bank")
    print(
        f"{rec['protocol']} {rec['representation']}{_stream_words(rec)} ({tag}) on {rec['dataset']}/{rec['benchmark']}: "
        f"top-1 {rec['top1']:.2f} %  (train {rec['num_train']}, test {rec['num_test']})"
        + (f"  [crop bank {bank['k']}: not the exact protocol]" if bank else "")
    )
    _print_reachable(rec)


def _stream_words(rec: dict) -> str:
    """`` bone stream`` / `` motion stream`` after the representation; nothing for joints."""
    stream = rec.get("stream") or "joint"
    return "" if stream == "joint" else f" {stream} stream"


def _print_reachable(rec: dict) -> None:
    """The note beside an accuracy when some test clips' classes never occur in training."""
    from ..data.coverage import reachable_note

    note = reachable_note(rec.get("reachable_test", rec["num_test"]), rec["num_test"])
    if note:
        print(f"skelcon: note: {note}")


def _frozen(args, cfg_cls, runner, extra: list[tuple[str, object]], **kw) -> int:
    """Shared body of the frozen-encoder protocols (linear, knn)."""
    from ..engine.distributed import distributed

    cfg = load_config(cfg_cls, resolve_config_path(args.config), _overrides(args, extra))
    cfg.validate()  # a bad value is the one line, before the plan is said
    _say_plan(args.protocol, linear_plan(cfg) if cfg_cls is LinearEvalConfig else knn_plan(cfg))
    with distributed(cfg.device) as (world, _):  # torchrun: features are extracted in shards
        rec = runner(
            args.checkpoint,
            args.representation,
            args.data,
            args.benchmark,
            args.out,
            cfg,
            random_init=args.random_init,
            progress=not args.quiet,
            stream=args.stream,
            **kw,
        )
        if world.is_main:
            _print(rec)
    return 0


def _linear(args) -> int:
    from ..eval.run import run_linear

    extra = [("epochs", args.epochs), ("batch_size", args.batch_size), ("seed", args.seed)]
    return _frozen(args, LinearEvalConfig, run_linear, extra)


def _knn(args) -> int:
    from ..eval.run import run_knn

    extra = [("k", args.k), ("similarity", args.similarity), ("batch_size", args.batch_size)]
    return _frozen(args, KnnConfig, run_knn, extra, seed=args.seed)


def _training_args(p: argparse.ArgumentParser, defaults, epochs_help: str) -> None:
    """``--epochs``, ``--batch-size`` and ``--seed``, with the config ``defaults`` in the help."""
    p.add_argument(
        "--epochs", type=int, help=f"{epochs_help} (default: the config's, {defaults.epochs})"
    )
    p.add_argument(
        "--batch-size",
        type=int,
        help=f"training batch (default: the config's, {defaults.batch_size})",
    )
    p.add_argument("--seed", type=int, help=f"random seed (default: the config's, {defaults.seed})")


def add_cli(sub) -> None:
    ev = sub.add_parser("eval", help="downstream evaluation protocols")
    ev_sub = ev.add_subparsers(dest="protocol", required=True, parser_class=Parser)

    text = "linear classifier on the frozen encoder"
    p = ev_sub.add_parser(
        "linear",
        help=text,
        description=_description(text, linear_plan(LinearEvalConfig()), PLAN_FLAGS["linear"]),
    )
    _common_args(p)
    _training_args(p, LinearEvalConfig(), "classifier epochs")
    p.set_defaults(func=_linear)

    knn = KnnConfig()
    text = f"nearest-neighbour retrieval ({knn.similarity}, k={knn.k} by default)"
    p = ev_sub.add_parser(
        "knn", help=text, description=_description(text, knn_plan(knn), PLAN_FLAGS["knn"])
    )
    _common_args(p)
    p.add_argument("--k", type=int, help=f"neighbours (default: the config's, {knn.k})")
    p.add_argument(
        "--similarity", choices=SIMILARITIES, help=f"(default: the config's, {knn.similarity})"
    )
    p.add_argument(
        "--batch-size",
        type=int,
        help=f"feature extraction batch (default: the config's, {knn.batch_size})",
    )
    p.add_argument("--seed", type=int, default=None, help=RANDOM_INIT_SEED_HELP)
    p.set_defaults(func=_knn)

    add_finetune_cli(ev_sub, sub)


# ---------------------------------------------------------------------------
# Fine-tuning protocols (semi, supervised, finetune, transfer) and `skelcon embed`


def _finetune_args(
    p: argparse.ArgumentParser, protocol: str, *, checkpoint: str, random_init: bool
) -> None:
    defaults = finetune_defaults(protocol)

    if checkpoint == "required":
        p.add_argument("--checkpoint", required=True, help="run directory or .pt file")
    else:
        p.add_argument("--checkpoint", help="take the architecture (not the weights) from this run")
        p.add_argument("--preset", help="or build the architecture from a preset: paper or small")
        p.add_argument(
            "--frames", type=int, default=64, help="input length with --preset (default 64)"
        )
    add_representation_arg(p, required=True)
    add_stream_arg(
        p,
        STREAM_CHECK_HELP
        + (
            "; with --preset: the new encoders' input (default joint)"
            if checkpoint != "required"
            else ""
        ),
    )
    p.add_argument("--data", required=True, help="prepared dataset directory")
    p.add_argument("--out", required=True, help="directory for metrics.json and subsets.json")
    if random_init:
        p.add_argument("--random-init", action="store_true", help=RANDOM_INIT_HELP)
    p.add_argument(
        "--fractions",
        help="comma-separated fractions of the labels, one model each, e.g. 0.01,0.05,0.1,0.2 "
        f"(default: the config's, {','.join(f'{f:g}' for f in defaults.fractions)})",
    )
    p.add_argument(
        "--repeats",
        type=int,
        help=f"random subsets (models) per fraction (default: the config's, {defaults.repeats})",
    )
    _training_args(p, defaults, "training epochs")
    p.add_argument(
        "--num-classes", type=int, help="expected class count (checked against the data)"
    )
    add_common_args(p)
    add_override_args(p)


def _parse_fractions(text: str | None) -> str | None:
    if text is None:
        return None
    values = number_list(
        text, lambda item: f"fraction {item!r} is not a number (valid: 0 < fraction <= 1)"
    )
    return "[" + ", ".join(repr(v) for v in values) + "]"


def _finetune_config(args, protocol: str):
    def factory() -> FinetuneConfig:  # finetune, transfer: all labels, one run (config.py)
        return finetune_defaults(protocol)

    shortcuts = [
        ("fractions", _parse_fractions(args.fractions)),
        ("repeats", args.repeats),
        ("epochs", args.epochs),
        ("batch_size", args.batch_size),
        ("seed", args.seed),
    ]
    return load_config(factory, resolve_config_path(args.config), _overrides(args, shortcuts))


def _print_finetune(rec: dict) -> None:
    tag = _tag(rec)
    where = f"{rec['dataset']}/{rec['benchmark']}"
    if rec["protocol"] == "transfer":
        where = f"{rec['source_dataset']} -> {where}"
    for r in rec["results"]:
        print(
            f"{rec['protocol']} {rec['representation']}{_stream_words(rec)} ({tag}) on {where}, "
            f"{100 * r['fraction']:g} % labels: "
            f"top-1 {r['mean']:.2f} ± {r['std']:.2f} % over {len(r['runs'])} run(s) "
            f"({min(r['num_labelled'])}-{max(r['num_labelled'])} labelled, test {rec['num_test']})"
        )
    _print_reachable(rec)


def _finetune_cmd(protocol: str):
    def run(args) -> int:
        from ..eval.run import run_finetune, run_transfer

        cfg = _finetune_config(args, protocol)
        cfg.validate()  # a bad value is the one line, before the plan is said
        _say_plan(protocol, finetune_plan(cfg))
        common = dict(num_classes=args.num_classes, progress=not args.quiet, stream=args.stream)
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
    from ..errors import SkelconError
    from ..eval.embed import embed, embed_inputs, sidecar_path

    if (args.data is None) == (args.input is None):
        which = "one of" if args.data is None else "only one of"
        raise SkelconError(
            f"embed needs {which} --data (a prepared dataset's split) or --input (raw clips)"
        )
    common = dict(
        random_init=args.random_init,
        seed=args.seed,
        device=args.device,
        batch_size=args.batch_size,
        progress=not args.quiet,
        stream=args.stream,
    )
    if args.input is not None:
        side = embed_inputs(
            args.checkpoint,
            args.representation,
            args.input,
            args.out,
            channels=parse_channels_arg(args.channels),
            strict=args.strict,
            backend=args.backend,
            keypoints=args.keypoints,
            det_model=args.det_model,
            pose_model=args.pose_model,
            mirror=args.mirror,
            **common,
        )
    else:
        if args.channels is not None or args.strict or args.keypoints is not None or args.mirror:
            raise SkelconError(
                "--channels, --strict, --keypoints and --mirror are for raw clips (--input)"
            )
        side = embed(
            args.checkpoint,
            args.representation,
            args.data,
            args.benchmark,
            args.split,
            args.out,
            **common,
        )
    skipped = len(side.get("skipped") or [])
    print(
        f"wrote {side['num_samples']} x {side['feature_dim']} {side['representation']} features to "
        f"{args.out} (names, {'paths' if args.input is not None else 'labels'}: "
        f"{sidecar_path(args.out)})" + (f"; skipped {skipped} clips" if skipped else "")
    )
    return 0


def parse_channels_arg(text: str | None) -> list[str] | None:
    """``--channels x,y,score`` as a list (checked where it is used)."""
    return None if text is None else [c.strip() for c in text.split(",")]


CHANNELS_INPUT_HELP = (
    "what the clip files' C axis holds when it is not the model's channels, e.g. x,y,score "
    "for a model of x, y (the score marks missing joints, then is dropped)"
)
STRICT_INPUT_HELP = "refuse at the first clip that cannot be read (default: skip it and list it)"


def add_finetune_cli(ev_sub, sub) -> None:
    """``eval semi|supervised|finetune|transfer`` under ``ev_sub``; ``embed`` under ``sub``."""
    for protocol, text, checkpoint, random_init in (
        ("semi", "fine-tune encoder + classifier on fractions of the labels", "required", True),
        ("supervised", "semi's training from random initialisation", "optional", False),
        ("finetune", "fine-tune encoder + classifier on all labels", "required", True),
        (
            "transfer",
            "fine-tune on another dataset: new classifier, maybe new layout",
            "required",
            False,
        ),
    ):
        defaults = finetune_defaults(protocol)
        models = _plural(len(defaults.fractions) * defaults.repeats, "model")
        p = ev_sub.add_parser(
            protocol,
            help=f"{text} (by default {models})",
            description=_description(text, finetune_plan(defaults), PLAN_FLAGS["finetune"]),
        )
        _finetune_args(p, protocol, checkpoint=checkpoint, random_init=random_init)
        p.set_defaults(func=_finetune_cmd(protocol))

    p = sub.add_parser(
        "embed", help="export encoder features of a split or of raw clips to .npy (+ .json sidecar)"
    )
    p.add_argument("--checkpoint", required=True, help="run directory or .pt file")
    add_representation_arg(p, required=True)
    add_stream_arg(p, STREAM_CHECK_HELP)
    p.add_argument("--data", help="prepared dataset directory (or --input)")
    p.add_argument(
        "--input",
        nargs="+",
        metavar="PATH",
        help="raw clips instead of --data: .npy/.csv/.json clips, OpenPose --write_json "
        "folders, PYSKL .pkl files, Kinetics-skeleton .json, videos (extracted first, in the "
        "run's layout), or folders of them (recursive); read as the run's data were prepared",
    )
    p.add_argument("--channels", help=CHANNELS_INPUT_HELP)
    p.add_argument("--strict", action="store_true", help=STRICT_INPUT_HELP)
    from .extract import add_video_args

    add_video_args(p)
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
