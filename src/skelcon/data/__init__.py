"""Datasets: joint layouts, raw-format parsers, normalisation and the prepared format."""

from .channels import channels_of
from .layouts import (
    BUILTIN_LAYOUTS,
    KINECT20,
    LAYOUTS,
    NTU25,
    JointLayout,
    get_layout,
    layout_from_meta,
    load_layout,
)
from .prepared import Clip, PreparedSplit, PreparedWriter, load_prepared, read_meta

__all__ = [
    "BUILTIN_LAYOUTS",
    "Clip",
    "JointLayout",
    "KINECT20",
    "LAYOUTS",
    "NTU25",
    "PreparedSplit",
    "PreparedWriter",
    "channels_of",
    "get_layout",
    "layout_from_meta",
    "load_layout",
    "load_prepared",
    "read_meta",
]
