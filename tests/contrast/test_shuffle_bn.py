"""Shuffled, split BatchNorm for key encoders."""

from __future__ import annotations

import torch
from torch import nn

from skelcon.contrast.shuffle_bn import shuffled_split_forward


class RecordingBN(nn.Module):
    """BatchNorm1d (no affine) that records every batch it normalises."""

    def __init__(self, d: int):
        super().__init__()
        self.bn = nn.BatchNorm1d(d, affine=False)
        self.seen: list[torch.Tensor] = []

    def forward(self, x):
        self.seen.append(x.clone())
        return self.bn(x)


def test_statistics_come_from_a_permuted_split_batch_and_keys_return_in_order():
    n, d, groups = 12, 3, 3
    x = torch.arange(n, dtype=torch.float32)[:, None] * torch.tensor([1.0, 2.0, -1.0])
    enc = RecordingBN(d).train()
    gen = torch.Generator().manual_seed(5)
    out = shuffled_split_forward(enc, x, groups, generator=gen)

    perm = torch.randperm(n, generator=torch.Generator().manual_seed(5))
    assert not torch.equal(perm, torch.arange(n))  # the check below can fail
    assert len(enc.seen) == groups  # one BatchNorm batch per group
    for j, batch in enumerate(enc.seen):
        ids = perm[j * n // groups : (j + 1) * n // groups]
        torch.testing.assert_close(batch, x[ids])  # each group is a slice of the permutation
    # keys in the original order: row i is x[i] normalised with its own group's statistics
    expected = torch.empty_like(x)
    for j in range(groups):
        ids = perm[j * n // groups : (j + 1) * n // groups]
        g = x[ids]
        expected[ids] = (g - g.mean(0)) / torch.sqrt(g.var(0, unbiased=False) + 1e-5)
    torch.testing.assert_close(out, expected)
    # and differs from the full-batch normalisation
    full = (x - x.mean(0)) / torch.sqrt(x.var(0, unbiased=False) + 1e-5)
    assert not torch.allclose(out, full)


def test_without_splits_or_with_tiny_batches_it_is_the_plain_forward():
    enc = nn.BatchNorm1d(2, affine=False).train()
    x = torch.randn(3, 2)
    torch.testing.assert_close(shuffled_split_forward(enc, x, 0), enc(x))
    torch.testing.assert_close(shuffled_split_forward(enc, x, 4), enc(x))  # 3 // 2 = 1 group
    # 5 samples, 4 requested -> 2 groups of >= 2 samples (BatchNorm needs 2)
    seen = RecordingBN(2).train()
    shuffled_split_forward(seen, torch.randn(5, 2), 4, generator=torch.Generator().manual_seed(0))
    assert [len(b) for b in seen.seen] == [3, 2]


def test_every_group_holds_two_samples_for_any_batch_size():
    """10 clips in 4 groups are 3, 3, 2, 2 (not 3, 3, 3, 1: BatchNorm fails on one)."""
    for n in range(4, 40):
        enc = RecordingBN(2).train()
        shuffled_split_forward(enc, torch.randn(n, 2), 4, torch.Generator().manual_seed(0))
        sizes = [b.shape[0] for b in enc.seen]
        assert sum(sizes) == n and min(sizes) >= 2 and max(sizes) - min(sizes) <= 1, (n, sizes)
