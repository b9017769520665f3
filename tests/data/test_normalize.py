"""The standard normalisation (pad, centre, rotate) against hand computations and a
plain loop-by-loop transcription of the steps."""

from __future__ import annotations

import math

import numpy as np
import pytest

from skelcon.data.layouts import KINECT20, NTU25
from skelcon.data.normalize import (
    align,
    body_energy,
    center,
    normalize,
    normalize_batch,
    pad_null_frames,
    pad_null_frames_batch,
    rotation_to,
    select_bodies,
)

# ----------------------------------------------------------------------------- a loop reference


def _loop_rotation(v, target):
    v = np.asarray(v, dtype=np.float64)
    if np.abs(v).sum() < 1e-6:
        return np.eye(3)
    axis = np.cross(v, target)
    theta = math.acos(max(-1.0, min(1.0, float(np.dot(v / np.linalg.norm(v), target)))))
    if np.abs(axis).sum() < 1e-6 or abs(theta) < 1e-6:
        return np.eye(3)
    k = axis / np.linalg.norm(axis)
    # Rodrigues: rotate by +theta about k
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + math.sin(theta) * kx + (1 - math.cos(theta)) * kx @ kx


def _loop_normalize(x: np.ndarray) -> np.ndarray:
    """Padding, centring and rotation of one sample (3, T, V, M), frame by frame."""
    x = x.astype(np.float64).copy()
    c, t, v, m = x.shape
    for p in range(m):
        frames = [x[:, f, :, p].copy() for f in range(t)]
        nonempty = [fr.sum() != 0 for fr in frames]
        if not any(nonempty):
            continue
        if not nonempty[0]:
            kept = [fr for fr, ok in zip(frames, nonempty, strict=True) if ok]
            frames = kept + [np.zeros_like(frames[0])] * (t - len(kept))
            nonempty = [True] * len(kept) + [False] * (t - len(kept))
        last = max(i for i in range(t) if nonempty[i])
        length = last + 1
        for f in range(length, t):
            frames[f] = frames[f % length].copy()
        for f in range(t):
            x[:, f, :, p] = frames[f]
    ref = x[:, :, 1, 0].copy()  # (3, T) joint 1 of person 1
    for p in range(m):
        for f in range(t):
            for j in range(v):
                if x[:, f, j, p].sum() != 0:
                    x[:, f, j, p] -= ref[:, f]
    for a, b, target in ((0, 1, [0, 0, 1.0]), (4, 8, [1.0, 0, 0])):
        r = _loop_rotation(x[:, 0, b, 0] - x[:, 0, a, 0], np.array(target))
        for p in range(m):
            for f in range(t):
                for j in range(v):
                    x[:, f, j, p] = r @ x[:, f, j, p]
    return x


def _random_sample(rng, t=12, m=2, gaps=True) -> np.ndarray:
    x = rng.normal(size=(3, t, 25, m)).astype(np.float32)
    x[2] += 3.0
    if gaps:
        for p in range(m):
            empty = rng.random(t) < 0.3
            x[:, empty, :, p] = 0
            x[:, rng.integers(t // 2, t + 1) :, :, p] = 0
    return x


# ----------------------------------------------------------------------------- padding


def test_pad_compacts_when_first_frame_empty_and_repeats_cyclically():
    # person 0: frames [0, A, 0, B, 0, 0, 0] -> [A, B, A, B, A, B, A]
    # person 1: frames [A, 0, B, 0, 0, 0, 0] -> gap kept, then cycle of the 3-frame prefix
    a = np.full((3, 25), 1.0, dtype=np.float32)
    b = np.full((3, 25), 2.0, dtype=np.float32)
    x = np.zeros((3, 7, 25, 2), dtype=np.float32)
    x[:, 1, :, 0], x[:, 3, :, 0] = a, b
    x[:, 0, :, 1], x[:, 2, :, 1] = a, b
    out = pad_null_frames(x)
    assert out[0, :, 0, 0].tolist() == [1, 2, 1, 2, 1, 2, 1]
    assert out[0, :, 0, 1].tolist() == [1, 0, 2, 1, 0, 2, 1]


def test_pad_leaves_empty_person_and_full_person_alone():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 9, 25, 2)).astype(np.float32)
    x[..., 1] = 0
    np.testing.assert_array_equal(pad_null_frames(x), x)


def test_pad_batch_matches_loop_reference():
    rng = np.random.default_rng(1)
    xs = np.stack([_random_sample(rng) for _ in range(20)])
    out = pad_null_frames_batch(xs)
    for i in range(len(xs)):
        # the loop reference pads first; compare the padding part alone
        ref = xs[i].astype(np.float64).copy()
        for p in range(2):
            fr = [ref[:, f, :, p].copy() for f in range(ref.shape[1])]
            ne = [f.sum() != 0 for f in fr]
            if not any(ne):
                continue
            if not ne[0]:
                kept = [f for f, ok in zip(fr, ne, strict=True) if ok]
                fr = kept + [np.zeros_like(fr[0])] * (len(fr) - len(kept))
                ne = [True] * len(kept) + [False] * (len(fr) - len(kept))
            n = max(k for k in range(len(fr)) if ne[k]) + 1
            for f in range(len(fr)):
                ref[:, f, :, p] = fr[f % n] if f >= n else fr[f]
        np.testing.assert_array_equal(out[i], ref.astype(np.float32))


# ----------------------------------------------------------------------------- centring


def test_center_puts_joint_1_of_person_1_at_origin_and_keeps_zeros():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 5, 25, 2)).astype(np.float32)
    x[:, :, 7, 1] = 0  # a missing joint of person 2
    out = center(x, NTU25)
    np.testing.assert_array_equal(out[:, :, 1, 0], 0)
    np.testing.assert_array_equal(out[:, :, 7, 1], 0)
    np.testing.assert_allclose(out[:, :, 3, 1], x[:, :, 3, 1] - x[:, :, 1, 0], atol=1e-6)


# ----------------------------------------------------------------------------- rotation


@pytest.mark.parametrize("seed", range(5))
def test_rotation_to_is_a_proper_rotation_onto_the_target(seed):
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(8, 3))
    for target in (np.array([0, 0, 1.0]), np.array([1.0, 0, 0])):
        r = rotation_to(v, target)
        np.testing.assert_allclose(
            r @ r.transpose(0, 2, 1), np.broadcast_to(np.eye(3), r.shape), atol=1e-12
        )
        np.testing.assert_allclose(np.linalg.det(r), 1.0, atol=1e-12)
        rv = np.einsum("nij,nj->ni", r, v)
        np.testing.assert_allclose(rv, np.linalg.norm(v, axis=1)[:, None] * target, atol=1e-9)


def test_rotation_to_identity_cases_follow_the_reference():
    eye = np.eye(3)
    r = rotation_to(
        np.array([[0, 0, 0.0], [0, 0, 2.0], [0, 0, -1.0], [1e-8, 0, 1.0]]), np.array([0, 0, 1.0])
    )
    # zero vector, already aligned, antiparallel (axis 0: left alone), tiny angle
    for k in range(4):
        np.testing.assert_array_equal(r[k], eye)


def test_align_spine_then_shoulders():
    rng = np.random.default_rng(3)
    x = center(pad_null_frames(_random_sample(rng, gaps=False)), NTU25)
    out = align(x, NTU25)
    sh = out[:, 0, 8, 0] - out[:, 0, 4, 0]
    assert sh[0] > 0
    np.testing.assert_allclose(sh[1:], 0, atol=1e-5)
    # rigid: pairwise distances within a frame are preserved
    d0 = np.linalg.norm(x[:, 3, 5, 0] - x[:, 3, 20, 1])
    d1 = np.linalg.norm(out[:, 3, 5, 0] - out[:, 3, 20, 1])
    assert d1 == pytest.approx(d0, rel=1e-5)
    # the quirk: after the second rotation the spine is in general no longer on z
    sp = out[:, 0, 1, 0] - out[:, 0, 0, 0]
    assert np.hypot(sp[0], sp[1]) > 1e-3


# ----------------------------------------------------------------------------- whole normalisation


def test_normalize_matches_loop_transcription_of_the_spec():
    rng = np.random.default_rng(4)
    for _ in range(6):
        x = _random_sample(rng, t=10)
        x[:, 0, :, 0] += 0.5  # person 1 present in frame 0 (as after body selection)
        out = normalize(x, 16, NTU25)
        ref = _loop_normalize(np.concatenate([x, np.zeros((3, 6, 25, 2), np.float32)], axis=1))
        assert out.shape == (3, 16, 25, 2) and out.dtype == np.float32
        np.testing.assert_allclose(out, ref, atol=2e-5)


def test_normalize_truncates_and_batch_agrees():
    rng = np.random.default_rng(5)
    x = _random_sample(rng, t=20, gaps=False)
    out = normalize(x, 8, NTU25)
    assert out.shape == (3, 8, 25, 2)
    np.testing.assert_allclose(out, normalize_batch(x[None, :, :8], NTU25)[0], atol=0)


def test_normalize_other_layout_and_all_zero_sample():
    z = np.zeros((3, 5, 20, 1), dtype=np.float32)
    np.testing.assert_array_equal(normalize(z, 5, KINECT20), z)
    rng = np.random.default_rng(6)
    x = rng.normal(size=(3, 5, 20, 1)).astype(np.float32)
    out = normalize(x, 5, KINECT20)
    np.testing.assert_allclose(out[:, :, KINECT20.center, 0], 0, atol=1e-6)


# ----------------------------------------------------------------------------- body selection


def test_body_energy_is_sum_of_channel_stds_over_nonempty_frames():
    rng = np.random.default_rng(7)
    b = rng.normal(size=(3, 6, 25, 3))
    b[:, [1, 4], :, 0] = 0
    b[..., 2] = 0
    e = body_energy(b)
    valid = [0, 2, 3, 5]
    want0 = sum(b[c][valid, :, 0].std() for c in range(3))
    want1 = sum(b[c][:, :, 1].std() for c in range(3))
    np.testing.assert_allclose(e, [want0, want1, 0.0], rtol=1e-12)


def test_select_bodies_keeps_the_two_most_energetic_in_order():
    rng = np.random.default_rng(8)
    b = np.zeros((3, 6, 25, 4))
    for k, scale in enumerate([0.1, 3.0, 0.0, 1.0]):
        b[..., k] = rng.normal(size=(3, 6, 25)) * scale
    out = select_bodies(b, 2)
    np.testing.assert_array_equal(out[..., 0], b[..., 1])
    np.testing.assert_array_equal(out[..., 1], b[..., 3])
    # one body only: the second slot is zero
    one = select_bodies(b[..., 1:2], 2)
    np.testing.assert_array_equal(one[..., 0], b[..., 1])
    assert not one[..., 1].any()


def test_a_joint_missed_in_frame_0_does_not_set_the_rotation():
    """A pose estimator missed the spine base in frame 0 (stored 0): the clip is aligned
    by the first frame that has the spine and shoulder joints, exactly as the same clip
    without that frame; frame 0's missing joint must not make a spine vector."""
    from skelcon.data.normalize import (
        align_batch,
        center_batch,
        normalize_batch,
        reference_frames,
    )

    rng = np.random.default_rng(4)
    x = _random_sample(rng, gaps=False)[:, :12]  # (3, 12, 25, 2), every joint present
    x[:, 0] = x[:, 1]  # frame 0 repeats frame 1 ...
    b0 = NTU25.spine[0]
    damaged = x.copy()
    damaged[:, 0, b0, 0] = 0  # ... but its spine base was not detected
    assert list(reference_frames(damaged[None], NTU25)) == [1]
    assert list(reference_frames(x[None], NTU25)) == [0]
    got = normalize_batch(damaged[None], NTU25)[0]
    ref = normalize_batch(x[None], NTU25)[0]
    np.testing.assert_allclose(got[:, 1:], ref[:, 1:], atol=1e-5)
    # rotating by frame 0 (the reference's rule) would turn the whole clip by the
    # vector from the origin to the spine top
    by_frame0 = align_batch(center_batch(damaged[None], NTU25), NTU25)[0]
    assert np.abs(by_frame0[:, 1:] - ref[:, 1:]).max() > 0.1


def test_centring_twice_equals_once():
    """An already-centred 3D clip (its centre joint at exactly the origin in every
    frame) is not moved again: its centre is not taken for a missing joint."""
    from skelcon.data.layouts import get_layout
    from skelcon.data.normalize import center_batch, normalize_batch

    layout = get_layout("ntu25")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 3, 20, 25, 2)).astype(np.float32) + [
        [[[[0.0]]]],
        [[[[1.0]]]],
        [[[[3.0]]]],
    ]
    x[:, :, :, :, 1] = 0  # one person
    once = center_batch(x, layout)
    np.testing.assert_allclose(center_batch(once, layout), once, atol=1e-6)
    once = normalize_batch(x, layout)  # the whole preparation: centring leaves it in place
    np.testing.assert_allclose(center_batch(once, layout), once, atol=1e-6)
    # a raw clip whose centre joint is missing in one frame is still centred on the mean there
    raw = x.copy()
    raw[0, :, 5, layout.center, 0] = 0
    c = center_batch(raw, layout)
    seen = raw[0, :, 5, :, 0].sum(axis=0) != 0
    np.testing.assert_allclose(c[0, :, 5, seen, 0].mean(axis=0), 0, atol=1e-5)
