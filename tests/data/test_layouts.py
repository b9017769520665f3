"""Layouts as files: the built-in YAMLs, a user's own layout YAML, validation errors
that name the file and key, and the definition stored with a prepared dataset."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from skelcon.data.layouts import (
    BUILTIN_LAYOUTS,
    LAYOUTS,
    NTU25,
    get_layout,
    layout_from_dict,
    layout_from_meta,
    load_layout,
)
from skelcon.errors import SkelconError

RIG = {
    "name": "rig5",
    "joints": ["pelvis", "chest", "head", "l_hand", "r_hand"],
    "bones": [["chest", "pelvis"], ["head", "chest"], ["l_hand", "chest"], [4, 1]],
    "center": "pelvis",
    "up": ["pelvis", "chest"],
    "left_right": ["l_hand", "r_hand"],
}


def write(tmp_path, doc, name="rig.yaml"):
    p = tmp_path / name
    p.write_text(yaml.safe_dump(doc) if not isinstance(doc, str) else doc)
    return p


@pytest.mark.parametrize(
    "name,v,bones,center",
    [
        ("ntu25", 25, 24, "spine_mid"),
        ("kinect20", 20, 19, "spine"),
        ("coco17", 17, 16, "nose"),
        ("openpose18", 18, 17, "neck"),
        ("openpose25", 25, 24, "neck"),
    ],
)
def test_builtin_layouts_are_connected_trees(name, v, bones, center):
    lay = get_layout(name)
    assert lay.num_joints == v and len(lay.bones) == bones == v - 1
    assert lay.joints[lay.center] == center
    reached, frontier = {lay.center}, [lay.center]  # V - 1 bones reaching every joint: a tree
    while frontier:
        j = frontier.pop()
        for a, b in lay.bones:
            for k in (b,) if a == j else (a,) if b == j else ():
                if k not in reached:
                    reached.add(k)
                    frontier.append(k)
    assert reached == set(range(v))
    left, right = (lay.joints[i] for i in lay.shoulders)
    assert "left" in left and "right" in right
    a = lay.adjacency()
    assert a.shape == (3, v, v) and np.allclose(a[1].sum(axis=0)[a[1].sum(axis=0) > 0], 1)


def test_ntu25_keeps_its_v01_definition():
    # the 1-based NTU bone list of the 2s-AGCN graph, as skelcon 0.1 hard-coded it
    pairs = [
        (1, 2),
        (2, 21),
        (3, 21),
        (4, 3),
        (5, 21),
        (6, 5),
        (7, 6),
        (8, 7),
        (9, 21),
        (10, 9),
        (11, 10),
        (12, 11),
        (13, 1),
        (14, 13),
        (15, 14),
        (16, 15),
        (17, 1),
        (18, 17),
        (19, 18),
        (20, 19),
        (22, 23),
        (23, 8),
        (24, 25),
        (25, 12),
    ]
    assert NTU25.bones == tuple((a - 1, b - 1) for a, b in pairs)
    assert (NTU25.center, NTU25.spine, NTU25.shoulders) == (1, (0, 1), (4, 8))


@pytest.mark.parametrize("name", BUILTIN_LAYOUTS)
def test_to_dict_round_trips(name):
    lay = LAYOUTS[name]
    assert layout_from_dict(lay.to_dict()) == lay and lay.builtin


def test_user_layout_file(tmp_path):
    lay = load_layout(write(tmp_path, RIG))
    assert lay.name == "rig5" and lay.num_joints == 5 and not lay.builtin
    assert lay.bones == ((1, 0), (2, 1), (3, 1), (4, 1))
    assert (lay.center, lay.spine, lay.shoulders) == (0, (0, 1), (3, 4))
    no_name = {k: v for k, v in RIG.items() if k != "name"}
    assert load_layout(write(tmp_path, no_name, "my_rig.yml")).name == "my_rig"


@pytest.mark.parametrize(
    "change,match",
    [
        (
            {"bones": [["chest", "pelvs"]]},
            r"bones\[0\]: unknown joint 'pelvs' \(valid: a name of joints \(pelvis",
        ),
        ({"center": 7}, r"center: joint index 7 outside 0..4"),
        ({"up": ["pelvis"]}, r"up: must be a pair"),
        ({"left_right": ["l_hand", "l_hand"]}, r"left_right: the two joints must differ"),
        ({"joints": ["a", "a", "b", "c", "d"]}, r"joints: joint name 'a' appears twice"),
        ({"colour": "red"}, r"colour: unknown key \(valid: name, description, joints"),
        (
            {"bones": [["chest", "pelvis"], ["pelvis", "chest"]]},
            r"bones\[1\]: bone pelvis-chest is listed twice",
        ),
    ],
)
def test_layout_file_errors_name_file_key_and_what_is_valid(tmp_path, change, match):
    p = write(tmp_path, {**RIG, **change})
    with pytest.raises(SkelconError, match=match) as e:
        load_layout(p)
    assert str(p) in str(e.value) and "\n" not in str(e.value)


def test_layout_file_missing_key_bad_yaml_and_absent_file(tmp_path):
    with pytest.raises(SkelconError, match=r"rig.yaml'?: left_right: missing"):
        load_layout(write(tmp_path, {k: v for k, v in RIG.items() if k != "left_right"}))
    with pytest.raises(SkelconError, match="is not valid YAML"):
        load_layout(write(tmp_path, "joints: [a, b\nbones: ]"))
    with pytest.raises(SkelconError, match="does not exist"):
        load_layout(tmp_path / "nope.yaml")
    with pytest.raises(SkelconError, match="unknown joint layout 'coco18'.*coco17.*YAML"):
        load_layout("coco18")


def test_layout_from_meta_prefers_the_stored_definition():
    rig = layout_from_dict(RIG)
    meta = {"dataset": "toy", "layout": "rig5", "layout_def": rig.to_dict()}
    assert layout_from_meta(meta) == rig
    assert layout_from_meta({"layout": "coco17"}) is get_layout("coco17")  # older datasets
