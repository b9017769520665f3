"""Class-covering labelled subsets: sizes by hand, coverage, reproducibility from the seed."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skelcon.data.prepared import load_prepared
from skelcon.errors import SkelconError
from skelcon.eval.subsets import class_covering_subset, draw_subsets, per_class_counts, subset_split

# class 0: 10 samples, class 1: 3, class 2: 1, interleaved
LABELS = np.array([0, 1, 0, 2, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0])


@pytest.mark.parametrize(
    "fraction, expected",
    [  # k_c = max(1, floor(f * n_c + 0.5)), n = (10, 3, 1)
        (0.01, {0: 1, 1: 1, 2: 1}),  # 0.1 -> 0 -> 1; every class keeps one
        (0.1, {0: 1, 1: 1, 2: 1}),
        (0.25, {0: 3, 1: 1, 2: 1}),  # 2.5 rounds up to 3; 0.75 -> 1
        (0.5, {0: 5, 1: 2, 2: 1}),  # 1.5 -> 2
        (1.0, {0: 10, 1: 3, 2: 1}),
    ],
)
def test_per_class_sizes_by_hand(fraction, expected):
    assert per_class_counts(LABELS, fraction) == expected
    idx = class_covering_subset(LABELS, fraction, seed=3)
    assert len(np.unique(idx)) == len(idx) == sum(expected.values())
    got = dict(zip(*np.unique(LABELS[idx], return_counts=True), strict=True))
    assert {int(k): int(v) for k, v in got.items()} == expected


def test_full_fraction_is_the_whole_split():
    assert class_covering_subset(LABELS, 1.0, seed=0).tolist() == list(range(len(LABELS)))


def test_reproducible_from_seed():
    a = draw_subsets(LABELS, [0.25, 0.5], repeats=4, seed=7)
    b = draw_subsets(LABELS, [0.25, 0.5], repeats=4, seed=7)
    for f in a:
        assert all(np.array_equal(x, y) for x, y in zip(a[f], b[f], strict=True))
    # another seed draws other subsets; so do the repeats among themselves
    c = draw_subsets(LABELS, [0.25, 0.5], repeats=4, seed=8)
    assert any(not np.array_equal(x, y) for x, y in zip(a[0.5], c[0.5], strict=True))
    assert len({tuple(x) for x in a[0.5]}) > 1
    # a subset does not depend on which other fractions were asked for
    alone = draw_subsets(LABELS, [0.5], repeats=2, seed=7)
    assert np.array_equal(alone[0.5][1], a[0.5][1])


@settings(max_examples=40, deadline=None)
@given(
    counts=st.lists(st.integers(1, 30), min_size=1, max_size=6),
    fraction=st.floats(0.001, 1.0),
    seed=st.integers(0, 2**31),
)
def test_every_class_is_covered(counts, fraction, seed):
    labels = np.random.default_rng(0).permutation(np.repeat(np.arange(len(counts)), counts))
    idx = class_covering_subset(labels, fraction, seed)
    assert set(labels[idx].tolist()) == set(range(len(counts)))
    assert len(np.unique(idx)) == len(idx) and idx.min() >= 0 and idx.max() < len(labels)
    for c, n in enumerate(counts):
        k = (labels[idx] == c).sum()
        assert k == min(n, max(1, int(np.floor(fraction * n + 0.5))))


@pytest.mark.parametrize("bad", [0, 0.0, -0.1, 1.5, float("nan"), "x"])
def test_bad_fraction(bad):
    with pytest.raises(SkelconError, match="fraction") as e:
        draw_subsets(LABELS, [bad], repeats=1, seed=0)
    assert str(bad) in str(e.value) and "\n" not in str(e.value)


def test_bad_repeats_and_empty():
    with pytest.raises(SkelconError, match="repeats 0"):
        draw_subsets(LABELS, [0.5], repeats=0, seed=0)
    with pytest.raises(SkelconError, match="empty"):
        class_covering_subset(np.zeros(0, dtype=np.int64), 0.5, seed=0)


def test_subset_split_rows(tiny_data):
    train = load_prepared(tiny_data, "default", "train")
    idx = class_covering_subset(train.labels, 0.2, seed=1)
    sub = subset_split(train, idx)
    assert len(sub) == len(idx)
    assert np.array_equal(sub.data[:], train.data[idx])
    assert np.array_equal(sub.labels, train.labels[idx])
    assert np.array_equal(sub.names, train.names[idx])
    assert np.array_equal(sub.num_frames, train.num_frames[idx])
