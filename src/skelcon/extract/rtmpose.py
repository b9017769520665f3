"""The ``rtmpose`` backend: a person detector and RTMPose, ONNX models run by onnxruntime.

Top-down, several people a frame, COCO's 17 keypoints (layout ``coco17``), from weight
files the user has; nothing is downloaded. Per frame:

1. the detector (``--det-model``; an end-to-end ONNX export with its NMS inside, output
   ``dets (1, N, 5)``: ``x1, y1, x2, y2, score`` in its input's pixels, and optionally
   ``labels (1, N)``, as the RTMDet and YOLOX person detectors of mmpose's and rtmlib's
   ``onnx_sdk`` releases are) sees the frame letterboxed to its input size; boxes of
   class 0 scoring at least :data:`DET_THRESHOLD` are people, the ``max_people`` best
   kept. Without a detector the whole frame is one person's box;
2. RTMPose (``--pose-model``; input ``(N, 3, h, w)``, outputs ``simcc_x (N, 17, Lx)`` and
   ``simcc_y (N, 17, Ly)``) sees each box as a crop (:mod:`skelcon.extract.crops`) and its
   SimCC answer is mapped back to image pixels.

A model path may be the ``.onnx`` file or the unzipped SDK folder holding
``end2end.onnx``. Pixel normalisation is read from the ``pipeline.json`` beside the
model when there is one (the SDK folders have it), else RTMPose's (RGB, ImageNet mean
and std) for the pose model and YOLOX's (BGR, 0..255 as they are) for the detector.

The pre- and post-processing are skelcon's own (a few array operations) rather than the
``rtmlib`` package's: rtmlib requires both ``opencv-python`` and
``opencv-contrib-python`` (GUI builds that clash with the headless OpenCV of
``skelcon[video]`` and need X11 libraries on a server) and fetches weights by URL.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..data.layouts import JointLayout
from ..errors import SkelconError
from .backend import backend_layout
from .crops import Normalisation, boxes_to_crops, crop_people, decode_simcc, letterbox

__all__ = ["DET_THRESHOLD", "PersonDetector", "RTMPoseBackend", "model_file", "read_normalisation"]

DET_THRESHOLD = 0.3  # a detection scoring below this is not a person
POSE_SIZE = (192, 256)  # (w, h) when the pose model's input size is dynamic
DET_SIZE = (640, 640)  # (w, h) when the detector's is
POSE_NORM = Normalisation((123.675, 116.28, 103.53), (58.395, 57.12, 57.375), rgb=True)
DET_NORM = Normalisation(rgb=False)  # YOLOX: BGR pixels as they are
SDK_MODEL = "end2end.onnx"  # the model file of an mmdeploy SDK folder
INSTALL_HINT = "pip install 'skelcon[rtmpose]' (onnxruntime)"


def model_file(path: str | os.PathLike[str], flag: str) -> Path:
    """The ONNX file ``path`` names: itself, or ``end2end.onnx`` in an SDK folder.
    Raises a one-line :class:`SkelconError` naming ``flag`` when there is none."""
    p = Path(path)
    if p.is_dir():
        if not (p / SDK_MODEL).is_file():
            raise SkelconError(f"{flag} {str(p)!r} is a folder without {SDK_MODEL}")
        return p / SDK_MODEL
    if not p.is_file():
        raise SkelconError(
            f"{flag} {str(p)!r} does not exist (give the .onnx file or its SDK folder)"
        )
    return p


def _find_normalize(doc: Any) -> dict[str, Any] | None:
    """The first ``{"type": "Normalize", ...}`` object anywhere in ``doc``."""
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("type") == "Normalize":
                return node
            stack.extend(reversed(list(node.values())))
        elif isinstance(node, list):
            stack.extend(reversed(node))
    return None


def read_normalisation(model: Path, default: Normalisation) -> Normalisation:
    """The pixel normalisation of ``model``: from the ``Normalize`` step of the
    ``pipeline.json`` beside it (mmdeploy's SDK format: ``mean``, ``std``, ``to_rgb``),
    else ``default``. Raises a one-line :class:`SkelconError` for a pipeline.json that
    cannot be read."""
    path = model.parent / "pipeline.json"
    if not path.is_file():
        return default
    try:
        step = _find_normalize(json.loads(path.read_text(encoding="utf-8")))
        if step is None:
            return Normalisation(rgb=default.rgb)  # no Normalize step: pixels as they are
        mean = tuple(float(v) for v in step.get("mean", (0.0, 0.0, 0.0)))
        std = tuple(float(v) for v in step.get("std", (1.0, 1.0, 1.0)))
        if len(mean) != 3 or len(std) != 3 or not all(s > 0 for s in std):
            raise ValueError(f"mean {list(mean)} and std {list(std)} must be 3 values, std > 0")
        return Normalisation(mean, std, bool(step.get("to_rgb", False)))
    except (ValueError, TypeError, OSError, UnicodeDecodeError) as e:
        raise SkelconError(f"{path}: cannot read its Normalize step: {e}") from None


def _session(path: Path, flag: str) -> Any:
    """An onnxruntime CPU session of ``path``, with skelcon's intra-op thread count."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise SkelconError(f"the rtmpose backend needs onnxruntime: {INSTALL_HINT}") from None
    import torch

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = max(1, torch.get_num_threads())
    opts.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime's own error types: a file that is not a model
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise SkelconError(
            f"{flag} {str(path)!r} is not an ONNX model onnxruntime can load: {first}"
        ) from None


def _input_size(shape: list[Any], default: tuple[int, int]) -> tuple[int, int]:
    """``(w, h)`` of an image input ``[N, 3, H, W]``; ``default`` when they are dynamic."""
    h, w = (list(shape) + [None, None])[2:4]
    if isinstance(w, int) and isinstance(h, int) and w > 0 and h > 0:
        return w, h
    return default


def _batch_fixed(shape: list[Any]) -> bool:
    return bool(shape) and isinstance(shape[0], int)


class PersonDetector:
    """A person detector from an end-to-end ONNX export (module doc): ``__call__(frame
    (H, W, 3) uint8 RGB) -> (boxes (N, 4) x1, y1, x2, y2 pixels, scores (N,))``, best
    first, boxes clipped to the frame."""

    def __init__(self, path: str | os.PathLike[str], threshold: float = DET_THRESHOLD):
        self.path = model_file(path, "--det-model")
        self.session = _session(self.path, "--det-model")
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        self.size = _input_size(inp.shape, DET_SIZE)
        self.norm = read_normalisation(self.path, DET_NORM)
        self.threshold = threshold
        outs = self.session.get_outputs()
        dets = [o for o in outs if o.shape and o.shape[-1] == 5]
        if not dets:
            shapes = ", ".join(f"{o.name} {o.shape}" for o in outs)
            raise SkelconError(
                f"--det-model {str(self.path)!r} outputs {shapes}: expected an end-to-end export "
                "with NMS, dets (1, N, 5) = x1, y1, x2, y2, score (and labels (1, N)), as "
                "the RTMDet/YOLOX person detectors of mmpose's onnx_sdk zips"
            )
        self.dets_name = dets[0].name
        labels = [o.name for o in outs if o.name == "labels"]
        self.labels_name = labels[0] if labels else None

    def __call__(self, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x, ratio = letterbox(frame, self.size)
        names = [self.dets_name] + ([self.labels_name] if self.labels_name else [])
        got = self.session.run(names, {self.input_name: self.norm.apply(x).numpy()})
        dets = np.asarray(got[0], dtype=np.float64).reshape(-1, 5)
        keep = dets[:, 4] >= self.threshold
        if self.labels_name is not None:
            keep &= np.asarray(got[1]).reshape(-1)[: len(dets)] == 0  # class 0: person
        dets = dets[keep]
        dets = dets[np.argsort(-dets[:, 4], kind="stable")]
        height, width = frame.shape[:2]
        boxes = dets[:, :4] / ratio
        boxes[:, 0::2] = boxes[:, 0::2].clip(0, width)
        boxes[:, 1::2] = boxes[:, 1::2].clip(0, height)
        ok = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        return boxes[ok], dets[ok, 4]


class RTMPoseBackend:
    """The ``rtmpose`` :class:`~skelcon.extract.backend.FrameBackend` (module doc):
    ``__call__(frame (H, W, 3) uint8 RGB) -> (P, 17, 3)`` float32, ``x, y`` pixels and a
    score, at most ``max_people`` people, the detector's most confident first.

    Raises a one-line :class:`SkelconError` for a model file that is missing, not
    loadable or not of the expected inputs and outputs, and when onnxruntime is not
    installed."""

    name = "rtmpose"

    def __init__(
        self,
        pose_model: str | os.PathLike[str],
        det_model: str | os.PathLike[str] | None = None,
        *,
        max_people: int = 2,
    ):
        if max_people < 1:
            raise SkelconError(
                f"max_people must be at least 1, got {max_people}", param="max_people"
            )
        self.layout: JointLayout = backend_layout("rtmpose")
        self.max_people = max_people
        self.path = model_file(pose_model, "--pose-model")
        self.session = _session(self.path, "--pose-model")
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        self.size = _input_size(inp.shape, POSE_SIZE)
        self.one_at_a_time = _batch_fixed(inp.shape)
        self.norm = read_normalisation(self.path, POSE_NORM)
        self.output_names = self._simcc_outputs()
        self.detector = PersonDetector(det_model) if det_model is not None else None

    def _simcc_outputs(self) -> list[str]:
        outs = self.session.get_outputs()
        by_name = {o.name: o for o in outs}
        chosen = (
            [by_name["simcc_x"], by_name["simcc_y"]]
            if {"simcc_x", "simcc_y"} <= set(by_name)
            else outs[:2]
        )
        v = self.layout.num_joints
        if len(chosen) < 2 or any(
            len(o.shape) != 3 or (isinstance(o.shape[1], int) and o.shape[1] != v) for o in chosen
        ):
            shapes = ", ".join(f"{o.name} {o.shape}" for o in outs)
            raise SkelconError(
                f"--pose-model {str(self.path)!r} outputs {shapes}: expected an RTMPose export "
                f"with simcc_x (N, {v}, Lx) and simcc_y (N, {v}, Ly) (COCO's {v} keypoints: a "
                "body7 or coco RTMPose)"
            )
        return [o.name for o in chosen]

    def boxes(self, frame: np.ndarray) -> np.ndarray:
        """The people's boxes ``(P, 4)`` in ``frame``: the detector's best
        ``max_people``, or the whole frame without a detector."""
        if self.detector is None:
            height, width = frame.shape[:2]
            return np.array([[0.0, 0.0, float(width), float(height)]])
        return self.detector(frame)[0][: self.max_people]

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        boxes = self.boxes(frame)
        v = self.layout.num_joints
        if not len(boxes):
            return np.zeros((0, v, 3), dtype=np.float32)
        centers, scales = boxes_to_crops(boxes, self.size)
        x = self.norm.apply(crop_people(frame, centers, scales, self.size)).numpy()
        if self.one_at_a_time:
            runs = [
                self.session.run(self.output_names, {self.input_name: x[i : i + 1]})
                for i in range(len(x))
            ]
            sx = np.concatenate([r[0] for r in runs])
            sy = np.concatenate([r[1] for r in runs])
        else:
            sx, sy = self.session.run(self.output_names, {self.input_name: x})
        if sx.shape[1] != v:
            raise SkelconError(
                f"--pose-model {str(self.path)!r} gives {sx.shape[1]} keypoints; the rtmpose "
                f"backend writes COCO's {v} (a body7 or coco RTMPose)"
            )
        return decode_simcc(sx, sy, centers, scales, self.size)
