"""Samples/s of the small SEQ+STG pre-training step under the OpenMP settings in the
environment, for docs/scaling.md's table of thread and wait policies.

Run it alone and as two processes at once, with the setting to compare before the
command (it must be set before PyTorch loads OpenMP, so from the shell):

    PYTHONPATH=src python bench/thread_wait.py 12
    OMP_WAIT_POLICY=PASSIVE PYTHONPATH=src python bench/thread_wait.py 12
    (PYTHONPATH=src python bench/thread_wait.py 12 &) ; PYTHONPATH=src python bench/thread_wait.py 12

Random batch of 16 NTU-shaped clips (50 frames, 25 joints, 2 persons), small preset,
queue 256, SGD; one untimed step first.
"""

from __future__ import annotations

import sys
import time

import torch

from skelcon.config import PretrainConfig, load_config
from skelcon.engine.build import build_moco


def main() -> None:
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    cfg = load_config(
        PretrainConfig,
        None,
        [
            "preset=small",
            "representations=[seq, stg]",
            "batch_size=16",
            "moco.queue_size=256",
            "augment.out_len=50",
            "device=cpu",
        ],
    )
    cfg.validate()
    spec = {
        "dataset": "bench",
        "layout": "ntu25",
        "in_channels": 3,
        "num_joints": 25,
        "num_persons": 2,
        "num_frames": 50,
    }
    torch.manual_seed(0)
    model = build_moco(cfg, spec)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    q, k = torch.randn(16, 3, 50, 25, 2), torch.randn(16, 3, 50, 25, 2)

    def step() -> None:
        loss, _ = model(q, k)
        opt.zero_grad()
        loss.backward()
        opt.step()

    step()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    rate = steps * 16 / (time.perf_counter() - t)
    print(f"threads {torch.get_num_threads()} {rate:.1f} samples/s")


if __name__ == "__main__":
    from skelcon.utils.machine import machine_line

    print(machine_line(), flush=True)  # the machine every figure below was measured on
    main()
