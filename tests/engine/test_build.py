"""DataSpec: the typed data spec a model is built for, saved as the same plain dict."""

from __future__ import annotations

import inspect

import pytest

from skelcon.data.layouts import get_layout
from skelcon.engine.build import DataSpec, build_encoders, data_spec

META = {"dataset": "tiny", "layout": "ntu25", "shape": [48, 3, 24, 25, 2]}


def test_to_dict_is_the_checkpoint_dict_in_its_order():
    spec = DataSpec.from_meta(META, 16)
    assert list(spec.to_dict().items()) == [
        ("dataset", "tiny"),
        ("layout", "ntu25"),
        ("in_channels", 3),
        ("num_joints", 25),
        ("num_persons", 2),
        ("num_frames", 16),
    ]
    assert data_spec(META, 16) == spec.to_dict()
    full = {
        **META,
        "shape": [9, 3, 24, 17, 1],
        "layout": "coco17",
        "normalization": "2D: x",
        "channels": ["x", "y", "score"],
    }
    d = DataSpec.from_meta(full, 32, "xavier").to_dict()
    assert list(d)[6:] == ["channels", "normalization", "seq_init"]
    assert d["channels"] == ["x", "y", "score"] and d["seq_init"] == "xavier"


def test_from_dict_reads_todays_and_older_checkpoints():
    rig = get_layout("ntu25").to_dict()
    today = {
        **DataSpec.from_meta(META, 16).to_dict(),
        "layout_def": rig,
        "channels": ["x", "y", "z", "score"],
        "normalization": "n",
        "seq_init": "default",
    }
    assert DataSpec.from_dict(today).to_dict() == today
    old = {
        "layout": "ntu25",
        "in_channels": 3,
        "num_joints": 25,
        "num_persons": 2,
        "num_frames": 64,
    }
    spec = DataSpec.from_dict(old)
    assert spec.dataset is None and spec.channels is None and spec.seq_init is None
    assert spec.to_dict() == {"dataset": None, **old}
    assert DataSpec.of(spec) is spec and DataSpec.of(old) == spec
    with pytest.raises(AttributeError):
        spec.num_frames = 3  # type: ignore[misc]


def test_encoders_build_alike_from_a_spec_or_its_dict():
    spec = DataSpec.from_meta(META, 16, "xavier")
    a = build_encoders(["seq"], "small", spec)["seq"]
    b = build_encoders(["seq"], "small", spec.to_dict())["seq"]
    assert type(a) is type(b) and [p.shape for p in a.parameters()] == [
        p.shape for p in b.parameters()
    ]


def test_pretrain_takes_no_test_hook():
    from skelcon.engine.pretrain import pretrain

    assert "stop_after" not in inspect.signature(pretrain).parameters
