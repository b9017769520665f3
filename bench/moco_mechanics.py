"""Cost of each MoCo mechanic and of the monitors, per pre-training step.

Times real steps of the small SEQ+STG model (two augmented views, query and key
encoders, InfoNCE, backward, SGD) on random NTU-shaped batches, for the paper's
mechanics (the baseline, first row) and each option of ``moco.*`` / ``monitor.stats``
alone, and the kNN monitor (feature extraction of train + test split, 1-NN) on a
prepared dataset when ``--data`` is given. Prints samples/s and the ratio to the
baseline measured in the same run.

    python bench/moco_mechanics.py [--batch-size 64] [--steps 6] [--data runs/pku1/data]
"""

from __future__ import annotations

import argparse
import time

import torch

from skelcon.augment import ViewMaker
from skelcon.config import PretrainConfig, load_config
from skelcon.data.layouts import NTU25
from skelcon.engine.build import build_moco

VARIANTS = {
    "paper mechanics (baseline)": ["monitor.stats=false"],
    "+ embedding stats": [],
    "+ shuffled BN, 4 groups": ["monitor.stats=false", "moco.shuffle_bn=4"],
    "+ symmetric loss": ["monitor.stats=false", "moco.symmetric=true"],
    "+ BatchNorm heads": ["monitor.stats=false", "moco.head_bn=true"],
    "cpu_small (all of its options)": ["moco.shuffle_bn=4", "moco.head_bn=true"],
}


def step_rate(overrides: list[str], batch: int, steps: int, out_len: int) -> float:
    cfg = load_config(PretrainConfig, None, ["preset=small", "representations=[seq, stg]",
                                              f"batch_size={batch}", "moco.queue_size=1024",
                                              f"augment.out_len={out_len}", *overrides])  # fmt: skip
    spec = {"layout": NTU25.name, "in_channels": 3, "num_joints": 25, "num_persons": 2,
            "num_frames": out_len}  # fmt: skip
    torch.manual_seed(0)
    model = build_moco(cfg, spec).train()
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.01, momentum=0.9)
    views = ViewMaker.from_config(cfg.augment)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(batch, 3, 120, 25, 2)
    nf = torch.randint(40, 120, (batch,))
    for i in range(1 + steps):
        if i == 1:
            t0 = time.perf_counter()
        loss, stats = model(views(x, nf, generator=gen), views(x, nf, generator=gen), generator=gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        _ = {k: float(v) for k, v in stats.items()}  # what a logged step pays
    return batch * steps / (time.perf_counter() - t0)


def monitor_time(data: str, benchmark: str, out_len: int) -> tuple[float, int, int]:
    from skelcon.config import MonitorConfig
    from skelcon.data.prepared import load_prepared
    from skelcon.engine.build import build_encoders, data_spec
    from skelcon.engine.monitor import KnnMonitor

    train = load_prepared(data, benchmark, "train")
    mon, why = KnnMonitor.for_run(MonitorConfig(), data, benchmark, train, out_len)
    if mon is None:
        raise SystemExit(f"no monitor: {why}")
    encs = build_encoders(["seq", "stg"], "small", data_spec(train.meta, out_len))
    t0 = time.perf_counter()
    mon.measure(encs, torch.device("cpu"))
    return time.perf_counter() - t0, len(train), len(mon.test)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--out-len", type=int, default=32)
    ap.add_argument("--data", help="prepared dataset for the kNN monitor timing")
    ap.add_argument("--benchmark", default="xsub")
    args = ap.parse_args()
    print(f"torch {torch.__version__}, CPU threads {torch.get_num_threads()}, small SEQ+STG, "
          f"batch {args.batch_size}, {args.out_len}-frame views, {args.steps} timed steps")  # fmt: skip
    base = None
    print(f"{'variant':34s} {'samples/s':>10s} {'vs baseline':>12s}")
    for name, ov in VARIANTS.items():
        sps = step_rate(ov, args.batch_size, args.steps, args.out_len)
        base = base or sps
        print(f"{name:34s} {sps:10.1f} {sps / base:11.2f}x", flush=True)
    if args.data:
        secs, n_train, n_test = monitor_time(args.data, args.benchmark, args.out_len)
        epoch = n_train / base
        print(f"kNN monitor (SEQ+STG, {n_train} train + {n_test} test clips): {secs:.1f} s, "
              f"{100 * secs / epoch:.1f} % of one baseline epoch ({epoch:.0f} s)")  # fmt: skip


if __name__ == "__main__":
    main()
