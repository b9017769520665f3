"""The 2D normalisation: centre joint per frame, body-length scale, confidence
threshold, image size; missing joints stay zero and the score channel is kept."""

from __future__ import annotations

import numpy as np
import pytest

from skelcon.data.layouts import get_layout
from skelcon.data.normalize2d import normalize_2d, normalize_2d_batch

COCO = get_layout("coco17")


def clip(t=6, m=1, seed=0, score=True):
    rng = np.random.default_rng(seed)
    x = np.zeros((3 if score else 2, t, 17, m), dtype=np.float32)
    x[:2] = rng.uniform(100, 900, size=(2, t, 17, m))
    if score:
        x[2] = rng.uniform(0.2, 1.0, size=(t, 17, m))
    return x


def test_centred_on_the_centre_joint_and_scaled_by_the_up_length():
    x = clip(score=False)
    base, top = COCO.spine
    length = np.linalg.norm(x[:2, :, top, 0] - x[:2, :, base, 0], axis=0)
    out = normalize_2d(x, COCO, ("x", "y"))
    assert np.allclose(out[:, :, COCO.center, 0], 0, atol=1e-6)
    want = (x[:, :, 5, 0] - x[:, :, COCO.center, 0]) / np.median(length)
    assert np.allclose(out[:, :, 5, 0], want, atol=1e-5)
    # translation and zoom of the image leave the result unchanged
    moved = x * 3.0 + np.array([50.0, -20.0], dtype=np.float32)[:, None, None, None]
    assert np.allclose(normalize_2d(moved, COCO, ("x", "y")), out, atol=1e-4)


def test_score_kept_threshold_zeroes_joints_and_missing_stay_zero():
    x = clip()
    x[:, 2, 7, 0] = 0  # an undetected joint
    x[2, 3, 9, 0] = 0.1  # low confidence
    out = normalize_2d(x, COCO, ("x", "y", "score"), score_threshold=0.15)
    assert np.array_equal(out[:, 2, 7, 0], np.zeros(3))
    assert np.array_equal(out[:, 3, 9, 0], np.zeros(3))
    keep = x[2] >= 0.15
    assert np.array_equal(out[2][keep], x[2][keep])  # scores as they were
    assert np.isfinite(out).all()


def test_missing_centre_joint_falls_back_to_the_mean_and_padding_stays_zero():
    x = np.zeros((2, 10, 17, 2), dtype=np.float32)
    x[:, :6, :, 0] = clip(t=6, score=False)[:, :, :, 0]
    x[:, 1, COCO.center, 0] = 0  # centre missing in frame 1
    out = normalize_2d(x, COCO, ("x", "y"))
    assert not out[:, 6:].any() and not out[..., 1].any()
    valid = np.any(x[:, 1, :, 0] != 0, axis=0)
    assert np.allclose(out[:, 1, valid, 0].mean(axis=1), 0, atol=1e-5)


def test_image_size_without_scaling_maps_to_unit_range():
    x = clip(score=False)
    out = normalize_2d(x, COCO, ("x", "y"), image_size=(1000, 1000), center=False, scale=False)
    assert np.allclose(out, (x - 500) / 500, atol=1e-6)
    with pytest.raises(ValueError, match="image_size"):
        normalize_2d(x, COCO, ("x", "y"), image_size=(0, 10))


def test_batch_equals_per_sample_and_degenerate_input_is_finite():
    xs = np.stack([clip(seed=s) for s in range(3)])
    out = normalize_2d_batch(xs, COCO, ("x", "y", "score"))
    for i in range(3):
        assert np.allclose(out[i], normalize_2d(xs[i], COCO, ("x", "y", "score")))
    one_point = np.zeros((2, 4, 17, 1), dtype=np.float32)
    one_point[:, :, 3, 0] = 7.0
    assert np.isfinite(normalize_2d(one_point, COCO, ("x", "y"))).all()
