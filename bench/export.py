"""``skelcon export`` at full size: time to export, file size, agreement with PyTorch,
and feature extraction speed of the exported files against PyTorch eager (the baseline,
``model(x, num_frames)``), for each encoder.

A checkpoint of freshly initialised encoders of ``--preset`` (the paper's by default)
for NTU-shaped data (ntu25, C=3, V=25, M=2, 64-frame views) is written to a
temporary directory; each encoder is exported to TorchScript and ONNX with
``skelcon.export.export_encoder``, then all three runtimes compute the features of
one batch of raw clips (``--batch`` clips of ``--frames`` frames, lengths spread over
``[frames / 2, frames]``), median of ``--repeats`` runs after three warm-up runs.

    python bench/export.py [--preset paper] [--batch 16] [--frames 300] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from skelcon.engine.build import build_encoders
from skelcon.engine.checkpoint import save_checkpoint
from skelcon.eval.encoder import load_encoder
from skelcon.export import export_encoder
from skelcon.export.writer import load_exported

SPEC = {
    "dataset": "bench",
    "layout": "ntu25",
    "in_channels": 3,
    "num_joints": 25,
    "num_persons": 2,
    "num_frames": 64,
}
REPS = ["seq", "img", "stg"]


def write_checkpoint(path: Path, preset: str, seed: int) -> None:
    """A skelcon checkpoint holding fresh query encoders of ``preset`` for :data:`SPEC`."""
    torch.manual_seed(seed)
    encoders = build_encoders(REPS, preset, SPEC)
    model = {
        f"query_encoders.{r}.{k}": v for r, e in encoders.items() for k, v in e.state_dict().items()
    }
    save_checkpoint(
        path,
        {
            "config": {"preset": preset},
            "model": model,
            "data": SPEC,
            "representations": REPS,
            "epoch": 0,
        },
    )


def timed(fn, repeats: int, warmup: int = 3) -> float:
    """Median seconds of ``fn()`` over ``repeats`` calls after ``warmup`` calls (a
    TorchScript module optimises itself over its first two or three calls)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="paper", choices=["paper", "small"])
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    g = torch.Generator().manual_seed(args.seed)
    x = torch.randn(args.batch, 3, args.frames, 25, 2, generator=g)
    nf = torch.linspace(args.frames // 2, args.frames, args.batch).long()
    print(
        f"preset {args.preset}, batch {tuple(x.shape)}, torch threads "
        f"{torch.get_num_threads()}, seed {args.seed}"
    )
    print("encoder format       export s   MB      max |diff|  features s  (PyTorch eager s)")
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = Path(tmp) / "bench.pt"
        write_checkpoint(ckpt, args.preset, args.seed)
        for rep in REPS:
            model = load_encoder(ckpt, rep)
            want = model(x, nf).numpy()
            eager = timed(lambda m=model: m(x, nf), args.repeats)
            for fmt, ext in (("torchscript", "pt"), ("onnx", "onnx")):
                out = Path(tmp) / f"{rep}.{ext}"
                t = time.perf_counter()
                export_encoder(ckpt, rep, fmt, out)
                took = time.perf_counter() - t
                runner = load_exported(fmt, out)
                diff = float(np.abs(runner(x, nf) - want).max())
                run = timed(lambda r=runner: r(x, nf), args.repeats)
                print(
                    f"{rep:<7} {fmt:<12} {took:8.1f} {os.path.getsize(out) / 2**20:7.1f} "
                    f"{diff:12.2e} {run:11.3f}  ({eager:.3f})"
                )


if __name__ == "__main__":
    from skelcon.utils.machine import machine_line

    print(machine_line(), flush=True)  # the machine every figure below was measured on
    main()
