"""CPU pre-training step, skelcon against the authors' code, side by side in one run.

The measured step: paper preset, inter-skeleton SEQ (BiGRU 3 x 1024) + STG (2s-AGCN)
MoCo, two views of a batch, query and key encoders, InfoNCE against a 16,384-key
queue, backward, SGD (lr 0.01, momentum 0.9, weight decay 1e-4). The views are made
once (skelcon's paper augmentation of a random NTU-shaped batch) and fed to every
side, so the figures are the model step only (the authors augment in DataLoader
workers).

    python bench/authors_step.py --authors /tmp/skeleton-contrast --steps 5

``--authors`` is a checkout of https://github.com/fmthoker/skeleton-contrast (e.g.
``git -C <bare repo> archive HEAD | tar -x -C /tmp/skeleton-contrast``); that side
is skipped, with the reason, when the path is absent. Their ``moco/builder_inter.MoCo``
(their GRU and AGCN, ``--mlp``, K 16384, m 0.999, T 0.07, as in their
``script_pretrain.sh``) runs unmodified but for CPU: in its own process, ``Tensor.cuda``
returns the tensor itself and ``torch.cuda.is_available`` is False (and an empty
``torchvision`` module stands in when torchvision is not installed; they import it
without using it). Nothing of theirs is copied here.

Every side (the authors', and each skelcon variant: ``fp32``, ``bf16`` = autocast of
the encoders, ``compile`` = fp32 + torch.compile) runs in its own worker process,
which builds its model, warms up, and then times one step whenever the parent asks:
the parent interleaves the sides (A, B, C, A, B, C, ...), so load from other users of
the machine falls on all of them alike, and each side's peak RSS is its own process's
``ru_maxrss``. Printed: samples/s (best and median step), peak RSS, the ratio to the
authors' median, the step's FLOPs (``torch.utils.flop_counter.FlopCounterMode``, one
extra step) and the share of this machine's matmul peak they reach (a large fp32 and
bf16 matmul timed in the parent with the same threads).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import types

import torch

from skelcon.utils.cpu import cpu_caps

VARIANTS = ("fp32", "bf16", "compile")


# ---------------------------------------------------------------- workers


def make_views(batch: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Two paper-augmented views ``(B, 3, 64, 25, 2)`` of a random NTU-shaped batch."""
    from skelcon.augment import ViewMaker
    from skelcon.config import AugmentConfig

    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, 3, 300, 25, 2, generator=gen)
    nf = torch.randint(60, 301, (batch,), generator=gen)
    views = ViewMaker.from_config(AugmentConfig())
    return views(x, nf, generator=gen), views(x, nf, generator=gen)


def authors_step(path: str, batch: int, queue: int):
    """The authors' inter-skeleton SEQ+STG MoCo and one training step of theirs."""
    torch.Tensor.cuda = lambda self, *args, **kwargs: self  # their .cuda() calls: stay on CPU
    torch.cuda.is_available = lambda: False  # their GRU module picks its device from this
    try:
        import torchvision  # noqa: F401  (imported, not used, by their modules)
    except ImportError:
        sys.modules["torchvision"] = types.ModuleType("torchvision")
    sys.path.insert(0, path)
    from moco.builder_inter import MoCo  # their code
    from options.options_pretraining import (
        agcn_model_arguments,
        bi_gru_model_arguments,
        hcn_model_arguments,
    )

    with contextlib.redirect_stdout(io.StringIO()):  # they print every module
        model = MoCo(
            "seq-based_and_graph-based",
            bi_gru_model_arguments,
            agcn_model_arguments,
            hcn_model_arguments,
            128,
            queue,
            0.999,
            0.07,
            True,
        )
    model.train()
    opt = torch.optim.SGD(model.parameters(), 0.01, momentum=0.9, weight_decay=1e-4)
    criterion = torch.nn.CrossEntropyLoss()
    vq, vk = make_views(batch)
    # their feeder: sequence input (T, V*C*M) from (C, T, V, M), graph input as is
    seq_q = vq.permute(0, 2, 3, 1, 4).reshape(batch, vq.shape[2], -1).contiguous()
    seq_k = vk.permute(0, 2, 3, 1, 4).reshape(batch, vk.shape[2], -1).contiguous()

    def step() -> float:
        output, target = model(seq_q, vq, seq_k, vk)
        loss = criterion(output[0], target[0]) + criterion(output[1], target[1])
        value = loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return value

    return step


def skelcon_step(variant: str, batch: int, queue: int):
    """skelcon's paper SEQ+STG MoCo (``build_moco``) and one training step, as the loop does."""
    from skelcon.config import PretrainConfig, load_config
    from skelcon.data.layouts import NTU25
    from skelcon.engine.build import build_moco
    from skelcon.engine.precision import Precision, apply_precision, compile_encoders

    overrides = [
        "preset=paper",
        "representations=[seq,stg]",
        f"batch_size={batch}",
        f"moco.queue_size={queue}",
        "device=cpu",
        f"precision={'bf16' if variant == 'bf16' else 'fp32'}",
    ]
    cfg = load_config(PretrainConfig, None, overrides)
    spec = {
        "layout": NTU25.name,
        "in_channels": 3,
        "num_joints": 25,
        "num_persons": 2,
        "num_frames": cfg.augment.out_len,
    }
    torch.manual_seed(0)
    model = build_moco(cfg, spec).train()
    amp = Precision(cfg.precision, torch.device("cpu"))
    apply_precision(model, amp)
    compile_encoders(model, variant == "compile")
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.SGD(
        params, lr=cfg.optim.lr, momentum=cfg.optim.momentum, weight_decay=cfg.optim.weight_decay
    )
    vq, vk = make_views(batch)

    def step() -> float:
        loss, _ = model(vq, vk)
        value = loss.item()
        amp.step(loss, opt)
        return value

    return step


def count_flops(step) -> float:
    """FLOPs of one step (forward and backward matmuls and convolutions)."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        step()
    return float(counter.get_total_flops())


def worker(args: argparse.Namespace) -> None:
    """Build one side, warm up, then answer 'step' (one timed step) and 'quit' on stdin."""
    if args.threads:
        torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    if args.worker == "authors":
        step = authors_step(args.authors, args.batch_size, args.queue_size)
    else:
        step = skelcon_step(args.worker, args.batch_size, args.queue_size)
    for _ in range(args.warmup):
        step()
    warm_s = time.perf_counter() - t0
    flops = float("nan") if args.worker == "compile" else count_flops(step)
    print(json.dumps({"ready": True, "flops": flops, "warm_s": warm_s}), flush=True)
    for line in sys.stdin:
        if line.strip() == "step":
            r0, t = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
            loss = step()
            wall, r1 = time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF)
            cpu = r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime
            print(json.dumps({"time": wall, "cpu": cpu, "loss": loss}), flush=True)
        else:
            break
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    print(json.dumps({"rss": rss}), flush=True)


# ---------------------------------------------------------------- parent


def matmul_peak(dtype: torch.dtype, size: int = 4096, reps: int = 3) -> float:
    """Best FLOP/s of a ``size`` x ``size`` matmul in ``dtype`` (this process's threads)."""
    a = torch.randn(size, size).to(dtype)
    b = torch.randn(size, size).to(dtype)
    a @ b
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * size**3 / best


def measure_peaks(peak: dict[str, float]) -> None:
    """Raise ``peak`` (fp32, bf16 FLOP/s) to the best measured now (the peak is taken
    between rounds too, so a busy moment of the machine does not set it). Without native
    bf16 GEMMs (an AVX2-only CPU) the bf16 peak is not measured (NaN): an emulated 4096^2
    bf16 matmul takes minutes."""
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        if dtype == torch.bfloat16 and not cpu_caps().bf16_gemm:
            peak[name] = float("nan")
            continue
        peak[name] = max(peak.get(name, 0.0), matmul_peak(dtype))


class Side:
    """A worker process running one side."""

    def __init__(self, name: str, args: argparse.Namespace):
        cmd = [
            sys.executable,
            os.path.abspath(__file__),
            "--worker",
            name,
            "--batch-size",
            str(args.batch_size),
            "--queue-size",
            str(args.queue_size),
            "--warmup",
            str(args.warmup),
            "--threads",
            str(args.threads),
        ]
        if name == "authors":
            cmd += ["--authors", args.authors]
        self.name = name
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.times: list[float] = []
        self.cpu: list[float] = []
        self.flops = float("nan")
        self.rss = float("nan")

    def read(self) -> dict:
        """The worker's next message (lines that are not JSON, e.g. prints, are skipped)."""
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"the {self.name} worker stopped (exit {self.proc.wait()})")
            if line.startswith("{"):
                return json.loads(line)

    def ready(self) -> float:
        msg = self.read()
        self.flops = msg["flops"]
        return msg["warm_s"]

    def step(self) -> None:
        self.proc.stdin.write("step\n")
        self.proc.stdin.flush()
        msg = self.read()
        self.times.append(msg["time"])
        self.cpu.append(msg["cpu"])

    def close(self) -> None:
        self.proc.stdin.write("quit\n")
        self.proc.stdin.flush()
        self.rss = self.read()["rss"]
        self.proc.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--authors",
        default="/tmp/skeleton-contrast",
        help="checkout of fmthoker/skeleton-contrast (skipped when absent)",
    )
    ap.add_argument("--steps", type=int, default=5, help="timed steps per side")
    ap.add_argument("--warmup", type=int, default=1, help="untimed steps per side first")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--queue-size", type=int, default=16384)
    ap.add_argument(
        "--variants",
        default="fp32,bf16",
        help=f"skelcon variants, comma-separated from {', '.join(VARIANTS)}",
    )
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args)
        return
    variants = [v for v in args.variants.split(",") if v]
    bad = [v for v in variants if v not in VARIANTS]
    if bad:
        sys.exit(f"authors_step: unknown variant {bad[0]!r} (valid: {', '.join(VARIANTS)})")
    if args.threads:
        torch.set_num_threads(args.threads)
    names = list(variants)
    builder = os.path.join(args.authors, "moco", "builder_inter.py")
    if os.path.isfile(builder):
        names.insert(0, "authors")
    else:
        print(f"authors' side skipped: {builder} not found (pass --authors <checkout>)")
    print(f"CPU {cpu_caps().describe()}")
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{torch.backends.cpu.get_cpu_capability()}, batch {args.batch_size}, "
        f"queue {args.queue_size}, {args.warmup} warm-up + {args.steps} timed steps per "
        f"side, interleaved",
        flush=True,
    )
    peak: dict[str, float] = {}
    measure_peaks(peak)
    sides = []
    for name in names:  # one at a time, so builds and warm-ups do not overlap
        side = Side(name, args)
        warm = side.ready()
        print(f"  {name}: built and warmed up in {warm:.0f} s", flush=True)
        sides.append(side)
    for _ in range(args.steps):
        for side in sides:
            side.step()
        measure_peaks(peak)
    for side in sides:
        side.close()
    print(
        f"matmul peak (4096^2, best of the run): fp32 {peak['fp32'] / 1e9:.0f} GFLOP/s, "
        f"bf16 {peak['bf16'] / 1e9:.0f} GFLOP/s"
    )
    base = next((s for s in sides if s.name == "authors"), None)
    fp32 = next((s for s in sides if s.name == "fp32"), None)
    print(
        f"\n{'side':8s} {'best/s':>7s} {'median/s':>8s} {'x authors':>9s} {'CPU s':>6s} "
        f"{'peak RSS':>9s} {'GFLOP/step':>10s} {'of peak':>7s}  step times (s)"
    )
    for side in sides:
        fastest = min(side.times)
        # the interleaved ratio: per round, the authors' step time over this side's
        ratio = (
            f"{statistics.median(a / b for a, b in zip(base.times, side.times, strict=True)):.2f}"
            if base
            else "-"
        )
        flops = side.flops if side.flops == side.flops else (fp32.flops if fp32 else float("nan"))
        dtype = "bf16" if side.name == "bf16" else "fp32"
        share = flops / fastest / peak[dtype]
        times = " ".join(f"{t:.1f}" for t in side.times)
        print(
            f"{side.name:8s} {args.batch_size / fastest:7.2f} "
            f"{args.batch_size / statistics.median(side.times):8.2f} {ratio:>9s} "
            f"{statistics.median(side.cpu):6.1f} {side.rss / 2**30:7.2f} G "
            f"{flops / 1e9:10.0f} {100 * share:6.0f}%  {times}"
        )
    print(
        "samples/s from the fastest and the median step; 'x authors': median over the "
        "rounds of the authors' step time / this side's in the same round; CPU s: median "
        "process CPU time of a step (all threads); 'of peak': FLOPs / fastest step / the "
        "matmul peak of the side's dtype"
    )


if __name__ == "__main__":
    from skelcon.utils.machine import machine_line

    print(machine_line(), flush=True)  # the machine every figure below was measured on
    main()
