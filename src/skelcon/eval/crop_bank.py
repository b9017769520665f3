"""A cached bank of random temporal crops for fast linear evaluation (``crop_bank`` K > 0).

The exact linear protocol (paper Appendix A.1) encodes a fresh random crop-resize of
every training clip in every epoch, so the frozen encoder runs ``epochs`` times over
the training split. With a crop bank the encoder runs ``K`` times instead: once,
before training, it encodes ``K`` random crops of every clip (the protocol's crop
function, :func:`~skelcon.augment.temporal_crop_resize`, on whole batches, drawn from
one generator seeded by :func:`bank_seed`), and each epoch then samples one of the
``K`` cached features per clip (:func:`bank_batches`, a function of the epoch seed).
This is an approximation of the protocol, not the protocol: a clip is seen through
``K`` crops instead of ``epochs`` of them. ``K = 1`` is one fixed random crop per clip.

The bank is ``K x N x D`` float32 (:func:`bank_bytes`) on the evaluation device: for
NTU-60 x-sub (40,320 training clips) and K = 8, 0.31 GiB with the paper's STG
(D = 256), 2.46 GiB with its SEQ (D = 2,048), 4.92 GiB with its IMG (D = 4,096).
:func:`check_bank_size` refuses a bank over ``crop_bank_max_gib`` (default 4).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import nn
from tqdm import tqdm

from ..data.prepared import PreparedSplit
from ..engine.data import batch_bounds, batch_loader, epoch_seed
from ..errors import SkelconError

GIB = 1024**3


def bank_seed(seed: int) -> int:
    """The seed of the bank's crops: that of "epoch -1" (:func:`epoch_seed`), so it is
    distinct from the seed of every training epoch of the same run seed."""
    return epoch_seed(seed, -1)


def bank_bytes(k: int, n: int, dim: int) -> int:
    """Bytes of a bank of ``k`` crops of ``n`` clips with ``dim`` float32 features."""
    return 4 * int(k) * int(n) * int(dim)


def check_bank_size(k: int, n: int, dim: int, max_gib: float) -> None:
    """One-line :class:`SkelconError` when the ``(k, n, dim)`` float32 bank is over ``max_gib`` GiB."""
    need = bank_bytes(k, n, dim)
    if need <= max_gib * GIB:
        return
    fits = int(max_gib * GIB // max(bank_bytes(1, n, dim), 1))
    hint = f"use crop_bank <= {fits} or " if fits >= 1 else ""
    raise SkelconError(
        f"a crop bank of {k} crops x {n:,} clips x {dim:,} features (float32) needs "
        f"{need / GIB:.2f} GiB, over crop_bank_max_gib {max_gib:g}: {hint}raise "
        "crop_bank_max_gib (or crop_bank=0, the exact protocol)"
    )


@torch.no_grad()
def extract_crop_bank(
    encoder: nn.Module,
    split: PreparedSplit,
    k: int,
    device: torch.device,
    *,
    out_len: int,
    crop_min: float,
    seed: int,
    batch_size: int = 64,
    progress: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(bank (k, N, D) float32, labels (N,) int64)`` on ``device``: the features of ``k``
    random crop-resizes (ratio ~ U[crop_min, 1], resized to ``out_len`` frames) of every
    clip of ``split``, in split order.

    ``encoder`` is the bare frozen encoder (eval mode; it takes ``(B, C, out_len, V, M)``
    and has ``feature_dim``). Batches of ``batch_size`` clips are read once, in split
    order, and cropped ``k`` times each with one generator seeded by
    :func:`bank_seed` (``seed``), so the bank is a function of ``(seed, batch_size)``
    and the data. A progress bar counts the encoded crops.
    """
    from ..augment import temporal_crop_resize

    if k < 1:
        raise SkelconError(f"crop_bank {k} must be at least 1 to extract a bank")
    n = len(split)
    bank = torch.empty(k, n, int(encoder.feature_dim), device=device)
    labels = torch.empty(n, dtype=torch.long, device=device)
    gen = torch.Generator(device=device).manual_seed(bank_seed(seed))
    bar = tqdm(
        total=k * n, desc=f"crop bank (K={k})", unit="crop", disable=not progress, leave=False
    )
    start = 0
    for x, nf, y in batch_loader(split, batch_size, shuffle=False):
        x, nf = x.to(device), nf.to(device)
        stop = start + len(y)
        for j in range(k):
            view = temporal_crop_resize(x, nf, out_len=out_len, l_min=crop_min, generator=gen)
            bank[j, start:stop] = encoder(view).float()
            bar.update(len(y))
        labels[start:stop] = y.to(device)
        start = stop
    bar.close()
    return bank, labels


def bank_batches(
    bank: torch.Tensor, labels: torch.Tensor, seed: int, batch_size: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """One epoch of training batches ``(features (B, D), labels (B,))`` from a bank.

    ``bank``: ``(K, N, D)``; ``labels``: ``(N,)``; ``seed``: the epoch's seed
    (:func:`~skelcon.engine.data.epoch_seed`). A CPU generator seeded with it draws the
    clip order first (the same permutation the exact protocol's loader draws for that
    seed) and then, per clip, which of the ``K`` crops it contributes. Batches follow
    :func:`~skelcon.engine.data.batch_bounds` with ``min_batch=2`` as in the protocol.
    """
    k, n = bank.shape[:2]
    gen = torch.Generator().manual_seed(int(seed))
    order = torch.randperm(n, generator=gen)
    pick = torch.randint(k, (n,), generator=gen)
    order, pick = order.to(bank.device), pick.to(bank.device)
    for s, e in batch_bounds(n, batch_size, min_batch=2):
        idx = order[s:e]
        yield bank[pick[idx], idx], labels[idx]
