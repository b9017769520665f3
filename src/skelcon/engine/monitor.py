"""Online kNN monitor: is pre-training making the features better than they were?

Every ``monitor.every`` epochs, before the first epoch (the random-init baseline of
this very run) and after the last, each query encoder embeds the train and test
splits of the benchmark (centre crop, eval mode, no grad, batched) and the test
clips are classified by their nearest training clips (cosine, ``monitor.knn_k``).
This is the kNN protocol of the paper's retrieval table on the same features, and
what solo-learn and lightly log during training. Labels are read, never trained on.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable

import torch
from torch import nn
from tqdm import tqdm

from ..config import MonitorConfig
from ..data.prepared import PreparedSplit, load_prepared
from ..errors import SkelconError


class KnnMonitor:
    """kNN top-1 (%) of each query encoder on a labelled ``(train, test)`` pair of splits.

    Build it with :meth:`for_run`, which returns ``None`` (and a reason) when the
    prepared data cannot be monitored: no test split, or fewer than 2 classes.
    """

    def __init__(self, cfg: MonitorConfig, train: PreparedSplit, test: PreparedSplit, out_len: int):
        self.cfg = cfg
        self.train = train
        self.test = test
        self.out_len = out_len

    @classmethod
    def for_run(
        cls,
        cfg: MonitorConfig,
        data: str | os.PathLike[str],
        benchmark: str,
        train: PreparedSplit,
        out_len: int,
    ) -> tuple[KnnMonitor | None, str]:
        """``(monitor, "")`` or ``(None, why not)`` for pre-training on ``train``."""
        if cfg.every <= 0:
            return None, "monitor.every is 0"
        try:
            test = load_prepared(data, benchmark, "test")
        except SkelconError:
            return None, f"benchmark {benchmark!r} has no test split"
        if len(test) == 0:
            return None, f"the test split of {benchmark!r} is empty"
        if int(train.meta.get("num_classes", 0)) < 2 or len(set(train.labels.tolist())) < 2:
            return None, "the training split has fewer than 2 labelled classes"
        return cls(cfg, train, test, out_len), ""

    def due(self, epoch: int, epochs: int) -> bool:
        """Whether to measure after ``epoch`` epochs (0: before training)."""
        return epoch == 0 or epoch == epochs or epoch % self.cfg.every == 0

    @torch.no_grad()
    def measure(
        self,
        encoders: dict[str, nn.Module],
        device: torch.device,
        *,
        progress: bool = False,
        speed: Callable[[float], None] | None = None,
    ) -> dict[str, float]:
        """``{"knn/<rep>": top-1 %}`` for every encoder; modes are restored afterwards.
        ``progress``: a bar over the clips embedded (on stderr, gone when done; it counts
        clips once per encoder); ``speed(samples_per_s)`` is called as batches finish
        with the clips embedded by every encoder per second so far (inference speed)."""
        from ..augment import center_crop_resize
        from .features import extract_features
        from .knn import knn_accuracy

        def crop(x: torch.Tensor, nf: torch.Tensor) -> torch.Tensor:
            return center_crop_resize(x, nf, out_len=self.out_len)

        n_train, n_test = len(self.train), len(self.test)
        reps = "+".join(encoders)
        bar = tqdm(
            total=len(encoders) * (n_train + n_test),
            unit="clip",
            leave=False,
            disable=not progress,
            file=sys.stderr,
            desc=f"kNN monitor: {reps} features of {n_train} train + {n_test} test "
            f"clips (x{len(encoders)} encoders)",
        )
        out, done, t0 = {}, 0, time.monotonic()

        def tick(n: int) -> None:
            bar.update(n)
            if speed is not None:
                speed(bar.n / len(encoders) / max(time.monotonic() - t0, 1e-9))

        try:
            for rep, enc in encoders.items():
                bs = self.cfg.batch_size
                tr_x, tr_y = extract_features(
                    enc, self.train, crop, device, batch_size=bs, progress=False, tick=tick
                )
                bar.update(done + n_train - bar.n)  # exact after each split (shards under DDP)
                te_x, te_y = extract_features(
                    enc, self.test, crop, device, batch_size=bs, progress=False, tick=tick
                )
                done += n_train + n_test
                bar.update(done - bar.n)
                out[f"knn/{rep}"] = knn_accuracy(
                    tr_x,
                    tr_y,
                    te_x,
                    te_y,
                    k=self.cfg.knn_k,
                    num_classes=int(self.train.meta["num_classes"]),
                )
        finally:
            bar.close()
        return out
