"""``skelcon prepare <dataset>``: every dataset reader's subcommand.

The arguments every reader shares (``--raw``, ``--out``, ``--workers``, ``--strict``,
``--max-frames``, ``--channels``, ``--overwrite``, the 2D normalisation flags) are
declared once here; each reader adds only its own. A handler turns the flags into the
reader's ``prepare_*`` call (imported when the command runs: building the parser imports
no reader beyond the names its help shows).
"""

from __future__ import annotations

import argparse
import time

from ..data.channels import CHANNELS_HELP
from .common import Parser

MIN_INSTANCES_HINT = (
    "--min-instances K keeps only the classes with at least K clips, relabelled (e.g. "
    "--min-instances 50, as the README's PKU-MMD table)"
)

# ---------------------------------------------------------------------------
# The shared arguments, declared once


def add_raw_arg(p: argparse.ArgumentParser, metavar: str, help: str, **kw) -> None:
    p.add_argument("--raw", required=True, metavar=metavar, help=help, **kw)


def add_out_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, help="output directory")


def add_workers_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workers", type=int, default=1, help="parser processes (default 1)")


def add_strict_arg(p: argparse.ArgumentParser, what: str = "file") -> None:
    p.add_argument("--strict", action="store_true", help=f"stop at the first bad {what} (exit 2)")


def add_max_frames_arg(
    p: argparse.ArgumentParser,
    help: str = "T_max; longer clips are uniformly subsampled (default 300)",
    default: int | None = 300,
) -> None:
    p.add_argument("--max-frames", type=int, default=default, help=help)


def add_channels_arg(p: argparse.ArgumentParser, metavar: str, help: str) -> None:
    p.add_argument("--channels", default=None, metavar=metavar, help=help)


def add_norm_args(p: argparse.ArgumentParser, default_on: bool) -> None:
    """``--normalize``/``--no-normalize``, ``--score-threshold``, ``--image-size``."""
    add_normalize_arg(p, default_on)
    add_2d_norm_args(p)


def add_normalize_arg(p: argparse.ArgumentParser, default_on: bool) -> None:
    """``--normalize``/``--no-normalize`` (default ``default_on``)."""
    p.add_argument(
        "--normalize",
        action=argparse.BooleanOptionalAction,
        default=default_on,
        help="normalise each clip (2D: centre on the layout's centre joint, divide "
        "by a body length; 3D: the NTU preparation); default " + ("on" if default_on else "off"),
    )


def add_2d_norm_args(p: argparse.ArgumentParser) -> None:
    """``--score-threshold`` and ``--image-size``: options of the 2D normalisation."""
    p.add_argument(
        "--score-threshold",
        type=float,
        default=0.0,
        metavar="S",
        help="with --normalize, 2D with scores: zero the joints scoring below S (default 0: keep all)",
    )
    p.add_argument(
        "--image-size",
        default=None,
        metavar="WxH",
        help="with --normalize, 2D: map the WIDTHxHEIGHT image to [-1, 1] on its longer side first",
    )


def add_dataset_arg(p: argparse.ArgumentParser) -> None:
    """``--dataset NAME``: the name kept in meta.json."""
    p.add_argument("--dataset", default=None, metavar="NAME", help="dataset name kept in meta.json")


LAYOUT_CHOICES = "ntu25, kinect20, coco17, openpose18, openpose25 or a layout YAML file"


def add_layout_arg(p: argparse.ArgumentParser, default: str | None = None) -> None:
    """``--layout``: a built-in layout or a layout YAML (required without ``default``)."""
    p.add_argument(
        "--layout",
        default=default,
        required=default is None,
        help=f"joint layout of the data: {LAYOUT_CHOICES}"
        + (f" (default {default})" if default else ""),
    )


def norm_from_args(args: argparse.Namespace):
    """The :class:`~skelcon.data.clips.ClipNorm` of the flags :func:`add_norm_args` added."""
    from ..data.clips import clip_norm

    return clip_norm(args.normalize, args.score_threshold, args.image_size)


def add_overwrite_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--overwrite", action="store_true", help="replace --out if it exists and is not empty"
    )


def _guard(parser: argparse.ArgumentParser) -> None:
    """Give a ``prepare`` subcommand ``--overwrite`` and check its ``--out`` first."""
    run = parser.get_default("func")
    name = parser.prog.split()[-1]  # the dataset subcommand: ntu60, folder, ...

    def guarded(args: argparse.Namespace) -> int:
        from ..data.coverage import coverage_notes
        from ..data.prepared import check_output_dir, prepare_cleanup, read_meta

        check_output_dir(args.out, args.overwrite)
        with prepare_cleanup():  # any error or Ctrl-C: no .partial left behind
            rc = run(args)
        hint = MIN_INSTANCES_HINT if getattr(args, "min_instances", 0) is None else ""
        for line in coverage_notes(read_meta(args.out), drop_hint=hint):
            print(f"{name}: note: {line}")
        return rc

    add_overwrite_arg(parser)
    parser.set_defaults(func=guarded)


# ---------------------------------------------------------------------------
# synthetic


def _synthetic(args: argparse.Namespace) -> int:
    from ..data.prepared import read_meta
    from ..data.synthetic import generate_synthetic

    classes = [c.strip() for c in args.classes.split(",") if c.strip()] if args.classes else None
    t0 = time.perf_counter()
    out = generate_synthetic(
        args.out,
        per_class=args.per_class,
        max_frames=args.frames,
        seed=args.seed,
        test_fraction=args.test_fraction,
        classes=classes,
    )
    meta = read_meta(out)
    counts = meta["benchmarks"]["default"]
    print(
        f"synthetic: {meta['counts']['samples']} samples, {meta['num_classes']} classes "
        f"(train {counts['train']}, test {counts['test']}) -> {out} "
        f"in {time.perf_counter() - t0:.1f} s"
    )
    return 0


def add_synthetic(sub) -> None:
    """``skelcon prepare synthetic``."""
    from ..data import synthetic

    p = sub.add_parser(
        "synthetic",
        help="generate a procedural NTU-25-joint action dataset (demo / tests)",
        description=synthetic.__doc__.splitlines()[0],
    )
    add_out_arg(p)
    p.add_argument("--per-class", type=int, default=75, help="samples per class, train+test (75)")
    p.add_argument("--frames", type=int, default=100, help="T_max: frames per sample (100)")
    p.add_argument("--seed", type=int, default=0, help="random seed (0)")
    p.add_argument("--test-fraction", type=float, default=0.3, help="test share per class (0.3)")
    p.add_argument(
        "--classes", default=None, help=f"comma-separated subset of: {', '.join(synthetic.CLASSES)}"
    )
    p.set_defaults(func=_synthetic, flag_of={"max_frames": "--frames"})


# ---------------------------------------------------------------------------
# NTU RGB+D 60 / 120


def _ntu(args: argparse.Namespace) -> int:
    from ..data.channels import fixed_channels, parse_channels
    from ..data.ntu import prepare_ntu

    holds = ["x", "y"] if args.coords == "color2d" else ["x", "y", "z"]
    fixed_channels(parse_channels(args.channels), holds, f"NTU with --coords {args.coords}")
    prepare_ntu(
        args.dataset,
        args.raw,
        args.out,
        workers=args.workers,
        strict=args.strict,
        missing=args.missing,
        max_frames=args.max_frames,
        coords=args.coords,
    )
    return 0


def add_ntu(sub) -> None:
    """``skelcon prepare ntu60`` and ``skelcon prepare ntu120``."""
    from ..data.ntu import COORDS

    for name, archives in (
        ("ntu60", "nturgbd_skeletons_s001_to_s017.zip"),
        ("ntu120", "nturgbd_skeletons_s001_to_s017.zip and nturgbd_skeletons_s018_to_s032.zip"),
    ):
        p = sub.add_parser(
            name,
            help=f"NTU RGB+D {name[3:]} from the official skeleton archives",
            description=f"Prepare NTU RGB+D {name[3:]} from {archives} (zip archives read in "
            "place, or extracted folders).",
        )
        add_raw_arg(
            p, "PATH", "official zip archive(s) or folder(s) of *.skeleton files", nargs="+"
        )
        add_out_arg(p)
        add_workers_arg(p)
        add_strict_arg(p)
        p.add_argument(
            "--missing",
            default=None,
            metavar="FILE",
            help="missing-skeleton list to skip (default: the official list)",
        )
        add_max_frames_arg(p, "T_max (default 300)")
        p.add_argument(
            "--coords",
            choices=COORDS,
            default="xyz",
            help="xyz: 3D joints, the standard preparation (default); color2d: each "
            "joint's colour-image pixels (a 2D dataset, C=2)",
        )
        add_channels_arg(
            p, "x,y,z", "checked against what is written: x,y,z (x,y with --coords color2d)"
        )
        p.set_defaults(func=_ntu)


# ---------------------------------------------------------------------------
# PKU-MMD Phase I / II


def _pku(args: argparse.Namespace) -> int:
    from ..data.channels import fixed_channels, parse_channels
    from ..data.pku import prepare_pku

    fixed_channels(parse_channels(args.channels), ["x", "y", "z"], "PKU-MMD (3D Kinect joints)")
    prepare_pku(
        args.dataset,
        args.raw,
        args.labels,
        args.out,
        splits=args.splits,
        workers=args.workers,
        strict=args.strict,
        max_frames=args.max_frames,
        min_instances=args.min_instances,
    )
    return 0


def add_pku(sub) -> None:
    """``skelcon prepare pku-mmd1`` and ``skelcon prepare pku-mmd2``."""
    for name, part, names in (
        ("pku-mmd1", "I", "NNNN-V.txt[.xz]"),
        ("pku-mmd2", "II", "AxxNyy-V.txt[.xz]"),
    ):
        p = sub.add_parser(
            name,
            help=f"PKU-MMD Phase {part}: cut labelled instances from untrimmed sequences",
            description=f"Prepare PKU-MMD Phase {part}: every labelled instance of every "
            f"sequence ({names}) becomes a clip, normalised as NTU.",
        )
        add_raw_arg(p, "SKELETON_DIR", f"folder of skeleton files {names}")
        p.add_argument(
            "--labels",
            required=True,
            metavar="LABEL_DIR",
            help="folder of label files (same stems, label,start,end,confidence)",
        )
        split_help = (
            "folder with cross-subject.txt / cross-view.txt (default: the official lists)"
            if part == "I"
            else "folder with the official cross-subject.txt (required: not shipped)"
        )
        p.add_argument("--splits", default=None, metavar="SPLIT_DIR", help=split_help)
        add_out_arg(p)
        add_workers_arg(p)
        add_strict_arg(p, "input")
        add_max_frames_arg(p)
        p.add_argument(
            "--min-instances",
            type=int,
            default=None,
            metavar="K",
            help="keep only classes with at least K clips, relabelled 0..C'-1",
        )
        add_channels_arg(p, "x,y,z", "checked against what is written: x,y,z (3D Kinect joints)")
        p.set_defaults(func=_pku)


# ---------------------------------------------------------------------------
# NW-UCLA


def _ucla(args: argparse.Namespace) -> int:
    from ..data.channels import fixed_channels, parse_channels
    from ..data.ucla import prepare_ucla

    fixed_channels(parse_channels(args.channels), ["x", "y", "z"], "NW-UCLA (3D Kinect joints)")
    prepare_ucla(
        args.raw, args.out, workers=args.workers, strict=args.strict, max_frames=args.max_frames
    )
    return 0


def add_ucla(sub) -> None:
    """``skelcon prepare nw-ucla``."""
    p = sub.add_parser(
        "nw-ucla",
        help="NW-UCLA Multiview Action3D from its per-sequence JSON files",
        description="Prepare NW-UCLA (one JSON per sequence; views 1+2 train, view 3 test).",
    )
    add_raw_arg(p, "DIR", "folder of *.json sequences")
    add_out_arg(p)
    add_workers_arg(p)
    add_strict_arg(p)
    add_max_frames_arg(p, "T_max; longer sequences are uniformly subsampled (default 300)")
    add_channels_arg(p, "x,y,z", "checked against what is written: x,y,z (3D Kinect joints)")
    p.set_defaults(func=_ucla)


# ---------------------------------------------------------------------------
# import-npy, import-pyskl: datasets prepared by other repositories


def _import_npy(args: argparse.Namespace) -> int:
    from ..data.channels import parse_channels
    from ..data.imports import prepare_import_npy

    prepare_import_npy(
        args.raw,
        args.out,
        dataset=args.dataset,
        layout=args.layout,
        classes=args.classes,
        normalize_data=args.normalize,
        strict=args.strict,
        label_base=args.label_base,
        channels=parse_channels(args.channels),
        axes=args.axes,
    )
    return 0


def _import_pyskl(args: argparse.Namespace) -> int:
    from ..data.channels import parse_channels
    from ..data.clips import parse_image_size
    from ..data.imports import prepare_import_pyskl

    prepare_import_pyskl(
        args.raw,
        args.out,
        dataset=args.dataset,
        layout=args.layout,
        classes=args.classes,
        max_frames=args.max_frames,
        normalize_data=args.normalize,
        strict=args.strict,
        label_base=args.label_base,
        score=args.score,
        score_threshold=args.score_threshold,
        image_size=parse_image_size(args.image_size),
        channels=parse_channels(args.channels),
    )
    return 0


def _import_common(p: argparse.ArgumentParser) -> None:
    add_out_arg(p)
    add_dataset_arg(p)
    add_layout_arg(p, default="ntu25")
    p.add_argument(
        "--classes",
        default=None,
        metavar="FILE",
        help="class names, one per line (default class_0, class_1, ...)",
    )
    add_normalize_arg(p, default_on=False)
    add_strict_arg(p, "sample")
    p.add_argument(
        "--label-base",
        type=int,
        choices=(0, 1),
        default=0,
        help="1 when the labels run 1..C (default 0: labels run 0..C-1)",
    )
    add_channels_arg(p, "x,y[,z][,score]", CHANNELS_HELP)


def add_imports(sub) -> None:
    """``skelcon prepare import-npy`` and ``skelcon prepare import-pyskl``."""
    from ..data.imports import NPY_ORDERS

    p = sub.add_parser(
        "import-npy",
        help="import train_/val_data_joint.npy + label.pkl (ST-GCN-style folders)",
        description="Import a dataset prepared by another repository: train_data_joint.npy "
        "(N,C,T,V,M), train_label.pkl (names, labels), train_num_frame.npy and val_* files.",
    )
    add_raw_arg(p, "DIR", "folder holding the train_/val_ files")
    _import_common(p)
    p.add_argument(
        "--axes",
        choices=tuple(NPY_ORDERS),
        default=None,
        help="axis order of the data files: NCTVM (ST-GCN) or NMTVC (PYSKL, "
        "mmaction2); default: NCTVM unless the shape or data show NMTVC (said)",
    )
    p.set_defaults(func=_import_npy, flag_of={"normalize_data": "--normalize"})

    p = sub.add_parser(
        "import-pyskl",
        help="import a PYSKL / mmaction2 skeleton annotation pickle",
        description="Import a PYSKL annotation pickle {'split': ..., 'annotations': [...]}; "
        "split keys <bench>_train/<bench>_val become benchmark <bench>, splits train/test.",
    )
    add_raw_arg(p, "FILE.pkl", "the annotation pickle")
    _import_common(p)
    add_max_frames_arg(
        p, "T_max (default: the longest annotation); longer ones are subsampled", default=None
    )
    p.add_argument(
        "--score",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="2D: keep keypoint_score as a third channel x, y, score (default on)",
    )
    add_2d_norm_args(p)
    p.set_defaults(func=_import_pyskl, flag_of={"normalize_data": "--normalize"})


# ---------------------------------------------------------------------------
# Kinetics-skeleton


def _kinetics(args: argparse.Namespace) -> int:
    from ..data.channels import parse_channels
    from ..data.kinetics import prepare_kinetics

    prepare_kinetics(
        args.raw,
        args.out,
        workers=args.workers,
        strict=args.strict,
        max_frames=args.max_frames,
        norm=norm_from_args(args),
        channels=parse_channels(args.channels),
    )
    return 0


def add_kinetics(sub) -> None:
    """``skelcon prepare kinetics-skeleton``."""
    p = sub.add_parser(
        "kinetics-skeleton",
        help="Kinetics-skeleton (ST-GCN's OpenPose release): kinetics_train/, kinetics_val/",
        description="Prepare ST-GCN's Kinetics-skeleton: DIR/kinetics_{train,val}/<id>.json and "
        "DIR/kinetics_{train,val}_label.json; 18 OpenPose joints, x, y, score.",
    )
    add_raw_arg(p, "DIR", "the kinetics-skeleton folder")
    add_out_arg(p)
    add_workers_arg(p)
    add_strict_arg(p)
    add_max_frames_arg(p)
    add_norm_args(p, default_on=True)
    add_channels_arg(p, "x,y[,score]", "x,y,score (default) or x,y; " + CHANNELS_HELP)
    p.set_defaults(func=_kinetics)


# ---------------------------------------------------------------------------
# a plain folder of clips


def _folder(args: argparse.Namespace) -> int:
    from ..data.folder import prepare_folder

    channels = None if args.channels is None else [s.strip() for s in args.channels.split(",")]
    prepare_folder(
        args.raw,
        args.out,
        layout=args.layout,
        channels=channels,
        labels=args.labels,
        max_frames=args.max_frames,
        max_persons=args.max_persons,
        norm=norm_from_args(args),
        test_fraction=args.test_fraction,
        dataset=args.dataset,
        workers=args.workers,
        strict=args.strict,
    )
    return 0


def add_folder(sub) -> None:
    """``skelcon prepare folder``."""
    p = sub.add_parser(
        "folder",
        help="a plain folder: <class>/<clip>.npy|.csv|.json of (T, V, C) or (M, T, V, C)",
        description="Prepare a plain folder of clips: DIR/<class>/<clip>.npy|.csv|.json "
        "(or DIR/train/<class>/..., DIR/test/<class>/..., or --labels FILE.csv).",
    )
    add_raw_arg(p, "DIR", "the folder of clips")
    add_out_arg(p)
    add_layout_arg(p)
    add_channels_arg(p, "x,y[,z][,score]", "what C holds (default by C: x,y / x,y,z / x,y,z,score)")
    p.add_argument(
        "--labels",
        default=None,
        metavar="FILE.csv",
        help="clip,label[,split] lines (clip relative to DIR) instead of class folders",
    )
    p.add_argument(
        "--test-fraction",
        type=float,
        default=0.2,
        help="share of each class in the test split without split folders (default 0.2)",
    )
    add_max_frames_arg(p)
    p.add_argument(
        "--max-persons",
        type=int,
        default=2,
        help="M; more persons: the most confident (or moving) kept (default 2)",
    )
    add_dataset_arg(p)
    add_workers_arg(p)
    add_strict_arg(p, "clip")
    add_norm_args(p, default_on=False)
    p.set_defaults(func=_folder)


# ---------------------------------------------------------------------------

# Every `skelcon prepare` subcommand, in the order `skelcon prepare --help` lists them.
DATASETS = (add_synthetic, add_ntu, add_pku, add_ucla, add_imports, add_kinetics, add_folder)


def add_cli(sub) -> None:
    """``skelcon prepare <dataset>`` under the top-level subparsers ``sub``."""
    prep = sub.add_parser("prepare", help="prepare a dataset into the skelcon format")
    prep_sub = prep.add_subparsers(dest="dataset", required=True, parser_class=Parser)
    for add in DATASETS:
        add(prep_sub)
    for parser in prep_sub.choices.values():  # every dataset, one rule
        _guard(parser)
