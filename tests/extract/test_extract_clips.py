"""Extracted clips: what `skelcon extract` writes is what `prepare folder` and
`skelcon.read_clip` read, frames without anybody are missing joints, and mistakes are
refused before any video is read."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from extract_fakes import FakeExtractor, walking_keypoints

from skelcon.data.clips import ClipNorm
from skelcon.data.folder import prepare_folder, read_clip_info
from skelcon.data.prepared import load_prepared, read_meta
from skelcon.data.rawclip import read_clip
from skelcon.errors import DataFormatError, SkelconError
from skelcon.extract import extract_videos
from skelcon.extract.backend import backend_layout
from skelcon.extract.clipfile import VideoKeypoints, clip_document, read_extracted, write_clip


def _videos(root: Path, *names: str) -> list[Path]:
    """Empty files standing for videos (the fake extractor does not read them)."""
    root.mkdir(parents=True, exist_ok=True)
    out = []
    for n in names:
        (root / n).write_bytes(b"")
        out.append(root / n)
    return out


def test_clip_document_keeps_pixels_scores_and_empty_frames(tmp_path):
    kp = walking_keypoints(frames=6, empty=(2, 3))
    kp.frames[1][0, 4] = 0  # one joint not found in frame 1
    doc = clip_document(kp, video="v.mp4", backend="mediapipe", layout=backend_layout("mediapipe"))
    assert doc["layout"] == "mediapipe33" and "layout_def" not in doc  # named: packaged
    assert doc["frames_without_people"] == kp.empty_frames == 2
    assert doc["image_size"] == [640, 480] and doc["channels"] == ["x", "y", "score"]
    assert doc["frames"][2] == {"people": []}
    path = write_clip(tmp_path / "v.json", doc)
    assert json.loads(path.read_text()) == doc  # plain JSON
    # read as `prepare folder` reads it: (M, T, V, 3) x, y, score in pixels
    got, info = read_clip_info(path, 33)
    assert info["channels"] == ["x", "y", "score"]
    assert got.shape == (1, 6, 33, 3)
    np.testing.assert_allclose(got[0, 0], kp.frames[0][0], atol=0.006)
    assert not got[0, 2:4].any()  # nobody: every joint 0
    assert not got[0, 1, 4].any()  # the joint not found
    back = read_extracted(path)
    assert back.layout.name == "mediapipe33" and back.image_size == (640, 480)
    np.testing.assert_allclose(back.keypoints, got, rtol=1e-6)


def test_extracted_clips_are_prepared_by_prepare_folder_and_read_by_read_clip(tmp_path, capsys):
    """Two class folders extracted with the layout file beside them: `prepare folder
    --layout <that file> --normalize` reads x, y, score (no --channels needed: the
    format names them), and read_clip brings a clip to the prepared data's form."""
    raw = tmp_path / "clips"
    for cls, shift in (("wave", 0), ("clap", 40)):
        kp = walking_keypoints(frames=10, empty=(4,))
        kp.frames = [f + np.array([shift, 0, 0], np.float32) if len(f) else f for f in kp.frames]
        videos = _videos(tmp_path / "videos" / cls, f"{cls}1.mp4", f"{cls}2.mp4")
        done = extract_videos(videos, raw / cls, extractor=FakeExtractor(kp), progress=False)
        assert [r.empty_frames for r in done] == [1, 1]
    layout = raw / "wave" / "mediapipe33.yaml"
    assert layout.is_file() and done[0].layout_path == raw / "clap" / "mediapipe33.yaml"
    norm = ClipNorm(enabled=True, image_size=(640.0, 480.0))
    out = prepare_folder(
        raw, tmp_path / "prepared", layout=layout, norm=norm, test_fraction=0.5, progress=False
    )
    meta = read_meta(out)
    assert meta["channels"] == ["x", "y", "score"] and meta["layout"] == "mediapipe33"
    assert meta["classes"] == ["clap", "wave"] and meta["shape"][3] == 33
    train = load_prepared(out, "default", "train")
    assert len(train) == 2 and train.data.shape[1:] == (3, 300, 33, 2)
    x = np.asarray(train.data[0])
    assert not x[:, 4].any() and x[:, [3, 5], :, 0].any(axis=(0, 2)).all()  # frame 4: nobody
    assert np.abs(x[:2]).max() < 10  # normalised: body lengths, not pixels
    # a raw clip read as the prepared data holds it
    sample = read_clip(raw / f"{train.names[0]}.json", out)
    assert sample.x.shape == (3, 300, 33, 2) and sample.num_frames == 10
    np.testing.assert_allclose(sample.x, x, atol=1e-6)


def test_a_video_that_fails_is_skipped_and_listed(tmp_path, capsys):
    videos = _videos(tmp_path, "a.mp4", "bad.mp4", "c.mp4")
    ex = FakeExtractor(walking_keypoints())
    with pytest.raises(SkelconError, match=r"1 of 3 videos not extracted \(2 written to") as e:
        extract_videos(videos, tmp_path / "out", extractor=ex, progress=False)
    assert "bad.mp4' cannot be read" in str(e.value) and "\n" not in str(e.value)
    assert sorted(p.name for p in (tmp_path / "out").glob("*.json")) == ["a.json", "c.json"]
    assert "frames/s" in capsys.readouterr().out
    # one video: its own error, as it is
    with pytest.raises(SkelconError, match=r"^video .*bad.mp4' cannot be read$"):
        extract_videos(videos[1:2], tmp_path / "out2", extractor=ex, progress=False)


def test_mistakes_are_refused_before_any_video_is_read(tmp_path):
    a, b = _videos(tmp_path / "x", "same.mp4")[0], _videos(tmp_path / "y", "same.avi")[0]
    ex = FakeExtractor(walking_keypoints())
    out = tmp_path / "out"
    with pytest.raises(SkelconError, match="would both be written to same.json"):
        extract_videos([a, b], out, extractor=ex, progress=False)
    with pytest.raises(SkelconError, match=r"video '.*missing.mp4' does not exist"):
        extract_videos([a, tmp_path / "missing.mp4"], out, extractor=ex, progress=False)
    with pytest.raises(SkelconError, match="is a folder; give the video files"):
        extract_videos([tmp_path / "x"], out, extractor=ex, progress=False)
    (tmp_path / "file").write_text("")
    with pytest.raises(SkelconError, match="is a file, not a folder"):
        extract_videos([a], tmp_path / "file", extractor=ex, progress=False)
    assert ex.seen == []
    extract_videos([a], out, extractor=ex, progress=False)
    with pytest.raises(SkelconError, match=r"same.json already exist \(--overwrite replaces"):
        extract_videos([a], out, extractor=ex, progress=False)
    extract_videos([a], out, extractor=ex, progress=False, overwrite=True)
    assert len(ex.seen) == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"backend": "openpose"}, "unknown backend 'openpose' (valid: mediapipe, rtmpose)"),
        ({"backend": "rtmpose"}, "--backend rtmpose needs --pose-model"),
        ({"pose_model": "p.onnx"}, "--pose-model are for --backend rtmpose"),
        ({"max_people": 2}, "MediaPipe Pose finds one person a frame"),
        ({"backend": "rtmpose", "max_people": 0}, "max_people must be at least 1, got 0"),
        (
            {"backend": "rtmpose", "pose_model": "nope.onnx"},
            "--pose-model 'nope.onnx' does not exist",
        ),
    ],
)
def test_backend_options_are_checked_first(tmp_path, kwargs, message):
    video = _videos(tmp_path, "v.mp4")[0]
    with pytest.raises(SkelconError) as e:
        extract_videos([video], tmp_path / "out", progress=False, **kwargs)
    assert message in str(e.value)
    assert not (tmp_path / "out").exists()


def test_a_backend_of_another_layout_writes_its_layout_file(tmp_path):
    """A backend of one's own (any object with name, layout and extract) whose layout is
    not built in: the layout file beside the clips is written from its definition, the
    clip keeps the definition, and `prepare folder` reads the two."""
    from skelcon.data.layouts import layout_from_dict

    lay = layout_from_dict(
        {
            "name": "three",
            "joints": ["hip", "neck", "head"],
            "bones": [["neck", "hip"], ["head", "neck"]],
            "center": "hip",
            "up": ["hip", "neck"],
            "left_right": ["hip", "head"],
        }
    )
    frames = [
        np.array([[[100 + t, 200, 0.9], [100 + t, 150, 0.8], [100, 120, 0.7]]], np.float32)
        for t in range(5)
    ]
    ex = FakeExtractor(VideoKeypoints(frames, 320, 240, 30.0))
    ex.name, ex.layout = "mine", lay
    raw = tmp_path / "raw"
    for cls in ("a", "b"):
        (r,) = extract_videos(
            _videos(tmp_path / "v", f"{cls}.mp4"), raw / cls, extractor=ex, progress=False
        )
    assert r.layout == "three" and r.layout_path == raw / "b" / "three.yaml"
    back = read_extracted(r.clip)
    assert back.layout == lay and back.backend == "mine" and back.keypoints.shape == (1, 5, 3, 3)
    out = prepare_folder(raw, tmp_path / "prep", layout=r.layout_path, progress=False)
    assert read_meta(out)["layout"] == "three"


def test_read_extracted_refuses_other_json(tmp_path):
    p = tmp_path / "c.json"
    p.write_text(json.dumps({"frames": [{"people": []}]}))
    with pytest.raises(DataFormatError, match="not a clip written by skelcon extract"):
        read_extracted(p)
