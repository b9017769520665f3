"""The channel names of a dataset: defaults by C, validation, coordinate count."""

from __future__ import annotations

import pytest

from skelcon.data.channels import channels_of, check_channels, coord_count
from skelcon.errors import SkelconError


def test_defaults_and_stored_names():
    assert channels_of({"shape": [4, 3, 10, 25, 2]}) == ["x", "y", "z"]
    assert channels_of({"shape": [4, 2, 10, 17, 1]}) == ["x", "y"]
    meta = {"shape": [4, 3, 10, 17, 1], "channels": ["x", "y", "score"]}
    assert channels_of(meta) == ["x", "y", "score"] and coord_count(channels_of(meta)) == 2
    assert channels_of({"in_channels": 3, "channels": ["x", "y", "score"]}) == ["x", "y", "score"]
    assert coord_count(["x", "y", "z", "score"]) == 3


def test_invalid_channel_lists_are_one_line_errors():
    with pytest.raises(
        SkelconError, match=r"\['x', 'score'\] is not a channel list \(valid: x,y,z; x,y;"
    ):
        check_channels(["x", "score"])
    with pytest.raises(SkelconError, match=r"names 3 channels but the data have C=2"):
        check_channels(["x", "y", "score"], 2)
    with pytest.raises(SkelconError, match="C=5 channels must name them"):
        channels_of({"shape": [1, 5, 2, 3, 1]})


def test_resolve_channels_defaults_by_layout_and_given():
    from skelcon.data.channels import check_score_range, fixed_channels, resolve_channels
    from skelcon.data.layouts import LAYOUTS, layout_from_dict

    coco, ntu = LAYOUTS["coco17"], LAYOUTS["ntu25"]
    ch, note = resolve_channels(None, 3, coco, "f")
    assert ch == ["x", "y", "score"] and "2D layout coco17" in note
    assert resolve_channels(None, 3, ntu, "f") == (["x", "y", "z"], "")
    assert resolve_channels(None, 2, coco, "f", extra_score=True) == (["x", "y", "score"], "")
    assert resolve_channels(None, 4, coco, "f") == (["x", "y", "z", "score"], "")
    assert resolve_channels(["x", "y", "z"], 3, coco, "f") == (["x", "y", "z"], "")  # as given
    assert resolve_channels(["x", "y"], 2, coco, "f", extra_score=True) == (["x", "y"], "")
    own = layout_from_dict({**coco.to_dict(), "name": "mine"})
    ch, note = resolve_channels(None, 3, own, "f")
    assert ch == ["x", "y", "z"] and "--channels x,y,score" in note  # said, not silent
    with pytest.raises(SkelconError, match=r"^channels x,y names 2 channels but f has C=3$"):
        resolve_channels(["x", "y"], 3, coco, "f")
    with pytest.raises(SkelconError, match=r"f has C=7 channels per joint"):
        resolve_channels(None, 7, coco, "f")
    with pytest.raises(SkelconError, match=r"holds values in \[-3, 900\].*--channels x,y,z"):
        check_score_range(-3, 900, ["x", "y", "score"], True, "f")  # an assumed score: refused
    assert check_score_range(-3, 900, ["x", "y", "score"], False, "f").startswith("warning: f:")
    assert check_score_range(0, 1, ["x", "y", "score"], True, "f") == ""
    with pytest.raises(SkelconError, match=r"^channels x,y,score: PKU holds x,y,z; valid"):
        fixed_channels(["x", "y", "score"], ["x", "y", "z"], "PKU")
