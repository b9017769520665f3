"""``skelcon import-weights``: a published checkpoint of the paper's authors as a skelcon run."""

from __future__ import annotations

import argparse


def _import(args: argparse.Namespace) -> int:
    from ..engine.imported import import_weights

    r = import_weights(
        args.source, args.file, args.out, dataset=args.dataset, benchmark=args.benchmark
    )
    parts = ", ".join(f"{rep} (their {m})" for rep, m in r.modules.items())
    epochs = f"{r.epoch} epochs" if r.epoch is not None else "epochs unknown"
    heads = "with" if r.heads else "without"
    print(
        f"imported {parts} from {args.file} ({args.source}, {epochs}, sha256 {r.sha256[:12]}) "
        f"into {r.out}: preset {r.preset}"
        + (", seq.recurrence stepwise" if "seq" in r.modules else "")
        + f", {heads} projection heads; "
        f"use it as --checkpoint {r.out} with eval, embed and export"
    )
    return 0


def add_cli(sub) -> None:
    """``skelcon import-weights`` under the top-level subparsers ``sub``."""
    from ..engine.imported import AUTHORS_DATA, SOURCES

    benchmarks = sorted({b for bs in AUTHORS_DATA.values() for b in bs})
    p = sub.add_parser(
        "import-weights",
        help="make a run from the paper authors' published checkpoint (.pth.tar)",
        description="Map the query encoders (SEQ, IMG, STG) and projection heads of a "
        "checkpoint of the paper authors' code (github.com/fmthoker/skeleton-contrast, "
        "checkpoint_NNNN.pth.tar) onto skelcon's encoders and write a run directory "
        "(last.pt, config.yaml) that eval, embed and export take. Their GRU is fed one "
        "frame per call, so the run's SEQ encoder uses seq.recurrence stepwise, which "
        "computes what theirs computed. The file is read with torch.load(weights_only=True): "
        "nothing in it is run. The run is marked as imported (file name, SHA-256) and "
        "cannot be resumed.",
    )
    p.add_argument("file", help="the authors' checkpoint, e.g. checkpoint_0450.pth.tar")
    p.add_argument(
        "--from",
        dest="source",
        required=True,
        choices=SOURCES,
        help="whose checkpoint it is: skeleton-contrast (Thoker et al., ACM MM 2021)",
    )
    p.add_argument("--out", required=True, help="run directory to write (must not hold a run)")
    p.add_argument(
        "--dataset",
        required=True,
        choices=sorted(AUTHORS_DATA),
        help="what the weights were pre-trained on (their --pre-dataset); the run's data spec "
        "is that of `skelcon prepare ntu60|ntu120` (NTU 25 joints, 3D, 2 persons), 64 frames",
    )
    p.add_argument(
        "--benchmark",
        choices=benchmarks,
        help="their --protocol: xsub or xview (ntu60), xsub or xsetup (ntu120); recorded, "
        "not required",
    )
    p.set_defaults(func=_import)
