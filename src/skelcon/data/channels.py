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
from .layouts import JointLayout

__all__ = [
    "LAYOUT_DIMS",
    "VALID_CHANNELS",
    "channels_of",
    "check_channels",
    "check_score_range",
    "coord_count",
    "default_channels",
    "fixed_channels",
    "layout_dims",
    "parse_channels",
    "resolve_channels",
]

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
    raise SkelconError(
        f"skeleton data with C={c} channels must name them (valid: "
        + "; ".join(",".join(v) for v in VALID_CHANNELS)
        + ")"
    )


def check_channels(
    channels: Sequence[str], c: int | None = None, where: str = "channels"
) -> list[str]:
    """``channels`` as a list when it is one of :data:`VALID_CHANNELS` (of length ``c``
    when given), else a one-line :class:`SkelconError` naming ``where``."""
    ch = tuple(str(s) for s in channels) if isinstance(channels, (list, tuple)) else None
    if ch not in VALID_CHANNELS:
        raise SkelconError(
            f"{where}: {channels!r} is not a channel list (valid: "
            + "; ".join(",".join(v) for v in VALID_CHANNELS)
            + ")"
        )
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


# --------------------------------------------------------------------------- importers

LAYOUT_DIMS: dict[str, int] = {
    "ntu25": 3,
    "kinect20": 3,
    "coco17": 2,
    "openpose18": 2,
    "openpose25": 2,
}
"""Whether a built-in layout's joints come as 3D (Kinect) or 2D (pose estimators)."""

CHANNELS_HELP = (
    "what the data's channel axis C holds: x,y | x,y,score | x,y,z | x,y,z,score "
    "(default by C: 2 x,y; 4 x,y,z,score; 3 x,y,score for a 2D layout (coco17, "
    "openpose18, openpose25), x,y,z otherwise)"
)


def layout_dims(layout: JointLayout) -> int | None:
    """2 or 3 for the built-in layouts (:data:`LAYOUT_DIMS`), None for a user's own."""
    return LAYOUT_DIMS.get(layout.name) if layout.builtin else None


def parse_channels(text: str | None) -> list[str] | None:
    """``--channels x,y,score`` -> ``["x", "y", "score"]`` (None stays None); a one-line
    :class:`SkelconError` for anything not in :data:`VALID_CHANNELS`."""
    if text is None:
        return None
    return check_channels([s.strip() for s in str(text).split(",")], None, "--channels")


def resolve_channels(
    given: Sequence[str] | None,
    c: int,
    layout: JointLayout,
    where: str,
    *,
    extra_score: bool = False,
) -> tuple[list[str], str]:
    """What the C axis of imported data holds: ``(channels, note)``.

    ``given`` is ``--channels`` (None: not given); ``c`` the data's C; ``extra_score``
    True when the source keeps a confidence beside the coordinates (PYSKL's
    ``keypoint_score``, Kinetics' ``score``), so ``c + 1`` channels ending in ``score``
    are possible too. Without ``--channels``: C = 2 is ``x, y`` (``x, y, score`` with an
    extra score), 4 ``x, y, z, score``, and 3 ``x, y, score`` for a 2D layout
    (:data:`LAYOUT_DIMS`: pose estimators pack the confidence as the third value, never
    a depth) or ``x, y, z`` otherwise. ``note`` says what was assumed ("" when nothing
    was: the channels were given, or C decides); importers print it and keep it in
    meta.json (``channels_assumed``). Raises a one-line :class:`SkelconError` naming
    ``where`` when ``--channels`` does not fit C, or C fits no channel set.
    """
    valid = "; ".join(",".join(v) for v in VALID_CHANNELS)
    if given is not None:
        ch = check_channels(given, None, "--channels")
        if len(ch) == c or (extra_score and len(ch) == c + 1 and ch[-1] == "score"):
            return ch, ""
        more = (
            f" (or C+1 = {c + 1} ending in score, from its separate scores)" if extra_score else ""
        )
        raise SkelconError(
            f"channels {','.join(ch)} names {len(ch)} channels but {where} has C={c}{more}",
            param="channels",
        )
    dims = layout_dims(layout)
    if c == 2:
        return (["x", "y", "score"] if extra_score else ["x", "y"]), ""
    if c == 4:
        return ["x", "y", "z", "score"], ""
    if c == 3 and dims == 2:
        return ["x", "y", "score"], (
            f"C=3 with the 2D layout {layout.name}: read as x,y,score (the pose estimator's "
            "confidence third); pass --channels x,y,z if the third value is a depth"
        )
    if c == 3:
        note = (
            ""
            if dims == 3
            else (
                f"C=3 with layout {layout.name} (not a built-in one): read as x,y,z; pass "
                "--channels x,y,score if the third value is a confidence"
            )
        )
        return ["x", "y", "z"], note
    raise SkelconError(
        f"{where} has C={c} channels per joint; valid: {valid} (C = 2 to 4: "
        "are the axes in another order?)"
    )


def check_score_range(
    lo: float, hi: float, channels: Sequence[str], assumed: bool, where: str
) -> str:
    """Whether the score channel's values ``lo..hi`` look like a confidence in [0, 1].

    An *assumed* score (``resolve_channels``' note) outside it is refused: the third
    value is then a depth or a coordinate, and reading it as a score would be silently
    wrong. A score named by ``--channels`` only gets a warning (returned; "" if none).
    """
    if "score" not in channels or not (lo < -1e-3 or hi > 1 + 1e-3):
        return ""
    msg = (
        f"{where}: the score channel holds values in [{lo:.4g}, {hi:.4g}], not a "
        "confidence in [0, 1]"
    )
    if assumed:
        raise SkelconError(
            f"{msg}: pass --channels x,y,z if it is a depth (and a 3D layout), "
            "or --channels x,y,score to read it as a score anyway"
        )
    return f"warning: {msg}"


def fixed_channels(given: Sequence[str] | None, holds: Sequence[str], source: str) -> list[str]:
    """``--channels`` of a format whose channels are fixed (NTU, PKU-MMD, NW-UCLA):
    ``holds`` when not given or equal, else a one-line :class:`SkelconError`."""
    if given is None:
        return list(holds)
    ch = check_channels(given, None, "--channels")
    if ch != list(holds):
        raise SkelconError(
            f"channels {','.join(ch)}: {source} holds {','.join(holds)}; valid: {','.join(holds)}",
            param="channels",
        )
    return ch
