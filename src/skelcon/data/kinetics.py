"""Kinetics-skeleton (the OpenPose release of ST-GCN): ``skelcon prepare kinetics-skeleton``.

Input, as released::

    DIR/kinetics_train/<video id>.json      one clip each
    DIR/kinetics_val/<video id>.json
    DIR/kinetics_train_label.json           {"<video id>": {"has_skeleton": true,
    DIR/kinetics_val_label.json                             "label": "name", "label_index": 0}}

A clip is ``{"data": [{"frame_index": 1, "skeleton": [{"pose": [x0, y0, x1, y1, ...],
"score": [s0, s1, ...]}, ...]}, ...], "label": ..., "label_index": ...}``: 18 OpenPose
joints (layout ``openpose18``), coordinates in ``[0, 1]`` of the frame, ``frame_index``
1-based; an undetected joint is ``(0, 0)`` with score 0.

Choices (recorded in meta.json):

* channels ``x, y, score`` (C = 3; ``--channels x,y`` drops the score); a joint
  written as NaN or Infinity is missing (score 0), counted in meta.json
  ``nonfinite_joints``; a video id in both splits is refused before parsing; M = 2: of the (at most 5) skeletons listed per
  frame, the two with the largest summed score over the clip, as ST-GCN's feeder;
* files (:func:`scan_kinetics`): as ``prepare folder`` reads a folder, every file
  under ``DIR`` is read or listed as not read with its reason (first 20 on screen, all
  in meta.json ``unused_files``): dot-files and macOS ``._*`` files, other files,
  sub-folders, other folders; one real file (symlinks, hard links) is read once, and
  one in both splits is refused before parsing;
* T = ``--max-frames`` (300, the 10 s clips at 30 fps); a clip whose last frame index
  is larger is uniformly subsampled; ``num_frames`` = its last frame index;
* normalised by default (``--no-normalize`` keeps ``[0, 1]`` coordinates): the 2D
  normalisation of :mod:`skelcon.data.normalize2d` (centre on the neck, divide by the
  median hip-to-neck length);
* labels from ``kinetics_*_label.json`` when present (clips marked
  ``has_skeleton: false`` are skipped), else the clip's own ``label_index``; class
  names from the ``label`` fields; benchmark ``default``: ``train``, ``test`` (=
  ``kinetics_val``).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataFormatError, SkelconError
from ..utils.text import read_text
from .channels import resolve_channels
from .clips import ClipNorm, clip_to_sample, nonfinite_note
from .files import dedupe_files, group_same_files, rel_path, walk_tree
from .layouts import get_layout
from .pipeline import Sample, run_prepare
from .pku import resample_indices
from .prepared import PreparedWriter, prepare_cleanup

LAYOUT = "openpose18"
CHANNELS = ("x", "y", "score")
NUM_JOINTS = 18
PERSONS_IN = 5  # skeletons read per frame (ST-GCN's num_person_in)
PERSONS_OUT = 2
SPLITS = (("kinetics_train", "train"), ("kinetics_val", "test"))
MAX_CLASSES = 100_000


@dataclass(frozen=True)
class KineticsTask:
    """One clip: its json file, its label (from the label file, or None: the clip's
    own) and the options."""

    path: str
    label: int | None
    max_frames: int
    norm: ClipNorm
    channels: tuple[str, ...] = CHANNELS


def parse_json(text: str, path: str) -> Any:
    """``json.loads`` with a one-line :class:`DataFormatError` (with the line) on bad JSON."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise DataFormatError(f"invalid JSON: {e.msg}", path, e.lineno) from None
    except (RecursionError, ValueError) as e:
        msg = str(e).splitlines()[0] if str(e) else "nested too deeply"
        raise DataFormatError(f"invalid JSON: {msg}", path) from None


def _label_index(value: Any, what: str, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < MAX_CLASSES:
        raise DataFormatError(f"{what} must be an int in 0..{MAX_CLASSES - 1}, got {value!r}", path)
    return value


def parse_clip(
    doc: Any, path: str, max_frames: int | None = None
) -> tuple[np.ndarray, int | None, str | None, int, int]:
    """One Kinetics-skeleton clip -> ``(keypoints (M, T, 18, 3), label_index, label,
    length, nonfinite)``.

    ``M`` = the most skeletons listed in a frame (at most 5), ``length`` = the last
    ``frame_index``, ``T`` = ``length``, or ``max_frames`` frames uniformly chosen
    from it when it is longer (chosen before anything is allocated, so a huge frame
    index costs nothing); frames or persons not listed are zero. Raises
    :class:`DataFormatError` on a structure other than the documented one, a
    value beyond 1e6 or a clip without any skeleton. A joint whose pose or score is NaN
    or infinite (JSON ``NaN``, ``Infinity``) is missing like a joint of score 0; their
    count is ``nonfinite``.
    """
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        raise DataFormatError("expected an object with a 'data' list of frames", path)
    frames = doc["data"]
    entries: list[tuple[int, int, Any, Any]] = []
    for i, fr in enumerate(frames):
        what = f"data[{i}]"
        if not isinstance(fr, dict):
            raise DataFormatError(f"{what} is not an object", path)
        fi = fr.get("frame_index")
        if isinstance(fi, bool) or not isinstance(fi, int) or not 1 <= fi <= 10_000_000:
            raise DataFormatError(f"{what}.frame_index must be an int >= 1, got {fi!r}", path)
        skel = fr.get("skeleton", [])
        if not isinstance(skel, list):
            raise DataFormatError(f"{what}.skeleton is not a list", path)
        for m, s in enumerate(skel[:PERSONS_IN]):
            if not isinstance(s, dict) or "pose" not in s or "score" not in s:
                raise DataFormatError(f"{what}.skeleton[{m}] needs 'pose' and 'score'", path)
            entries.append((fi - 1, m, s["pose"], s["score"]))
    if not entries:
        raise DataFormatError("no skeleton in any frame", path)
    for t, m, p, sc in entries:
        if not (
            isinstance(p, list)
            and len(p) == 2 * NUM_JOINTS
            and isinstance(sc, list)
            and len(sc) == NUM_JOINTS
        ):
            raise DataFormatError(
                f"frame_index {t + 1}, skeleton {m}: pose has "
                f"{len(p) if isinstance(p, list) else type(p).__name__} values (expected "
                f"{2 * NUM_JOINTS}), score {len(sc) if isinstance(sc, list) else type(sc).__name__} "
                f"(expected {NUM_JOINTS})",
                path,
            )
    try:
        pose = np.asarray([e[2] for e in entries], dtype=np.float64)
        score = np.asarray([e[3] for e in entries], dtype=np.float64)
    except (ValueError, TypeError, OverflowError):
        raise DataFormatError("pose and score must hold numbers only", path) from None
    bad = ~(np.isfinite(pose[:, 0::2]) & np.isfinite(pose[:, 1::2]) & np.isfinite(score))
    nonfinite = int(bad.sum())
    if nonfinite:  # read as missing: score 0 (zeroed below), no NaN kept anywhere
        score[bad] = 0
        pose[:, 0::2][bad] = 0
        pose[:, 1::2][bad] = 0
    if np.abs(pose).max() > 1e6 or np.abs(score).max() > 1e6:
        raise DataFormatError("pose or score value out of range (|v| > 1e6)", path)
    t_idx = np.array([e[0] for e in entries])
    m_idx = np.array([e[1] for e in entries])
    length = int(t_idx.max()) + 1
    t_len = length
    if max_frames is not None and length > max_frames:
        keep = resample_indices(length, max_frames)  # strictly increasing
        pos = np.minimum(np.searchsorted(keep, t_idx), len(keep) - 1)
        hit = keep[pos] == t_idx
        t_idx, m_idx, pose, score = pos[hit], m_idx[hit], pose[hit], score[hit]
        t_len = len(keep)
    kp = np.zeros(
        (int(m_idx.max()) + 1 if len(m_idx) else 1, t_len, NUM_JOINTS, 3), dtype=np.float32
    )
    kp[m_idx, t_idx, :, 0] = pose[:, 0::2]
    kp[m_idx, t_idx, :, 1] = pose[:, 1::2]
    kp[m_idx, t_idx, :, 2] = score
    missing = kp[..., 2] == 0  # ST-GCN's feeder: a joint without score is not there
    kp[missing] = 0
    label = doc.get("label_index")
    label = None if label is None else _label_index(label, "label_index", path)
    name = doc.get("label")
    return kp, label, name if isinstance(name, str) else None, length, nonfinite


def prepare_clip(task: KineticsTask) -> Sample:
    """Read, check and lay out one clip (``(3, T_max, 18, 2)``)."""
    doc = parse_json(read_text(task.path, "json file"), task.path)
    kp, own_label, _, length, nonfinite = parse_clip(doc, task.path, task.max_frames)
    label = task.label if task.label is not None else own_label
    if label is None:
        raise DataFormatError("no label_index (in the clip or the label file)", task.path)
    x, nf, info = clip_to_sample(
        kp, get_layout(LAYOUT), CHANNELS, task.max_frames, PERSONS_OUT, task.norm, task.path
    )
    if not x[:2].any():
        raise DataFormatError("every joint has score 0 (nothing detected)", task.path)
    if length > nf:
        info["resampled_from"] = length
    if nonfinite:
        info["nonfinite_joints"] = nonfinite
    if len(task.channels) == 2:  # --channels x,y: the scores chose the persons, then go
        x = x[:2]
    return Sample(Path(task.path).stem, x, label, nf, info)


def _task_name(task: KineticsTask) -> str:
    return Path(task.path).stem


def read_label_file(path: Path) -> dict[str, tuple[int, str | None, bool]]:
    """``kinetics_*_label.json`` -> ``{video id: (label_index, label, has_skeleton)}``."""
    doc = parse_json(read_text(path, "label file"), str(path))
    if not isinstance(doc, dict):
        raise SkelconError(f"{path}: expected an object mapping video ids to labels")
    out = {}
    for vid, e in doc.items():
        if not isinstance(e, dict) or "label_index" not in e:
            raise SkelconError(f"{path}: entry {vid!r} has no label_index")
        try:
            idx = _label_index(e["label_index"], f"entry {vid!r}: label_index", str(path))
        except DataFormatError as err:
            raise SkelconError(str(err)) from None
        name = e.get("label")
        out[str(vid)] = (
            idx,
            name if isinstance(name, str) else None,
            e.get("has_skeleton", True) is not False,
        )
    return out


@prepare_cleanup()
def prepare_kinetics(
    raw: str | os.PathLike,
    out: str | os.PathLike,
    *,
    workers: int = 1,
    strict: bool = False,
    max_frames: int = 300,
    norm: ClipNorm = ClipNorm(enabled=True),
    progress: bool = True,
    channels: Sequence[str] | None = None,
) -> Path:
    """Prepare the Kinetics-skeleton folder ``raw`` into ``out``; returns ``out``.

    ``channels``: ``x, y, score`` (default) or ``x, y`` (the scores still choose the
    two persons); anything else is a one-line :class:`SkelconError` before any work."""
    raw = Path(raw)
    if not raw.is_dir():
        raise SkelconError(f"raw {str(raw)!r} is not a directory", param="raw")
    if max_frames < 1:
        raise SkelconError(f"max_frames must be at least 1, got {max_frames}", param="max_frames")
    chans, _ = resolve_channels(
        channels, 2, get_layout(LAYOUT), "kinetics-skeleton pose", extra_score=True
    )
    norm.check(chans, "kinetics-skeleton")
    tasks: list[KineticsTask] = []
    task_split: list[str] = []
    names: dict[int, str] = {}
    no_skeleton: list[str] = []
    clip_files, unused = scan_kinetics(raw)
    _say_unused(raw, unused)
    for folder, split in SPLITS:
        files = clip_files[folder]
        label_path = raw / f"{folder}_label.json"
        labels = read_label_file(label_path) if label_path.is_file() else None
        for f in files:
            entry = labels.get(f.stem) if labels is not None else None  # None: the clip's own
            if entry is not None and not entry[2]:
                no_skeleton.append(f.stem)
                continue
            tasks.append(
                KineticsTask(
                    str(f), None if entry is None else entry[0], max_frames, norm, tuple(chans)
                )
            )
            task_split.append(split)
        if labels is not None:
            for idx, nm, _ in labels.values():
                if nm is not None:
                    names.setdefault(idx, nm)
    if not tasks:
        raise SkelconError(
            f"raw {str(raw)!r} holds no kinetics_train/*.json or kinetics_val/*.json clips",
            param="raw",
        )
    if "train" not in task_split:
        raise SkelconError(f"raw {str(raw)!r} has no kinetics_train/*.json clips", param="raw")
    _refuse_duplicate_ids([t.path for t in tasks], raw)
    labelled = [t.label for t in tasks if t.label is not None]
    num_classes = max([*labelled, *names, -1]) + 1
    if any(t.label is None for t in tasks):  # labels inside the clips: read them first
        for t in tasks:
            if t.label is None:
                try:
                    doc = parse_json(read_text(t.path, "json file"), t.path)
                    idx = doc.get("label_index") if isinstance(doc, dict) else None
                    if (
                        isinstance(idx, int)
                        and not isinstance(idx, bool)
                        and 0 <= idx < MAX_CLASSES
                    ):
                        num_classes = max(num_classes, idx + 1)
                        if isinstance(doc.get("label"), str):
                            names.setdefault(idx, doc["label"])
                except DataFormatError:
                    pass  # reported when the clip is prepared
    num_classes = max(num_classes, 1)
    classes = [names.get(i, f"class_{i}") for i in range(num_classes)]
    writer = PreparedWriter(
        out,
        dataset="kinetics-skeleton",
        layout=LAYOUT,
        classes=classes,
        capacity=len(tasks),
        max_frames=max_frames,
        num_persons=PERSONS_OUT,
        channels=len(chans),
        channel_names=chans,
    )
    for n in no_skeleton:
        writer.skip(n, "has_skeleton is false in the label file")
    report = run_prepare(
        tasks,
        _CheckedLabel(num_classes),
        writer,
        workers=workers,
        strict=strict,
        desc="kinetics-skeleton",
        name_fn=_task_name,
        progress=progress,
    )
    parts: dict[str, list[int]] = {"train": [], "test": []}
    for t, split in zip(tasks, task_split, strict=True):
        row = report.indices.get(Path(t.path).stem)
        if row is not None:
            parts[split].append(row)
    if not parts["test"]:
        del parts["test"]
    nonfinite = [
        {"name": k, "joints": v["nonfinite_joints"]}
        for k, v in sorted(report.info.items())
        if "nonfinite_joints" in v
    ]
    if nonfinite:
        print(f"kinetics-skeleton: {nonfinite_note(nonfinite)}")
    resampled = [
        {"name": k, "frames": v["resampled_from"]}
        for k, v in sorted(report.info.items())
        if "resampled_from" in v
    ]
    done = writer.finalize(
        {"default": parts},
        source_format="kinetics-skeleton",
        source=str(raw),
        normalization=norm.describe(chans),
        resampled=resampled,
        nonfinite_joints=nonfinite,
        persons="the 2 skeletons with the largest summed score (of at most 5 per frame)",
        unused_files=[{"path": p, "reason": r} for p, r in unused[:MAX_LISTED]],
        unused_count=len(unused),
    )
    print(
        f"kinetics-skeleton: {len(writer)} clips written to {out} ("
        + ", ".join(f"{s} {len(r)}" for s, r in parts.items())
        + f"); skipped {len(report.skipped)} bad, {len(no_skeleton)} without skeleton"
        + (f"; {len(unused)} files not read" if unused else "")
    )
    return done


MAX_LISTED = 1000  # unused files kept in meta.json (the count is always whole)
SHOWN = 20  # unused files named on screen


def scan_kinetics(raw: Path) -> tuple[dict[str, list[Path]], list[tuple[str, str]]]:
    """The clip files of each split folder, one path per real file, and every other
    file under ``raw`` as ``(path relative to raw, reason)``.

    ``raw`` is walked as ``prepare folder`` walks (:func:`skelcon.data.files.walk_tree`:
    dot-files and macOS ``._*`` files are listed as hidden, linked folders read once,
    loops cut). A clip is ``kinetics_train/<id>.json`` or ``kinetics_val/<id>.json``;
    the label files ``kinetics_*_label.json`` are read; anything else (other files,
    sub-folders, other folders such as ``kinetics_test/``) is listed as not read. Two
    paths naming one real file (symlinks resolved, hard links by ``(st_dev, st_ino)``,
    :mod:`skelcon.data.files`) are read once within a split; in both splits they are
    refused before any clip is parsed, as a video id in both is. Raises
    :class:`SkelconError` (one line) for a file or folder shared by both splits.
    """

    folders = [f for f, _ in SPLITS]
    dirs = [raw / f for f in folders]
    if all(d.is_dir() for d in dirs) and os.path.samefile(*dirs):
        raise SkelconError(
            f"raw {str(raw)!r}: {dirs[1]} is the folder {dirs[0]} (a link): "
            "every clip would be in train and test; nothing was written",
            param="raw",
        )
    files: list[Path] = []
    unused: list[tuple[str, str]] = []
    walk_tree(raw, files, unused)
    clips: dict[str, list[Path]] = {f: [] for f in folders}
    label_files = {f"{f}_label.json" for f in folders}
    for p in files:
        parts = p.relative_to(raw).parts
        if len(parts) == 1 and parts[0] in label_files:
            continue  # read as the split's label file
        if parts[0] not in clips:
            unused.append(
                (
                    rel_path(p, raw),
                    "not in kinetics_train/ or kinetics_val/ (nor a kinetics_*_label.json)",
                )
            )
        elif len(parts) > 2:
            unused.append(
                (
                    rel_path(p, raw),
                    f"in a sub-folder of {parts[0]}/ (clips are read from {parts[0]}/ itself)",
                )
            )
        elif p.suffix.lower() != ".json":
            unused.append((rel_path(p, raw), "not a .json clip"))
        else:
            clips[parts[0]].append(p)
    split_of = {p: f for f, ps in clips.items() for p in ps}
    shared = []
    for group in group_same_files(sorted(split_of), raw):
        if len({split_of[p] for p in group}) > 1:
            first = next(p for p in group if split_of[p] == folders[0])
            shared.append((first, next(p for p in group if split_of[p] != folders[0])))
    if shared:
        a, b = shared[0]
        more = f" ({len(shared)} shared files in all)" if len(shared) > 1 else ""
        raise SkelconError(
            f"raw {str(raw)!r}: {b} is the same file as {a} (a link): one clip would be in "
            f"train and test{more}; remove the link or the copy; nothing was written",
            param="raw",
        )
    for f in folders:
        clips[f] = dedupe_files(sorted(clips[f]), raw, unused)
    return clips, sorted(unused)


def _say_unused(raw: Path, unused: list[tuple[str, str]]) -> None:
    """Name the files not read on stderr (the first :data:`SHOWN`; hidden ones only
    counted), before any clip is parsed."""
    shown = [(p, r) for p, r in unused if r != "hidden file"]
    for p, r in shown[:SHOWN]:
        print(f"not read {raw / p}: {r}", file=sys.stderr)
    hidden = len(unused) - len(shown)
    if len(shown) > SHOWN or hidden:
        print(
            f"kinetics-skeleton: {len(shown)} files not read"
            + (f", {hidden} hidden files ignored" if hidden else "")
            + " (all in meta.json 'unused_files')",
            file=sys.stderr,
        )


def _refuse_duplicate_ids(paths: list[str], raw: Path) -> None:
    """A video id (file stem) must name one clip: the same id in ``kinetics_train`` and
    ``kinetics_val`` would put one video in both splits. Checked before any clip is
    parsed; the one-line error names both files and how many ids are shared."""
    first: dict[str, str] = {}
    dups: list[tuple[str, str]] = []
    for p in paths:
        stem = Path(p).stem
        if stem in first:
            dups.append((first[stem], p))
        else:
            first[stem] = p
    if dups:
        a, b = dups[0]
        more = f" ({len(dups)} shared ids in all)" if len(dups) > 1 else ""
        raise SkelconError(
            f"raw {str(raw)!r}: video id {Path(a).stem!r} names two clips, {a} and {b}{more}; "
            "a video id must name one clip (remove or rename one); nothing was written",
            param="raw",
        )


class _CheckedLabel:
    """``prepare_clip`` plus a check that the label is below the class count."""

    def __init__(self, num_classes: int):
        self.num_classes = num_classes

    def __call__(self, task: KineticsTask) -> Sample:
        s = prepare_clip(task)
        if s.label >= self.num_classes:
            raise DataFormatError(f"label_index {s.label} >= {self.num_classes} classes", task.path)
        return s
