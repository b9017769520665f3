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
