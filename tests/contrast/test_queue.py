"""FeatureQueue: exact ring-buffer contents, wrap-around, buffers."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from skelcon.contrast import FeatureQueue
from skelcon.errors import SkelconError


def _rows(start: int, b: int, d: int = 2) -> torch.Tensor:
    """Row i is filled with the value start + i, so every row is recognisable."""
    return torch.arange(start, start + b, dtype=torch.float32)[:, None].repeat(1, d)


def _values(q: FeatureQueue) -> list[float]:
    return q.keys[:, 0].tolist()


def test_init_buffers():
    q = FeatureQueue(7, 3)
    assert q.keys.shape == (7, 3) and q.keys.dtype == torch.float32
    torch.testing.assert_close(q.keys.norm(dim=1), torch.ones(7))
    assert q.ptr.dim() == 0 and q.ptr.dtype == torch.long and int(q.ptr) == 0
    assert set(q.state_dict()) == {"keys", "ptr", "steps", "stamps", "ids"}
    assert q.ids.tolist() == [-1] * 7
    assert not q.keys.requires_grad


def test_wrap_around_exact_rows():
    q = FeatureQueue(5, 2)
    init = q.keys.clone()
    q.enqueue(_rows(1, 3))
    assert _values(q)[:3] == [1, 2, 3] and int(q.ptr) == 3
    torch.testing.assert_close(q.keys[3:], init[3:])
    q.enqueue(_rows(4, 3))  # slots 3, 4, 0
    assert _values(q) == [6, 2, 3, 4, 5] and int(q.ptr) == 1
    q.enqueue(_rows(7, 3))  # slots 1, 2, 3
    assert _values(q) == [6, 7, 8, 9, 5] and int(q.ptr) == 4
    # B > K from ptr 4: 10->4, 11->0, 12->1, 13->2, 14->3, 15->4, 16->0
    q.enqueue(_rows(10, 7))
    assert _values(q) == [16, 12, 13, 14, 15] and int(q.ptr) == 1
    torch.testing.assert_close(q.keys[:, 1], q.keys[:, 0])  # whole rows were written


def test_batch_equal_to_size_keeps_ptr():
    q = FeatureQueue(4, 2)
    q.enqueue(_rows(0, 1))
    q.enqueue(_rows(10, 4))  # slots 1, 2, 3, 0
    assert _values(q) == [13, 10, 11, 12] and int(q.ptr) == 1


@settings(max_examples=30, deadline=None)
@given(size=st.integers(1, 6), batches=st.lists(st.integers(0, 9), max_size=6))
def test_matches_one_by_one_reference(size, batches):
    q = FeatureQueue(size, 2)
    ref = q.keys[:, 0].tolist()
    ptr, counter = 0, 100
    for b in batches:
        q.enqueue(_rows(counter, b))
        for i in range(b):
            ref[ptr] = float(counter + i)
            ptr = (ptr + 1) % size
        counter += b
    assert _values(q) == ref
    assert int(q.ptr) == ptr


def test_enqueue_detaches_and_casts():
    q = FeatureQueue(3, 2)
    x = _rows(1, 2, 2).double().requires_grad_(True)
    q.enqueue(x * 2)
    assert not q.keys.requires_grad and q.keys.dtype == torch.float32
    assert _values(q)[:2] == [2, 4]


def test_state_dict_round_trip_and_to():
    q = FeatureQueue(5, 2)
    q.enqueue(_rows(1, 3))
    r = FeatureQueue(5, 2)
    r.load_state_dict(q.state_dict())
    torch.testing.assert_close(r.keys, q.keys)
    assert int(r.ptr) == 3
    r.to(torch.float64)
    assert r.keys.dtype == torch.float64 and r.ptr.dtype == torch.long
    r.enqueue(_rows(4, 1))
    assert _values(r)[3] == 4 and int(r.ptr) == 4


def test_errors():
    with pytest.raises(SkelconError):
        FeatureQueue(0, 4)
    with pytest.raises(ValueError):
        FeatureQueue(5, 4).enqueue(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="ids must be"):
        FeatureQueue(5, 2).enqueue(torch.zeros(2, 2), torch.zeros(3, dtype=torch.long))


def test_ids_follow_their_keys_and_find_a_clips_older_keys():
    q = FeatureQueue(5, 2)
    q.enqueue(_rows(1, 3), torch.tensor([10, 11, 12]))
    q.enqueue(_rows(4, 3), torch.tensor([13, 10, 14]))  # slots 3, 4, 0
    assert q.ids.tolist() == [14, 11, 12, 13, 10] and _values(q) == [6, 2, 3, 4, 5]
    q.enqueue(_rows(7, 1))  # no ids: unknown clip
    assert q.ids.tolist() == [14, -1, 12, 13, 10]
    own = q.same_clip(torch.tensor([10, 11, 14, -1]))
    assert own.tolist() == [
        [False, False, False, False, True],
        [False] * 5,
        [True, False, False, False, False],
        [False] * 5,
    ]
    q.enqueue(_rows(20, 7), torch.arange(7))  # B > K: the last 5 rows and their ids
    assert sorted(q.ids.tolist()) == [2, 3, 4, 5, 6]
    assert all(int(v) - 20 == int(i) for v, i in zip(q.keys[:, 0], q.ids, strict=True))


def test_state_dict_without_ids_loads_as_unknown_clips():
    q = FeatureQueue(4, 2)
    q.enqueue(_rows(1, 2), torch.tensor([3, 4]))
    old = {k: v for k, v in q.state_dict().items() if k != "ids"}  # an earlier checkpoint
    r = FeatureQueue(4, 2)
    r.load_state_dict(old)
    assert r.ids.tolist() == [-1] * 4 and _values(r)[:2] == [1, 2]


def test_mean_age_counts_steps_since_each_key_was_written():
    q = FeatureQueue(6, 2)
    assert float(q.mean_age()) == 0.0 and float(q.filled()) == 0.0
    q.enqueue(_rows(0, 2))  # step 0 writes slots 0, 1
    assert float(q.mean_age()) == 1.0 and float(q.filled()) == pytest.approx(2 / 6)
    q.enqueue(_rows(2, 2))  # step 1 writes slots 2, 3: ages 2, 2, 1, 1
    assert float(q.mean_age()) == 1.5
    q.enqueue(_rows(4, 2))
    q.enqueue(_rows(6, 2))  # wraps: slots 0, 1 rewritten at step 3; ages 1 1 3 3 2 2
    assert float(q.mean_age()) == pytest.approx(2.0) and float(q.filled()) == 1.0
    # a full queue of K keys written B per step has mean age (K / B + 1) / 2
    assert float(q.mean_age()) == pytest.approx((6 / 2 + 1) / 2)
