"""Cost of each MoCo mechanic and of the monitors, per pre-training step.

Times real steps of the small SEQ+STG model (two augmented views, query and key
encoders, InfoNCE, backward, SGD) on random NTU-shaped batches, for the paper's
mechanics (the baseline, first row) and each option of ``moco.*`` / ``monitor.stats``
alone, and the kNN monitor (feature extraction of train + test split, 1-NN) on a
prepared dataset when ``--data`` is given. Prints samples/s and the ratio to the
baseline measured in the same run.

``--own-keys`` instead counts, without any model, how many older keys of its own clip
a query meets in the queue (the loader's real batch order, reshuffled every epoch,
and a real :class:`~skelcon.contrast.FeatureQueue`), before and after the queue's
own-clip mask, for the tests' tiny data, the demo and NTU-60 sizes, with and without
the queue cap of ``skelcon pretrain``.

    python bench/moco_mechanics.py [--batch-size 64] [--steps 6] [--data runs/pku1/data]
    python bench/moco_mechanics.py --own-keys
"""

from __future__ import annotations

import argparse
import math
import time

import torch
import torch.nn.functional as F

from skelcon.augment import ViewMaker
from skelcon.config import PretrainConfig, load_config
from skelcon.contrast import FeatureQueue, info_nce
from skelcon.data.layouts import NTU25
from skelcon.engine.build import build_moco
from skelcon.engine.data import _Batches, epoch_seed

NO_MASK = "- own-clip mask (no clip ids)"
VARIANTS = {
    "paper mechanics (baseline)": ["monitor.stats=false"],
    NO_MASK: ["monitor.stats=false"],
    "+ embedding stats": [],
    "+ shuffled BN, 4 groups": ["monitor.stats=false", "moco.shuffle_bn=4"],
    "+ symmetric loss": ["monitor.stats=false", "moco.symmetric=true"],
    "+ BatchNorm heads": ["monitor.stats=false", "moco.head_bn=true"],
    "cpu_small (all of its options)": ["moco.shuffle_bn=4", "moco.head_bn=true"],
}


def step_rate(
    overrides: list[str], batch: int, steps: int, out_len: int, ids: bool = True
) -> float:
    cfg = load_config(
        PretrainConfig,
        None,
        [
            "preset=small",
            "representations=[seq, stg]",
            f"batch_size={batch}",
            "moco.queue_size=1024",
            f"augment.out_len={out_len}",
            *overrides,
        ],
    )
    spec = {
        "layout": NTU25.name,
        "in_channels": 3,
        "num_joints": 25,
        "num_persons": 2,
        "num_frames": out_len,
    }
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
        clips = torch.randperm(1352, generator=gen)[:batch] if ids else None  # the demo's clips
        loss, stats = model(
            views(x, nf, generator=gen), views(x, nf, generator=gen), generator=gen, ids=clips
        )
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        _ = {k: float(v) for k, v in stats.items()}  # what a logged step pays
    return batch * steps / (time.perf_counter() - t0)


def own_keys_met(
    num_clips: int, batch: int, queue: int, symmetric: bool, seed: int = 0, steps: int = 400
) -> tuple[float, float, float]:
    """Mean older keys of its own clip that a query meets, before and after the mask.

    Replays the training loader's batches (``drop_last``, reshuffled every epoch from
    ``(seed, epoch)``) into a queue of ``queue`` keys (2 per clip and step when
    ``symmetric``), warms it up until full plus one epoch, then over ``steps`` steps
    counts, per query, the queued keys of its own clip (before) and those that still get
    a finite InfoNCE logit with the queue's ``same_clip`` exclusion (after). Returns
    ``(before, after, fraction of queries meeting at least one own key)``.
    """
    per_clip = 2 if symmetric else 1
    n = num_clips // batch  # steps per epoch
    warm = math.ceil(queue / (per_clip * n * batch)) + 1  # epochs until full, plus one
    epochs = warm + math.ceil(steps / n)
    q = FeatureQueue(queue, 8)
    g = torch.Generator().manual_seed(seed)
    before, after, any_own = [], [], []
    for epoch in range(epochs):
        for idx in _Batches(num_clips, batch, True, True, epoch_seed(seed, epoch)):
            ids = torch.from_numpy(idx)
            keys = F.normalize(torch.randn(len(ids), 8, generator=g), dim=1)
            if epoch >= warm:
                own = ids[:, None] == q.ids[None, :]  # counted directly, not by same_clip
                _, logits = info_nce(
                    keys, keys, q.keys, 0.2, return_logits=True, exclude=q.same_clip(ids)
                )
                before.append(own.sum(1).float().mean())
                after.append((own & logits[:, 1:].isfinite()).sum(1).float().mean())
                any_own.append(own.any(1).float().mean())
            q.enqueue(keys.repeat(per_clip, 1), ids.repeat(per_clip))
    return (
        float(torch.stack(before).mean()),
        float(torch.stack(after).mean()),
        float(torch.stack(any_own).mean()),
    )


def own_keys_table() -> None:
    from skelcon.config import MocoConfig, PretrainConfig
    from skelcon.engine.pretrain import cap_queue

    rows = [  # (what, training clips, batch, queue asked, symmetric)
        ("tests' tiny data", 36, 8, 100, False),
        ("tests' tiny data, symmetric", 36, 8, 100, True),
        ("demo (cpu_small, synthetic)", 1352, 64, 1024, False),
        ("demo data, symmetric", 1352, 64, 1024, True),
        ("demo data, queue 2048", 1352, 64, 2048, False),
        ("demo data, queue 2048, symmetric", 1352, 64, 2048, True),
        ("NTU-60 xsub (paper recipe)", 40091, 64, 16384, False),
    ]
    print("older keys of its own clip met per query (mean over queries and steps, queue full);")
    print("before: in the queue; after: still a negative with the own-clip mask")
    print(
        f"{'setting':33s} {'clips':>6s} {'B':>3s} {'queue':>6s} {'size':>11s} "
        f"{'before':>7s} {'>=1 own':>8s} {'after':>6s}"
    )
    for what, clips, b, k, sym in rows:
        cfg = PretrainConfig(batch_size=b, moco=MocoConfig(queue_size=k, symmetric=sym))
        cap_queue(cfg, clips)
        old_cap = max(clips - b * (2 if sym else 1) - 1, 1)  # the cap before it counted keys
        sizes: dict[int, list[str]] = {k: ["asked"]}  # each size once, with its names
        for size, name in ((old_cap, "old cap"), (cfg.moco.queue_size, "cap")):
            if size < k:
                sizes.setdefault(size, []).append(name)
        for size, names in sizes.items():
            label = "=".join(names)
            before, after, frac = own_keys_met(clips, b, size, sym)
            print(
                f"{what:33s} {clips:6d} {b:3d} {size:6d} {label:>11s} {before:7.2f} "
                f"{100 * frac:7.1f}% {after:6.2f}",
                flush=True,
            )


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
    ap.add_argument("--own-keys", action="store_true", help="own-clip keys per query, no model")
    args = ap.parse_args()
    if args.own_keys:
        own_keys_table()
        return
    print(
        f"torch {torch.__version__}, CPU threads {torch.get_num_threads()}, small SEQ+STG, "
        f"batch {args.batch_size}, {args.out_len}-frame views, {args.steps} timed steps"
    )
    base = None
    print(f"{'variant':34s} {'samples/s':>10s} {'vs baseline':>12s}")
    for name, ov in VARIANTS.items():
        sps = step_rate(ov, args.batch_size, args.steps, args.out_len, ids=name != NO_MASK)
        base = base or sps
        print(f"{name:34s} {sps:10.1f} {sps / base:11.2f}x", flush=True)
    if args.data:
        secs, n_train, n_test = monitor_time(args.data, args.benchmark, args.out_len)
        epoch = n_train / base
        print(
            f"kNN monitor (SEQ+STG, {n_train} train + {n_test} test clips): {secs:.1f} s, "
            f"{100 * secs / epoch:.1f} % of one baseline epoch ({epoch:.0f} s)"
        )


if __name__ == "__main__":
    from skelcon.utils.machine import machine_line

    print(machine_line(), flush=True)  # the machine every figure below was measured on
    main()
