"""Learning-rate and key-momentum schedules as pure functions of training progress.

Both take ``t``, the number of epochs done so far as a float (``epoch + step /
steps_per_epoch``), so a resumed run recomputes exactly the values it would have
used: there is no scheduler state to save.
"""

from __future__ import annotations

import math

from ..config import MocoConfig, OptimConfig


def lr_at(cfg: OptimConfig, t: float, epochs: int) -> float:
    """Learning rate after ``t`` epochs (float) of an ``epochs``-epoch run.

    - linear warm-up from 0 to ``cfg.lr`` over the first ``cfg.warmup_epochs`` (at most
      half the run, so a short run of a recipe with a warm-up still trains), per step
      (Goyal et al. 2017; solo-learn's ``warmup_cosine``);
    - then ``step``: ``cfg.lr * gamma ** (number of milestones <= floor(t))``, i.e. the
      epoch with 0-based index ``m`` is the first with the lower lr, as
      ``torch.optim.lr_scheduler.MultiStepLR`` stepped once per epoch (paper Section 4.2);
    - or ``cosine``: ``cfg.lr * (1 + cos(pi * p)) / 2`` with ``p`` the fraction of the
      post-warm-up epochs done (SGDR without restarts, Loshchilov and Hutter 2017; the
      MoCo v2 CIFAR demo and lightly's benchmarks).
    """
    w = min(float(cfg.warmup_epochs), epochs / 2)
    if w > 0 and t < w:
        return cfg.lr * t / w
    if cfg.schedule == "cosine":
        p = min(max((t - w) / max(epochs - w, 1e-9), 0.0), 1.0)
        return cfg.lr * 0.5 * (1.0 + math.cos(math.pi * p))
    epoch = math.floor(t + 1e-9)
    return cfg.lr * cfg.gamma ** sum(1 for m in cfg.milestones if m <= epoch)


def momentum_at(cfg: MocoConfig, t: float, epochs: int) -> float:
    """Key-encoder EMA momentum after ``t`` of ``epochs`` epochs.

    ``constant``: ``cfg.momentum``. ``cosine``: from ``cfg.momentum`` up to
    ``cfg.momentum_end`` as ``m_end - (m_end - m0) * (1 + cos(pi * t / epochs)) / 2``
    (BYOL, Grill et al. 2020, Sec. 3.2; solo-learn's momentum updater).
    """
    if cfg.momentum_schedule == "constant":
        return cfg.momentum
    p = min(max(t / max(epochs, 1e-9), 0.0), 1.0)
    return cfg.momentum_end - (cfg.momentum_end - cfg.momentum) * 0.5 * (1 + math.cos(math.pi * p))
