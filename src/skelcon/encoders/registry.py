"""Encoder registry, size presets and :func:`build_encoder`."""

from __future__ import annotations

import copy
from typing import Any

from torch import nn

from ..config import PRESETS as CONFIG_PRESETS
from ..data.layouts import JointLayout
from ..errors import SkelconError, choices_message
from .img import ImgEncoder
from .seq import SeqEncoder
from .stg import StgEncoder
from .streams import InputStream

ENCODERS: dict[str, type[nn.Module]] = {"seq": SeqEncoder, "img": ImgEncoder, "stg": StgEncoder}

# Architecture sizes per preset. "paper" is the paper's encoders; "small" is a
# narrow variant of the same architecture for CPU runs and tests.
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "seq": {
        # init: the authors apply xavier-uniform to every 2-D GRU weight
        # recurrence: bidirectional | stepwise (the authors' GRU; config seq.recurrence)
        "paper": {
            "hidden_size": 1024,
            "num_layers": 3,
            "readout": "last",
            "init": "xavier",
            "recurrence": "bidirectional",
        },
        "small": {
            "hidden_size": 128,
            "num_layers": 2,
            "readout": "last",
            "init": "default",
            "recurrence": "bidirectional",
        },
    },
    "img": {
        "paper": {"out_channels": 64, "conv2_channels": 64, "dropout": 0.5},
        "small": {"out_channels": 16, "conv2_channels": 32, "dropout": 0.5},
    },
    "stg": {
        "paper": {
            "channels": [64, 64, 64, 64, 128, 128, 128, 256, 256, 256],
            "strides": [1, 1, 1, 1, 2, 1, 1, 2, 1, 1],
        },
        "small": {"channels": [32, 64, 128], "strides": [4, 2, 1]},
    },
}

PRESET_NAMES: tuple[str, ...] = CONFIG_PRESETS  # the keys of every PRESETS[name]


def encoder_kwargs(name: str, preset: str) -> dict[str, Any]:
    """The size arguments of encoder ``name`` under ``preset`` (a fresh copy)."""
    if name not in ENCODERS:
        raise SkelconError(choices_message("encoder", name, ENCODERS))
    if preset not in PRESETS[name]:
        raise SkelconError(choices_message("encoder preset", preset, PRESETS[name]))
    return copy.deepcopy(PRESETS[name][preset])


def build_encoder(
    name: str,
    preset: str,
    *,
    in_channels: int = 3,
    num_frames: int = 64,
    num_joints: int = 25,
    num_persons: int = 2,
    layout: JointLayout | None = None,
    stream: str | InputStream = "joint",
    **overrides: Any,
) -> nn.Module:
    """Encoder ``name`` (seq, img, stg) sized by ``preset`` (paper, small) for input
    ``(N, in_channels, num_frames, num_joints, num_persons)``.

    ``stream``: the input stream the encoder applies first (``joint``, ``bone``,
    ``motion``, or an :class:`~skelcon.encoders.streams.InputStream`).
    ``overrides`` replace preset sizes (e.g. ``channels=[...]`` for stg). The module
    has ``.feature_dim`` and maps ``x: (N, C, T, V, M)`` to ``(N, feature_dim)``.
    """
    kwargs = encoder_kwargs(name, preset)
    unknown = sorted(set(overrides) - set(kwargs))
    if unknown:
        raise SkelconError(choices_message(f"{name} encoder option", unknown[0], sorted(kwargs)))
    kwargs.update(overrides)
    return ENCODERS[name](
        in_channels=in_channels,
        num_frames=num_frames,
        num_joints=num_joints,
        num_persons=num_persons,
        layout=layout,
        stream=stream,
        **kwargs,
    )
