"""Fixtures of the extraction tests: tiny ONNX models with the inputs and outputs of an
RTMPose export and of an end-to-end person detector, built with ``onnx.helper`` (no
weights to download), and fake extractors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

K = 17  # COCO keypoints


def _bright_spot_pose_model(path: Path, size: tuple[int, int], batch: int | str) -> Path:
    """An "RTMPose" whose every keypoint is the brightest column / row of the crop's
    first channel: ``simcc_x (N, 17, 2w)`` = max over rows of channel 0, each value
    repeated twice (2 bins a pixel, as RTMPose's), ``simcc_y`` alike over columns."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    w, h = size
    nodes = [
        helper.make_node(
            "Constant", [], ["c0"], value=helper.make_tensor("a", TensorProto.INT64, [1], [0])
        ),
        helper.make_node(
            "Constant", [], ["c1"], value=helper.make_tensor("b", TensorProto.INT64, [1], [1])
        ),
        helper.make_node(
            "Constant",
            [],
            ["kshape"],
            value=helper.make_tensor("k", TensorProto.INT64, [3], [1, K, 1]),
        ),
        helper.make_node(
            "Constant",
            [],
            ["pair"],
            value=helper.make_tensor("p", TensorProto.INT64, [4], [1, 1, 1, 2]),
        ),
        helper.make_node(
            "Constant",
            [],
            ["flat"],
            value=helper.make_tensor("f", TensorProto.INT64, [3], [0, 0, -1]),
        ),
        helper.make_node(
            "Constant", [], ["ax3"], value=helper.make_tensor("x3", TensorProto.INT64, [1], [3])
        ),
        helper.make_node("Slice", ["input", "c0", "c1", "c1"], ["ch0"]),  # (N, 1, h, w)
    ]
    for name, axis in (("simcc_x", 2), ("simcc_y", 3)):
        nodes += [
            helper.make_node("ReduceMax", ["ch0"], [f"{name}_m"], axes=[axis], keepdims=0),
            helper.make_node("Expand", [f"{name}_m", "kshape"], [f"{name}_k"]),  # (N, K, L)
            helper.make_node("Unsqueeze", [f"{name}_k", "ax3"], [f"{name}_u"]),
            helper.make_node("Expand", [f"{name}_u", "pair"], [f"{name}_2"]),
            helper.make_node("Reshape", [f"{name}_2", "flat"], [name]),  # (N, K, 2L)
        ]
    graph = helper.make_graph(
        nodes,
        "bright_spot_pose",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [batch, 3, h, w])],
        [
            helper.make_tensor_value_info("simcc_x", TensorProto.FLOAT, [batch, K, 2 * w]),
            helper.make_tensor_value_info("simcc_y", TensorProto.FLOAT, [batch, K, 2 * h]),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def _constant_detector(
    path: Path, size: tuple[int, int], dets: np.ndarray, labels: np.ndarray
) -> Path:
    """An end-to-end "detector" that answers ``dets (1, N, 5)`` and ``labels (1, N)``
    (boxes in its ``size`` input's pixels) whatever the image."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    w, h = size
    d = np.asarray(dets, dtype=np.float32)[None]
    lab = np.asarray(labels, dtype=np.int64)[None]
    nodes = [
        helper.make_node("ReduceMax", ["input"], ["m"], keepdims=1),  # (1, 1, 1, 1)
        helper.make_node(
            "Constant", [], ["zero"], value=helper.make_tensor("z", TensorProto.FLOAT, [], [0.0])
        ),
        helper.make_node("Mul", ["m", "zero"], ["m0"]),
        helper.make_node(
            "Constant",
            [],
            ["shape"],
            value=helper.make_tensor("s", TensorProto.INT64, [3], [1, 1, 1]),
        ),
        helper.make_node("Reshape", ["m0", "shape"], ["m3"]),
        helper.make_node("Constant", [], ["d"], value=numpy_helper.from_array(d, "dv")),
        helper.make_node("Add", ["d", "m3"], ["dets"]),  # depends on the input, adds 0
        helper.make_node("Constant", [], ["labels"], value=numpy_helper.from_array(lab, "lv")),
    ]
    graph = helper.make_graph(
        nodes,
        "constant_detector",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, h, w])],
        [
            helper.make_tensor_value_info("dets", TensorProto.FLOAT, [1, d.shape[1], 5]),
            helper.make_tensor_value_info("labels", TensorProto.INT64, [1, d.shape[1]]),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


@pytest.fixture
def pose_model(tmp_path: Path):
    """``make(size=(w, h), batch="N")`` -> path of a bright-spot pose model."""
    pytest.importorskip("onnxruntime")

    def make(size: tuple[int, int] = (48, 64), batch: int | str = "N", name: str = "pose.onnx"):
        return _bright_spot_pose_model(tmp_path / name, size, batch)

    return make


@pytest.fixture
def detector(tmp_path: Path):
    """``make(dets, labels, size=(w, h))`` -> path of a constant detector."""
    pytest.importorskip("onnxruntime")

    def make(dets, labels, size: tuple[int, int] = (64, 64), name: str = "det.onnx"):
        return _constant_detector(tmp_path / name, size, np.asarray(dets), np.asarray(labels))

    return make
