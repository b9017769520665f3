"""Fitting a pre-training recipe to the data and processes at hand, before any step:
the checks that refuse what cannot run (:func:`check_data`, :func:`check_world`) and
the adjustments a run says in a note (:func:`stretch_to_min_steps`, :func:`cap_queue`)."""

from __future__ import annotations

import math

import torch

from ..config import PretrainConfig
from ..errors import SkelconError
from .build import DataSpec
from .distributed import Dist


def cap_queue(cfg: PretrainConfig, num_clips: int) -> str:
    """Cap ``cfg.moco.queue_size`` below the keys of the training set less one batch.

    Counted in keys: a step enqueues one key per clip, two when ``moco.symmetric`` (one
    per view), so the cap is ``keys_per_clip * (num_clips - batch_size) - 1`` (at least
    1). A larger queue keeps keys of every clip from earlier epochs' key encoders (and
    random initial keys past the first epoch). What the cap does not do is keep a query
    from meeting its own clip's older keys: batches are reshuffled every epoch, so at
    the cap a query still meets about 0.4 of them on average (``python
    bench/moco_mechanics.py --own-keys``); those are left out of its negatives by the
    queue's clip ids (:meth:`~skelcon.contrast.FeatureQueue.same_clip`) at any size.
    Returns a one-line note naming both sizes when it capped, else ``""``.
    """
    per_clip = 2 if cfg.moco.symmetric else 1
    batch = min(cfg.batch_size, num_clips)
    limit = max(per_clip * (num_clips - batch) - 1, 1)
    if cfg.moco.queue_size <= limit:
        return ""
    asked, cfg.moco.queue_size = cfg.moco.queue_size, limit
    each = "2 keys per clip (symmetric)" if per_clip == 2 else "1 key per clip"
    return (
        f"moco.queue_size {asked} is not below the {limit + 1} keys of the {num_clips} "
        f"training clips less one batch of {batch} ({each}), so the queue would keep keys "
        f"of every clip from earlier epochs; capped to {limit}"
    )


def stretch_epochs(cfg: PretrainConfig, epochs: int) -> None:
    """Set ``cfg.epochs`` to ``epochs`` and stretch what is counted in epochs alike
    (``optim.warmup_epochs``, ``optim.milestones``, ``monitor.every``, ``save_every``)."""
    f = epochs / cfg.epochs
    cfg.epochs = epochs
    cfg.optim.warmup_epochs = round(cfg.optim.warmup_epochs * f, 3)
    cfg.optim.milestones = [round(m * f) for m in cfg.optim.milestones]
    if cfg.monitor.every:
        cfg.monitor.every = max(round(cfg.monitor.every * f), 1)
    if cfg.save_every:
        cfg.save_every = max(round(cfg.save_every * f), 1)


def stretch_to_min_steps(cfg: PretrainConfig, num_clips: int) -> str:
    """Lengthen a run on a small training split to at least ``cfg.min_steps`` steps.

    A recipe counts epochs, so a split of ``num_clips`` clips makes ``epochs *
    (num_clips // batch_size)`` optimiser steps: 50 epochs are 1,150 steps on 1,510 clips
    but 50 steps on 100. When that is below ``min_steps`` (0: off), ``cfg.epochs``
    becomes ``ceil(min_steps / steps_per_epoch)`` and everything counted in epochs is
    stretched by the same factor (``optim.warmup_epochs``, ``optim.milestones``,
    ``monitor.every``, ``save_every``), so the run keeps its shape in steps. Deterministic
    in ``(cfg, num_clips)``, so a resume stretches alike; the stretched values are what
    ``config.yaml`` saves. Why: docs/pretraining.md, section 6 (steps, not epochs).
    Returns a one-line note when it stretched, else ``""``.
    """
    per_epoch = max(num_clips // cfg.batch_size, 1)
    if cfg.min_steps <= 0 or cfg.epochs * per_epoch >= cfg.min_steps:
        return ""
    asked = cfg.epochs
    stretch_epochs(cfg, math.ceil(cfg.min_steps / per_epoch))
    return (
        f"{asked} epochs of the {num_clips} training clips are {asked * per_epoch} steps of "
        f"batch {cfg.batch_size}, fewer than min_steps {cfg.min_steps}: running {cfg.epochs} "
        f"epochs ({cfg.epochs * per_epoch} steps; warm-up, monitor and schedule stretched alike)"
    )


def check_data(cfg: PretrainConfig, spec: DataSpec, num_clips: int, data: object) -> None:
    """Refuse a config that does not fit the training data ``data`` (named in the line):
    more jittered joints than the skeleton has, or batches of fewer than 2 clips."""
    if cfg.augment.spatial in ("random", "jitter") and cfg.augment.jitter_joints > spec.num_joints:
        raise SkelconError(
            f"augment.jitter_joints {cfg.augment.jitter_joints} exceeds the "
            f"{spec.num_joints} joints of {data}"
        )
    if min(cfg.batch_size, num_clips) < 2:
        raise SkelconError(
            f"pre-training needs batches of at least 2 clips (BatchNorm and contrast need "
            f"two samples); got batch_size {cfg.batch_size} with {num_clips} training clips"
        )


def check_world(cfg: PretrainConfig, world: Dist, device: torch.device, num_clips: int) -> None:
    """Refuse a DDP run whose global batch cannot be split evenly, or SyncBN on CPU.

    ``batch_size`` is the global batch: every rank takes ``batch_size / world_size``
    clips (at least 2, for BatchNorm), and the training split must fill one global
    batch so that every rank runs the same steps.
    """
    if cfg.sync_bn and device.type == "cpu":
        raise SkelconError(
            "sync_bn=true needs CUDA devices (PyTorch's SyncBatchNorm has no CPU kernel); "
            "leave sync_bn false on CPU"
        )
    if not world.enabled:
        return
    w = world.world_size
    if cfg.batch_size % w or cfg.batch_size // w < 2:
        counts = [str(n) for n in range(1, cfg.batch_size // 2 + 1) if cfg.batch_size % n == 0][:8]
        raise SkelconError(
            f"batch_size {cfg.batch_size} (the global batch) must be a multiple of the "
            f"{w} processes with at least 2 clips each; with this global batch (a resume "
            f"keeps it) start one of {', '.join(counts)} processes, or set another batch_size "
            f"(e.g. {max(2, cfg.batch_size // w) * w})"
        )
    if num_clips < cfg.batch_size:
        raise SkelconError(
            f"the {num_clips} training clips do not fill one global batch of "
            f"{cfg.batch_size}; lower batch_size or use fewer processes"
        )
