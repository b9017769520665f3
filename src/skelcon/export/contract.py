"""The input contract written beside an exported encoder (``FILE.json``).

Everything a program outside skelcon needs to feed the exported graph data like the
data the encoder was pre-trained on: the tensors' names, shapes and dtypes, the joint
layout (its name and its definition: joints, bones, centre, the joints normalisation
aligns), what the channels hold, how the training data was normalised, the crop the
graph applies itself, the input stream the graph computes (joint, bone or motion), the feature width, and where the weights came from (checkpoint,
epoch, skelcon version).
"""

from __future__ import annotations

from typing import Any

from ..augment import CENTER_CROP_RATIO
from ..data.layouts import get_layout
from ..eval.compat import channel_names as compat_channel_names
from ..eval.encoder import LoadedEncoder
from .graph import INPUT_NAMES, OUTPUT_NAME

CONTRACT_VERSION = 1

# How each `skelcon prepare` normalises (skelcon.data.normalize.normalize; the
# synthetic data centres and aligns the same way).
_NTU_STANDARD = (
    "skelcon.data.normalize.normalize (the NTU RGB+D preparation): empty frames padded by "
    "repeating the valid ones, every frame centred on the layout's centre joint of person 1, "
    "then rotated so that at frame 0 person 1's 'up' joints (layout_def) point along +z, "
    "then its 'left_right' joints along +x; joints at exactly 0 stay 0"
)
NORMALIZATION_BY_DATASET = {
    "ntu60": _NTU_STANDARD,
    "ntu120": _NTU_STANDARD,
    "pku-mmd1": _NTU_STANDARD,
    "pku-mmd2": _NTU_STANDARD,
    "nw-ucla": _NTU_STANDARD,
    "synthetic": "skelcon.data.normalize centre and align as the NTU preparation "
    "(frames after num_frames are zeros)",
}


STREAM_MEANING = {
    "joint": "the joints as given",
    "bone": "each joint minus its parent joint (the layout's bones; a root is 0), 0 where "
    "either joint is missing (all channels 0)",
    "motion": "frame differences x[t+1] - x[t] of the cropped clip, the last frame 0; 0 "
    "where the joint is missing in either frame",
}


def normalization(spec: dict[str, Any]) -> str:
    """How the pre-training data was normalised: the spec's own ``normalization`` entry
    when it has one, else what ``skelcon prepare`` does for its dataset (3D joints),
    else a note that skelcon does not know (e.g. data imported as they came)."""
    if spec.get("normalization"):
        return str(spec["normalization"])
    dataset = spec.get("dataset")
    if dataset in NORMALIZATION_BY_DATASET and channel_names(spec) == ["x", "y", "z"]:
        return NORMALIZATION_BY_DATASET[dataset]  # (3D joints: the table is about those)
    return (
        f"not recorded: the data ({dataset!r}) were used as prepared or imported; "
        "normalise new data the same way"
    )


def layout_definition(spec: dict[str, Any]) -> dict[str, Any]:
    """The joint layout of ``spec`` as plain values: a stored ``layout_def``, else the
    built-in layout of that name (joint names, bones as ``[child, parent]`` names
    pointing to the centre, ``center``, ``up`` = spine ``[base, top]``, ``left_right``
    = shoulders ``[left, right]``)."""
    if isinstance(spec.get("layout_def"), dict):
        return dict(spec["layout_def"])
    lay = get_layout(spec["layout"])
    j = lay.joints
    return {
        "name": lay.name,
        "joints": list(j),
        "bones": [[j[a], j[b]] for a, b in lay.bones],
        "center": j[lay.center],
        "up": [j[lay.spine[0]], j[lay.spine[1]]],
        "left_right": [j[lay.shoulders[0]], j[lay.shoulders[1]]],
    }


def channel_names(spec: dict[str, Any]) -> list[str] | None:
    """What the C axis holds (``x, y, z`` for 3D data that names nothing else)."""
    return compat_channel_names(spec)


def input_contract(
    loaded: LoadedEncoder,
    *,
    fmt: str,
    file: str,
    epoch: int | None,
    version: str,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The contract of ``loaded`` exported as ``fmt`` to ``file`` (see the module doc)."""
    spec = loaded.spec
    c, v, m = spec["in_channels"], spec["num_joints"], spec["num_persons"]
    t_enc, d = loaded.num_frames, loaded.feature_dim
    ratio = CENTER_CROP_RATIO
    return {
        "contract_version": CONTRACT_VERSION,
        "format": fmt,
        "file": file,
        "inputs": {
            INPUT_NAMES[0]: {
                "shape": ["N", c, "T", v, m],
                "dtype": "float32",
                "axes": "N clips, C channels, T frames, V joints, M persons",
                "meaning": "skeleton clips as a prepared dataset stores them: any T >= 1, "
                "valid frames first; frames from num_frames on are ignored; N >= 1 (an "
                "empty batch aborts onnxruntime's process: skip it, its features are (0, D))",
            },
            INPUT_NAMES[1]: {
                "shape": ["N"],
                "dtype": "int64",
                "meaning": "valid frames of each clip, 1..T",
            },
        },
        "output": {OUTPUT_NAME: {"shape": ["N", d], "dtype": "float32"}},
        "dynamic_axes": {INPUT_NAMES[0]: ["N", "T"], INPUT_NAMES[1]: ["N"], OUTPUT_NAME: ["N"]},
        "C": c,
        "V": v,
        "M": m,
        "T": "any (the graph crops and resizes)",
        "channels": channel_names(spec),
        "layout": spec["layout"],
        "layout_def": layout_definition(spec),
        "normalization": normalization(spec),
        "crop": {
            "done_by": "the graph itself: give whole clips, not crops",
            "what": "centre crop of the valid frames, resized by linear interpolation "
            f"(first and last frames kept) to the {t_enc} frames the encoder takes",
            "ratio": ratio,
            "length": f"max(floor({ratio} * num_frames), 1)",
            "start": "(num_frames - length) // 2",
            "encoder_frames": t_enc,
        },
        "stream": {
            "name": loaded.stream,
            "done_by": "the graph itself, after the crop: give joints, not bones or motion",
            "what": STREAM_MEANING[loaded.stream],
        },
        "feature_dim": d,
        "representation": "+".join(loaded.representations),
        "preset": loaded.preset,
        "dataset": spec.get("dataset"),
        "checkpoint": loaded.checkpoint,
        "checkpoint_epoch": epoch,
        "skelcon_version": version,
        **(extra or {}),
    }
