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


def make_classifier(data, out: Path, *, reps: tuple[str, ...] = ("seq",), seed: int = 0) -> Path:
    """A ``model.pt`` in ``out`` as ``eval linear`` keeps it, for the prepared dataset
    ``data``'s contract, with random small encoders and a random standardised linear probe
    (no pre-training: fast); returns ``out``."""
    import torch

    from skelcon.data.prepared import read_meta
    from skelcon.engine.build import build_encoders, data_spec
    from skelcon.eval.classifier import model_entry, save_classifier
    from skelcon.eval.encoder import ConcatEncoder, LoadedEncoder
    from skelcon.eval.linear import linear_probe

    meta = read_meta(data)
    torch.manual_seed(seed)
    spec = data_spec(meta, 16)
    built = build_encoders(list(reps), "small", spec)
    enc = built[reps[0]] if len(reps) == 1 else ConcatEncoder(built)
    loaded = LoadedEncoder(enc, spec, list(reps), "small", None)
    head = linear_probe(loaded.feature_dim, int(meta["num_classes"]), True)
    with torch.no_grad():  # running statistics other than (0, 1): standardisation matters
        head[0].running_mean.normal_()
        head[0].running_var.uniform_(0.5, 2.0)
    save_classifier(
        out,
        protocol="linear",
        loaded=loaded,
        meta=meta,
        classes=meta["classes"],
        standardize=True,
        models=[model_entry(enc.eval(), head.eval(), model_id="linear", top1=0.0)],
        source={"checkpoint": None, "random_init": True, "data": str(data)},
    )
    return out
