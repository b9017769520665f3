"""``skelcon export``: a checkpoint's query encoder as a TorchScript or ONNX file."""

from __future__ import annotations

import argparse

from .common import RANDOM_INIT_HELP, STREAM_CHECK_HELP, add_representation_arg, add_stream_arg


def _export(args: argparse.Namespace) -> int:
    from ..export.writer import contract_path, export_encoder

    c = export_encoder(
        args.checkpoint,
        args.representation,
        args.format,
        args.out,
        random_init=args.random_init,
        seed=args.seed,
        opset=args.opset,
        stream=args.stream,
    )
    runtime = ""
    if args.format == "onnx":
        oldest = c.get("min_onnxruntime")
        runtime = (
            f"; opset {c['onnx_opset']}, IR {c['onnx_ir_version']}: onnxruntime >= {oldest}"
            if oldest
            else f"; opset {c['onnx_opset']}, IR {c['onnx_ir_version']}"
        )
    x = c["inputs"]["x"]["shape"]
    print(
        f"wrote the {c['representation']} encoder{_stream_words(c)} as {args.format} to {args.out} "
        f"(input contract: {contract_path(args.out)}): x (N, {x[1]}, T, {x[3]}, {x[4]}) "
        f"float32 + num_frames (N,) int64 -> features (N, {c['feature_dim']}) float32; "
        f"matches PyTorch within {c['verified']['max_abs_diff']:.2g}{runtime}"
    )
    return 0


def _stream_words(contract: dict) -> str:
    name = contract["stream"]["name"]
    return "" if name == "joint" else f" (its {name} stream computed by the graph from joints)"


def add_cli(sub) -> None:
    """``skelcon export`` under the top-level subparsers ``sub``."""
    from ..export import FORMATS

    p = sub.add_parser(
        "export",
        help="write a checkpoint's encoder as TorchScript or ONNX (+ its input contract .json)",
        description="Write the query encoder of a checkpoint as one TorchScript or ONNX file "
        "and its input contract beside it (OUT.json, e.g. seq.onnx.json). The graph takes whole clips "
        "x (N, C, T, V, M) float32 and num_frames (N,) int64 (any N and T) and applies the "
        "evaluation centre crop itself; it returns (N, D) float32 features, those of "
        "`skelcon embed`.",
    )
    p.add_argument("--checkpoint", required=True, help="run directory or .pt file")
    add_representation_arg(p, required=True)
    add_stream_arg(p, STREAM_CHECK_HELP)
    p.add_argument("--format", required=True, choices=FORMATS, help="file format")
    p.add_argument("--out", required=True, help="file to write, e.g. seq.onnx or seq.pt")
    p.add_argument("--random-init", action="store_true", help=RANDOM_INIT_HELP)
    p.add_argument("--seed", type=int, default=0, help="seed of --random-init weights (default 0)")
    p.add_argument(
        "--opset",
        type=int,
        metavar="N",
        help="ONNX opset (default: the exporter's; lower it for an older onnxruntime, "
        "the contract names the oldest that loads the file)",
    )
    p.set_defaults(func=_export)
