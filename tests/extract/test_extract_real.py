"""MediaPipe Pose on the shared sample video, through its own environment (``make
extract-env``), then prepared by ``prepare folder`` with the layout file written beside
the clip: the keypoints must be those of a person (found in most frames, left and right
arms of about one length, inside the frame)."""

from __future__ import annotations

import numpy as np
import pytest

from skelcon.data.clips import ClipNorm
from skelcon.data.folder import prepare_folder
from skelcon.data.prepared import load_prepared, read_meta
from skelcon.data.rawclip import read_clip
from skelcon.errors import SkelconError
from skelcon.extract import extract_videos
from skelcon.extract.clipfile import read_extracted
from skelcon.extract.mediapipe import MAKE_HINT, find_extract_python

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_video(shared_data):
    path = shared_data / "video" / "demo_skeleton.mp4"
    if not path.is_file():
        pytest.skip("video/demo_skeleton.mp4 is not in the shared data")
    try:
        find_extract_python()
    except SkelconError:
        pytest.skip(f"no extract environment for the mediapipe backend (make it: `{MAKE_HINT}`)")
    return path


def _length(kp: np.ndarray, a: int, b: int) -> np.ndarray:
    """Per frame, the pixel distance between joints ``a`` and ``b`` of ``kp (T, V, 3)``."""
    return np.linalg.norm(kp[:, a, :2] - kp[:, b, :2], axis=-1)


def test_mediapipe_finds_a_person_in_the_sample_video(demo_video, tmp_path, capsys):
    raw = tmp_path / "clips"
    (r,) = extract_videos([demo_video], raw / "demo", progress=False)
    assert r.frames == 72 and (r.width, r.height) == (1920, 1080)
    assert r.empty_frames <= 0.1 * r.frames  # somebody in most frames
    assert "72 frames (1920x1080)" in capsys.readouterr().out
    clip = read_extracted(r.clip)
    lay = clip.layout
    assert clip.keypoints.shape == (1, 72, 33, 3)
    kp = clip.keypoints[0]
    found = kp[..., 2].max(axis=1) > 0
    kp = kp[found]
    j = {n: i for i, n in enumerate(lay.joints)}
    # plausible bones: the upper arms about one length, shoulders apart, a torso
    left = _length(kp, j["left_shoulder"], j["left_elbow"])
    right = _length(kp, j["right_shoulder"], j["right_elbow"])
    assert 0.7 < np.median(left / right) < 1.4
    shoulders = _length(kp, j["left_shoulder"], j["right_shoulder"])
    torso = _length(kp, j["left_hip"], j["left_shoulder"])
    assert np.median(shoulders) > 20 and np.median(torso) > np.median(shoulders)
    # the body's joints lie in the frame (hands and feet may leave it a little)
    body = [j[n] for n in ("nose", "left_shoulder", "right_shoulder", "left_hip", "right_hip")]
    xy = kp[:, body, :2]
    assert (xy[..., 0] >= 0).all() and (xy[..., 0] < 1920).all()
    assert (xy[..., 1] >= 0).all() and (xy[..., 1] < 1080).all()
    assert np.median(kp[:, body, 2]) > 0.5  # confident about the body

    # prepared as any folder of clips, with the layout file written beside the clip
    out = prepare_folder(
        raw,
        tmp_path / "prepared",
        layout=r.layout_path,
        norm=ClipNorm(enabled=True, image_size=(1920.0, 1080.0)),
        test_fraction=0.0,
        progress=False,
    )
    meta = read_meta(out)
    assert meta["layout"] == "mediapipe33" and meta["channels"] == ["x", "y", "score"]
    x = np.asarray(load_prepared(out, "default", "train").data[0])
    assert x.shape == (3, 300, 33, 2) and 0.3 < np.abs(x[:2, :72, :, 0]).max() < 10
    sample = read_clip(r.clip, out)
    np.testing.assert_allclose(sample.x, x, atol=1e-6)
