"""Does a checkpoint fit the data it is applied to? One check for every command.

A pre-trained encoder only means something on data like the data it was pre-trained
on: the same joint layout (which joint is which, and the graph the STG encoder was
built on), the same number of joints ``V`` and persons ``M``, the same number of
channels ``C`` (a 2D checkpoint on 3D data is refused, not run) and the same channel
names (``x, y, z`` is not ``x, y, score``). Every command that loads a checkpoint onto
data (``eval linear|knn|semi|finetune|supervised``, ``embed``, ``plot tsne|retrieval``)
calls :func:`check_data_fits` before it does any work; ``pretrain --resume`` compares
the whole stored data spec itself, and ``eval transfer`` is the one command meant to
cross layouts (:func:`~skelcon.eval.finetune.transfer_keys` has its rules).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ..errors import SkelconError

# (what, key in a checkpoint's data spec, how to read it off a prepared meta.json)
_FIELDS = (
    ("layout", "layout", lambda meta: meta.get("layout")),
    ("C", "in_channels", lambda meta: int(meta["shape"][1])),
    ("V", "num_joints", lambda meta: int(meta["shape"][3])),
    ("M", "num_persons", lambda meta: int(meta["shape"][4])),
)
_NAMES = {"layout": "layout", "C": "channels", "V": "joints", "M": "persons"}


# what C holds when a spec or meta.json does not say (data prepared before channel
# names existed): 3D joints for C = 3, 2D joints for C = 2
_DEFAULT_CHANNELS = {3: ["x", "y", "z"], 2: ["x", "y"]}


def channel_names(side: Mapping[str, Any]) -> list[str] | None:
    """The channel names of a data spec or a ``meta.json`` (the default for its C when
    it names none; ``None`` when there is no default)."""
    names = side.get("channels")
    if isinstance(names, (list, tuple)):
        return [str(c) for c in names]
    c = int(side["shape"][1]) if "shape" in side else int(side["in_channels"])
    return _DEFAULT_CHANNELS.get(c)


def _layout_def(side: Mapping[str, Any]) -> dict[str, Any] | None:
    """A stored layout definition (``layout_def``) without its free-text description."""
    d = side.get("layout_def")
    return {k: v for k, v in d.items() if k != "description"} if isinstance(d, dict) else None


def describe_spec(spec: Mapping[str, Any]) -> str:
    """``ntu25 data (C=3: x, y, z; V=25; M=2)`` for a checkpoint's data spec."""
    channels = channel_names(spec)
    c = f"C={spec['in_channels']}" + (f": {', '.join(channels)}" if channels else "")
    return f"{spec['layout']} data ({c}; V={spec['num_joints']}; M={spec['num_persons']})"


def meta_spec(meta: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a prepared dataset's ``meta.json`` that :func:`check_data_fits`
    compares, under the names a checkpoint's data spec uses."""
    out: dict[str, Any] = {key: read(meta) for _, key, read in _FIELDS}
    if channel_names(meta) is not None:
        out["channels"] = channel_names(meta)
    if "layout_def" in meta:
        out["layout_def"] = meta["layout_def"]
    return out


def check_data_fits(
    spec: Mapping[str, Any],
    meta: Mapping[str, Any],
    *,
    checkpoint: str | os.PathLike | None = None,
    data: str | os.PathLike | None = None,
) -> None:
    """Refuse data that the encoder of a checkpoint was not pre-trained for.

    ``spec``: the checkpoint's data spec (``ckpt["data"]``, ``LoadedEncoder.spec``:
    ``layout``, ``in_channels``, ``num_joints``, ``num_persons``, optionally
    ``channels``); ``meta``: the data's prepared ``meta.json`` (``layout``, ``shape``
    ``(N, C, T, V, M)``, optionally ``channels`` and ``layout_def``); ``checkpoint`` and
    ``data`` name the two sides in the message. Compared: layout name, ``C``, ``V``,
    ``M``, the channel names (``x, y, z`` for C = 3 and ``x, y`` for C = 2 where a side
    names none) and the layout definitions when both sides store one. Raises one
    :class:`SkelconError` line naming every difference and both sides, e.g.
    ``checkpoint 'runs/a' (pre-trained on ntu25 data (C=3: x, y, z; V=25; M=2)) does
    not fit 'data/b' (coco17 data (C=2: x, y; V=17; M=1)): other layout (ntu25 vs
    coco17), channels (3 vs 2), ...``.
    """
    have = meta_spec(meta)
    diffs = []
    for what, key, _ in _FIELDS:
        if spec.get(key) != have[key]:
            diffs.append(f"{_NAMES[what]} ({spec.get(key)} vs {have[key]})")
    want_names, have_names = channel_names(spec), have.get("channels")
    if want_names is not None and have_names is not None and want_names != have_names:
        diffs.append(f"channel names ({', '.join(want_names)} vs {', '.join(have_names)})")
    want_def, have_def = _layout_def(spec), _layout_def(have)
    if not diffs and want_def is not None and have_def is not None and want_def != have_def:
        diffs.append(f"layout definition (both called {spec['layout']}, other joints or bones)")
    if not diffs:
        return
    ckpt = f"checkpoint {str(checkpoint)!r}" if checkpoint is not None else "the checkpoint"
    where = f"{str(data)!r}" if data is not None else "the data"
    raise SkelconError(
        f"{ckpt} (pre-trained on {describe_spec(spec)}) does not fit {where} "
        f"({describe_spec(have)}): other {', '.join(diffs)}; use data prepared with the "
        "checkpoint's layout and shape, or `skelcon eval transfer` to fine-tune across layouts"
    )
