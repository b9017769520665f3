"""Datasets: joint layouts, raw-format parsers, normalisation and the prepared format."""

from .layouts import KINECT20, LAYOUTS, NTU25, JointLayout, get_layout
from .prepared import Clip, PreparedSplit, PreparedWriter, load_prepared, read_meta

__all__ = [
    "Clip",
    "JointLayout",
    "KINECT20",
    "LAYOUTS",
    "NTU25",
    "PreparedSplit",
    "PreparedWriter",
    "get_layout",
    "load_prepared",
    "read_meta",
]
