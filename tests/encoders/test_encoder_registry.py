"""Encoder registry, presets, build_encoder errors, projection head and classifier."""

from __future__ import annotations

import pytest
import torch

from skelcon.data.layouts import KINECT20, NTU25
from skelcon.encoders import (
    ENCODERS,
    PRESET_NAMES,
    PRESETS,
    ImgEncoder,
    LinearClassifier,
    ProjectionHead,
    SeqEncoder,
    StgEncoder,
    build_encoder,
    encoder_kwargs,
)
from skelcon.errors import SkelconError


def test_registry_names():
    assert ENCODERS == {"seq": SeqEncoder, "img": ImgEncoder, "stg": StgEncoder}
    for name in ENCODERS:
        assert set(PRESETS[name]) == set(PRESET_NAMES) == {"paper", "small"}


def test_encoder_kwargs_returns_a_copy():
    kw = encoder_kwargs("stg", "paper")
    assert kw["channels"] == [64, 64, 64, 64, 128, 128, 128, 256, 256, 256]
    assert kw["strides"] == [1, 1, 1, 1, 2, 1, 1, 2, 1, 1]
    kw["channels"].append(1)
    assert len(encoder_kwargs("stg", "paper")["channels"]) == 10
    assert encoder_kwargs("seq", "paper") == {
        "hidden_size": 1024,
        "num_layers": 3,
        "readout": "last",
        "init": "xavier",
        "recurrence": "bidirectional",
    }
    assert encoder_kwargs("img", "paper")["out_channels"] == 64


@pytest.mark.parametrize(
    ("name", "preset", "dim"),
    [
        ("seq", "paper", 2048),
        ("seq", "small", 256),
        ("img", "paper", 4096),
        ("img", "small", 512),
        ("stg", "paper", 256),
        ("stg", "small", 128),
    ],
)
def test_feature_dims(name, preset, dim):
    assert build_encoder(name, preset, layout=NTU25).feature_dim == dim


@pytest.mark.parametrize("name", ["seq", "img", "stg"])
def test_small_presets_on_kinect20_one_person(name):
    torch.manual_seed(0)
    enc = build_encoder(name, "small", num_joints=20, num_persons=1, layout=KINECT20).eval()
    with torch.no_grad():
        y = enc(torch.randn(2, 3, 64, 20, 1))
    assert y.shape == (2, enc.feature_dim)
    assert torch.isfinite(y).all()


@pytest.mark.parametrize("name", ["seq", "img", "stg"])
@pytest.mark.parametrize("c", [2, 3])
def test_2d_keypoints_with_or_without_a_score_channel(name, c):
    from skelcon.data.layouts import get_layout

    torch.manual_seed(0)
    coco = get_layout("coco17")
    enc = build_encoder(
        name, "small", in_channels=c, num_frames=32, num_joints=17, num_persons=2, layout=coco
    )
    x = torch.randn(3, c, 32, 17, 2, requires_grad=True)
    y = enc(x)
    assert y.shape == (3, enc.feature_dim) and torch.isfinite(y).all()
    y.sum().backward()
    assert x.grad[:, c - 1].abs().sum() > 0  # the last channel (y or the score) is used
    with pytest.raises(ValueError, match=rf"expects x of shape \(N, {c}, "):
        enc(torch.randn(3, 5 - c, 32, 17, 2))


def test_unknown_names():
    with pytest.raises(SkelconError, match=r"unknown encoder 'gcn' \(valid: seq, img, stg\)"):
        build_encoder("gcn", "paper")
    with pytest.raises(
        SkelconError, match=r"unknown encoder preset 'huge' \(valid: paper, small\)"
    ):
        build_encoder("seq", "huge")
    with pytest.raises(SkelconError, match="unknown encoder 'x'"):
        encoder_kwargs("x", "small")
    with pytest.raises(SkelconError, match="unknown img encoder option 'hidden_size'"):
        build_encoder("img", "small", hidden_size=3)


def test_bad_sizes():
    with pytest.raises(SkelconError, match="num_joints must be a positive integer, got 0"):
        build_encoder("seq", "small", num_joints=0)
    with pytest.raises(SkelconError, match="channel width"):
        build_encoder("stg", "small", layout=NTU25, channels=[8, 0], strides=[1, 1])


def test_overrides_change_the_architecture():
    enc = build_encoder("stg", "small", layout=NTU25, channels=[8, 16], strides=[1, 2])
    assert enc.feature_dim == 16 and len(enc.blocks) == 2
    assert build_encoder("seq", "small", hidden_size=32).feature_dim == 64


def test_projection_head():
    torch.manual_seed(1)
    head = ProjectionHead(48)
    assert [type(m) for m in head] == [torch.nn.Linear, torch.nn.ReLU, torch.nn.Linear]
    assert (head[0].in_features, head[0].out_features) == (48, 48)
    assert (head[2].in_features, head[2].out_features) == (48, 128)
    assert sum(p.numel() for p in head.parameters()) == 48 * 48 + 48 + 48 * 128 + 128
    x = torch.randn(5, 48)
    expected = torch.relu(x @ head[0].weight.T + head[0].bias) @ head[2].weight.T + head[2].bias
    torch.testing.assert_close(head(x), expected)
    assert ProjectionHead(16, 8)(torch.randn(3, 16)).shape == (3, 8)


def test_linear_classifier():
    clf = LinearClassifier(256, 60)
    assert isinstance(clf, torch.nn.Linear)
    assert list(clf.children()) == []
    assert clf.weight.shape == (60, 256) and clf.num_classes == 60
    assert clf(torch.randn(4, 256)).shape == (4, 60)
    with pytest.raises(SkelconError, match="num_classes"):
        LinearClassifier(256, 0)


def test_encoders_are_deepcopyable_and_state_dicts_roundtrip():
    import copy

    for name in ENCODERS:
        enc = build_encoder(name, "small", layout=NTU25)
        twin = copy.deepcopy(enc)
        twin.load_state_dict(enc.state_dict())
        assert twin.feature_dim == enc.feature_dim
