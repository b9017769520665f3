"""The layout files of the extraction backends: valid, a tree, read by `prepare folder`."""

from __future__ import annotations

import pytest

from skelcon.data.layouts import get_layout, load_layout, read_layout_file
from skelcon.errors import SkelconError
from skelcon.extract.backend import BACKENDS, backend_layout, layout_file

MEDIAPIPE_JOINTS = 33  # MediaPipe Pose's landmark count


def test_mediapipe33_is_a_valid_layout_file():
    path = layout_file("mediapipe33")
    assert path.is_file() and path.suffix == ".yaml"
    lay = read_layout_file(path)
    assert lay.name == "mediapipe33" and lay.num_joints == MEDIAPIPE_JOINTS
    # the same path is what `prepare folder --layout FILE` reads
    assert load_layout(str(path)) == lay
    assert backend_layout("mediapipe") == lay


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_bones_make_one_tree_rooted_at_the_centre(backend):
    """Every joint but the centre is the child of exactly one bone, and following the
    parents from any joint reaches the centre: the bone stream and the graph encoder
    see one connected skeleton."""
    lay = backend_layout(backend)
    parent = {}
    for child, par in lay.bones:
        assert child not in parent, f"{lay.joints[child]} has two parents"
        parent[child] = par
    assert set(parent) == set(range(lay.num_joints)) - {lay.center}
    for j in range(lay.num_joints):
        seen = set()
        while j != lay.center:
            assert j not in seen, "a cycle"
            seen.add(j)
            j = parent[j]


def test_mediapipe33_holds_coco17_under_the_same_names_and_anchors():
    """Its 17 COCO joints keep their names, and normalisation uses the same centre,
    body-length ("up") and left-right joints as coco17's."""
    mp, coco = backend_layout("mediapipe"), get_layout("coco17")
    assert set(coco.joints) <= set(mp.joints)
    for attr in ("center",):
        assert mp.joints[getattr(mp, attr)] == coco.joints[getattr(coco, attr)]
    assert [mp.joints[j] for j in mp.spine] == [coco.joints[j] for j in coco.spine]
    assert [mp.joints[j] for j in mp.shoulders] == [coco.joints[j] for j in coco.shoulders]
    # left limbs are drawn blue, right ones red: every limb joint says its side
    sided = [n for n in mp.joints if n != "nose"]
    assert all("left" in n or "right" in n for n in sided)


def test_unknown_names_are_one_line():
    with pytest.raises(SkelconError, match="valid: mediapipe33"):
        layout_file("openpose25")
    with pytest.raises(SkelconError, match="valid: mediapipe, rtmpose"):
        backend_layout("openpose")
