"""`skelcon extract --layout NAME`: clips converted from the backend's layout by a shipped
table, recorded as such and read by `prepare folder` / `read_clip` in that layout; a clip
of another layout is refused with how to convert it; the layout file beside the clips is
passed over quietly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from extract_fakes import FakeExtractor, walking_keypoints

from skelcon.data.clips import ClipNorm
from skelcon.data.folder import prepare_folder, read_clip_info
from skelcon.data.layouts import get_layout
from skelcon.data.prepared import load_prepared, read_meta
from skelcon.data.rawclip import read_clip
from skelcon.data.retarget import find_conversion
from skelcon.errors import DataFormatError, SkelconError
from skelcon.extract import extract_videos
from skelcon.extract.backend import backend_layout
from skelcon.extract.clipfile import read_extracted


def _video(root: Path, name: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / name).write_bytes(b"")
    return root / name


def test_extract_layout_writes_the_converted_clip(tmp_path, capsys):
    kp = walking_keypoints(frames=8, empty=(3,))
    kp.frames[1][0, 23, 2] = 0.0  # left hip not found in frame 1
    ex = FakeExtractor(kp)
    (r,) = extract_videos(
        [_video(tmp_path, "wave.mp4")],
        tmp_path / "out",
        extractor=ex,
        layout="ntu25",
        progress=False,
    )
    assert r.layout == "ntu25" and r.layout_path is None  # built in: no layout file
    assert not (tmp_path / "out" / "mediapipe33.yaml").exists()
    assert "converted mediapipe33 -> ntu25" in capsys.readouterr().out
    doc = json.loads(r.clip.read_text())
    assert doc["layout"] == "ntu25" and doc["converted_from"] == "mediapipe33"
    assert doc["frames"][3] == {"people": []} and doc["frames_without_people"] == 1
    back = read_extracted(r.clip)
    assert back.layout == get_layout("ntu25") and back.keypoints.shape == (1, 8, 25, 3)
    conv = find_conversion(backend_layout("mediapipe"), get_layout("ntu25"))
    want = conv(np.stack([f[0] for i, f in enumerate(kp.frames) if i != 3]), score_channel=2)
    got = np.delete(back.keypoints[0], 3, axis=0)
    np.testing.assert_allclose(got[..., :2], want[..., :2], atol=0.006)  # pixels to 1/100
    np.testing.assert_allclose(got[..., 2], want[..., 2], atol=6e-5)
    spine_base = get_layout("ntu25").joints.index("spine_base")
    assert not back.keypoints[0, 1, spine_base].any()  # a hip missing: spine_base missing
    # prepare folder --layout ntu25 reads it as it is, and read_clip brings it to the data
    raw = tmp_path / "raw"
    (raw / "wave").mkdir(parents=True)
    r.clip.rename(raw / "wave" / r.clip.name)
    out = prepare_folder(
        raw,
        tmp_path / "prep",
        layout="ntu25",
        norm=ClipNorm(enabled=True),
        test_fraction=0.0,
        progress=False,
    )
    assert read_meta(out)["layout"] == "ntu25" and read_meta(out)["channels"] == ["x", "y", "score"]
    x = np.asarray(load_prepared(out, "default", "train").data[0])
    sample = read_clip(raw / "wave" / "wave.json", out)
    np.testing.assert_allclose(sample.x, x, atol=1e-6)


def test_a_layout_without_a_table_is_refused_before_any_video(tmp_path):
    ex = FakeExtractor(walking_keypoints())
    with pytest.raises(SkelconError) as e:
        extract_videos(
            [_video(tmp_path, "v.mp4")],
            tmp_path / "out",
            extractor=ex,
            layout="kinect20",
            progress=False,
        )
    assert str(e.value) == (
        "the mediapipe backend writes mediapipe33 keypoints and layout kinect20 was asked for: "
        "no conversion from mediapipe33 to kinect20 (from mediapipe33: coco17, ntu25, "
        "openpose18, openpose25)"
    )
    assert e.value.param == "layout"
    with pytest.raises(SkelconError, match=r"unknown layout 'ntu26' \(valid: ntu25, "):
        extract_videos([tmp_path / "v.mp4"], tmp_path / "out", extractor=ex, layout="ntu26")
    assert ex.seen == [] and not (tmp_path / "out").exists()
    # the backend's own layout: no conversion, its layout file beside the clip
    (r,) = extract_videos(
        [tmp_path / "v.mp4"], tmp_path / "own", extractor=ex, layout="mediapipe33", progress=False
    )
    assert r.layout == "mediapipe33" and r.layout_path == tmp_path / "own" / "mediapipe33.yaml"
    assert "converted_from" not in json.loads(r.clip.read_text())


def test_a_clip_of_another_layout_says_how_to_convert(tmp_path):
    ex = FakeExtractor(walking_keypoints(frames=4))
    (mp,) = extract_videos(
        [_video(tmp_path, "a.mp4")], tmp_path / "mp", extractor=ex, progress=False
    )
    (op,) = extract_videos(
        [tmp_path / "a.mp4"], tmp_path / "op", extractor=ex, layout="openpose25", progress=False
    )
    # 25 joints, as ntu25 has: refused, not read as NTU's joints
    with pytest.raises(DataFormatError) as e:
        read_clip_info(op.clip, 25, layout=get_layout("ntu25"))
    assert str(e.value) == (
        f"{op.clip}: holds openpose25 keypoints (skelcon extract, 25 joints), not ntu25: "
        "extract its video with --layout ntu25 to convert them"
    )  # its video's keypoints (mediapipe33) convert to ntu25
    with pytest.raises(DataFormatError, match="not coco17: extract its video with --layout coco17"):
        read_clip_info(mp.clip, 17, layout=get_layout("coco17"))
    with pytest.raises(DataFormatError, match=r"not kinect20: no conversion from mediapipe33"):
        read_clip_info(mp.clip, 20, layout=get_layout("kinect20"))
    # its own layout, or a user's copy of it under another name: read
    own = read_extracted(mp.clip).layout
    assert read_clip_info(mp.clip, 33, layout=own)[0].shape == (1, 4, 33, 3)
    from dataclasses import replace

    copy = replace(own, name="my_mediapipe")
    assert read_clip_info(mp.clip, 33, layout=copy)[0].shape == (1, 4, 33, 3)


def test_the_layout_file_beside_the_clips_is_not_listed(tmp_path, capsys):
    ex = FakeExtractor(walking_keypoints(frames=5))
    raw = tmp_path / "clips"
    for cls in ("wave", "clap"):
        extract_videos(
            [_video(tmp_path / cls, f"{cls}.mp4")], raw / cls, extractor=ex, progress=False
        )
    (raw / "clap" / "notes.yaml").write_text("just: notes\n")  # a yaml that is no layout
    capsys.readouterr()
    out = prepare_folder(
        raw,
        tmp_path / "p",
        layout=raw / "wave" / "mediapipe33.yaml",
        test_fraction=0.0,
        progress=False,
    )
    err = capsys.readouterr().err
    assert "mediapipe33.yaml" not in err and "notes.yaml" in err  # not read, with its reason
    unused = [u["path"] for u in read_meta(out)["unused_files"]]
    assert unused == ["clap/notes.yaml"]


def test_extract_mirror_stores_the_mirror_image_keypoints(tmp_path, capsys):
    """``--mirror``: x -> width - x for the joints found, a missing joint stays 0, joint
    names kept; recorded in the clip (`mirrored`), read back as such."""
    kp = walking_keypoints(frames=4, empty=(2,))
    kp.frames[1][0, 11, 2] = 0.0  # left shoulder not found in frame 1
    kp.frames[1][0, 11, :2] = 0.0
    ex = FakeExtractor(kp)
    (r,) = extract_videos(
        [_video(tmp_path, "m.mp4")], tmp_path / "out", extractor=ex, progress=False, mirror=True
    )
    assert "mirrored (x -> width - x)" in capsys.readouterr().out
    assert json.loads(r.clip.read_text())["mirrored"] is True
    back = read_extracted(r.clip)
    assert back.mirrored
    (plain,) = extract_videos(
        [tmp_path / "m.mp4"], tmp_path / "plain", extractor=FakeExtractor(kp), progress=False
    )
    ref = read_extracted(plain.clip)
    assert not ref.mirrored and "mirrored" not in json.loads(plain.clip.read_text())
    found = ref.keypoints[..., 2] > 0
    np.testing.assert_allclose(back.keypoints[..., 0][found], 640 - ref.keypoints[..., 0][found])
    np.testing.assert_allclose(back.keypoints[..., 1:], ref.keypoints[..., 1:])
    assert not back.keypoints[0, 1, 11].any() and not back.keypoints[0, 2].any()
