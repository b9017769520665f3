"""Videos in skelcon's environment (OpenCV, ``skelcon[video]``): decoding, the rtmpose
backend over a whole video, and the extracted clip drawn on the video's frames."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from extract_fakes import spot_frame

from skelcon.errors import SkelconError
from skelcon.extract import extract_videos
from skelcon.extract.clipfile import read_extracted
from skelcon.extract.video import open_video, read_frames, require_cv2

FRAMES, W, H = 8, 160, 120
NO_CV2 = "no OpenCV in this environment: pip install 'skelcon[video]'"


def _spot(t: int) -> tuple[int, int]:
    """Where the white spot of frame ``t`` is: moving right 6 pixels a frame."""
    return 50 + 6 * t, 60


@pytest.fixture
def spot_video(tmp_path):
    """An 8-frame 160x120 MJPEG video of a white 3x3 spot moving right on black, a blue
    square in the top-left corner (to tell RGB from BGR; no red, which the bright-spot
    model would see)."""
    cv2 = pytest.importorskip("cv2", reason=NO_CV2)
    path = tmp_path / "spot.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (W, H))
    assert writer.isOpened()
    for t in range(FRAMES):
        rgb = spot_frame(W, H, [_spot(t)])
        rgb[:10, :10] = [0, 0, 255]
        writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def test_frames_are_decoded_in_order_as_rgb(spot_video):
    with open_video(spot_video) as reader:
        info = reader.info
        frames = list(reader)
    assert (info.width, info.height, info.fps, info.frames) == (W, H, 10.0, FRAMES)
    assert len(frames) == FRAMES and frames[0].shape == (H, W, 3)
    r, g, b = frames[0][2:8, 2:8].reshape(-1, 3).mean(0)
    assert b > 200 and r < 60 and g < 60  # blue stays blue: RGB
    assert frames[3][60, _spot(3)[0]].min() > 150  # the spot where it was drawn
    got = read_frames(spot_video, [5, 1, 99])
    assert sorted(got) == [1, 5]
    np.testing.assert_array_equal(got[5], frames[5])


def test_files_that_are_not_videos_are_one_line(tmp_path):
    pytest.importorskip("cv2", reason=NO_CV2)
    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n")
    with pytest.raises(SkelconError, match="cannot be read: not a video file") as e:
        open_video(text)
    assert "\n" not in str(e.value)
    empty = tmp_path / "empty.avi"
    empty.write_bytes(b"")
    with pytest.raises(SkelconError, match="empty.avi'"):
        open_video(empty)


def test_without_opencv_the_install_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "cv2", None)  # import cv2 -> ImportError
    with pytest.raises(SkelconError, match=r"pip install 'skelcon\[video\]'"):
        require_cv2()


def test_rtmpose_over_a_video_follows_the_spot(spot_video, pose_model, tmp_path, capsys):
    """The whole pipeline on a real (generated) video: decode, crop, the ONNX "pose
    model", decode, clip file; every frame's joints sit on that frame's spot."""
    out = tmp_path / "clips"
    (r,) = extract_videos(
        [spot_video], out, backend="rtmpose", pose_model=pose_model(size=(192, 256)), progress=False
    )
    assert (r.frames, r.empty_frames, r.layout, r.layout_path) == (FRAMES, 0, "coco17", None)
    assert r.clip == out / "spot.json" and "8 frames (160x120)" in capsys.readouterr().out
    doc = json.loads(r.clip.read_text())
    assert doc["image_size"] == [W, H] and doc["layout"] == "coco17"
    got = np.array([f["people"][0]["pose_keypoints_2d"] for f in doc["frames"]]).reshape(-1, 17, 3)
    want = np.array([_spot(t) for t in range(FRAMES)], dtype=np.float64)
    # one crop pixel is 200 / 192 image pixels; JPEG blurs the spot a little
    assert np.abs(got[:, :, :2] - want[:, None]).max() < 2.0
    assert read_extracted(r.clip).keypoints.shape[1:] == (FRAMES, 17, 3)


def test_the_clip_is_drawn_on_its_video(spot_video, pose_model, tmp_path, capsys):
    from matplotlib import image as mpimg

    from skelcon.cli import main

    out = tmp_path / "clips"
    extract_videos(
        [spot_video], out, backend="rtmpose", pose_model=pose_model(size=(192, 256)), progress=False
    )
    png = tmp_path / "strip.png"
    assert main(["plot", "skeleton", "--clip", str(out / "spot.json"), "--out", str(png)]) == 0
    img = mpimg.imread(png)
    assert img.shape[1] == 4 * 320  # 4 panels of 3.2 in at 100 dpi
    assert "skeleton figure written to" in capsys.readouterr().out
    # another video than the one extracted: refused in one line
    cv2 = pytest.importorskip("cv2", reason=NO_CV2)
    other = tmp_path / "other.avi"
    writer = cv2.VideoWriter(str(other), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (80, 60))
    for _ in range(FRAMES):
        writer.write(np.zeros((60, 80, 3), np.uint8))
    writer.release()
    argv = ["plot", "skeleton", "--clip", str(out / "spot.json"), "--video", str(other)]
    assert main([*argv, "--out", str(png)]) == 2
    err = capsys.readouterr().err
    assert "has 80x60 frames, the clip" in err and "was extracted from 160x120" in err
