"""Pre-training throughput (samples/s) for every representation set and preset.

Runs real training steps (two augmented views, query + key encoders, InfoNCE,
backward, SGD) on random batches shaped like NTU (C=3, T_max=300, V=25, M=2) and
prints a table. A straightforward baseline is measured in the same run: the
per-sample Python loop augmentation of research scripts, feeding the same model.

    python bench/pretrain_throughput.py [--device cpu] [--batch-size 64] [--steps 3]
"""

from __future__ import annotations

import argparse
import time

import torch

from skelcon.augment import ViewMaker
from skelcon.config import PretrainConfig, load_config
from skelcon.data.layouts import NTU25
from skelcon.engine.build import build_moco
from skelcon.engine.device import resolve_device

SETS = [
    ["seq"],
    ["img"],
    ["stg"],
    ["seq", "stg"],
    ["seq", "img"],
    ["img", "stg"],
    ["seq", "img", "stg"],
]


def loop_views(
    x: torch.Tensor, nf: torch.Tensor, out_len: int, gen: torch.Generator
) -> torch.Tensor:
    """Baseline: crop, resize and shear one sample at a time, frame by frame."""
    out = []
    for i in range(x.shape[0]):
        n = int(nf[i])
        ratio = 0.1 + 0.9 * float(torch.rand(1, generator=gen))
        length = max(min(int(ratio * n), n), 1)
        start = int(torch.randint(0, n - length + 1, (1,), generator=gen))
        frames = []
        for t in range(out_len):
            pos = start + (length - 1) * t / max(out_len - 1, 1)
            lo = int(pos)
            hi = min(lo + 1, start + length - 1)
            w = pos - lo
            frames.append((1 - w) * x[i, :, lo] + w * x[i, :, hi])
        clip = torch.stack(frames, dim=1)
        s = torch.eye(3) + (torch.rand(3, 3, generator=gen) * 2 - 1) * (1 - torch.eye(3))
        out.append(torch.einsum("ij,jtvm->itvm", s, clip))
    return torch.stack(out)


def bench(reps, preset, device, batch, steps, baseline=False, warmup=1):
    cfg = load_config(
        PretrainConfig,
        None,
        [
            f"preset={preset}",
            f"representations={reps}",
            f"batch_size={batch}",
            "moco.queue_size=4096",
        ],
    )
    spec = {
        "layout": NTU25.name,
        "in_channels": 3,
        "num_joints": 25,
        "num_persons": 2,
        "num_frames": cfg.augment.out_len,
    }
    model = build_moco(cfg, spec).to(device).train()
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.01, momentum=0.9)
    views = ViewMaker.from_config(cfg.augment)
    gen = torch.Generator(device=device).manual_seed(0)
    cpu_gen = torch.Generator().manual_seed(0)
    x = torch.randn(batch, 3, 300, 25, 2, device=device)
    nf = torch.randint(60, 300, (batch,), device=device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    t_aug = 0.0
    for i in range(warmup + steps):
        if i == warmup:
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            t0, t_aug = time.perf_counter(), 0.0
        ta = time.perf_counter()
        if baseline:
            xc = x.cpu()
            vq = loop_views(xc, nf.cpu(), cfg.augment.out_len, cpu_gen).to(device)
            vk = loop_views(xc, nf.cpu(), cfg.augment.out_len, cpu_gen).to(device)
        else:
            vq, vk = views(x, nf, generator=gen), views(x, nf, generator=gen)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t_aug += time.perf_counter() - ta
        loss, _ = model(vq, vk)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    dt = time.perf_counter() - t0
    mem = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else float("nan")
    return batch * steps / dt, 1000 * t_aug / steps, mem


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--presets", default="small,paper")
    ap.add_argument("--sets", default=",".join("+".join(s) for s in SETS))
    args = ap.parse_args()
    device = resolve_device(args.device)
    print(
        f"device {device}, torch {torch.__version__}, threads {torch.get_num_threads()}, "
        f"batch {args.batch_size}, {args.steps} timed steps"
    )
    print(
        f"{'preset':7s} {'representations':16s} {'samples/s':>10s} {'aug ms/step':>12s} {'peak MiB':>9s}"
    )
    for preset in args.presets.split(","):
        for s in args.sets.split(","):
            reps = s.split("+")
            sps, aug_ms, mem = bench(reps, preset, device, args.batch_size, args.steps)
            print(f"{preset:7s} {s:16s} {sps:10.1f} {aug_ms:12.1f} {mem:9.0f}", flush=True)
    sps, aug_ms, mem = bench(
        ["seq", "stg"], "small", device, args.batch_size, args.steps, baseline=True
    )
    print(
        f"{'small':7s} {'seq+stg':16s} {sps:10.1f} {aug_ms:12.1f} {mem:9.0f}  <- baseline: per-sample loop augmentation"
    )


if __name__ == "__main__":
    from skelcon.utils.machine import machine_line

    print(machine_line(), flush=True)  # the machine every figure below was measured on
    main()
