"""What the C axis of a skeleton array holds: coordinates, then an optional confidence.

A prepared dataset names its channels in ``meta.json`` (``"channels"``); one of

* ``["x", "y", "z"]``: 3D joints (Kinect, motion capture), C = 3;
* ``["x", "y"]``: 2D joints (image coordinates), C = 2;
* ``["x", "y", "score"]``: 2D joints and the pose estimator's confidence, C = 3;
* ``["x", "y", "z", "score"]``: 3D joints and a confidence, C = 4.

Coordinates always come first, the confidence (if any) last, so the spatial
augmentations act on ``x[:, :coord_count]`` and leave the rest alone. A dataset
without the entry (prepared before it existed) has ``x, y, z`` for C = 3 and ``x, y``
for C = 2.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import SkelconError

__all__ = ["VALID_CHANNELS", "channels_of", "check_channels", "coord_count", "default_channels"]

VALID_CHANNELS: tuple[tuple[str, ...], ...] = (
    ("x", "y", "z"),
    ("x", "y"),
    ("x", "y", "score"),
    ("x", "y", "z", "score"),
)


def default_channels(c: int) -> list[str]:
    """The channels of data with ``c`` channels and no ``channels`` entry."""
    if c == 3:
        return ["x", "y", "z"]
    if c == 2:
        return ["x", "y"]
    raise SkelconError(f"skeleton data with C={c} channels must name them (valid: "
                       + "; ".join(",".join(v) for v in VALID_CHANNELS) + ")")  # fmt: skip


def check_channels(
    channels: Sequence[str], c: int | None = None, where: str = "channels"
) -> list[str]:
    """``channels`` as a list when it is one of :data:`VALID_CHANNELS` (of length ``c``
    when given), else a one-line :class:`SkelconError` naming ``where``."""
    ch = tuple(str(s) for s in channels) if isinstance(channels, (list, tuple)) else None
    if ch not in VALID_CHANNELS:
        raise SkelconError(f"{where}: {channels!r} is not a channel list (valid: "
                           + "; ".join(",".join(v) for v in VALID_CHANNELS) + ")")  # fmt: skip
    if c is not None and len(ch) != c:
        raise SkelconError(f"{where}: {list(ch)} names {len(ch)} channels but the data have C={c}")
    return list(ch)


def channels_of(meta: dict) -> list[str]:
    """The channel names of a prepared dataset's ``meta`` (or a checkpoint's data spec)."""
    c = int(meta["shape"][1]) if "shape" in meta else int(meta["in_channels"])
    if "channels" in meta:
        return check_channels(meta["channels"], c, "meta.json channels")
    return default_channels(c)


def coord_count(channels: Sequence[str]) -> int:
    """How many leading channels are coordinates (2 or 3)."""
    return sum(1 for s in channels if s in ("x", "y", "z"))
