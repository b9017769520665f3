"""Retarget tables (skelcon.data.retarget): every shipped table fits its two layouts, a
conversion gives the hand-computed means and minimum scores, a missing source makes a
missing joint, and the subject's left stays left."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from skelcon.data.layouts import get_layout
from skelcon.data.retarget import (
    conversion_pairs,
    conversions_from,
    find_conversion,
    load_table,
    no_conversion_message,
    read_table_file,
)
from skelcon.errors import SkelconError
from skelcon.extract.backend import named_layout

ASKED = {  # the pairs the video path needs, at least
    ("mediapipe33", "coco17"),
    ("mediapipe33", "ntu25"),
    ("mediapipe33", "openpose18"),
    ("mediapipe33", "openpose25"),
    ("coco17", "ntu25"),
    ("coco17", "openpose18"),
}


def _layout(name):
    layout = named_layout(name)
    assert layout is not None, name
    return layout


def _conv(source, target):
    conv = find_conversion(_layout(source), _layout(target))
    assert conv is not None, (source, target)
    return conv


def test_every_shipped_table_defines_every_target_joint_from_existing_sources():
    pairs = conversion_pairs()
    assert ASKED <= set(pairs), sorted(ASKED - set(pairs))
    for source, target in pairs:
        table = load_table(source, target)
        src, dst = _layout(source), _layout(target)
        assert [j for j, _ in table.joints] == list(dst.joints), (source, target)  # layout order
        used = {s for _, srcs in table.joints for s in srcs}
        assert used <= set(src.joints), (source, target, used - set(src.joints))
        conv = table.bind(src, dst)
        assert conv.weights.shape == (src.num_joints, dst.num_joints)
        made = conv.weights.sum(axis=0)  # each made joint's weights sum to 1
        np.testing.assert_allclose(made[conv.made], 1.0)
        assert not made[~conv.made].any()
    assert conversions_from("mediapipe33") == ["coco17", "ntu25", "openpose18", "openpose25"]
    assert load_table("mediapipe33", "kinect20") is None
    assert no_conversion_message("mediapipe33", "kinect20") == (
        "no conversion from mediapipe33 to kinect20 (from mediapipe33: coco17, ntu25, "
        "openpose18, openpose25)"
    )
    assert no_conversion_message("kinect20", "ntu25").endswith("(none from kinect20)")


def _coco_pose() -> np.ndarray:
    """COCO-17 joint ``i`` at pixel ``(10 i, 10 i + 1)`` with score ``0.5 + i / 100``."""
    i = np.arange(17, dtype=np.float64)
    return np.stack([10 * i, 10 * i + 1, 0.5 + i / 100], axis=-1)


def test_coco17_to_ntu25_hand_computed():
    conv = _conv("coco17", "ntu25")
    j = {n: k for k, n in enumerate(get_layout("ntu25").joints)}
    y = conv(_coco_pose(), score_channel=2)
    assert y.shape == (25, 3)
    # hips 11, 12; shoulders 5, 6; nose 0; ears 3, 4 (COCO order)
    expect = {
        "spine_base": (115.0, 116.0, 0.61),
        "spine_mid": (85.0, 86.0, 0.55),
        "spine_shoulder": (55.0, 56.0, 0.55),
        "neck": (110 / 3, 113 / 3, 0.50),
        "head": (35.0, 36.0, 0.53),
        "shoulder_left": (50.0, 51.0, 0.55),
        "wrist_right": (100.0, 101.0, 0.60),
        "ankle_left": (150.0, 151.0, 0.65),
    }
    for name, want in expect.items():
        np.testing.assert_allclose(y[j[name]], want, atol=1e-12, err_msg=name)
    for name in ("hand_left", "handtip_right", "thumb_left", "foot_right"):  # COCO has none
        assert not y[j[name]].any(), name


def test_mediapipe33_to_ntu25_hands_and_feet():
    mp = _layout("mediapipe33")
    j = {n: k for k, n in enumerate(mp.joints)}
    x = np.zeros((33, 3))
    x[:, 2] = 0.9
    x[:, :2] = np.arange(66).reshape(33, 2)
    x[j["left_index"], 2] = 0.4
    y = _conv("mediapipe33", "ntu25")(x, score_channel=2)
    t = {n: k for k, n in enumerate(get_layout("ntu25").joints)}
    wrist, pinky, index = x[j["left_wrist"], :2], x[j["left_pinky"], :2], x[j["left_index"], :2]
    np.testing.assert_allclose(y[t["hand_left"], :2], (wrist + pinky + index) / 3)
    np.testing.assert_allclose(y[t["handtip_left"], :2], (pinky + index) / 2)
    assert y[t["hand_left"], 2] == pytest.approx(0.4) == y[t["handtip_left"], 2]  # the minimum
    np.testing.assert_allclose(y[t["thumb_left"]], x[j["left_thumb"]])
    np.testing.assert_allclose(y[t["foot_right"]], x[j["right_foot_index"]])
    np.testing.assert_allclose(y[t["hand_right"], 2], 0.9)


def test_derived_joints_agree_whichever_way_round():
    """mediapipe33 -> coco17 -> ntu25 gives mediapipe33 -> ntu25 on every joint COCO can
    make: the two tables define the shared joints alike."""
    rng = np.random.default_rng(0)
    x = np.concatenate(
        [rng.uniform(0, 1000, (2, 7, 33, 2)), rng.uniform(0.1, 1, (2, 7, 33, 1))], -1
    )
    direct = _conv("mediapipe33", "ntu25")(x, score_channel=2)
    via = _conv("coco17", "ntu25")(_conv("mediapipe33", "coco17")(x, score_channel=2), 2)
    made = _conv("coco17", "ntu25").made
    np.testing.assert_allclose(via[..., made, :], direct[..., made, :], atol=1e-9)
    assert made.sum() == 17 and not via[..., ~made, :].any()


def test_missing_stays_missing():
    conv = _conv("coco17", "ntu25")
    j = {n: k for k, n in enumerate(get_layout("ntu25").joints)}
    x = np.stack([_coco_pose()] * 3)  # (T=3, V, C)
    x[0, 11, 2] = 0.0  # frame 0: left hip not found (score 0)
    x[1, 3] = np.nan  # frame 1: left ear NaN
    x[2, 5] = 0.0  # frame 2: left shoulder (0, 0, 0)
    y = conv(x, score_channel=2)
    gone = {
        0: ("spine_base", "spine_mid", "hip_left"),
        1: ("head",),
        2: ("spine_mid", "spine_shoulder", "neck", "shoulder_left"),
    }
    for t, names in gone.items():
        for name in names:
            assert not y[t, j[name]].any(), (t, name)
        assert y[t, j["knee_right"]].all()  # the others are there
    assert np.isfinite(y).all()
    # coordinates only (3D, no score): a joint is missing when all its channels are 0
    k = _conv("ntu25", "kinect20")
    pose = np.random.default_rng(1).uniform(-1, 1, (2, 4, 25, 3))
    pose[1, 2, 0] = 0.0  # spine_base of person 1, frame 2
    got = k(pose)
    assert got.shape == (2, 4, 20, 3) and not got[1, 2, 0].any() and got[0, 2, 0].all()
    np.testing.assert_array_equal(got[0, :, 3], pose[0, :, 3])  # head


def _side_joint(layout, side: str, part: str) -> int:
    names = {n: i for i, n in enumerate(layout.joints)}
    return names.get(f"{side}_{part}", names.get(f"{part}_{side}", -1))


@pytest.mark.parametrize("target", ["coco17", "ntu25", "openpose18", "openpose25"])
def test_the_subjects_left_stays_left(target):
    """A subject facing an ordinary camera, left arm raised: their left is on the image's
    right (larger x) and the left wrist above the shoulder. After conversion the left
    joints are still the raised, image-right ones."""
    mp = _layout("mediapipe33")
    j = {n: i for i, n in enumerate(mp.joints)}
    x = np.zeros((33, 3))
    x[:, 2] = 1.0
    for side, sx in (("left", 1), ("right", -1)):  # image x = 500 + sx * offset
        for part, (dx, y) in {
            "shoulder": (60, 300),
            "elbow": (80, 380),
            "hip": (40, 550),
            "knee": (45, 700),
            "ankle": (45, 850),
            "heel": (45, 870),
            "foot_index": (55, 880),
            "ear": (20, 200),
            "eye": (10, 190),
            "eye_inner": (5, 190),
            "eye_outer": (15, 190),
        }.items():
            x[j[f"{side}_{part}"], :2] = (500 + sx * dx, y)
        wrist_y = 150 if side == "left" else 460  # the left hand up, the right one down
        for part in ("wrist", "pinky", "index", "thumb"):
            x[j[f"{side}_{part}"], :2] = (500 + sx * 90, wrist_y)
    x[j["nose"], :2] = (500, 210)
    x[j["mouth_left"], :2], x[j["mouth_right"], :2] = (510, 230), (490, 230)
    dst = _layout(target)
    y = _conv("mediapipe33", target)(x, score_channel=2)
    lw, rw = _side_joint(dst, "left", "wrist"), _side_joint(dst, "right", "wrist")
    ls, rs = _side_joint(dst, "left", "shoulder"), _side_joint(dst, "right", "shoulder")
    assert min(lw, rw, ls, rs) >= 0
    assert y[lw, 1] < y[ls, 1] and y[rw, 1] > y[rs, 1]  # left raised (image y down)
    assert y[ls, 0] > y[rs, 0] and y[lw, 0] > y[rw, 0]  # left on the image's right
    # and back from coco17, for the tables that start there
    if target != "coco17" and load_table("coco17", target) is not None:
        z = _conv("coco17", target)(_conv("mediapipe33", "coco17")(x, 2), 2)
        assert z[lw, 1] < z[ls, 1] and z[ls, 0] > z[rs, 0]


def test_ntu_left_is_the_subjects_left_and_its_colour_image_is_mirrored(shared_data):
    """The ntu25 layout's left joints are the subject's left: in the shared NTU samples
    (subjects face the cameras) shoulder_right's camera-space X exceeds shoulder_left's,
    Kinect's X growing to the sensor's left. Its colour-image x grows the same way: the
    Kinect v2 colour image is a mirror image, so a subject facing the camera has the
    left shoulder at the smaller colour x, where a pose estimator on an ordinary video
    puts the right one (docs/extract.md)."""
    from skelcon.data.ntu import COLOR_FIELDS, parse_skeleton

    zpath = shared_data / "ntu" / "nturgbd_skeletons_s001_to_s017.zip"
    if not zpath.is_file():
        pytest.skip("ntu/nturgbd_skeletons_s001_to_s017.zip is not in the shared data")
    ntu = get_layout("ntu25").joints
    sl, sr = ntu.index("shoulder_left"), ntu.index("shoulder_right")
    checked = 0
    with zipfile.ZipFile(zpath) as z:
        for name in sorted(n for n in z.namelist() if n.endswith(".skeleton"))[:8]:
            data = z.read(name)
            xyz, _ = parse_skeleton(data, name)
            col, _ = parse_skeleton(data, name, fields=COLOR_FIELDS)
            body = xyz[0][np.abs(xyz[0]).sum(axis=(1, 2)) > 0]  # frames with body 1
            cbody = col[0][np.abs(col[0]).sum(axis=(1, 2)) > 0]
            assert np.median(body[:, sr, 0] - body[:, sl, 0]) > 0, name
            assert np.median(cbody[:, sr, 0] - cbody[:, sl, 0]) > 0, name
            checked += 1
    assert checked == 8


def test_bad_tables_and_layouts_are_one_line(tmp_path):
    def table(text: str, name: str = "coco17_to_ntu25.yaml") -> str:
        p = tmp_path / name
        p.write_text(text)
        with pytest.raises(SkelconError) as e:
            read_table_file(p)
        assert "\n" not in str(e.value)
        return str(e.value)

    head = "source: coco17\ntarget: ntu25\n"
    assert "extra: unknown key" in table(head + "extra: 1\njoints: {a: b}\n")
    assert "joints: neck: must be a source joint" in table(head + "joints: {neck: 5}\n")
    assert "listed twice" in table(head + "joints: {neck: [nose, nose]}\n")
    assert "is not valid YAML" in table(head + "joints: {neck: [nose\n")
    assert "so its file is named coco17_to_ntu25.yaml" in table(
        head + "joints: {neck: nose}\n", "other.yaml"
    )
    (tmp_path / "coco17_to_ntu25.yaml").write_text(head + "joints: {neck: nose}\n")
    t = read_table_file(tmp_path / "coco17_to_ntu25.yaml")
    with pytest.raises(SkelconError, match="does not define ntu25 joint 'spine_base'"):
        t.bind(get_layout("coco17"), get_layout("ntu25"))
    full = load_table("coco17", "ntu25")
    with pytest.raises(
        SkelconError, match="source joint 'left_hip' is not a joint of layout kinect20"
    ):
        full.bind(get_layout("kinect20"), get_layout("ntu25"))
    with pytest.raises(SkelconError, match=r"expected \(\.\.\., 17, C\)"):
        full.bind(get_layout("coco17"), get_layout("ntu25"))(np.zeros((4, 18, 3)))
