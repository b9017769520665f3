"""One raw clip read exactly as ``skelcon prepare`` reads it for a given dataset.

An encoder is trained on prepared data: its joint layout, channels, persons, padded
length and normalisation. :func:`read_clip` reads a clip file the way ``prepare folder``
reads one (``.npy``, ``.csv``, ``.json`` or an OpenPose ``--write_json`` folder:
:mod:`skelcon.data.folder`) and applies *that dataset's* preparation, taken from its
``meta.json``, a run directory or checkpoint (the data spec saved with it), or a
loaded encoder. :func:`contract_norm` recovers the normalisation from what a prepared
dataset or checkpoint records.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import SkelconError
from .channels import channels_of, check_channels, coord_count
from .clips import ClipNorm
from .layouts import layout_from_meta
from .pipeline import Sample

DEFAULT_MAX_FRAMES = 300  # every prepare's --max-frames default (checkpoints do not keep T_max)
_IMAGE = re.compile(r"image ([\d.]+)x([\d.]+) mapped")
_THRESHOLD = re.compile(r"joints scoring below ([\d.eE+-]+) zeroed")


def contract_norm(contract: Mapping[str, Any]) -> ClipNorm:
    """The :class:`ClipNorm` a prepared dataset's ``meta.json`` (or a checkpoint's data
    spec) was prepared with: its ``normalization`` note (``"none: ..."``, ``"2D: ...;
    image 1920x1080 mapped to [-1, 1]; joints scoring below 0.3 zeroed"``, ``"3D: ..."``),
    or, for the built-in 3D preparations that write none (NTU, PKU-MMD, NW-UCLA,
    synthetic), the standard 3D normalisation (SPEC section 1). Raises
    :class:`SkelconError` for 2D data without a note (it cannot be known)."""
    text = contract.get("normalization")
    if text is None:
        if coord_count(channels_of(dict(contract))) == 3:
            return ClipNorm(enabled=True)
        raise SkelconError(
            f"dataset {contract.get('dataset')!r} records no normalisation for its 2D data; "
            "give norm=ClipNorm(...) as it was prepared"
        )
    if str(text).startswith("none"):
        return ClipNorm(enabled=False)
    image = _IMAGE.search(text)
    threshold = _THRESHOLD.search(text)
    return ClipNorm(
        enabled=True,
        score_threshold=float(threshold.group(1)) if threshold else 0.0,
        image_size=(float(image.group(1)), float(image.group(2))) if image else None,
    )


def load_contract(like: Any) -> dict[str, Any]:
    """What a clip must become to match ``like``: a prepared dataset directory (its
    meta.json), a run directory or checkpoint file (its data spec), or a
    :class:`~skelcon.eval.encoder.LoadedEncoder` (``.spec``). Raises
    :class:`SkelconError` when ``like`` is none of them."""
    spec = getattr(like, "spec", None)
    if isinstance(spec, Mapping):
        run = getattr(like, "checkpoint", None)  # its training data's padded length
        return {"max_frames": _max_frames(run) if run else DEFAULT_MAX_FRAMES, **spec}
    if isinstance(like, Mapping):
        return dict(like)
    path = Path(os.fspath(like))
    if (path / "meta.json").is_file():
        from .prepared import read_meta

        return read_meta(path)
    if path.is_dir() and not (path / "last.pt").is_file():
        raise SkelconError(
            f"{str(path)!r} is neither a prepared dataset (no meta.json) nor a run (no last.pt)"
        )
    from ..engine.checkpoint import load_checkpoint

    ckpt = load_checkpoint(path)
    return {"max_frames": _stored_frames(ckpt), **ckpt["data"]}


def _stored_frames(ckpt: Mapping[str, Any]) -> int:
    """The padded length ``T`` of a run's training data, from the fingerprint of its
    training split that every checkpoint keeps (``stored_shape`` ``[N, C, T, V, M]``)."""
    shape = (ckpt.get("data_fingerprint") or {}).get("stored_shape") or []
    return int(shape[2]) if len(shape) == 5 else DEFAULT_MAX_FRAMES


def _max_frames(run: str | os.PathLike) -> int:
    from ..engine.checkpoint import load_checkpoint

    return _stored_frames(load_checkpoint(run))


def _openpose_frames(p: Path, frame_file: re.Pattern[str]) -> tuple[str, ...]:
    """The per-frame files of the OpenPose video ``p`` names, in order: a folder holding one
    video's ``<video>_<frame>_keypoints.json`` files, or ``folder/<video>`` (the name
    ``prepare`` gives a video in a folder of several); ``()`` for a clip file. One frame
    file, or a folder of several videos, is refused in one line naming the videos."""
    if p.is_file():
        m = frame_file.match(p.name)
        if m:
            raise SkelconError(
                f"{str(p)!r} is one frame of the OpenPose video "
                f"{m.group('video')!r}: give {str(p.parent / m.group('video'))!r} "
                "(the video) or its folder"
            )
        return ()
    folder, video = (p, None) if p.is_dir() else (p.parent, p.name)
    if not folder.is_dir():
        return ()
    videos: dict[str, list[str]] = {}
    for f in sorted(folder.iterdir()):
        m = frame_file.match(f.name)
        if m:
            videos.setdefault(m.group("video"), []).append(str(f))
    if video is not None:
        return tuple(videos.get(video, ()))
    if not videos:
        raise SkelconError(f"{str(p)!r} is a folder without OpenPose *_keypoints.json files")
    if len(videos) > 1:
        names = ", ".join(sorted(videos)[:5]) + (" ..." if len(videos) > 5 else "")
        raise SkelconError(
            f"{str(p)!r} holds {len(videos)} OpenPose videos ({names}): give "
            f"one as {str(p / sorted(videos)[0])!r}"
        )
    return tuple(next(iter(videos.values())))


class ClipReader:
    """:func:`read_clip` with ``like`` resolved once, for reading many clips alike:
    ``reader(path)`` returns what ``read_clip(path, like, channels=..., norm=...)``
    returns. The resolved contract is kept: ``contract`` (the dict of
    :func:`load_contract`), ``layout``, ``channels`` (the model's, in order),
    ``file_channels`` (what the files hold when not ``channels``; None), ``max_frames``,
    ``num_persons`` and ``norm``. Raises :class:`SkelconError` for a bad ``like`` or
    ``channels``, or 2D data whose normalisation is not recorded."""

    def __init__(
        self,
        like: Any,
        *,
        channels: Sequence[str] | None = None,
        norm: ClipNorm | None = None,
    ):
        contract = load_contract(like)
        self.contract = contract
        self.layout = layout_from_meta(contract)
        self.channels = tuple(channels_of(contract))
        self.file_channels = (
            None if channels is None else tuple(check_channels(channels, None, "channels"))
        )
        self.max_frames = int(contract.get("max_frames", DEFAULT_MAX_FRAMES))
        self.num_persons = int(
            contract["num_persons"] if "num_persons" in contract else contract["shape"][4]
        )
        self._norm = norm

    @property
    def norm(self) -> ClipNorm:
        """How the clips are normalised: the ``norm`` given, else :func:`contract_norm`."""
        return self._norm if self._norm is not None else contract_norm(self.contract)

    def __call__(
        self,
        path: str | os.PathLike,
        *,
        name: str | None = None,
        frames: Sequence[str] | None = None,
    ) -> Sample:
        """One clip (see :func:`read_clip`); ``name``: the sample's name (default: the
        file's stem); ``frames``: an OpenPose video's per-frame files in order, when the
        caller has grouped them already (``path`` is then not looked at)."""
        from .folder import FRAME_FILE, FolderClip, _FolderTask, _load

        p = Path(os.fspath(path))
        found = tuple(frames) if frames else _openpose_frames(p, FRAME_FILE)
        if found:
            p = Path(found[0])
        elif not p.is_file():
            raise SkelconError(f"clip {str(path)!r} does not exist")
        stem = Path(os.fspath(path)).stem
        clip = FolderClip(str(p), name if name is not None else stem, -1, "test", found)
        task = _FolderTask(
            clip,
            self.layout,
            self.channels,
            self.max_frames,
            self.num_persons,
            self.norm,
            self.file_channels,
        )
        return _load(task)


def read_clip(
    path: str | os.PathLike,
    like: Any,
    *,
    channels: Sequence[str] | None = None,
    norm: ClipNorm | None = None,
) -> Sample:
    """Read one raw clip as ``skelcon prepare`` would have stored it in the dataset
    ``like`` was prepared as (see :func:`load_contract`): its layout's joints, persons
    (the most confident or moving kept), padded length (``max_frames``; a run's from the
    fingerprint of its training split), channel order and normalisation (:func:`contract_norm`, or ``norm``).

    ``path``: a ``.npy`` / ``.json`` / ``.csv`` clip ``(T, V, C)`` or ``(M, T, V, C)`` in
    image pixels or sensor metres as the pose estimator or rig wrote it, or an OpenPose
    ``--write_json`` folder of one video, or ``folder/<video>`` for one of several (the
    clip name ``prepare`` gives it); ``channels``: what the file's C axis holds when it is not
    the dataset's own (e.g. ``["x", "y", "score"]`` for a dataset of ``x, y``: the score
    is used to mark missing joints and then dropped). Returns a
    :class:`~skelcon.data.pipeline.Sample`: ``x (C, max_frames, V, M)`` float32 (missing
    joints 0), ``num_frames`` (valid frames), ``label`` -1, ``info`` (what was assumed,
    dropped or resampled) — ``model(x[None], [num_frames])`` then gives the features
    ``skelcon embed`` gives for that clip once prepared. Raises
    :class:`~skelcon.errors.DataFormatError` naming the file when it does not fit
    (joints, channels) and :class:`SkelconError` for a bad ``like``. Many clips:
    :class:`ClipReader` resolves ``like`` once.
    """
    return ClipReader(like, channels=channels, norm=norm)(path)


PIXEL_SCALE = 100.0  # |x|, |y| beyond this is not in body lengths (2D normalised data)


def unnormalised_note(contract: Mapping[str, Any], x: Any) -> str:
    """``""``, or a warning when ``x (N, C, T, V, M)`` holds coordinates beyond
    :data:`PIXEL_SCALE` although ``contract`` (a checkpoint's data spec or a dataset's
    meta) says its 2D keypoints were normalised to body lengths: raw pixels, which an
    encoder misreads (features with cosine 0.4 to the right ones on real data). 3D data
    cannot be told apart by scale (metres either way) and are not checked."""
    text = str(contract.get("normalization") or "")
    if not text.startswith("2D"):
        return ""
    coords = coord_count(channels_of(dict(contract)))
    top = float(abs(x[:, :coords]).max())
    if top <= PIXEL_SCALE:
        return ""
    return (
        f"input coordinates reach {top:.1f}, but this encoder was trained on 2D keypoints "
        f"normalised to body lengths ({text}); raw pixels give other features: read raw "
        "clips with skelcon.read_clip(path, like=<the prepared dataset or run>)"
    )
