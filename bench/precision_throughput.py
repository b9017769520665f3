"""Pre-training step throughput per precision mode: fp32, bf16, bf16 + torch.compile (fp16).

Paper preset, inter-skeleton SEQ+STG (the paper's best pair), real training steps
(two augmented views from NTU-shaped clips (C=3, T=300, V=25, M=2), query + key
encoders, InfoNCE against the queue, backward, SGD) through skelcon's own
``Precision`` and ``compile_encoders`` helpers, each mode in its own process so that
its peak memory is its own. Prints samples/s (median of the timed steps), peak memory
(CUDA: ``max_memory_allocated``; CPU: peak RSS) and what one epoch of NTU-60 x-sub
(40,320 training clips) and NTU-120 x-sub (63,026) takes at that rate.

    python bench/precision_throughput.py --device cuda --batch-size 64 --steps 20
    python bench/precision_throughput.py --device cpu --batch-size 16 --steps 3 --modes fp32,bf16

The first step of a compiled mode includes compilation and is not timed (warm-up).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

import torch

EPOCH_CLIPS = {"NTU-60 x-sub": 40_320, "NTU-120 x-sub": 63_026}
MODES = {
    "fp32": ("fp32", False),
    "bf16": ("bf16", False),
    "bf16+compile": ("bf16", True),
    "fp16": ("fp16", False),
    "fp32+compile": ("fp32", True),
}


def one_mode(mode: str, device_name: str, batch: int, steps: int, warmup: int) -> dict:
    """Time ``steps`` training steps of paper SEQ+STG in ``mode``; returns the figures."""
    from skelcon.augment import ViewMaker
    from skelcon.config import PretrainConfig, load_config
    from skelcon.engine.build import build_moco
    from skelcon.engine.device import resolve_device
    from skelcon.engine.precision import Precision, apply_precision, compile_encoders

    precision, compiled = MODES[mode]
    device = resolve_device(device_name)
    cfg = load_config(
        PretrainConfig,
        None,
        [
            "preset=paper",
            "representations=[seq, stg]",
            f"batch_size={batch}",
            f"precision={precision}",
        ],
    )
    cfg.validate()
    spec = {
        "layout": "ntu25",
        "in_channels": 3,
        "num_joints": 25,
        "num_persons": 2,
        "num_frames": cfg.augment.out_len,
    }
    torch.manual_seed(0)
    model = build_moco(cfg, spec).to(device).train()
    amp = Precision(precision, device, cfg.tf32)
    apply_precision(model, amp)
    compile_encoders(model, compiled)
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.01, momentum=0.9)
    views = ViewMaker.from_config(cfg.augment)
    gen = torch.Generator(device=device).manual_seed(0)
    x = torch.randn(batch, 3, 300, 25, 2, device=device)
    nf = torch.randint(60, 300, (batch,), device=device)
    times, losses = [], []
    for i in range(warmup + steps):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
            if i == warmup:
                torch.cuda.reset_peak_memory_stats(device)
        t0 = time.perf_counter()
        loss, _ = model(views(x, nf, generator=gen), views(x, nf, generator=gen), generator=gen)
        amp.step(loss, opt)
        losses.append(float(loss.detach()))
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    if device.type == "cuda":
        peak = torch.cuda.max_memory_allocated(device) / 2**20
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB (Linux)
    sps = batch / statistics.median(times)
    return {
        "mode": mode,
        "device": str(device),
        "samples_per_s": sps,
        "peak_mib": peak,
        "loss_first": losses[0],
        "loss_last": losses[-1],
        "name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--modes", default="fp32,bf16,bf16+compile")
    ap.add_argument("--one", help=argparse.SUPPRESS)  # child process: one mode, JSON out
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one_mode(args.one, args.device, args.batch_size, args.steps, args.warmup)))
        return
    modes = args.modes.split(",")
    bad = [m for m in modes if m not in MODES]
    if bad:
        sys.exit(f"unknown mode(s) {', '.join(bad)} (valid: {', '.join(MODES)})")
    print(
        f"paper SEQ+STG, batch {args.batch_size}, {args.steps} timed steps after "
        f"{args.warmup} warm-up, torch {torch.__version__}"
    )
    head = f"{'mode':14s} {'samples/s':>10s} {'peak MiB':>9s} " + " ".join(
        f"{k + ' epoch':>20s}" for k in EPOCH_CLIPS
    )
    rows = []
    for mode in modes:
        cmd = [
            sys.executable,
            __file__,
            "--one",
            mode,
            "--device",
            args.device,
            "--batch-size",
            str(args.batch_size),
            "--steps",
            str(args.steps),
            "--warmup",
            str(args.warmup),
        ]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            print(f"{mode:14s} failed: {(done.stderr.strip().splitlines() or ['?'])[-1]}")
            continue
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        if len(rows) == 1:
            print(f"device: {rows[0]['name']}\n{head}")
        r = rows[-1]
        epochs = " ".join(f"{n / r['samples_per_s'] / 60:17.1f} min" for n in EPOCH_CLIPS.values())
        print(f"{mode:14s} {r['samples_per_s']:10.1f} {r['peak_mib']:9.0f} {epochs}", flush=True)
    if rows:
        base = rows[0]["samples_per_s"]
        print(
            "speed-up over "
            + rows[0]["mode"]
            + ": "
            + ", ".join(f"{r['mode']} {r['samples_per_s'] / base:.2f}x" for r in rows[1:])
            or "-"
        )


if __name__ == "__main__":
    from skelcon.utils.machine import machine_line

    print(machine_line(), flush=True)  # the machine every figure below was measured on
    main()
