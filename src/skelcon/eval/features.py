"""Feature extraction with a frozen encoder (eval mode, no grad)."""

from __future__ import annotations

import torch
from torch import nn
from tqdm import tqdm

from ..data.prepared import PreparedSplit
from ..engine.data import batch_loader


@torch.no_grad()
def extract_features(
    encoder: nn.Module,
    split: PreparedSplit,
    transform,
    device: torch.device,
    *,
    batch_size: int = 256,
    progress: bool = True,
    desc: str = "features",
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(features (N, D), labels (N,))`` of ``split`` on ``device``.

    ``transform(x, num_frames)`` maps raw batches to encoder input (e.g. centre crop).
    The encoder is put in eval mode; its previous mode is restored afterwards.
    """
    was_training = encoder.training
    encoder.eval()
    feats, labels = [], []
    loader = batch_loader(split, batch_size, shuffle=False)
    for x, nf, y in tqdm(loader, desc=desc, disable=not progress, leave=False):
        x, nf = x.to(device), nf.to(device)
        feats.append(encoder(transform(x, nf)).float())
        labels.append(y.to(device))
    encoder.train(was_training)
    if not feats:
        return torch.zeros(0, getattr(encoder, "feature_dim", 0), device=device), torch.zeros(
            0, dtype=torch.long, device=device
        )
    return torch.cat(feats), torch.cat(labels)
