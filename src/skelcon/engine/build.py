"""Build encoders and the MoCo model from a config and a dataset's shape."""

from __future__ import annotations

from typing import Any

from torch import nn

from ..data.channels import channels_of, default_channels
from ..data.layouts import layout_from_meta


def _is_default(channels: list[str]) -> bool:
    """Whether ``channels`` are what data naming none hold (``x, y, z`` for C = 3,
    ``x, y`` for C = 2); other sets, ``x, y, z, score`` among them, have no default."""
    return len(channels) in (2, 3) and channels == default_channels(len(channels))


def data_spec(meta: dict, out_len: int, seq_init: str = "preset") -> dict[str, Any]:
    """What an encoder needs to know about its input, from a prepared ``meta.json``.

    Saved in every checkpoint so encoders can be rebuilt without the dataset (and a
    random-init baseline gets the same initialisation). ``seq_init`` other than
    ``"preset"`` overrides the SEQ encoder's GRU initialisation. A layout that is not
    a built-in one is kept whole (``layout_def``), and channels other than the default
    for C (``x, y, z`` / ``x, y``) as ``channels``, and the dataset's ``normalization``
    note when it has one (the readers of :mod:`skelcon.data.clips` write it), so the
    spec of data prepared before these existed is unchanged.
    """
    _, c, _, v, m = meta["shape"]
    layout = layout_from_meta(meta)
    channels = channels_of(meta)
    return {
        "dataset": meta.get("dataset"),
        "layout": meta["layout"],
        "in_channels": int(c),
        "num_joints": int(v),
        "num_persons": int(m),
        "num_frames": int(out_len),
        **({"layout_def": layout.to_dict()} if not layout.builtin else {}),
        **({"channels": channels} if not _is_default(channels) else {}),
        **({"normalization": meta["normalization"]} if meta.get("normalization") else {}),
        **({"seq_init": seq_init} if seq_init != "preset" else {}),
    }


def build_encoders(reps: list[str], preset: str, spec: dict[str, Any]) -> dict[str, nn.Module]:
    """One query encoder per representation, sized by ``preset`` for input ``spec``."""
    from ..encoders import build_encoder

    layout = layout_from_meta(spec)
    return {
        r: build_encoder(
            r,
            preset,
            in_channels=spec["in_channels"],
            num_frames=spec["num_frames"],
            num_joints=spec["num_joints"],
            num_persons=spec["num_persons"],
            layout=layout,
            **({"init": spec["seq_init"]} if r == "seq" and spec.get("seq_init") else {}),
        )
        for r in reps
    }


def build_moco(cfg, spec: dict[str, Any]) -> nn.Module:
    """The :class:`~skelcon.contrast.SkeletonMoCo` for a :class:`PretrainConfig`."""
    from ..contrast import SkeletonMoCo

    encoders = build_encoders(cfg.representations, cfg.preset, spec)
    return SkeletonMoCo(
        encoders,
        dim=cfg.moco.dim,
        queue_size=cfg.moco.queue_size,
        momentum=cfg.moco.momentum,
        temperature=cfg.moco.temperature,
        head_bn=cfg.moco.head_bn,
        intra_weight=cfg.moco.intra_weight,
        symmetric=cfg.moco.symmetric,
        shuffle_bn=cfg.moco.shuffle_bn,
        stats=cfg.monitor.stats,
    )
