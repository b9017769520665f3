"""Feature extraction with a frozen encoder (eval mode, no grad)."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import torch
from torch import nn
from tqdm import tqdm

from ..data.prepared import PreparedSplit
from .data import batch_loader

Transform = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@torch.no_grad()
def extract_features(
    encoder: nn.Module,
    split: PreparedSplit,
    transform: Transform | None = None,
    device: torch.device | str | None = None,
    *,
    batch_size: int = 256,
    progress: bool = True,
    desc: str = "features",
    tick: Callable[[int], None] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(features (N, D) float32, labels (N,) int64)`` of every clip of ``split``, in
    split order, on ``device``.

    ``encoder`` is either the model :func:`~skelcon.eval.encoder.load_encoder` returns
    (it applies the evaluation transform itself; leave ``transform`` out) or a bare
    encoder with ``transform(x (N, C, T, V, M), num_frames (N,))`` mapping raw batches
    to its input (e.g. the centre crop). ``device`` defaults to where the encoder's
    weights are; the encoder is moved there. It is put in eval mode and its previous
    mode is restored afterwards. Under torchrun (a process group of more than one
    process) every rank encodes its contiguous part of the split and the parts are
    gathered in order, so every rank returns all N rows, in split order. ``tick(n)``
    after each batch, with the clips of that batch over all ranks (an outside progress
    bar's count; approximate under torchrun).
    """
    from .distributed import current

    if device is None:
        p = next(encoder.parameters(), None)
        device = p.device if p is not None else torch.device("cpu")
    device = torch.device(device)
    if hasattr(encoder, "transform") and hasattr(encoder, "encoder"):  # a LoadedEncoder
        if transform is None:
            encoder.to(device)

            def run(x: torch.Tensor, nf: torch.Tensor) -> torch.Tensor:
                return cast(torch.Tensor, encoder(x, nf))

        else:
            inner = cast(nn.Module, encoder.encoder)

            def run(x: torch.Tensor, nf: torch.Tensor) -> torch.Tensor:
                return cast(torch.Tensor, inner(transform(x, nf)))

    elif transform is None:
        raise TypeError("extract_features needs a transform for a bare encoder")
    else:

        def run(x: torch.Tensor, nf: torch.Tensor) -> torch.Tensor:
            return cast(torch.Tensor, encoder(transform(x, nf)))

    was_training = encoder.training
    encoder.eval()
    feats, labels = [], []
    world = current()
    loader = batch_loader(split, batch_size, shuffle=False, rows=world.shard(0, len(split)))
    shown = progress and world.is_main
    for x, nf, y in tqdm(loader, desc=desc, disable=not shown, leave=False):
        x, nf = x.to(device), nf.to(device)
        feats.append(run(x, nf).float())
        labels.append(y.to(device))
        if tick is not None:
            tick(len(y) * world.world_size)
    encoder.train(was_training)
    dim = feats[0].shape[1] if feats else int(getattr(encoder, "feature_dim", 0))
    f = torch.cat(feats) if feats else torch.zeros(0, dim, device=device)
    y = torch.cat(labels) if labels else torch.zeros(0, dtype=torch.long, device=device)
    return world.gather_rows(f), world.gather_rows(y)
