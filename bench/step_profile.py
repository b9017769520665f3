"""Where the time of a paper SEQ+STG pre-training step goes on this machine.

Times each encoder of the paper preset alone on a batch of views (``--batch-size``,
T=64, NTU 25 joints, 2 persons): the key encoder's forward (no grad) and the query
encoder's forward + backward, then the whole MoCo step (the rest: heads, InfoNCE,
key momentum update, queue, SGD, is the difference), and lists the top operators of
one step under ``torch.profiler``. Run it on two checkouts to compare before/after:

    PYTHONPATH=src python bench/step_profile.py [--threads 1] [--batch-size 16] [--ops 12]

Times are the best of ``--repeats`` runs, in process CPU seconds (user + system, less
disturbed by other users of a shared machine than wall time) and wall seconds.
"""

from __future__ import annotations

import argparse
import resource
import time

import torch


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def best(fn, repeats: int) -> tuple[float, float]:
    """(CPU s, wall s) of the fastest of ``repeats`` calls after one warm-up call."""
    fn()
    runs = []
    for _ in range(repeats):
        c, w = cpu_seconds(), time.perf_counter()
        fn()
        runs.append((cpu_seconds() - c, time.perf_counter() - w))
    return min(runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--ops", type=int, default=12, help="profiler rows (0: no profile)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    from skelcon.config import PretrainConfig, load_config
    from skelcon.data.layouts import NTU25
    from skelcon.engine.build import build_moco

    b = args.batch_size
    cfg = load_config(
        PretrainConfig,
        None,
        ["preset=paper", "representations=[seq,stg]", f"batch_size={b}", "device=cpu"],
    )
    spec = {
        "layout": NTU25.name,
        "in_channels": 3,
        "num_joints": 25,
        "num_persons": 2,
        "num_frames": 64,
    }
    torch.manual_seed(0)
    model = build_moco(cfg, spec).train()
    opt = torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad], lr=0.01, momentum=0.9, weight_decay=1e-4
    )
    vq, vk = torch.randn(b, 3, 64, 25, 2), torch.randn(b, 3, 64, 25, 2)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {b}")
    print(f"{'part':34s} {'CPU s':>7s} {'wall s':>7s}")
    total = 0.0
    for rep in model.representations:
        enc = model.query_encoders[rep]

        def forward(enc=enc):
            with torch.no_grad():
                enc(vk)

        def forward_backward(enc=enc):
            enc(vq).sum().backward()

        for name, fn in [
            ("key forward (no grad)", forward),
            ("query forward + backward", forward_backward),
        ]:
            c, w = best(fn, args.repeats)
            total += c
            print(f"{rep + ' ' + name:34s} {c:7.2f} {w:7.2f}", flush=True)
        enc.zero_grad(set_to_none=True)

    def step():
        loss, _ = model(vq, vk)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    c, w = best(step, args.repeats)
    print(f"{'rest (heads, loss, momentum, SGD)':34s} {c - total:7.2f} {'':>7s}")
    print(f"{'whole step':34s} {c:7.2f} {w:7.2f}   ({b / w:.2f} samples/s)", flush=True)
    if args.ops:
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CPU]) as prof:
            step()
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.ops))


if __name__ == "__main__":
    from skelcon.utils.machine import machine_line

    print(machine_line(), flush=True)  # the machine every figure below was measured on
    main()
