"""Linear evaluation: a frozen encoder in eval mode, a linear classifier on top."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, fields
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from ..config import LinearEvalConfig
from ..data.prepared import PreparedSplit
from ..engine.data import batch_bounds, batch_loader, epoch_seed
from ..errors import SkelconError
from .crop_bank import bank_batches, bank_bytes, check_bank_size, extract_crop_bank
from .features import extract_features
from .metrics import class_names, classification_metrics


@dataclass(frozen=True)
class LinearResult:
    """What :func:`linear_eval` measured: ``top1`` (%) of the final epoch, its
    ``metrics`` (:func:`~skelcon.eval.metrics.classification_metrics`), the best epoch's
    top-1 and which it was (selection on the test set: for comparison only), the top-1
    ``history`` per epoch, the split sizes, ``train_input`` (how training inputs were
    made) and ``crop_bank`` (``k``, ``bytes``, ``seconds`` of a bank; ``None`` without).
    ``scores``: the final classifier's logits ``(N_test, num_classes)`` float32 on the
    centre-crop test input, in test-split order (the ``metrics`` were computed from them;
    ``None`` when built by hand); ``classifier``: that trained classifier (in eval mode;
    ``None`` when built by hand). ``to_dict`` / ``from_dict`` convert to and from the dict
    this used to be."""

    top1: float
    metrics: dict[str, Any]
    best_epoch_top1: float
    best_epoch: int
    history: list[float]
    num_train: int
    num_test: int
    train_input: str
    crop_bank: dict[str, Any] | None
    scores: torch.Tensor | None = field(default=None, compare=False, repr=False)
    classifier: nn.Module | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (values not copied), in their order."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LinearResult:
        """The result of a :meth:`to_dict` dict (unknown keys refused with a TypeError)."""
        return cls(**d)


def freeze(encoder: nn.Module) -> nn.Module:
    """Eval mode (BatchNorm statistics fixed, no dropout) and no gradients."""
    encoder.eval()
    for p in encoder.parameters():
        p.requires_grad_(False)
    return encoder


def linear_probe(in_dim: int, num_classes: int, standardize: bool = True) -> nn.Module:
    """The classifier of linear evaluation: ``(N, in_dim)`` -> ``(N, num_classes)``.

    With ``standardize`` a ``BatchNorm1d(affine=False)`` first standardises every
    feature dimension with running training statistics (as in MAE's linear probe); at
    test time it is a fixed affine map, so the classifier stays linear in the frozen
    features. Without it, features with a small spread (random or lightly trained
    encoders) train very slowly under SGD with the protocol's lr.
    """
    linear = nn.Linear(in_dim, num_classes)
    if not standardize:
        return linear
    return nn.Sequential(nn.BatchNorm1d(in_dim, affine=False), linear)


def linear_eval(
    encoder: nn.Module,
    train: PreparedSplit,
    test: PreparedSplit,
    cfg: LinearEvalConfig,
    device: torch.device,
    *,
    out_len: int,
    progress: bool = True,
) -> LinearResult:
    """Train a linear classifier on frozen features; returns top-1 (%) of the final epoch
    and, under ``metrics``, its :func:`~skelcon.eval.metrics.classification_metrics`
    (a :class:`LinearResult`, whose ``scores`` are the final logits ``(N_test, C)``).

    Training inputs are random temporal crop-resizes (ratio ~ U[crop_min, 1]) drawn
    afresh every epoch, test inputs a centre crop (paper Appendix A.1). ``train_crop="center"``
    caches centre-crop training features once instead (faster, for quick checks);
    ``crop_bank=K`` caches the features of K random crops per clip once and samples one
    per clip each epoch (:mod:`skelcon.eval.crop_bank`; faster, not the exact protocol).
    ``train_input`` describes which; with a bank, ``crop_bank`` holds its ``k``,
    ``bytes`` and extraction ``seconds``.
    Also reports ``best_epoch_top1``: the best test accuracy over epochs, the number
    the authors' script reports (selection on the test set; for comparison only).
    """
    from ..augment import center_crop_resize, temporal_crop_resize

    cfg.validate()
    if len(train) == 0 or len(test) == 0:
        raise SkelconError("linear evaluation needs non-empty train and test splits")
    if cfg.standardize and len(train) < 2:
        raise SkelconError(
            f"linear evaluation with standardised features needs at least 2 training clips, "
            f"got {len(train)} (or set standardize false)"
        )
    num_classes = int(train.meta["num_classes"])
    if cfg.crop_bank:
        check_bank_size(cfg.crop_bank, len(train), encoder.feature_dim, cfg.crop_bank_max_gib)
    freeze(encoder).to(device)

    def center(x, nf):
        return center_crop_resize(x, nf, out_len=out_len)

    test_x, test_y = extract_features(
        encoder, test, center, device, progress=progress, desc="test features"
    )
    cached = bank = bank_info = None
    if cfg.train_crop == "center":
        cached = extract_features(
            encoder, train, center, device, progress=progress, desc="train features"
        )
    elif cfg.crop_bank:
        t0 = time.perf_counter()
        bank = extract_crop_bank(
            encoder,
            train,
            cfg.crop_bank,
            device,
            out_len=out_len,
            crop_min=cfg.crop_min,
            seed=cfg.seed,
            batch_size=cfg.batch_size,
            progress=progress,
        )
        bank_info = {
            "k": cfg.crop_bank,
            "bytes": bank_bytes(*bank[0].shape),
            "seconds": round(time.perf_counter() - t0, 2),
        }

    torch.manual_seed(cfg.seed)
    clf = linear_probe(test_x.shape[1], num_classes, cfg.standardize).to(device)
    opt = torch.optim.SGD(
        clf.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay
    )
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, cfg.milestones, cfg.gamma)
    history = []
    bar = tqdm(range(cfg.epochs), desc="linear", disable=not progress, leave=False)
    for epoch in bar:
        es = epoch_seed(cfg.seed, epoch)
        gen = torch.Generator(device=device).manual_seed(es)
        clf.train()
        if cached is not None:
            perm = torch.randperm(len(cached[0]), generator=torch.Generator().manual_seed(es))
            bounds = batch_bounds(len(perm), cfg.batch_size, min_batch=2)
            batches = (
                (cached[0][perm[s:e].to(device)], cached[1][perm[s:e].to(device)])
                for s, e in bounds
            )
        elif bank is not None:
            batches = bank_batches(*bank, es, cfg.batch_size)
        else:
            batches = _random_crop_features(
                encoder, train, cfg, device, out_len, gen, es, temporal_crop_resize
            )
        for f, y in batches:
            loss = F.cross_entropy(clf(f), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        sched.step()
        clf.eval()
        with torch.no_grad():
            acc = (clf(test_x).argmax(1) == test_y).float().mean().item() * 100
        history.append(acc)
        bar.set_postfix(top1=f"{acc:.1f}")
    with torch.no_grad():
        logits = clf(test_x).float().cpu()
    metrics = classification_metrics(logits, test_y, class_names(train.meta))
    return LinearResult(
        top1=history[-1],
        metrics=metrics,
        best_epoch_top1=max(history),
        best_epoch=int(max(range(len(history)), key=history.__getitem__)) + 1,
        history=history,
        num_train=len(train),
        num_test=len(test),
        train_input=train_input_text(cfg),
        crop_bank=bank_info,
        scores=logits,
        classifier=clf,
    )


def train_input_text(cfg: LinearEvalConfig) -> str:
    """What the classifier was trained on, as recorded in ``metrics.json``."""
    if cfg.train_crop == "center":
        return "centre crop 95 %, features cached once (not the protocol's random crops)"
    crop = f"random crop-resize, ratio ~ U[{cfg.crop_min:g}, 1]"
    if cfg.crop_bank:
        return (
            f"{crop}: one of a fixed bank of {cfg.crop_bank} per clip, sampled each epoch "
            "(crop_bank; not the exact protocol)"
        )
    return f"{crop}, drawn afresh every epoch (the protocol)"


@torch.no_grad()
def _random_crop_features(encoder, split, cfg, device, out_len, gen, seed, crop_fn):
    loader = batch_loader(split, cfg.batch_size, shuffle=True, seed=seed, min_batch=2)
    for x, nf, y in loader:
        x, nf = x.to(device), nf.to(device)
        view = crop_fn(x, nf, out_len=out_len, l_min=cfg.crop_min, generator=gen)
        yield encoder(view).float(), y.to(device)
