"""The rtmpose backend's pre- and post-processing, on tiny ONNX models generated here
with an RTMPose export's inputs and outputs (no real weights can be downloaded): a
bright spot at a known pixel must come back as that pixel through the detector's
letterbox, the crop and the SimCC decoding."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from extract_fakes import spot_frame

from skelcon.errors import SkelconError
from skelcon.extract.crops import (
    Normalisation,
    boxes_to_crops,
    crop_people,
    decode_simcc,
    letterbox,
)


def test_decode_maps_a_peak_through_the_crop_exactly():
    """A peak in bin ``i`` of ``simcc_x`` (2 bins a crop pixel) is crop pixel ``i / 2``,
    i.e. image ``cx + (i / 2 - w / 2) * sw / w``; the score is the smaller maximum."""
    w, h = 192, 256
    centers = np.array([[500.0, 300.0], [100.0, 80.0]])
    scales = np.array([[240.0, 320.0], [96.0, 128.0]])
    sx = np.zeros((2, 17, 2 * w), np.float32)
    sy = np.zeros((2, 17, 2 * h), np.float32)
    sx[0, 5, 100], sy[0, 5, 300] = 0.8, 0.6  # joint 5 of person 0
    sx[1, 0, 2 * w - 1], sy[1, 0, 0] = 0.9, 0.95
    kp = decode_simcc(sx, sy, centers, scales, (w, h))
    assert kp.shape == (2, 17, 3) and kp.dtype == np.float32
    np.testing.assert_allclose(
        kp[0, 5], [500 + (50 - 96) * 240 / 192, 300 + (150 - 128) * 320 / 256, 0.6], rtol=1e-6
    )
    np.testing.assert_allclose(
        kp[1, 0], [100 + (191.5 - 96) * 96 / 192, 80 - 128 * 128 / 256, 0.9], rtol=1e-6
    )
    # every other joint scored 0: not found, (0, 0, 0)
    assert not kp[0, [0, 1, 16]].any() and not kp[1, 1:].any()


def test_boxes_are_padded_and_widened_to_the_crop_aspect():
    centers, scales = boxes_to_crops(np.array([[10, 20, 110, 420], [0, 0, 400, 100]]), (192, 256))
    np.testing.assert_allclose(centers, [[60, 220], [200, 50]])
    # tall box: height 400 * 1.25 = 500, width widened to 500 * 0.75; wide box the converse
    np.testing.assert_allclose(scales, [[375, 500], [500, 500 / 0.75]])


def test_crops_sample_the_image_under_the_box_and_zero_outside():
    frame = np.zeros((100, 200, 3), np.uint8)
    frame[40:60, 90:110] = [255, 128, 0]  # an orange square at the centre
    centers, scales = np.array([[100.0, 50.0]]), np.array([[40.0, 40.0]])
    crop = crop_people(frame, centers, scales, (40, 40)).numpy()  # one pixel a pixel
    assert crop.shape == (1, 3, 40, 40)
    np.testing.assert_allclose(crop[0, :, 20, 20], [255, 128, 0])
    assert crop[0, 0, 10:30, 10:30].min() > 254.99 and crop[0, 0, :9].max() == 0
    far = crop_people(frame, np.array([[-500.0, -500.0]]), scales, (8, 8)).numpy()
    assert not far.any()  # outside the frame: 0
    norm = Normalisation((10.0, 20.0, 30.0), (2.0, 4.0, 5.0), rgb=False)
    x = norm.apply(torch.from_numpy(crop[:, :, 20:21, 20:21].copy())).numpy()  # BGR order
    np.testing.assert_allclose(x[0, :, 0, 0], [(0 - 10) / 2, (128 - 20) / 4, (255 - 30) / 5])


def test_letterbox_places_the_frame_top_left():
    frame = np.full((100, 200, 3), 7, np.uint8)
    canvas, ratio = letterbox(frame, (64, 64))
    assert ratio == pytest.approx(0.32) and canvas.shape == (1, 3, 64, 64)
    c = canvas.numpy()[0]
    assert (c[:, :32] == 7).all() and (c[:, 32:] == 114).all()


@pytest.mark.parametrize("batch", ["N", 1])
def test_a_spot_comes_back_at_its_pixel_without_a_detector(pose_model, batch):
    """The whole frame is the box; the spot is found within one crop pixel
    (here 250 / 192 image pixels)."""
    from skelcon.extract.rtmpose import RTMPoseBackend

    b = RTMPoseBackend(pose_model(size=(192, 256), batch=batch))
    assert b.size == (192, 256) and b.one_at_a_time == (batch == 1)
    kp = b(spot_frame(200, 160, [(120, 70)]))
    assert kp.shape == (1, 17, 3)
    assert np.abs(kp[0, :, :2] - [120, 70]).max() < 250 / 192
    assert (kp[0, :, 2] > 2).all()  # (255 - 123.675) / 58.395: the normalised white


def test_detected_people_are_cropped_and_mapped_back(pose_model, detector):
    """Boxes of the detector's 64x64 letterboxed input are frame boxes / 0.32; a low
    score and a class other than person are dropped, the rest kept best first up to
    max_people; each person's spot comes back at its pixel."""
    from skelcon.extract.rtmpose import RTMPoseBackend

    dets = [
        [16, 8, 32, 24, 0.9],  # frame (50, 25)-(100, 75): spot at (75, 50)
        [0, 0, 10, 10, 0.1],  # too unsure
        [40, 8, 56, 24, 0.95],  # frame (125, 25)-(175, 75): spot at (150, 40)
        [30, 30, 40, 40, 0.8],  # class 1, not a person
    ]
    path = detector(dets, [0, 0, 0, 1])
    frame = spot_frame(200, 100, [(75, 50), (150, 40)])
    b = RTMPoseBackend(pose_model(), path, max_people=3)
    np.testing.assert_allclose(b.boxes(frame), [[125, 25, 175, 75], [50, 25, 100, 75]])
    kp = b(frame)
    assert kp.shape == (2, 17, 3)
    np.testing.assert_allclose(kp[0, :, :2], np.tile([150, 40], (17, 1)), atol=1.0)
    np.testing.assert_allclose(kp[1, :, :2], np.tile([75, 50], (17, 1)), atol=1.0)
    one = RTMPoseBackend(pose_model(), path, max_people=1)(frame)
    assert one.shape == (1, 17, 3)
    nobody = RTMPoseBackend(pose_model(), detector([[0, 0, 10, 10, 0.1]], [0], name="d2.onnx"))
    assert nobody(frame).shape == (0, 17, 3)


def test_the_sdk_pipeline_json_sets_the_normalisation(pose_model, tmp_path):
    from skelcon.extract.rtmpose import POSE_NORM, RTMPoseBackend, read_normalisation

    path = pose_model()
    assert RTMPoseBackend(path).norm == POSE_NORM  # no pipeline.json: RTMPose's
    doc = {
        "pipeline": {
            "tasks": [
                {"type": "Task", "transforms": [{"type": "LoadImageFromFile"}]},
                {"type": "Normalize", "mean": [1, 2, 3], "std": [4, 5, 6], "to_rgb": False},
            ]
        }
    }
    (tmp_path / "pipeline.json").write_text(json.dumps(doc))
    assert read_normalisation(path, POSE_NORM) == Normalisation((1, 2, 3), (4, 5, 6), rgb=False)
    # the SDK folder itself names the model
    (tmp_path / "sdk").mkdir()
    path.rename(tmp_path / "sdk" / "end2end.onnx")
    assert RTMPoseBackend(tmp_path / "sdk").path == tmp_path / "sdk" / "end2end.onnx"
    (tmp_path / "pipeline.json").write_text(
        '{"type": "Normalize", "mean": [1, 2], "std": [1, 1, 1]}'
    )
    with pytest.raises(SkelconError, match="pipeline.json: cannot read its Normalize step"):
        read_normalisation(tmp_path / "m.onnx", POSE_NORM)


def test_model_files_that_do_not_fit_are_one_line(pose_model, detector, tmp_path):
    from skelcon.extract.rtmpose import RTMPoseBackend

    junk = tmp_path / "junk.onnx"
    junk.write_text("not a model")
    with pytest.raises(SkelconError, match=r"--pose-model '.*junk.onnx' is not an ONNX model") as e:
        RTMPoseBackend(junk)
    assert "\n" not in str(e.value)
    with pytest.raises(SkelconError, match="does not exist"):
        RTMPoseBackend(tmp_path / "none.onnx")
    with pytest.raises(SkelconError, match="is a folder without end2end.onnx"):
        RTMPoseBackend(tmp_path)
    # a detector in place of the pose model, and the converse
    det = detector([[0, 0, 10, 10, 0.9]], [0])
    with pytest.raises(
        SkelconError, match=r"expected an RTMPose export with simcc_x \(N, 17, Lx\)"
    ):
        RTMPoseBackend(det)
    pose = pose_model()
    with pytest.raises(SkelconError, match=r"--det-model .* expected an end-to-end export"):
        RTMPoseBackend(pose, pose)
