"""A prepared split behaves as a sequence of clips: ``len``, ``split[i]``, iteration."""

from __future__ import annotations

import numpy as np
import pytest

from skelcon.data.prepared import Clip, load_prepared
from skelcon.eval.subsets import subset_split


@pytest.fixture(scope="module")
def split(tiny_data):
    return load_prepared(tiny_data, "default", "test")


def test_index_returns_one_clip(split):
    assert len(split) == 12
    clip = split[0]
    assert isinstance(clip, Clip)
    x, label, num_frames, name = clip  # unpacks
    assert isinstance(x, np.ndarray) and x.shape == split.data.shape[1:] and x.dtype == np.float32
    np.testing.assert_array_equal(x, split.data[0])
    assert (label, num_frames, name) == (
        int(split.labels[0]),
        int(split.num_frames[0]),
        str(split.names[0]),
    )
    assert type(label) is int and type(num_frames) is int and type(name) is str
    assert not np.any(x[:, num_frames:])  # past the valid frames: padding


def test_negative_numpy_and_out_of_range_indices(split):
    n = len(split)
    assert split[-1].name == split[n - 1].name == str(split.names[-1])
    assert split[-n].name == split[0].name
    assert split[np.int64(2)].name == str(split.names[2])
    for bad in (n, -n - 1, 10**6):
        with pytest.raises(IndexError, match="out of range"):
            split[bad]
    for bad in (slice(0, 2), 1.0, True, "0"):
        with pytest.raises(TypeError, match="indexed by an int"):
            split[bad]


def test_iteration_in_split_order(split):
    clips = list(split)
    assert [c.name for c in clips] == split.names.tolist()
    assert [c.label for c in clips] == split.labels.tolist()
    for i, c in enumerate(clips):
        np.testing.assert_array_equal(c.x, split.data[i])


def test_subsets_index_too(split):
    sub = subset_split(split, np.array([5, 1]))
    assert len(sub) == 2 and [c.name for c in sub] == [split[5].name, split[1].name]
