"""Raw clips named on a command line, read as the data a model was trained on.

``skelcon predict --input PATH...`` and ``skelcon embed --input PATH...`` take clips in
every format ``skelcon prepare`` reads, each read through the same code that prepares
it (so with the same layout, channels, persons, padded length and normalisation as the
model's training data, from its contract: :func:`~skelcon.data.rawclip.load_contract`):

* a ``.npy`` / ``.csv`` / ``.json`` clip file, or an OpenPose ``--write_json`` folder of
  one video: as ``prepare folder`` reads it (:class:`~skelcon.data.rawclip.ClipReader`);
* a Kinetics-skeleton clip (a ``.json`` holding ``{"data": [frames]}``): as ``prepare
  kinetics-skeleton`` reads it (:func:`~skelcon.data.kinetics.parse_clip`; the model's
  layout must be ``openpose18``);
* a PYSKL / mmaction2 annotation pickle (``.pkl``, ``.pickle``): every annotation is a
  clip, named by its ``frame_dir``, read only through the restricted unpickler
  (:mod:`skelcon.data.safe_pickle`) and laid out as ``prepare import-pyskl`` does (a
  ``keypoint_score`` becomes the ``score`` channel when the model has one);
* a folder: every clip below it, **recursively** as ``prepare folder`` walks a class
  folder (sub-folders up to 16 deep; hidden files, other file types and a second path
  to a file already read are listed as not read, never guessed at); OpenPose frame files
  are grouped into one clip per video. Clip names are paths relative to the folder
  without the extension, as ``prepare folder`` names them.
* a video (``.mp4``, ``.avi``, ``.mov``, ``.mkv``, ``.webm``), given or in a folder: not
  a clip yet. With a ``videos`` step (:data:`VideoStep`; ``skelcon predict`` and
  ``embed`` pass :class:`skelcon.extract.formodel.VideosForModel`, which runs ``skelcon
  extract`` into the model's layout) each becomes the clip file the step wrote, named as
  a clip file in its place would be; without one a video given is refused in one line
  (:func:`video_input`) and one in a folder is listed as not read.

A joint layout file in a folder (the ``mediapipe33.yaml`` ``skelcon extract`` writes
beside its clips) is passed over without being listed.

A file that cannot be read is a :class:`~skelcon.errors.DataFormatError` naming it and
what the model takes; the caller decides between skipping it and refusing (``prepare
folder`` skips and lists bad clips, ``--strict`` refuses).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from ..errors import DataFormatError, SkelconError
from ..utils.text import read_text
from .channels import coord_count
from .clips import clip_to_sample, mark_missing
from .files import dedupe_files, is_layout_file, rel_path, walk_tree
from .kinetics import CHANNELS as KINETICS_CHANNELS
from .kinetics import LAYOUT as KINETICS_LAYOUT
from .kinetics import parse_clip, parse_json
from .openpose import FRAME_FILE
from .pipeline import Sample
from .rawclip import ClipReader

__all__ = [
    "CLIP_SUFFIXES",
    "PICKLE_SUFFIXES",
    "VIDEO_SUFFIXES",
    "RawClip",
    "RawInputs",
    "VideoStep",
    "contract_words",
    "read_inputs",
    "video_input",
]

CLIP_SUFFIXES = (".npy", ".csv", ".json")
PICKLE_SUFFIXES = (".pkl", ".pickle")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm")
MAX_PERSONS_BEFORE_FRAMES = 10  # more persons than frames beyond this: (T, M, V, C) saved

VideoStep = Callable[[Sequence[tuple[str, Path]]], Sequence[Path | str]]
"""Turns videos into clip files: given ``(clip name, video)`` pairs in input order, returns
for each, in the same order, the clip file written or the reason it could not be (that
video is skipped and listed; a clip name may hold ``/``: a video in a sub-folder). Raises
:class:`SkelconError` in one line when it cannot start at all."""


@dataclass(frozen=True)
class RawClip:
    """One clip to read: its ``name`` (relative to the folder given, no extension; a
    PYSKL annotation's ``frame_dir``), ``where`` (how messages name it: the file, an
    OpenPose video's frame glob, ``file.pkl[frame_dir]``), ``kind`` (``file``: a
    ``.npy``/``.csv``/``.json`` clip, Kinetics-skeleton when its JSON says so;
    ``openpose``: a video's frame files; ``pyskl``: an annotation; ``video``: a video
    not extracted yet), ``path`` (the file, the pickle, the first frame file, or the
    clip file a video's keypoints were written to, ``where`` naming the video), the
    OpenPose ``frames`` in order, and a PYSKL annotation's ``index``."""

    name: str
    where: str
    kind: str
    path: str
    frames: tuple[str, ...] = ()
    index: int = -1


def video_input(path: Path) -> NoReturn:
    """A video given where no :data:`VideoStep` turns videos into clips (the library
    called without one): refused in one line saying how to extract it."""
    raise SkelconError(
        f"{path} is a video: turn it into keypoints first with `skelcon extract {path} "
        "--out DIR`, then pass DIR"
    )


def _extract_videos(inputs: RawInputs, videos: VideoStep) -> None:
    """Every ``video`` clip of ``inputs`` replaced by the clip file ``videos`` wrote for
    it (its name and ``where``, the video, kept), or moved to ``inputs.skipped`` with the
    reason it could not be extracted. When the step cannot start (no backend, a model
    that takes no video keypoints) and the inputs hold other clips, every video is
    skipped with that reason and the other clips go on; when they are all videos, or
    the only input fails, that is the error. A clip file already in the user's
    keypoints folder is always the error."""
    pending = [c for c in inputs.clips if c.kind == "video"]
    if not pending:
        return
    try:
        made = list(videos([(c.name, Path(c.path)) for c in pending]))
    except SkelconError as e:
        if len(pending) == len(inputs.clips) or e.param == "keypoints":
            raise
        made = [str(e)] * len(pending)
    if len(made) != len(pending):  # pragma: no cover - a broken step
        raise SkelconError(f"the video step returned {len(made)} clips for {len(pending)} videos")
    if len(inputs.clips) == 1 and not inputs.skipped and isinstance(made[0], str):
        raise SkelconError(f"{pending[0].where}: {made[0]}")  # the only input: its error
    result = {id(c): f for c, f in zip(pending, made, strict=True)}
    clips = []
    for c in inputs.clips:
        f = result.get(id(c))
        if f is None:
            clips.append(c)
        elif isinstance(f, str):
            inputs.skipped.append((c.where, f))
        else:
            clips.append(RawClip(c.name, c.where, "file", str(f)))
    inputs.clips = clips


def contract_words(contract: dict[str, Any]) -> str:
    """``coco17 clips (V=17 joints; C=3: x, y, score; up to M=2 persons)``: what a
    contract takes, for messages."""
    from .channels import channels_of

    chans = channels_of(contract)
    m = int(contract["num_persons"] if "num_persons" in contract else contract["shape"][4])
    v = int(contract["num_joints"] if "num_joints" in contract else contract["shape"][3])
    return (
        f"{contract.get('layout')} clips (V={v} joints; C={len(chans)}: {', '.join(chans)}; "
        f"up to M={m} persons)"
    )


@dataclass
class RawInputs:
    """What :func:`read_inputs` found: ``clips`` in input order (folders sorted by name),
    ``unused`` (``(path, reason)`` of every file under a folder that is not read),
    ``skipped`` (``(path, reason)`` of inputs found bad while scanning, e.g. a pickle
    that is not a PYSKL annotation file), and :meth:`load` to read a clip."""

    reader: ClipReader
    clips: list[RawClip]
    unused: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    who: str = "the model"
    _pickles: dict[str, list[dict[str, Any]]] = field(default_factory=dict, repr=False)

    @property
    def contract(self) -> dict[str, Any]:
        """The data contract the clips are brought to."""
        return self.reader.contract

    def wants(self) -> str:
        """``the model takes coco17 clips (...)``: the other side of a mismatch."""
        return f"{self.who} takes {contract_words(self.reader.contract)}"

    def load(self, clip: RawClip) -> Sample:
        """``clip`` as the model's training data hold it: a
        :class:`~skelcon.data.pipeline.Sample` with ``x (C, max_frames, V, M)`` float32
        and ``num_frames``. Raises :class:`DataFormatError` naming the clip and what
        the model takes when it is bad or does not fit (joints, channels, layout)."""
        try:
            if clip.kind == "pyskl":
                return self._pyskl(clip)
            if clip.kind == "file" and clip.path.lower().endswith(".json"):
                kinetics = self._kinetics(clip)
                if kinetics is not None:
                    return kinetics
            return self.reader(clip.path, name=clip.name, frames=clip.frames or None)
        except DataFormatError as e:
            where = e.path if e.path is not None else clip.where
            raise DataFormatError(f"{e.reason}; {self.wants()}", where, e.line) from None

    # ------------------------------------------------------------------ Kinetics-skeleton

    def _kinetics(self, clip: RawClip) -> Sample | None:
        """A Kinetics-skeleton clip laid out as ``prepare kinetics-skeleton`` does; None
        when the JSON is another format (read by the folder reader)."""
        doc = parse_json(read_text(clip.path, "json file"), clip.path)
        if not (isinstance(doc, dict) and isinstance(doc.get("data"), list)):
            return None
        r = self.reader
        if r.contract.get("layout") != KINETICS_LAYOUT or not set(r.channels) <= set(
            KINETICS_CHANNELS
        ):
            raise DataFormatError(
                f"a Kinetics-skeleton clip ({KINETICS_LAYOUT}, x, y, score)", clip.path
            )
        kp, _, _, length, _ = parse_clip(doc, clip.path, r.max_frames)
        x, nf, info = clip_to_sample(
            kp, r.layout, KINETICS_CHANNELS, r.max_frames, r.num_persons, r.norm, clip.path
        )
        if not x[:2].any():
            raise DataFormatError("every joint has score 0 (nothing detected)", clip.path)
        if length > nf:
            info["resampled_from"] = length
        if "score" not in r.channels:  # the scores chose the persons, then go
            x = x[:2]
        return Sample(clip.name, x, -1, nf, info)

    # ------------------------------------------------------------------ PYSKL annotations

    def _pyskl(self, clip: RawClip) -> Sample:
        """Annotation ``clip.index`` of a PYSKL pickle, as ``prepare import-pyskl`` lays
        it out for the model's channels (its ``keypoint_score`` as the score channel)."""
        r = self.reader
        a = self._pickles[clip.path][clip.index]
        kp = _pyskl_keypoint(a, clip.where)
        m, _, v, c = kp.shape
        if v != r.layout.num_joints:
            raise DataFormatError(f"keypoint {kp.shape} has V={v} joints", clip.where)
        want = r.channels
        own = _pyskl_channels(c, want)
        if own is None:
            raise DataFormatError(f"keypoint {kp.shape} has C={c} channels", clip.where)
        if len(own) == c + 1:  # the score channel from keypoint_score
            sc = a.get("keypoint_score")
            if not isinstance(sc, np.ndarray) or sc.shape != kp.shape[:3]:
                raise DataFormatError(
                    f"no keypoint_score (M, T, V) = {kp.shape[:3]} for the score channel "
                    f"(got {getattr(sc, 'shape', None)})",
                    clip.where,
                )
            kp = np.concatenate([kp, sc[..., None].astype(kp.dtype, copy=False)], axis=-1)
        kp, _ = mark_missing(kp, own)
        if own != want:
            kp = kp[..., [own.index(ch) for ch in want]]
        x, nf, info = clip_to_sample(
            kp, r.layout, want, r.max_frames, r.num_persons, r.norm, clip.where
        )
        return Sample(clip.name, x, -1, nf, info)


def _pyskl_keypoint(a: Any, where: str) -> np.ndarray:
    """An annotation's ``keypoint (M, T, V, C)``, checked as ``import-pyskl`` checks it."""
    kp = a.get("keypoint") if isinstance(a, dict) else None
    if (
        not isinstance(kp, np.ndarray)
        or kp.ndim != 4
        or not (np.issubdtype(kp.dtype, np.integer) or np.issubdtype(kp.dtype, np.floating))
    ):
        raise DataFormatError(
            f"keypoint must be a numeric (M, T, V, C) array, got {getattr(kp, 'shape', None)}",
            where,
        )
    m, t = kp.shape[:2]
    if m == 0 or t == 0:
        raise DataFormatError(
            f"keypoint {kp.shape} has no {'persons' if m == 0 else 'frames'}", where
        )
    if m > t and m > MAX_PERSONS_BEFORE_FRAMES:
        raise DataFormatError(
            f"keypoint {kp.shape} has {m} persons but {t} frames: it looks like (T, M, V, C); "
            "expected (M, T, V, C)",
            where,
        )
    return kp


def _pyskl_channels(c: int, want: tuple[str, ...]) -> tuple[str, ...] | None:
    """What an annotation's C channels hold for a model taking ``want``: ``want`` itself
    for the same count; ``x, y`` + the ``keypoint_score`` for a model of ``x, y, score``
    given 2D keypoints; None when they cannot be the model's."""
    if c == len(want):
        return want
    if c == 2 and want == ("x", "y", "score"):
        return want
    return None


# ---------------------------------------------------------------------- finding the clips


def _openpose_clips(groups: dict[tuple[Path, str], list[Path]], root: Path) -> list[RawClip]:
    """One clip per OpenPose video (a folder's frame files sharing a name prefix), named
    as ``prepare folder`` names it: the video's folder when it holds one video below a
    class folder, else ``folder/<video>``; the folder given itself: its name."""
    per_folder: dict[Path, int] = {}
    for parent, _ in groups:
        per_folder[parent] = per_folder.get(parent, 0) + 1
    out = []
    for (parent, video), files in groups.items():
        base = root.name if parent == root else rel_path(parent, root)
        deep = parent != root and len(Path(rel_path(parent, root)).parts) >= 2
        if parent == root and per_folder[parent] == 1:
            name = base
        elif deep and per_folder[parent] == 1:
            name = base
        elif parent == root:
            name = video
        else:
            name = f"{base}/{video}"
        first = files[0]
        m = FRAME_FILE.match(first.name)
        sep = "_" if m and video and first.name[len(video)] == "_" else ""
        where = str(parent / f"{video}{sep}*_keypoints.json")
        out.append(
            RawClip(name, where, "openpose", str(first), tuple(str(f) for f in sorted(files)))
        )
    return out


def _scan_folder(root: Path, inputs: RawInputs, extract: bool = False) -> list[RawClip]:
    """The clips below folder ``root``, sorted by name (see the module doc); ``extract``:
    a video is a clip to extract (kind ``video``), else a file not read."""
    files: list[Path] = []
    unused: list[tuple[str, str]] = []
    walk_tree(root, files, unused)
    files = dedupe_files(files, root, unused)
    videos: dict[tuple[Path, str], list[Path]] = {}
    clips: list[RawClip] = []
    for f in files:
        suffix = f.suffix.lower()
        m = FRAME_FILE.match(f.name)
        if m:
            videos.setdefault((f.parent, m.group("video")), []).append(f)
        elif suffix in CLIP_SUFFIXES:
            name = rel_path(f.with_suffix(""), root)
            clips.append(RawClip(name, str(f), "file", str(f)))
        elif suffix in PICKLE_SUFFIXES:
            prefix = rel_path(f.with_suffix(""), root)
            clips += _pickle_clips(f, inputs, prefix=f"{prefix}/")
        elif suffix in VIDEO_SUFFIXES and extract:
            clips.append(RawClip(rel_path(f.with_suffix(""), root), str(f), "video", str(f)))
        elif suffix in VIDEO_SUFFIXES:
            unused.append(
                (rel_path(f, root), f"a video: run `skelcon extract {f} --out DIR`, pass DIR")
            )
        elif is_layout_file(f):  # skelcon extract's layout file beside its clips
            continue
        else:
            unused.append(
                (rel_path(f, root), f"not a {'/'.join(CLIP_SUFFIXES + PICKLE_SUFFIXES)} clip")
            )
    clips += _openpose_clips(videos, root)
    clips.sort(key=lambda c: (c.name, c.index))
    inputs.unused += [(str(root / p), why) for p, why in unused]
    return clips


def _pickle_clips(path: Path, inputs: RawInputs, prefix: str = "") -> list[RawClip]:
    """One clip per annotation of the PYSKL pickle ``path`` (named ``prefix`` +
    ``frame_dir``); a pickle that is not one goes to ``inputs.skipped``."""
    from .safe_pickle import load_restricted

    try:
        obj = load_restricted(path, allow_numpy=True)
    except SkelconError as e:
        inputs.skipped.append((str(path), str(e)))
        return []
    anns = obj.get("annotations") if isinstance(obj, dict) else None
    if not isinstance(anns, list) or not anns:
        why = "not a PYSKL annotation pickle (expected a dict with a non-empty 'annotations' list)"
        inputs.skipped.append((str(path), why))
        return []
    inputs._pickles[str(path)] = anns
    out = []
    for i, a in enumerate(anns):
        fd = a.get("frame_dir") if isinstance(a, dict) else None
        name = fd if isinstance(fd, str) and fd and fd.isprintable() else f"annotation {i}"
        out.append(RawClip(prefix + name, f"{path}[{name}]", "pyskl", str(path), (), i))
    return out


def _video_frames(p: Path) -> tuple[str, ...]:
    """The per-frame files of the OpenPose video ``p`` names as ``folder/<video>`` (the
    name a single frame file's message advises), in order; ``()`` when there are none."""
    if not p.parent.is_dir():
        return ()
    return tuple(
        str(f)
        for f in sorted(p.parent.iterdir())
        if (m := FRAME_FILE.match(f.name)) and m.group("video") == p.name
    )


def read_inputs(
    paths: Sequence[str | os.PathLike[str]],
    like: Any,
    *,
    channels: Sequence[str] | None = None,
    who: str = "the model",
    videos: VideoStep | None = None,
) -> RawInputs:
    """Find the clips of ``paths`` (files, pickles, folders: module doc) for a model
    whose contract is ``like`` (anything :func:`~skelcon.data.rawclip.load_contract`
    takes: a contract dict, a prepared dataset, a run, a loaded encoder); ``channels``:
    what the files' C axis holds when it is not the model's; ``who`` names the model in
    messages; ``videos``: the step that turns the videos found into clip files, run once
    for all of them after the scan (without it a video is refused). Nothing else is
    read but folder listings and pickles.

    Raises a one-line :class:`SkelconError` for a path that does not exist, a video
    without ``videos`` (:func:`video_input`), a video step that fails, or inputs that
    hold no clip at all."""
    reader = ClipReader(like, channels=channels)
    inputs = RawInputs(reader, [], who=who)
    if not paths:
        raise SkelconError("no input given (give clip files, pickles or folders)", param="input")
    for given in paths:
        p = Path(os.fspath(given))
        if p.suffix.lower() in VIDEO_SUFFIXES and not p.is_dir():
            if videos is None:
                video_input(p)
            if not p.is_file():
                raise SkelconError(f"input {str(p)!r} does not exist", param="input")
            inputs.clips.append(RawClip(p.stem, str(p), "video", str(p)))
        elif p.is_dir():
            inputs.clips += _scan_folder(p, inputs, extract=videos is not None)
        elif p.is_file() and p.suffix.lower() in PICKLE_SUFFIXES:
            inputs.clips += _pickle_clips(p, inputs)
        elif p.is_file():
            m = FRAME_FILE.match(p.name)
            if m:  # one frame of a video: the reader says to give the video
                reader(p)
            inputs.clips.append(RawClip(p.stem, str(p), "file", str(p)))
        elif frames := _video_frames(p):  # folder/<video>: one OpenPose video of several
            where = str(p.parent / f"{p.name}_*_keypoints.json")
            inputs.clips.append(RawClip(p.name, where, "openpose", frames[0], frames))
        else:
            raise SkelconError(f"input {str(p)!r} does not exist", param="input")
    if not inputs.clips and not inputs.skipped:
        shown = "; ".join(f"{p} ({why})" for p, why in inputs.unused[:3])
        raise SkelconError(
            "the inputs hold no clip (expected .npy/.csv/.json clips, OpenPose "
            "*_keypoints.json folders or PYSKL .pkl files"
            + (", or videos)" if videos is not None else ")")
            + (f"; not read: {shown}" if shown else ""),
            param="input",
        )
    if coord_count(reader.channels) != 2 and any(c.kind == "openpose" for c in inputs.clips):
        raise SkelconError(
            f"OpenPose keypoints are 2D (x, y, score); {inputs.wants()}", param="input"
        )
    if videos is not None:
        _extract_videos(inputs, videos)
    return inputs
