"""Fine-tuning: encoder + linear classifier trained together (paper Appendix A.1).

Used by the semi-supervised, supervised-only, full fine-tuning and transfer
protocols. The encoder is in train mode and all its weights are updated (unlike
linear evaluation, which freezes it). Training views are random temporal
crop-resizes (ratio ~ U[crop_min, 1]), drawn afresh every epoch; the reported top-1
is the centre-crop test accuracy after the final epoch (no model selection on the
test set).

Transfer (:func:`transfer_encoder`) rebuilds the pre-trained encoder for the target
data's shape and copies what still fits:

* ``seq``: the GRU's first layer reads ``C*V*M`` joint-major inputs, so channels,
  joints, persons and layout must all match the source.
* ``img``: conv3 takes the ``V`` joints as channels, so channels, joints and layout
  must match; the person count may differ (persons share weights, max-pooled).
* ``stg``: the graph and temporal convolutions do not depend on the joints or
  persons, so they transfer across layouts; channels must match. What is specific to
  the source graph or shape is re-initialised and listed: the data BatchNorm (one
  statistic per person, joint and channel) when ``V`` or ``M`` differ, the learned
  adjacency offsets ``blocks.*.gcn.offset`` (``(3, V, V)``) when the layout differs;
  the fixed adjacency is always the target layout's.

Anything else raises a one-line :class:`~skelcon.errors.SkelconError` naming the
representation and both shapes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from ..config import FinetuneConfig
from ..data.prepared import PreparedSplit
from ..engine.build import build_encoders, data_spec
from ..engine.data import batch_loader, epoch_seed
from ..engine.guards import StopSignals, guard_loss, guard_weights
from ..errors import SkelconError
from .compat import channel_names
from .encoder import ConcatEncoder, LoadedEncoder, load_encoder
from .features import extract_features
from .metrics import class_names, classification_metrics, mean_std  # noqa: F401 (re-exported)


def check_labels(split: PreparedSplit, num_classes: int, what: str) -> None:
    """Every label of ``split`` must be a class index in ``[0, num_classes)``."""
    if len(split) and (split.labels.min() < 0 or split.labels.max() >= num_classes):
        bad = int(split.labels.max() if split.labels.max() >= num_classes else split.labels.min())
        raise SkelconError(
            f"{what} label {bad} is outside the {num_classes} classes (valid: 0..{num_classes - 1})"
        )


@dataclass(frozen=True)
class FinetuneResult:
    """What :func:`finetune` measured: ``top1`` (%, final epoch), ``metrics`` (top-5,
    per-class, confusion: see :mod:`skelcon.eval.metrics`), ``train_loss`` (per epoch),
    the split sizes, the trained classifier ``head`` and ``scores``: its logits
    ``(N_test, num_classes)`` float32 on the centre-crop test input, in test-split order
    (the ``metrics`` were computed from them). ``to_dict`` / ``from_dict`` convert to and
    from the dict this used to be."""

    top1: float
    metrics: dict[str, Any]
    train_loss: list[float]
    num_train: int
    num_test: int
    head: nn.Module
    scores: torch.Tensor | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (values not copied), in their order."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FinetuneResult:
        """The result of a :meth:`to_dict` dict (unknown keys refused with a TypeError)."""
        return cls(**d)


def finetune(
    encoder: nn.Module,
    train: PreparedSplit,
    test: PreparedSplit,
    cfg: FinetuneConfig,
    device: torch.device,
    *,
    out_len: int,
    num_classes: int,
    seed: int | None = None,
    progress: bool = True,
    desc: str = "finetune",
    representation: str | None = None,
) -> FinetuneResult:
    """Train ``encoder`` (in place) + a new linear head on ``train``; test on ``test``.

    ``encoder`` maps ``(N, C, out_len, V, M)`` to ``(N, D)``; its weights change.
    Returns a :class:`FinetuneResult`: ``top1`` (%, final epoch), ``metrics`` (top-5,
    per-class, confusion: see :mod:`skelcon.eval.metrics`), ``train_loss`` (per epoch),
    ``num_train``, ``num_test``, ``head`` (the trained classifier) and ``scores`` (its
    test logits ``(N_test, num_classes)``, the ones the metrics count). ``seed`` (default ``cfg.seed``) fixes the head's
    initialisation, batch order, crops and dropout; ``representation`` names the encoder
    in errors. A NaN/Inf loss or weight raises a one-line :class:`SkelconError` naming
    the step and the encoder; SIGINT/SIGTERM raise :class:`~skelcon.errors.Interrupted`
    (exit 130/143 from the CLI).
    """
    from ..augment import center_crop_resize, temporal_crop_resize
    from ..encoders import LinearClassifier

    cfg.validate()
    if len(train) == 0 or len(test) == 0:
        raise SkelconError("fine-tuning needs non-empty train and test splits")
    check_labels(train, num_classes, "train")
    check_labels(test, num_classes, "test")
    seed = cfg.seed if seed is None else int(seed)
    torch.manual_seed(seed)
    encoder.to(device)
    for p in encoder.parameters():
        p.requires_grad_(True)
    head = LinearClassifier(int(encoder.feature_dim), int(num_classes)).to(device)
    params = list(encoder.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, cfg.milestones, cfg.gamma)
    losses: list[float] = []
    nets = _named_modules(encoder, representation) | {"classifier head": head}

    def stopped(sig: str) -> str:
        return (
            f"fine-tuning ({desc}) stopped by {sig} during epoch {len(losses) + 1} of "
            f"{cfg.epochs}; fine-tuning keeps no checkpoints, so nothing of this run was "
            "saved; run the same command again"
        )

    bar = tqdm(range(cfg.epochs), desc=desc, disable=not progress, leave=False)
    with StopSignals(stopped):
        for epoch in bar:
            es = epoch_seed(seed, epoch)
            torch.manual_seed(es)  # dropout
            gen = torch.Generator(device=device).manual_seed(es)
            encoder.train()
            head.train()
            total, seen = 0.0, 0
            loader = batch_loader(train, cfg.batch_size, shuffle=True, seed=es, min_batch=2)
            for i, (x, nf, y) in enumerate(loader):
                x, nf, y = x.to(device), nf.to(device), y.to(device)
                view = temporal_crop_resize(
                    x, nf, out_len=out_len, l_min=cfg.crop_min, generator=gen
                )
                loss = F.cross_entropy(head(encoder(view)), y)
                guard_loss(
                    loss,
                    {"loss/cross_entropy": loss},
                    modules=nets,
                    advice="lower lr",
                    where=f"{desc} step {i + 1} of epoch {epoch + 1}",
                )
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += loss.item() * y.shape[0]
                seen += y.shape[0]
            sched.step()
            losses.append(total / max(seen, 1))
            bar.set_postfix(loss=f"{losses[-1]:.3f}")
        guard_weights(nets, where=f"{desc} epoch {cfg.epochs}", advice="lower lr")

    def center(x: torch.Tensor, nf: torch.Tensor) -> torch.Tensor:
        return center_crop_resize(x, nf, out_len=out_len)

    feats, labels = extract_features(
        encoder,
        test,
        center,
        device,
        batch_size=cfg.eval_batch_size,
        progress=progress,
        desc="test",
    )
    head.eval()
    with torch.no_grad():
        logits = head(feats).float().cpu()
    metrics = classification_metrics(logits, labels, class_names(test.meta, num_classes))
    return FinetuneResult(
        top1=metrics["top1"],
        metrics=metrics,
        train_loss=losses,
        num_train=len(train),
        num_test=len(test),
        head=head,
        scores=logits,
    )


def _named_modules(encoder: nn.Module, representation: str | None) -> dict[str, nn.Module]:
    """The encoder's parts by representation (for NaN/Inf messages)."""
    if isinstance(encoder, ConcatEncoder):
        return {f"{r} encoder": m for r, m in encoder.encoders.items()}
    return {f"{representation} encoder" if representation else "encoder": encoder}


def _shape(spec: dict) -> str:
    sizes = f"C={spec['in_channels']}, V={spec['num_joints']}, M={spec['num_persons']}"
    return f"{spec['layout']} ({sizes})"


def transfer_keys(rep: str, source: dict, target: dict) -> list[str]:
    """State-dict key prefixes of ``rep`` to re-initialise when moving from ``source`` to
    ``target`` data spec; raises a one-line error when the weights cannot transfer
    (other sizes as the rules say, or channels that mean other things, e.g. a
    ``x, y, score`` checkpoint on ``x, y, z`` data)."""
    same_c = source["in_channels"] == target["in_channels"]
    same_v = source["num_joints"] == target["num_joints"]
    same_m = source["num_persons"] == target["num_persons"]
    same_layout = source["layout"] == target["layout"]
    if rep == "seq":
        ok, why = (
            same_c and same_v and same_m and same_layout,
            "its GRU reads C*V*M joint-major inputs",
        )
    elif rep == "img":
        ok, why = (
            same_c and same_v and same_layout,
            "its co-occurrence conv takes the joints as channels",
        )
    else:
        ok, why = same_c, "its first graph conv reads C input channels"
    was, now = channel_names(source), channel_names(target)
    if ok and was != now:  # same C, other meaning: x, y, score is not x, y, z
        ok = False
        why = (
            f"its input channels mean other things ({', '.join(was or ['?'])} vs "
            f"{', '.join(now or ['?'])}; prepare the data with those channels)"
        )
    if not ok:
        raise SkelconError(
            f"cannot transfer the {rep} encoder from {_shape(source)} to {_shape(target)}: {why} "
            f"(transferable: {_TRANSFERABLE})"
        )
    reinit: list[str] = []
    if rep == "stg":
        if not (same_v and same_m):
            reinit.append("data_bn.")
        if not same_layout:
            reinit += ["adjacency", ".gcn.offset"]
    return reinit


def _matches(key: str, pattern: str) -> bool:
    """``".x"`` patterns match anywhere in the key, others at its start."""
    return pattern in key if pattern.startswith(".") else key.startswith(pattern)


_TRANSFERABLE = (
    "seq needs the same layout and C, V, M; img the same layout, C and V; stg the same C; "
    "all the same channel names"
)


def transfer_encoder(
    checkpoint: str | os.PathLike,
    representation: str | list[str],
    target_meta: dict,
    *,
    seed: int = 0,
    stream: str | None = None,
) -> tuple[LoadedEncoder, dict[str, list[str]], dict]:
    """The query encoder(s) of ``checkpoint`` rebuilt for data with ``target_meta``'s shape.

    Returns the encoder, per representation the state-dict keys that were
    re-initialised instead of copied (see the module doc for the rules), and the
    source data spec (dataset, layout, sizes) the checkpoint was pre-trained on. The
    rebuilt encoders keep the checkpoint's input stream (on the target layout's bones).
    """
    source = load_encoder(checkpoint, representation, seed=seed, stream=stream)
    reps = source.representations
    target = data_spec(
        target_meta,
        source.num_frames,
        source.spec.get("seq_init", "preset"),
        source.stream,
        source.spec.get("seq_recurrence", "bidirectional"),
    )
    patterns = {r: transfer_keys(r, source.spec, target) for r in reps}  # all checks first
    torch.manual_seed(seed)
    built = build_encoders(reps, source.preset, target)
    src_mods = {reps[0]: source.encoder} if len(reps) == 1 else dict(source.encoder.encoders)
    reinit: dict[str, list[str]] = {}
    for r in reps:
        src_state = src_mods[r].state_dict()
        skip = [k for k in src_state if any(_matches(k, p) for p in patterns[r])]
        copied = {k: v for k, v in src_state.items() if k not in skip}
        missing, unexpected = built[r].load_state_dict(copied, strict=False)
        # (BatchNorm does not report a missing num_batches_tracked, hence <=)
        if unexpected or not set(missing) <= set(skip):  # a programming error, not a user one
            raise RuntimeError(
                f"{r} transfer: unexpected {unexpected}, missing {missing} vs {skip}"
            )
        reinit[r] = sorted(skip)
    enc = built[reps[0]] if len(reps) == 1 else ConcatEncoder(built)
    loaded = LoadedEncoder(
        enc, target, list(reps), source.preset, str(checkpoint), imported=source.imported
    )
    return loaded, reinit, dict(source.spec)


def run_seed(seed: int, fraction: float, repeat: int) -> int:
    """Training seed of one (fraction, repeat) run, independent of the other runs."""
    from .subsets import subset_seed

    return int(subset_seed(seed, fraction, repeat).generate_state(1)[0]) + 1
