"""Feature export: ``skelcon embed`` and the Python entry point :func:`load_encoder`.

``skelcon embed --checkpoint RUN --representation seq --data DIR --benchmark B
--split S --out feats.npy`` writes

* ``feats.npy``: ``(N, D)`` float32 features of the split's samples, in split order,
  computed by the encoder in eval mode on the evaluation input (centre crop of 95 %
  of the valid frames, resized to the checkpoint's frame count);
* ``feats.json``: the sidecar with ``names`` and ``labels`` (0-based, row-aligned
  with the features; ``labels`` is ``null`` for data without labels), ``classes``,
  ``num_frames`` (valid frames of each clip), ``representation``, ``checkpoint``,
  ``checkpoint_epoch``, ``random_init``, ``preset``, ``input`` (the crop),
  ``dataset``, ``layout``, ``data``, ``benchmark``, ``split``, ``num_samples`` and
  ``feature_dim``.

Both are written atomically. What is embedded is read by one function,
:func:`read_input` (a prepared dataset's benchmark split). The checkpoint must fit the
data (:func:`~skelcon.eval.compat.check_data_fits`).

``skelcon embed --checkpoint RUN --representation seq --input PATH... --out feats.npy``
embeds raw clips instead (:func:`embed_inputs`): clip files, OpenPose folders, PYSKL
pickles and folders of them (:mod:`skelcon.data.rawinputs`), each read as the run's
pre-training data were prepared (layout, channels, persons, padded length,
normalisation: the checkpoint's data spec). Its sidecar has ``names`` and ``paths``
(one per row), ``labels`` ``null``, ``skipped`` and ``not_read`` (clips left out and
files not read, with the reason) and no ``data``/``benchmark``/``split``. A clip that
cannot be read is skipped and listed (``strict``: refused). The same features from
Python (README, "Python API")::

    import skelcon
    from skelcon.data import load_prepared
    model = skelcon.load_encoder("runs/ntu60_xview", "seq")  # eval mode, frozen, on cpu
    ds = load_prepared("data/ntu60", "xview", "test")
    feats = model(ds.data[:8], ds.num_frames[:8])             # (8, C, 300, V, M) -> (8, D)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..augment import CENTER_CROP_RATIO
from ..data.prepared import PreparedSplit, load_prepared
from ..engine.device import resolve_device
from ..errors import SkelconError
from ..utils.io import atomic_path, write_json
from .compat import check_data_fits
from .encoder import LoadedEncoder, load_encoder
from .features import extract_features


def _save_features(out: Path, feats: np.ndarray, loaded: LoadedEncoder, random_init: bool) -> dict:
    """Write the features ``(N, D)`` to ``out`` (float32 ``.npy``, atomically); returns
    the sidecar's entries on them and on the encoder that gave them."""
    arr = np.ascontiguousarray(feats.astype(np.float32, copy=False))
    with atomic_path(out) as tmp, open(tmp, "wb") as f:
        np.save(f, arr, allow_pickle=False)
    return {
        "features": out.name,
        "shape": list(arr.shape),
        "num_samples": int(arr.shape[0]),
        "feature_dim": int(arr.shape[1]),
        "representation": "+".join(loaded.representations),
        "stream": loaded.stream,
        "checkpoint": loaded.checkpoint,
        "checkpoint_epoch": loaded.epoch,
        **({"imported": loaded.imported} if loaded.imported else {}),
        "random_init": bool(random_init),
        "preset": loaded.preset,
    }


def sidecar_path(out: str | os.PathLike) -> Path:
    """``feats.npy`` -> ``feats.json``."""
    return Path(out).with_suffix(".json")


def read_input(data: str | os.PathLike, benchmark: str, split: str) -> PreparedSplit:
    """The clips ``skelcon embed`` encodes: split ``split`` of benchmark ``benchmark``
    of the prepared dataset ``data`` (memory-mapped; ``data (N, C, T, V, M)``,
    ``num_frames (N,)``, ``names (N,)``, ``labels (N,)``, ``meta``). A one-line
    :class:`SkelconError` when it is missing or empty."""
    part = load_prepared(data, benchmark, split)
    if len(part) == 0:
        raise SkelconError(f"split {split!r} of benchmark {benchmark!r} in {data} is empty")
    return part


def embed(
    checkpoint: str | os.PathLike,
    representation: str,
    data: str | os.PathLike,
    benchmark: str,
    split: str,
    out: str | os.PathLike,
    *,
    random_init: bool = False,
    seed: int | None = None,
    device: str = "auto",
    batch_size: int = 256,
    progress: bool = True,
    stream: str | None = None,
) -> dict:
    """Write the ``(N, D)`` features of ``benchmark/split`` to ``out`` (``.npy``) and the
    sidecar ``out`` with ``.json``; returns the sidecar dict. The features are of the run's
    input stream (computed from the stored joints); ``stream``, when given, must be it."""
    out = Path(out)
    _check_out(out, batch_size)
    dev = resolve_device(device)
    loaded = load_encoder(
        checkpoint, representation, device=dev, random_init=random_init, seed=seed, stream=stream
    )
    part = read_input(data, benchmark, split)
    check_data_fits(loaded.spec, part.meta, checkpoint=checkpoint, data=data)
    feats, _ = extract_features(
        loaded,
        part,
        device=dev,
        batch_size=batch_size,
        progress=progress,
        desc=f"{split} features",
    )
    side = {
        **_save_features(out, feats.cpu().numpy(), loaded, random_init),
        "input": f"centre crop {100 * CENTER_CROP_RATIO:g} % resized to {loaded.num_frames} "
        "frames, encoder in eval mode",
        "dataset": part.meta.get("dataset"),
        "layout": part.meta.get("layout"),
        "data": str(data),
        "benchmark": benchmark,
        "split": split,
        "classes": list(part.meta.get("classes", [])),
        "names": [str(n) for n in part.names],
        "labels": None if part.labels is None else [int(y) for y in part.labels],
        "num_frames": [int(n) for n in part.num_frames],
    }
    write_json(sidecar_path(out), side)
    return side


def _check_out(out: Path, batch_size: int) -> None:
    if out.suffix != ".npy":
        raise SkelconError(
            f"out {str(out)!r} must end in .npy (the sidecar goes beside it as .json)",
            param="out",
        )
    if batch_size < 1:
        raise SkelconError(f"batch_size {batch_size} must be at least 1")


def embed_inputs(
    checkpoint: str | os.PathLike,
    representation: str,
    inputs: Sequence[str | os.PathLike],
    out: str | os.PathLike,
    *,
    random_init: bool = False,
    seed: int | None = None,
    device: str = "auto",
    batch_size: int = 256,
    progress: bool = True,
    stream: str | None = None,
    channels: Sequence[str] | None = None,
    strict: bool = False,
    backend: str = "mediapipe",
    keypoints: str | os.PathLike[str] | None = None,
    det_model: str | os.PathLike[str] | None = None,
    pose_model: str | os.PathLike[str] | None = None,
    mirror: bool = False,
) -> dict:
    """Write the ``(N, D)`` features of the raw clips of ``inputs`` (module doc) to
    ``out`` (``.npy``) and its sidecar; returns the sidecar dict. Each clip is read as
    the run's pre-training data were prepared (:func:`skelcon.read_clip` with the run);
    ``channels``: what the files hold when it is not the run's channels. A video is
    extracted first into the run's layout, as ``skelcon predict`` does (``backend``,
    ``keypoints``, ``det_model``, ``pose_model``, ``mirror``:
    :class:`~skelcon.extract.formodel.VideosForModel`)."""
    from ..data.rawclip import load_contract
    from ..data.rawinputs import read_inputs
    from ..extract.formodel import VideosForModel
    from .inputs import encode_inputs

    out = Path(out)
    _check_out(out, batch_size)
    dev = resolve_device(device)
    loaded = load_encoder(
        checkpoint, representation, device=dev, random_init=random_init, seed=seed, stream=stream
    )
    # the run (not the loaded encoder): its padded length even for random-init weights
    contract = load_contract(checkpoint)
    who = f"the run {str(checkpoint)!r}"
    with VideosForModel(
        contract,
        backend=backend,
        keypoints=keypoints,
        det_model=det_model,
        pose_model=pose_model,
        mirror=mirror,
        who=who,
        progress=progress,
    ) as videos:
        found = read_inputs(inputs, contract, channels=channels, who=who, videos=videos)
        enc = encode_inputs(
            loaded,
            found,
            batch_size=batch_size,
            strict=strict,
            progress=progress,
            desc="features",
            width=loaded.feature_dim,
        )
    side = {
        **_save_features(out, enc.outputs.numpy(), loaded, random_init),
        "input": f"raw clips read as the run's data were prepared; centre crop "
        f"{100 * CENTER_CROP_RATIO:g} % resized to {loaded.num_frames} frames, encoder in "
        "eval mode",
        "dataset": loaded.spec.get("dataset"),
        "layout": loaded.spec.get("layout"),
        "inputs": [str(p) for p in inputs],
        "classes": [],
        "names": [c.name for c in enc.clips],
        "paths": [c.where for c in enc.clips],
        "labels": None,
        "num_frames": [int(n) for n in enc.num_frames],
        "skipped": [{"path": p, "reason": r} for p, r in enc.skipped],
        "not_read": [{"path": p, "reason": r} for p, r in found.unused],
    }
    write_json(sidecar_path(out), side)
    return side
