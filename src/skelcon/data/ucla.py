"""NW-UCLA (Northwestern-UCLA Multiview Action3D): ``skelcon prepare nw-ucla``.

Input: a folder (searched recursively) of one JSON file per sequence, the common
distribution ``{"file_name": "a01_s01_e00_v01", "skeletons": [T][20][3], "label": 1..10}``.

Choices (also recorded in meta.json):

* layout ``kinect20`` (20 Kinect v1 joints), one person (M=1), normalised with
  :func:`~skelcon.data.normalize.normalize` (pad, centre on joint 1, align);
* the view is the ``_vNN`` suffix of ``file_name`` (of the file stem when the field is
  absent); benchmark ``xview``: views 1 and 2 train, view 3 test;
* sequences longer than ``--max-frames`` are uniformly subsampled to it, as PKU-MMD;
* bad input (unparseable JSON, missing keys, a shape other than ``[T][20][3]``, zero
  frames, NaN/Inf, a label outside 1..10, a view outside 1..3) is skipped with one line
  ``skipped <file>[:<line>]: <reason>`` or stops the run with ``--strict``.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataFormatError, SkelconError
from ..utils.text import read_text
from .layouts import KINECT20
from .normalize import normalize, require_finite
from .pipeline import Sample, run_prepare
from .pku import resample_indices
from .prepared import PreparedWriter, prepare_cleanup

CLASSES = (
    "pick up with one hand",
    "pick up with two hands",
    "drop trash",
    "walk around",
    "sit down",
    "stand up",
    "donning",
    "doffing",
    "throw",
    "carry",
)
NUM_JOINTS = 20
TRAIN_VIEWS = frozenset([1, 2])
TEST_VIEWS = frozenset([3])
VIEW_RE = re.compile(r"_v([0-9]{1,6})$")


def view_of(name: str) -> int | None:
    """The view number of a sample name ``a01_s01_e00_v01`` (None without ``_vNN``)."""
    m = VIEW_RE.search(name)
    return int(m.group(1)) if m else None


@dataclass(frozen=True)
class UclaTask:
    path: str
    max_frames: int


def parse_ucla(text: str, path: str = "<json>") -> tuple[str, np.ndarray, int]:
    """One NW-UCLA JSON document -> ``(name, skeletons (T, 20, 3) float32, label 1..10)``.

    Raises :class:`DataFormatError` (with the line for JSON syntax errors).
    """
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise DataFormatError(f"invalid JSON: {e.msg}", path, e.lineno) from None
    except RecursionError:
        raise DataFormatError("invalid JSON: nested too deeply", path) from None
    except ValueError as e:  # e.g. an integer literal over Python's digit limit
        raise DataFormatError(f"invalid JSON: {str(e).splitlines()[0]}", path) from None
    if not isinstance(doc, dict):
        raise DataFormatError(f"expected a JSON object, found {type(doc).__name__}", path)
    for key in ("skeletons", "label"):
        if key not in doc:
            raise DataFormatError(f"missing key {key!r}", path)
    name = doc.get("file_name", Path(path).name.split(".")[0])
    if not isinstance(name, str) or not name:
        raise DataFormatError(f"file_name must be a non-empty string, got {name!r}", path)
    label = doc["label"]
    if isinstance(label, bool) or not isinstance(label, int) or not 1 <= label <= len(CLASSES):
        raise DataFormatError(f"label {label!r} outside 1..{len(CLASSES)}", path)
    try:
        skel = np.asarray(doc["skeletons"], dtype=np.float32)
    except (ValueError, TypeError, OverflowError, RecursionError):
        raise DataFormatError("skeletons is not a numeric [T][20][3] array", path) from None
    if skel.ndim >= 1 and skel.shape[0] == 0:
        raise DataFormatError("sequence has no frames", path)
    if skel.ndim != 3 or skel.shape[1:] != (NUM_JOINTS, 3):
        raise DataFormatError(f"skeletons has shape {list(skel.shape)}, expected [T][20][3]", path)
    finite = np.isfinite(skel).all(axis=(1, 2))
    if not finite.all():
        raise DataFormatError(f"non-finite coordinate in frame {int(np.argmin(finite))}", path)
    return name, skel, label


def prepare_file(task: UclaTask) -> Sample:
    """Read, check and normalise one JSON sequence."""
    text = read_text(task.path, "json file")
    name, skel, label = parse_ucla(text, task.path)
    view = view_of(name)
    if view not in TRAIN_VIEWS | TEST_VIEWS:
        raise DataFormatError(f"file_name {name!r} has no view suffix _v01.._v03", task.path)
    idx = resample_indices(len(skel), task.max_frames)
    x = skel[idx].transpose(2, 0, 1)[..., None]  # (3, T, 20, 1)
    info = {"resampled_from": len(skel)} if len(idx) < len(skel) else {}
    x = require_finite(normalize(x, task.max_frames, KINECT20), task.path)
    return Sample(name, x, label - 1, len(idx), info)


def _task_name(task: UclaTask) -> str:
    return Path(task.path).name


@prepare_cleanup()
def prepare_ucla(
    raw: str | os.PathLike,
    out: str | os.PathLike,
    *,
    workers: int = 1,
    strict: bool = False,
    max_frames: int = 300,
    progress: bool = True,
) -> Path:
    """Prepare NW-UCLA from the JSON folder ``raw`` into ``out``; returns ``out``."""
    raw = Path(raw)
    if not raw.is_dir():
        raise SkelconError(f"raw {str(raw)!r} is not a directory", param="raw")
    if max_frames < 1:
        raise SkelconError(f"max_frames must be at least 1, got {max_frames}", param="max_frames")
    files = sorted(raw.rglob("*.json"))
    if not files:
        raise SkelconError(f"raw {str(raw)!r} holds no *.json files", param="raw")
    tasks = [UclaTask(str(f), max_frames) for f in files]
    writer = PreparedWriter(
        out,
        dataset="nw-ucla",
        layout=KINECT20.name,
        classes=CLASSES,
        capacity=len(tasks),
        max_frames=max_frames,
        num_persons=1,
    )
    report = run_prepare(
        tasks,
        prepare_file,
        writer,
        workers=workers,
        strict=strict,
        desc="nw-ucla",
        name_fn=_task_name,
        progress=progress,
    )
    if len(writer) != len(report.indices):
        raise SkelconError(f"raw {str(raw)!r}: two JSON files share a file_name", param="raw")
    names = sorted(report.indices)
    parts: dict[str, list[int]] = {"train": [], "test": []}
    for n in names:
        parts["train" if view_of(n) in TRAIN_VIEWS else "test"].append(report.indices[n])
    resampled = [{"name": k, "frames": v["resampled_from"]} for k, v in sorted(report.info.items())]
    print(
        f"nw-ucla: {len(report.indices)} sequences written to {out} "
        f"(train {len(parts['train'])}, test {len(parts['test'])}); skipped {len(report.skipped)}"
    )
    return writer.finalize(
        {"xview": parts},
        views={"train": sorted(TRAIN_VIEWS), "test": sorted(TEST_VIEWS)},
        resampled=resampled,
        resampling=f"sequences longer than {max_frames} frames uniformly subsampled",
    )
