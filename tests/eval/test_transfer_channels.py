"""``eval transfer`` compares what the channels mean, not only C, V, M (case
s3/13-transfer-between-layouts): an x, y, score checkpoint on x, y, z data is refused
in one line, like every other mismatch."""

from __future__ import annotations

import pytest

from skelcon.errors import SkelconError
from skelcon.eval.finetune import transfer_keys


def _spec(layout, c, v, m, channels=None):
    spec = {"layout": layout, "in_channels": c, "num_joints": v, "num_persons": m}
    return {**spec, "channels": channels} if channels else spec


COCO_2D = _spec("coco17", 3, 17, 2, ["x", "y", "score"])  # the case's checkpoint
NTU_3D = _spec("ntu25", 3, 25, 2)  # C=3 naming nothing: x, y, z


@pytest.mark.parametrize("rep", ["seq", "img", "stg"])
def test_score_checkpoint_on_xyz_data_refused(rep):
    with pytest.raises(SkelconError) as e:
        transfer_keys(rep, COCO_2D, NTU_3D if rep == "stg" else {**NTU_3D, **_same(COCO_2D)})
    msg = str(e.value)
    assert "\n" not in msg and f"cannot transfer the {rep} encoder" in msg
    assert "input channels mean other things (x, y, score vs x, y, z" in msg


def _same(spec):
    """The sizes and layout of ``spec`` (so only the channel names differ)."""
    return {k: spec[k] for k in ("layout", "in_channels", "num_joints", "num_persons")}


def test_same_meaning_still_transfers():
    # stg across layouts with the same channel names: graph parts re-initialised
    assert transfer_keys("stg", COCO_2D, _spec("openpose18", 3, 18, 1, ["x", "y", "score"])) == [
        "data_bn.",
        "adjacency",
        ".gcn.offset",
    ]
    # explicit x, y, z and the C=3 default are the same meaning
    assert transfer_keys("stg", _spec("ntu25", 3, 25, 2, ["x", "y", "z"]), NTU_3D) == []
    xyzs = ["x", "y", "z", "score"]
    assert (
        transfer_keys("seq", _spec("ntu25", 4, 25, 2, xyzs), _spec("ntu25", 4, 25, 2, xyzs)) == []
    )
