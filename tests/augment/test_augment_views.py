"""ViewMaker: temporal crop-resize then the configured spatial augmentation."""

from __future__ import annotations

import pytest
import torch

from skelcon.augment import ViewMaker, center_crop_resize, temporal_crop_resize
from skelcon.config import AugmentConfig
from skelcon.errors import SkelconError


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def batch(n: int = 8, t: int = 40, v: int = 25, m: int = 2):
    x = torch.randn(n, 3, t, v, m, dtype=torch.float64)
    nf = torch.randint(1, t + 1, (n,), generator=gen(99))
    return x, nf


def classify(before: torch.Tensor, after: torch.Tensor, j: int) -> str:
    """'shear' when all joints moved by one unit-diagonal matrix, 'jitter' when exactly j moved."""
    changed = (before != after).any(dim=0).any(dim=0).any(dim=-1)  # (V,)
    if int(changed.sum()) == j and j < before.shape[2]:
        return "jitter"
    p, q = before.reshape(3, -1).T, after.reshape(3, -1).T
    st = torch.linalg.lstsq(p, q).solution
    assert (p @ st - q).abs().max() < 1e-9
    torch.testing.assert_close(torch.diagonal(st), torch.ones(3, dtype=st.dtype))
    return "shear"


def test_from_config_and_defaults():
    cfg = AugmentConfig(
        out_len=16, l_min=0.5, min_len=4, spatial="shear", jitter_joints=5, jitter_mode="reference"
    )
    vm = ViewMaker.from_config(cfg)
    assert (vm.out_len, vm.l_min, vm.l_max, vm.min_len) == (16, 0.5, 1.0, 4)
    assert (vm.spatial, vm.jitter_joints, vm.jitter_mode, vm.temporal) == (
        "shear",
        5,
        "reference",
        True,
    )
    assert ViewMaker.from_config(cfg, temporal=False).temporal is False
    off = ViewMaker.from_config(AugmentConfig(temporal=False, spatial="none", shear_magnitude=0.5))
    assert (off.temporal, off.spatial, off.shear_magnitude) == (False, "none", 0.5)
    d = ViewMaker.from_config(AugmentConfig())
    assert (d.out_len, d.l_min, d.spatial, d.jitter_joints, d.jitter_mode) == (
        64,
        0.1,
        "random",
        15,
        "paper",
    )


def test_none_is_only_the_temporal_crop():
    x, nf = batch()
    vm = ViewMaker(out_len=16, spatial="none")
    out = vm(x, nf, generator=gen(1))
    assert out.shape == (8, 3, 16, 25, 2)
    assert torch.equal(out, temporal_crop_resize(x, nf, out_len=16, generator=gen(1)))


def test_no_augmentation_at_all_is_the_centre_crop():
    x, nf = batch()
    vm = ViewMaker(out_len=16, spatial="none", temporal=False)
    out = vm(x, nf, generator=gen(1))
    assert torch.equal(out, center_crop_resize(x, nf, out_len=16, ratio=0.95))
    assert torch.equal(out, vm(x, nf, generator=gen(2)))


@pytest.mark.parametrize("spatial", ["shear", "jitter", "random"])
def test_spatial_modes(spatial):
    n, j = 48, 7
    x, nf = batch(n=n, v=20, m=1)
    vm = ViewMaker(out_len=8, spatial=spatial, jitter_joints=j)
    out = vm(x, nf, generator=gen(3))
    assert out.shape == (n, 3, 8, 20, 1)
    # the temporal draws come first, so the same seed reproduces the cropped input
    cropped = temporal_crop_resize(x, nf, out_len=8, generator=gen(3))
    kinds = [classify(cropped[i], out[i], j) for i in range(n)]
    if spatial == "random":
        assert 10 < kinds.count("shear") < 38
    else:
        assert set(kinds) == {spatial}


def test_views_are_deterministic_and_independent():
    x, nf = batch()
    vm = ViewMaker(out_len=16)
    g = gen(5)
    q, k = vm(x, nf, generator=g), vm(x, nf, generator=g)
    assert not torch.equal(q, k)
    assert torch.equal(q, vm(x, nf, generator=gen(5)))


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(spatial="flip"), "random, shear, jitter, none"),
        (dict(jitter_mode="x"), "paper, reference"),
        (dict(l_min=0.0), "l_min"),
        (dict(min_len=0), "min_len"),
        (dict(out_len=0), "out_len"),
        (dict(jitter_joints=-1), "jitter_joints"),
    ],
)
def test_invalid_choices_raise(kwargs, match):
    with pytest.raises(SkelconError, match=match):
        ViewMaker(**kwargs)


def test_too_many_jitter_joints_for_the_layout():
    x, nf = batch(v=10, m=1)
    with pytest.raises(SkelconError, match="V=10"):
        ViewMaker(out_len=4, spatial="jitter", jitter_joints=15)(x, nf)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_shapes_and_determinism():
    x, nf = batch()
    x, nf = x.to("cuda", torch.float32), nf.to("cuda")
    vm = ViewMaker(out_len=16)
    a = vm(x, nf, generator=torch.Generator(device="cuda").manual_seed(0))
    b = vm(x, nf, generator=torch.Generator(device="cuda").manual_seed(0))
    assert a.device.type == "cuda" and a.shape == (8, 3, 16, 25, 2)
    assert torch.equal(a, b)


def test_temporal_2d_crops_2d_keypoints_only():
    from skelcon.augment import ViewMaker
    from skelcon.config import AugmentConfig

    cfg = AugmentConfig(temporal=False, temporal_2d=True, l_min=0.5)
    assert ViewMaker.from_config(cfg, coords=2).temporal  # x, y (or x, y, score)
    assert not ViewMaker.from_config(cfg, coords=3).temporal  # 3D joints: the centre crop
    assert not ViewMaker.from_config(AugmentConfig(temporal=False), coords=2).temporal
    assert ViewMaker.from_config(AugmentConfig(temporal=True), coords=3).temporal
