"""Small test datasets and settings shared by the test modules (import it by name:
``from tinydata import make_tiny_prepared, TINY_PRETRAIN``)."""

from __future__ import annotations

from pathlib import Path


def make_tiny_prepared(
    out: Path,
    *,
    n: int = 48,
    classes: int = 3,
    frames: int = 24,
    layout: str = "ntu25",
    persons: int = 2,
    seed: int = 0,
    benchmark: str = "default",
) -> Path:
    """A small prepared dataset of class-dependent random motions (train/test of ``benchmark``)."""
    import numpy as np

    from skelcon.data.layouts import get_layout
    from skelcon.data.prepared import PreparedWriter

    rng = np.random.default_rng(seed)
    v = get_layout(layout).num_joints
    w = PreparedWriter(
        out,
        dataset="tiny",
        layout=layout,
        classes=[f"c{i}" for i in range(classes)],
        capacity=n,
        max_frames=frames,
        num_persons=persons,
    )
    base = rng.normal(size=(classes, 3, 1, v, 1)).astype("float32")
    t = np.linspace(0, 2 * np.pi, frames, dtype="float32")[None, :, None, None]
    for i in range(n):
        c = i % classes
        nf = int(rng.integers(frames // 2, frames + 1))
        x = np.zeros((3, frames, v, persons), np.float32)
        motion = base[c] * np.sin((c + 1) * t) + 0.3 * rng.normal(size=(3, frames, v, 1))
        x[:, :nf, :, :1] = motion[:, :nf]
        w.add(x, c, nf, f"s{i:03d}")
    idx = np.arange(n)
    w.finalize({benchmark: {"train": idx[idx % 4 != 0], "test": idx[idx % 4 == 0]}})
    return out


TINY_PRETRAIN = [
    "preset=small",
    "representations=[seq, stg]",
    "batch_size=8",
    "moco.queue_size=24",
    "augment.out_len=16",
    "device=cpu",
    "log_every=1",
    "save_every=1",
    "optim.milestones=[1]",
]
