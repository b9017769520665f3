"""OpenPose ``--write_json`` output read as clips, with people matched across frames.

OpenPose writes one file per video frame, ``<video>_<frame:012d>_keypoints.json``,
each ``{"version": 1.3, "people": [{"pose_keypoints_2d": [x0, y0, c0, x1, ...], ...}]}``
(``x, y`` in pixels, ``c`` the confidence; an undetected joint is ``0, 0, 0``; a frame
without anybody has ``"people": []``). :func:`read_openpose_frames` reads such files,
ordered by the frame number in their names, as one clip (a frame file missing between
the first and the last is a frame nobody was detected in, so timing is kept);
:func:`read_people_frames`
reads a single JSON file holding the frames (a list of ``{"people": [...]}`` objects,
or ``{"frames": [...]}``, or one such object).

People carry no identity across frames (``person_id`` is ``-1``), so
:func:`track_people` links them: each person of a frame goes to the track whose last
centre (mean of its detected joints) is nearest, greedily closest pair first, if
that distance is below the larger of the two bodies' bounding-box diagonals and the
track was seen in the last ``MAX_GAP`` frames; anyone left starts a new track. The
``max_tracks`` tracks with the highest summed confidence (long and confident) are
kept, best first; the others are counted (``tracks_dropped``).

The keypoint count names the model: 25 is BODY_25 (``--layout openpose25``), 18 is
COCO (``openpose18``); it must equal the layout's joint count.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import DataFormatError
from ..utils.text import read_text
from .kinetics import parse_json

__all__ = [
    "FRAME_FILE",
    "is_people_doc",
    "people_of",
    "read_openpose_frames",
    "read_people_frames",
    "track_people",
]

FRAME_FILE = re.compile(r"^(?P<video>.*?)_?(?P<frame>\d+)_keypoints\.json$", re.IGNORECASE)
"""An OpenPose per-frame file name: ``video`` prefix and ``frame`` number."""
MAX_VALUE = 1e7  # |coordinate| above this is a damaged file
MAX_GAP = 30  # frames a track may go unseen and still be continued
MAX_SPAN_FACTOR = 10  # frame numbers spanning more than this many times the files: refused
MODELS = {
    25: "BODY_25, --layout openpose25",
    18: "COCO, --layout openpose18",
    15: "MPI, no built-in layout",
    135: "BODY_135, no built-in layout",
}


def is_people_doc(doc: Any) -> bool:
    """Whether a parsed JSON document is OpenPose output: ``{"people": ...}``, a list
    of such objects or ``{"frames": [...]}``."""
    if isinstance(doc, dict):
        return "people" in doc or isinstance(doc.get("frames"), list)
    return isinstance(doc, list) and bool(doc) and isinstance(doc[0], dict) and "people" in doc[0]


def _is_number(v: Any) -> bool:
    return (type(v) is float or type(v) is int) or v is None


def people_of(doc: Any, num_joints: int, where: str) -> np.ndarray:
    """The people of one frame object ``{"people": [...]}`` -> ``(P, V, 3)`` float64
    (``x, y, confidence``; JSON ``null``/``NaN`` kept as NaN, read as missing later).

    A person without ``pose_keypoints_2d`` (or an empty one: face or hands only) is
    left out. Raises :class:`DataFormatError` naming ``where`` and the person for any
    other structure, or a keypoint count other than ``num_joints``.
    """
    if not isinstance(doc, dict) or not isinstance(doc.get("people"), list):
        raise DataFormatError('expected an OpenPose frame {"people": [...]}', where)
    out = []
    for i, p in enumerate(doc["people"]):
        if not isinstance(p, dict):
            raise DataFormatError(f"people[{i}] is not an object", where)
        kp = p.get("pose_keypoints_2d")
        if kp is None or (isinstance(kp, list) and not kp):
            continue
        if not isinstance(kp, list) or not all(_is_number(v) for v in kp):
            raise DataFormatError(f"people[{i}].pose_keypoints_2d is not a list of numbers", where)
        if len(kp) % 3:
            raise DataFormatError(
                f"people[{i}].pose_keypoints_2d holds {len(kp)} values, "
                "not x, y, confidence per joint",
                where,
            )
        v = len(kp) // 3
        if v != num_joints:
            model = f" ({MODELS[v]})" if v in MODELS else ""
            raise DataFormatError(
                f"people[{i}].pose_keypoints_2d holds {v} joints{model}; "
                f"the layout has {num_joints}",
                where,
            )
        try:
            a = np.asarray(kp, dtype=np.float64).reshape(v, 3)
        except OverflowError:
            a = np.full((v, 3), np.inf)
        big = np.abs(np.nan_to_num(a, nan=0.0, posinf=np.inf, neginf=np.inf)) > MAX_VALUE
        if big.any():
            j = int(np.argwhere(big)[0, 0])
            raise DataFormatError(
                f"people[{i}] joint {j}: {kp[3 * j : 3 * j + 3]} is out of "
                f"range (|v| > {MAX_VALUE:g})",
                where,
            )
        out.append(a)
    return np.stack(out) if out else np.zeros((0, num_joints, 3))


def track_people(
    frames: Sequence[np.ndarray], max_tracks: int | None = None
) -> tuple[np.ndarray, dict[str, int]]:
    """Link the people of each frame ``frames[t] (P_t, V, 3)`` into tracks (module doc).

    Returns ``(kp (K, T, V, 3) float64, info)``: the ``K <= max_tracks`` best tracks
    (highest summed confidence first; a frame a track is absent from is all zero) and
    ``info`` with ``tracks`` (all found), ``tracks_dropped`` and ``empty_people``
    (detections without any detected joint, left out). ``K`` is at least 1.
    """
    t_len = len(frames)
    v = frames[0].shape[1] if t_len else 0
    centre = np.zeros((0, 2))
    size = np.zeros(0)
    last = np.zeros(0, dtype=np.int64)
    rows_t, rows_k, rows_d = [], [], []  # each detection: frame, track, keypoints
    empty = 0
    for t, people in enumerate(frames):
        if not len(people):
            continue
        ok = np.isfinite(people).all(-1) & (people[..., 2] > 0) & (people[..., :2] != 0).any(-1)
        cnt = ok.sum(1)
        empty += int((cnt == 0).sum())
        idx = np.flatnonzero(cnt)
        if not len(idx):
            continue
        xy = np.where(ok[idx, :, None], people[idx, :, :2], 0.0)
        c = xy.sum(1) / cnt[idx, None]
        lo = np.where(ok[idx, :, None], xy, np.inf).min(1)
        hi = np.where(ok[idx, :, None], xy, -np.inf).max(1)
        s = np.linalg.norm(hi - lo, axis=1)
        assigned = np.full(len(idx), -1)
        alive = np.flatnonzero(last >= t - MAX_GAP)
        if len(alive):
            d = np.linalg.norm(centre[alive, None] - c[None], axis=-1)  # (A, P)
            near = d <= np.maximum(np.maximum(size[alive, None], s[None]), 1e-9)
            used = np.zeros(len(alive), dtype=bool)
            for flat in np.argsort(np.where(near, d, np.inf), axis=None, kind="stable"):
                a, p = divmod(int(flat), len(idx))
                if not near[a, p]:
                    break
                if not used[a] and assigned[p] < 0:
                    used[a] = True
                    assigned[p] = alive[a]
        new = assigned < 0
        assigned[new] = len(centre) + np.arange(int(new.sum()))
        centre = np.concatenate([centre, np.zeros((int(new.sum()), 2))])
        size = np.concatenate([size, np.zeros(int(new.sum()))])
        last = np.concatenate([last, np.zeros(int(new.sum()), dtype=np.int64)])
        centre[assigned], size[assigned], last[assigned] = c, s, t
        rows_t.append(np.full(len(idx), t))
        rows_k.append(assigned)
        rows_d.append(people[idx])
    k_all = len(centre)
    info = {"tracks": k_all, "tracks_dropped": 0, "empty_people": empty}
    if not k_all:
        return np.zeros((1, t_len, v, 3)), info
    tt, kk, det = (np.concatenate(r) for r in (rows_t, rows_k, rows_d))
    score = np.bincount(kk, np.where(np.isfinite(det[..., 2]), det[..., 2], 0).sum(1), k_all)
    order = np.argsort(-score, kind="stable")
    keep = order[:max_tracks] if max_tracks else order
    info["tracks_dropped"] = k_all - len(keep)
    rank = np.full(k_all, -1)
    rank[keep] = np.arange(len(keep))
    sel = rank[kk] >= 0
    kp = np.zeros((len(keep), t_len, v, 3))
    kp[rank[kk[sel]], tt[sel]] = det[sel]
    return kp, info


def _frames_of(doc: Any, where: str) -> list[Any]:
    if isinstance(doc, dict) and "people" not in doc and isinstance(doc.get("frames"), list):
        return doc["frames"]
    if isinstance(doc, list):
        return doc
    return [doc]


def read_people_frames(
    doc: Any, num_joints: int, where: str, max_tracks: int | None = None
) -> tuple[np.ndarray, dict[str, int]]:
    """A single JSON document of OpenPose frames (module doc) -> ``(kp (K, T, V, 3),
    info)`` as :func:`track_people`; raises :class:`DataFormatError` naming ``where``
    and the frame on a bad structure."""
    frames = _frames_of(doc, where)
    if not frames:
        raise DataFormatError("no frame", where)
    people = []
    for t, f in enumerate(frames):
        people.append(people_of(f, num_joints, f"{where}: frame {t}"))
    return track_people(people, max_tracks)


def read_openpose_frames(
    paths: Sequence[str], num_joints: int, max_tracks: int | None = None
) -> tuple[np.ndarray, dict[str, int]]:
    """OpenPose per-frame files of one video -> ``(kp (K, T, V, 3), info)`` as
    :func:`track_people`, frames in the order of the numbers in their names.

    A frame number missing between the first and the last file is a frame nobody was
    detected in (all zero), so the clip keeps its timing: ``T`` spans the first to the
    last number, ``info["frame_gaps"]`` counts the frames filled. Numbers with a
    common step (``0, 5, 10``: ``--frame_step 5``) are one frame a step
    (``info["frame_step"]``). Raises :class:`DataFormatError` naming the file for a
    bad frame, a frame number written twice, or numbers spanning more than
    ``MAX_SPAN_FACTOR`` times the files (a stray file)."""
    nums = []
    for p in paths:
        m = FRAME_FILE.match(p.replace("\\", "/").rsplit("/", 1)[-1])
        nums.append(int(m.group("frame")) if m else len(nums))
    order = np.argsort(np.asarray(nums), kind="stable")
    srt = np.asarray(nums, dtype=np.int64)[order]
    dup = np.flatnonzero(np.diff(srt) == 0)
    if len(dup):
        a, b = paths[order[dup[0]]], paths[order[dup[0] + 1]]
        raise DataFormatError(f"frame {srt[dup[0]]} is written twice: {a} and {b}", b)
    step = int(np.gcd.reduce(np.diff(srt))) if len(srt) > 1 else 1
    pos = (srt - srt[0]) // step
    span = int(pos[-1]) + 1 if len(srt) else 0
    if span > MAX_SPAN_FACTOR * len(srt) + 100:
        raise DataFormatError(
            f"frame numbers {srt[0]} to {srt[-1]} span {span} frames but only "
            f"{len(srt)} frame files are there (a stray file?)",
            paths[order[-1]],
        )
    people = [np.zeros((0, num_joints, 3))] * span
    for i, k in zip(order, pos, strict=True):
        people[k] = people_of(
            parse_json(read_text(paths[i], "OpenPose frame"), paths[i]), num_joints, paths[i]
        )
    kp, info = track_people(people, max_tracks)
    info["frame_gaps"] = span - len(srt)
    if step > 1:
        info["frame_step"] = step
    return kp, info
