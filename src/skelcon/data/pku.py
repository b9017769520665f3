"""PKU-MMD Phase I / II: ``skelcon prepare pku-mmd1|pku-mmd2``.

Inputs (official layout):

* ``--raw``: one skeleton file per untrimmed sequence, ``NNNN-V.txt`` (Part I) or
  ``AxxNyy-V.txt`` (Part II), V in L/M/R; also ``.txt.xz`` (read with :mod:`lzma`, no
  extraction). One line per frame: 150 floats = 2 persons x 25 joints x (x, y, z).
* ``--labels``: the label file of the same stem, one instance per line
  ``label,start,end,confidence`` (Part I classes 1..51, Part II 1..41).
* ``--splits`` (optional for Part I, required for Part II): ``cross-subject.txt`` and
  optionally ``cross-view.txt`` in the official format (``Training videos:`` line, a
  comma-separated list, ``Validataion videos:`` line, a list). The Part I lists ship
  with skelcon; the Part II list does not (it is not known here exactly).

Choices (also recorded in meta.json):

* Frame numbers are 0-based (the official label files use frame 0) and ``end`` is
  inclusive: the clip is lines ``start+1 .. end+1`` of the skeleton file. An ``end``
  equal to the frame count (an exclusive or 1-based end) is taken as the last frame;
  meta ``"clamped_ends"`` counts them.
* Label lines may use commas, tabs or spaces, a trailing comma, a UTF-8 BOM and any
  line ending; the confidence column is optional (it is never used).
* A clip longer than ``--max-frames`` is uniformly subsampled to ``max_frames`` frames
  (indices ``round(linspace(0, len-1, max_frames))``, first and last frame kept);
  meta ``"resampled"`` counts them.
* Clips are normalised as NTU (:func:`~skelcon.data.normalize.normalize_batch`,
  layout ``ntu25``, M=2, person order as in the file; no body selection).
* Every instance is kept whatever its confidence.
* Bad input is skipped (one line ``skipped <file>:<line>: <reason>``, listed in meta
  ``"skipped"``), or stops the run with ``--strict``: per sequence a malformed frame line
  (token count, non-numeric, NaN/Inf) or zero frames; per label line a malformed line,
  a class out of range, ``start < 0``, ``start > end`` or ``end`` past the frame count.
* Sequences that have labels but no skeleton file are listed in meta
  ``"missing_sequences"``; skeleton files without a label file are ignored (counted).
* ``--min-instances K`` keeps the classes with at least K prepared clips (over all
  splits), relabelled ``0..C'-1`` in their original order; meta ``"original_labels"``
  holds their 1-based PKU-MMD ids.
"""

from __future__ import annotations

import io
import math
import os
import re
import shutil
import sys
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataFormatError, SkelconError
from ..utils.text import parse_float, parse_int, split_fields, text_lines
from ..utils.text import read_text as _read_text
from .channels import channels_of
from .layouts import NTU25, layout_from_meta
from .normalize import normalize_batch, require_finite
from .pipeline import Sample, run_prepare
from .prepared import PreparedWriter, prepare_cleanup, read_meta

NUM_PERSONS = 2
NUM_JOINTS = 25
VALUES_PER_FRAME = NUM_PERSONS * NUM_JOINTS * 3

PARTS: dict[str, dict[str, Any]] = {
    "pku-mmd1": {
        "num_classes": 51,
        "pattern": re.compile(r"\d{4}-[LMR]"),
        "example": "0002-L",
        "benchmarks": {"xsub": "cross-subject.txt", "xview": "cross-view.txt"},
        "shipped": "pku_mmd1",
    },
    "pku-mmd2": {
        "num_classes": 41,
        "pattern": re.compile(r"A\d{2}N\d{2}-[LMR]"),
        "example": "A01N01-L",
        "benchmarks": {"xsub": "cross-subject.txt", "xview": "cross-view.txt"},
        "shipped": None,
    },
}


# --------------------------------------------------------------------------- names


def class_names(dataset: str) -> list[str]:
    """The action names of ``dataset``: the 51 official PKU-MMD Part I names; Part II
    names are not shipped, so its classes are called ``A01`` .. ``A41``."""
    if dataset == "pku-mmd1":
        text = resources.files("skelcon").joinpath("resources/pku_mmd1/actions.txt")
        names = [s.strip() for s in text.read_text("utf-8").splitlines() if s.strip()]
        assert len(names) == 51
        return names
    return [f"A{i:02d}" for i in range(1, PARTS[dataset]["num_classes"] + 1)]


def parse_split_list(text: str, path: str = "<split>") -> dict[str, list[str]]:
    """An official split list -> ``{"train": [...], "test": [...]}`` of sequence stems.

    Format: a ``Training videos:`` line, then comma-separated stems (any number of
    lines), a ``Validataion videos:`` / ``Validation videos:`` / ``Testing videos:``
    line, then stems. The validation part is the test split.
    """
    parts: dict[str, list[str]] = {"train": [], "test": []}
    current: str | None = None
    for lineno, s in text_lines(text):
        low = s.lower()
        if low.endswith(":") or low.endswith("videos:"):
            if low.startswith("train"):
                current = "train"
            elif low.startswith(("valid", "validataion", "test")):
                current = "test"
            else:
                raise DataFormatError(f"unknown section header {s!r}", path, lineno)
            continue
        if current is None:
            raise DataFormatError("names before a 'Training videos:' header", path, lineno)
        parts[current].extend(split_fields(s))
    if not parts["train"] and not parts["test"]:
        raise DataFormatError("no sequence names found", path)
    both = set(parts["train"]) & set(parts["test"])
    if both:
        raise DataFormatError(f"{len(both)} sequences in both parts, e.g. {sorted(both)[0]}", path)
    return parts


def load_splits(dataset: str, splits_dir: str | os.PathLike | None) -> dict[str, dict]:
    """``{benchmark: {"train": set, "test": set, "source": str}}`` for ``dataset``.

    Part I uses the shipped official lists unless ``splits_dir`` holds a replacement;
    Part II needs ``splits_dir`` with ``cross-subject.txt``.
    """
    spec = PARTS[dataset]
    if splits_dir is not None and not Path(splits_dir).is_dir():
        raise SkelconError(f"splits {str(splits_dir)!r} is not a directory", param="splits")
    if spec["shipped"] is None and splits_dir is None:
        raise SkelconError(
            f"{dataset} needs splits DIR holding the official cross-subject.txt: skelcon does "
            "not ship the PKU-MMD Part II split list (it is not known here exactly)",
            param="splits",
        )
    if splits_dir is not None and not any(
        (Path(splits_dir) / f).is_file() for f in spec["benchmarks"].values()
    ):
        raise SkelconError(
            f"splits {str(splits_dir)!r} holds neither cross-subject.txt nor cross-view.txt",
            param="splits",
        )
    out: dict[str, dict] = {}
    for bench, fname in spec["benchmarks"].items():
        src: Any = None
        if splits_dir is not None and (Path(splits_dir) / fname).is_file():
            src = Path(splits_dir) / fname
            text = _read_text(src, "split list")
        elif spec["shipped"] is not None:
            src = resources.files("skelcon").joinpath("resources", spec["shipped"], fname)
            text = src.read_text("utf-8")
        else:
            continue
        parts = parse_split_list(text, str(src))
        out[bench] = {"train": set(parts["train"]), "test": set(parts["test"]), "source": str(src)}
    if "xsub" not in out:
        raise SkelconError(
            f"splits {str(splits_dir)!r} has no cross-subject.txt (needed for {dataset})",
            param="splits",
        )
    return out


# --------------------------------------------------------------------------- parsers


def read_text(path: str | os.PathLike) -> str:
    """The text of ``path`` (``*.xz`` decompressed), BOM and line ends normalised."""
    return _read_text(path, "file")


def _scan_frames(lines: list[str], path: str) -> np.ndarray:
    """Slow, exact check of every frame line; raises at the first bad one."""
    rows = []
    for i, line in enumerate(lines, 1):
        toks = line.split()
        if len(toks) != VALUES_PER_FRAME:
            raise DataFormatError(
                f"expected {VALUES_PER_FRAME} values in a frame line, found {len(toks)}", path, i
            )
        try:
            vals = np.array([float(t) for t in toks], dtype=np.float32)
        except ValueError:
            bad = next(t for t in toks if not _is_float(t))
            raise DataFormatError(f"non-numeric value {bad!r}", path, i) from None
        finite = np.isfinite(vals)
        if not finite.all():
            bad = toks[int(np.argmin(finite))]
            raise DataFormatError(f"non-finite value {bad!r}", path, i)
        rows.append(vals)
    return np.stack(rows)


def _is_float(tok: str) -> bool:
    try:
        float(tok)
    except ValueError:
        return False
    return True


def parse_skeleton_text(text: str, path: str = "<skeleton>") -> np.ndarray:
    """Frames of one PKU-MMD skeleton file -> ``(T, 150)`` float32.

    Trailing blank lines are ignored; any other line must hold exactly 150 finite
    numbers. Raises :class:`DataFormatError` naming the 1-based line, or for zero frames.
    """
    body = text.rstrip()
    if not body:
        raise DataFormatError("sequence has no frames", path)
    n_lines = body.count("\n") + 1
    try:  # fast path: numpy's C parser; any doubt -> exact line-by-line scan
        arr = np.loadtxt(io.StringIO(body), dtype=np.float32, comments=None, ndmin=2)
        ok = arr.shape == (n_lines, VALUES_PER_FRAME) and bool(np.isfinite(arr).all())
    except ValueError:
        ok = False
    if not ok:
        arr = _scan_frames(body.split("\n"), path)
    return arr


def read_skeleton(path: str | os.PathLike) -> np.ndarray:
    """A PKU-MMD skeleton file (``.txt`` or ``.txt.xz``) -> ``(T, 150)`` float32."""
    return parse_skeleton_text(read_text(path), str(path))


def to_ctvm(frames: np.ndarray) -> np.ndarray:
    """``(T, 150)`` rows (person, joint, xyz) -> ``(3, T, 25, 2)``."""
    t = frames.shape[0]
    return frames.reshape(t, NUM_PERSONS, NUM_JOINTS, 3).transpose(3, 0, 2, 1)


@dataclass(frozen=True)
class LabelLine:
    """One action instance: 1-based class, 0-based inclusive frames, label-file line."""

    label: int
    start: int
    end: int
    confidence: float
    line: int


def parse_label_line(line: str, lineno: int, path: str, num_classes: int) -> LabelLine:
    """Parse ``label,start,end[,confidence]``; range checks that need no sequence.

    Fields may be separated by commas, tabs or spaces (:func:`~skelcon.utils.text.split_fields`;
    a trailing comma is fine). The confidence is never used: a missing or unreadable one
    becomes NaN. Raises :class:`DataFormatError` (``path:line: ...``).
    """
    parts = split_fields(line)
    if not 3 <= len(parts) <= 4:
        raise DataFormatError(
            f"expected 'label,start,end[,confidence]', found {len(parts)} fields in "
            f"{line.strip()!r}",
            path,
            lineno,
        )
    label = parse_int(parts[0], "class", path, lineno)
    start = parse_int(parts[1], "start frame", path, lineno)
    end = parse_int(parts[2], "end frame", path, lineno)
    try:
        conf = parse_float(parts[3], "confidence", finite=False) if len(parts) == 4 else math.nan
    except DataFormatError:
        conf = math.nan
    if not 1 <= label <= num_classes:
        raise DataFormatError(f"class {label} out of range 1..{num_classes}", path, lineno)
    if start < 0:
        raise DataFormatError(f"start frame {start} is negative", path, lineno)
    if start > end:
        raise DataFormatError(f"start frame {start} > end frame {end}", path, lineno)
    return LabelLine(label, start, end, conf, lineno)


def resample_indices(length: int, max_frames: int) -> np.ndarray:
    """Frame indices keeping a clip of ``length`` frames within ``max_frames``:
    all frames, or ``round(linspace(0, length-1, max_frames))`` (strictly increasing)."""
    if length <= max_frames:
        return np.arange(length)
    return np.rint(np.linspace(0, length - 1, max_frames)).astype(np.int64)


# --------------------------------------------------------------------------- per sequence


@dataclass(frozen=True)
class PkuTask:
    """One sequence: its skeleton file, label file text, and the options."""

    stem: str
    skeleton: str
    label_path: str
    label_text: str
    num_classes: int
    max_frames: int
    strict: bool


@dataclass
class ClipBundle:
    """All clips cut from one sequence. ``x: (K, 3, T_max, 25, 2)``."""

    x: np.ndarray
    labels: list[int]
    num_frames: list[int]
    names: list[str]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    resampled: int = 0
    clamped: int = 0


def clip_name(stem: str, line: int) -> str:
    """Name of the clip of label-file line ``line`` of sequence ``stem``."""
    return f"{stem}_{line:03d}"


def prepare_sequence(task: PkuTask) -> Sample:
    """Read and check one sequence, cut and normalise its clips.

    Returns a :class:`~skelcon.data.pipeline.Sample` whose ``x`` is a
    :class:`ClipBundle` (unpacked by :class:`_ClipSink`). Bad label lines are collected
    in the bundle, or raised at once when ``task.strict``.
    """
    frames = read_skeleton(task.skeleton)
    total = frames.shape[0]
    instances: list[LabelLine] = []
    skipped: list[tuple[str, str]] = []
    clamped = 0
    for lineno, line in text_lines(task.label_text):
        try:
            inst = parse_label_line(line, lineno, task.label_path, task.num_classes)
            if inst.end > total:
                raise DataFormatError(
                    f"end frame {inst.end} beyond the {total} frames of {task.skeleton} "
                    f"(expected at most {total})",
                    task.label_path,
                    lineno,
                )
            if inst.end == total:  # an exclusive or 1-based end: the clip ends at the last frame
                inst = replace(inst, end=total - 1)
                clamped += 1
        except DataFormatError as e:
            if task.strict:
                raise
            skipped.append((clip_name(task.stem, lineno), str(e)))
            continue
        instances.append(inst)
    tm = task.max_frames
    x = np.zeros((len(instances), 3, tm, NUM_JOINTS, NUM_PERSONS), dtype=np.float32)
    seq = to_ctvm(frames)  # (3, T, 25, 2)
    lengths, resampled = [], 0
    for k, inst in enumerate(instances):
        idx = resample_indices(inst.end - inst.start + 1, tm) + inst.start
        resampled += int(len(idx) < inst.end - inst.start + 1)
        x[k, :, : len(idx)] = seq[:, idx]
        lengths.append(len(idx))
    if len(instances):
        x = require_finite(normalize_batch(x, NTU25), task.skeleton)  # fuzz: huge values
    bundle = ClipBundle(
        x=x,
        labels=[i.label - 1 for i in instances],
        num_frames=lengths,
        names=[clip_name(task.stem, i.line) for i in instances],
        skipped=skipped,
        resampled=resampled,
        clamped=clamped,
    )
    return Sample(task.stem, bundle, 0, total)  # type: ignore[arg-type]


def _task_name(task: PkuTask) -> str:
    return task.stem


class _ClipSink:
    """Stands in for the writer in :func:`run_prepare`: unpacks each sequence's
    :class:`ClipBundle` into the real writer and remembers which rows came from
    which sequence."""

    def __init__(self, writer: PreparedWriter):
        self.writer = writer
        self.rows: list[tuple[int, str]] = []  # (row, sequence stem)
        self.bad_lines = 0
        self.bad_sequences: list[str] = []
        self.resampled = 0
        self.clamped = 0

    def add(self, bundle: ClipBundle, label: int, num_frames: int, name: str) -> int:
        from tqdm import tqdm  # here: `skelcon --help` does not import it

        for clip, message in bundle.skipped:
            tqdm.write(f"skipped {message}", file=sys.stderr)
            self.writer.skip(clip, message)
        self.bad_lines += len(bundle.skipped)
        self.resampled += bundle.resampled
        self.clamped += bundle.clamped
        first = len(self.writer)
        for k in range(len(bundle.names)):
            row = self.writer.add(
                bundle.x[k], bundle.labels[k], bundle.num_frames[k], bundle.names[k]
            )
            self.rows.append((row, name))
        return first

    def skip(self, name: str, reason: str) -> None:
        self.writer.skip(name, reason)
        self.bad_sequences.append(name)


# --------------------------------------------------------------------------- driver


def _find_skeleton(raw: Path, stem: str) -> Path | None:
    for suffix in (".txt", ".txt.xz"):
        p = raw / f"{stem}{suffix}"
        if p.is_file():
            return p
    return None


@prepare_cleanup()
def prepare_pku(
    dataset: str,
    raw: str | os.PathLike,
    labels: str | os.PathLike,
    out: str | os.PathLike,
    *,
    splits: str | os.PathLike | None = None,
    workers: int = 1,
    strict: bool = False,
    max_frames: int = 300,
    min_instances: int | None = None,
    progress: bool = True,
) -> Path:
    """Prepare PKU-MMD Part I (``"pku-mmd1"``) or Part II (``"pku-mmd2"``) into ``out``."""
    if dataset not in PARTS:
        raise SkelconError(f"unknown PKU-MMD dataset {dataset!r} (valid: {', '.join(PARTS)})")
    spec = PARTS[dataset]
    raw, labels, out = Path(raw), Path(labels), Path(out)
    for param, d in (("raw", raw), ("labels", labels)):
        if not d.is_dir():
            raise SkelconError(f"{param} {str(d)!r} is not a directory", param=param)
    if max_frames < 1:
        raise SkelconError(f"max_frames must be at least 1, got {max_frames}", param="max_frames")
    if min_instances is not None and min_instances < 1:
        raise SkelconError(
            f"min_instances must be at least 1, got {min_instances}", param="min_instances"
        )
    benches = load_splits(dataset, splits)

    label_files = sorted(p for p in labels.glob("*.txt") if spec["pattern"].fullmatch(p.stem))
    if not label_files:
        raise SkelconError(
            f"labels {str(labels)!r} holds no {dataset} label files (like {spec['example']}.txt)",
            param="labels",
        )
    tasks: list[PkuTask] = []
    missing: list[str] = []
    capacity = 0
    for lf in label_files:
        skel = _find_skeleton(raw, lf.stem)
        if skel is None:
            missing.append(lf.stem)
            continue
        text = read_text(lf)
        capacity += sum(1 for s in text.splitlines() if s.strip())
        tasks.append(
            PkuTask(lf.stem, str(skel), str(lf), text, spec["num_classes"], max_frames, strict)
        )
    if not tasks:
        raise SkelconError(
            f"raw {str(raw)!r} holds none of the {len(label_files)} labelled sequences "
            f"(expected files like {spec['example']}.txt or {spec['example']}.txt.xz)",
            param="raw",
        )
    labelled = {lf.stem for lf in label_files}
    unlabelled = sum(
        1
        for p in raw.iterdir()
        if p.name.endswith((".txt", ".txt.xz"))
        and p.name.split(".")[0] not in labelled
        and spec["pattern"].fullmatch(p.name.split(".")[0])
    )
    if missing:
        print(
            f"{dataset}: {len(missing)} of {len(label_files)} labelled sequences have no skeleton "
            f"file in {raw} (listed in meta.json 'missing_sequences')",
            file=sys.stderr,
        )

    classes = class_names(dataset)
    stage = out.parent / f".{out.name}.stage" if min_instances else out
    writer = PreparedWriter(
        stage,
        dataset=dataset,
        layout=NTU25.name,
        classes=classes,
        capacity=capacity,
        max_frames=max_frames,
        num_persons=NUM_PERSONS,
    )
    sink = _ClipSink(writer)
    run_prepare(
        tasks,
        prepare_sequence,
        sink,
        workers=workers,
        strict=strict,
        desc=dataset,  # type: ignore[arg-type]
        name_fn=_task_name,
        progress=progress,
    )

    rows = np.array([r for r, _ in sink.rows], dtype=np.int64)
    stems = [s for _, s in sink.rows]
    split_rows: dict[str, dict[str, np.ndarray]] = {}
    unsplit: dict[str, list[str]] = {}
    for bench, b in benches.items():
        member = np.array(
            [("train" if s in b["train"] else "test" if s in b["test"] else "") for s in stems]
        )
        split_rows[bench] = {sp: rows[member == sp] for sp in ("train", "test")}
        present = sorted({t.stem for t in tasks} - b["train"] - b["test"])
        if present:
            unsplit[bench] = present
    extra: dict[str, Any] = {
        "frame_convention": "label start/end are 0-based frame indices, end inclusive",
        "resampling": f"clips longer than {max_frames} frames uniformly subsampled to "
        f"{max_frames} (round(linspace(0, len-1, {max_frames})))",
        "resampled": sink.resampled,
        "clamped_ends": sink.clamped,
        "sequences": len(tasks) - len(sink.bad_sequences),
        "missing_sequences": missing,
        "unlabelled_sequences": unlabelled,
        "split_sources": {bench: b["source"] for bench, b in benches.items()},
        "sequences_not_in_split": unsplit,
        "bad_label_lines": sink.bad_lines,
        "bad_sequences": sink.bad_sequences,
        "name_format": "<sequence>_<label-file line, 3 digits>",
    }
    if dataset == "pku-mmd2":
        extra["class_names_note"] = "Part II action names are not shipped: A01..A41 = label 1..41"
    n_clips = len(rows)
    result = writer.finalize(split_rows, **extra)
    print(
        f"{dataset}: {n_clips} clips from {extra['sequences']} sequences"
        + ("" if min_instances else f" written to {out}")
        + f"; skipped {len(sink.bad_sequences)} bad sequences, {sink.bad_lines} bad label lines"
    )
    if min_instances:
        try:
            result = keep_frequent_classes(stage, out, min_instances)
        finally:
            shutil.rmtree(stage, ignore_errors=True)
    return result


_WRITER_KEYS = frozenset(
    [
        "format",
        "version",
        "dataset",
        "layout",
        "layout_def",
        "channels",
        "classes",
        "num_classes",
        "shape",
        "max_frames",
        "num_persons",
        "benchmarks",
        "counts",
        "skipped",
        "class_coverage",
        "complete",
    ]
)


def keep_frequent_classes(src: str | os.PathLike, out: str | os.PathLike, k: int) -> Path:
    """Copy the samples of the classes with at least ``k`` samples (all splits together)
    of the prepared dataset ``src`` into a new prepared dataset ``out``.

    Kept classes are relabelled ``0..C'-1`` in their original order, keeping their
    names; meta ``"original_labels"`` lists their 1-based original ids (composed when
    ``src`` was itself filtered), ``"min_instances"`` is ``k``.
    """
    src, out = Path(src), Path(out)
    if k < 1:
        raise SkelconError(f"min_instances must be at least 1, got {k}", param="min_instances")
    meta = read_meta(src)
    data = np.load(src / "data.npy", mmap_mode="r")
    labels = np.load(src / "labels.npy")
    frames = np.load(src / "num_frames.npy")
    names = np.load(src / "names.npy")
    counts = np.bincount(labels, minlength=meta["num_classes"])
    kept = np.flatnonzero(counts >= k)
    if len(kept) == 0:
        raise SkelconError(
            f"min_instances {k}: no class has that many samples (largest: {int(counts.max(initial=0))})",
            param="min_instances",
        )
    new_label = np.full(meta["num_classes"], -1, dtype=np.int64)
    new_label[kept] = np.arange(len(kept))
    keep_rows = np.flatnonzero(new_label[labels] >= 0)
    final = PreparedWriter(
        out,
        dataset=meta["dataset"],
        layout=layout_from_meta(meta),
        classes=[meta["classes"][c] for c in kept],
        capacity=len(keep_rows),
        max_frames=meta["max_frames"],
        num_persons=meta["num_persons"],
        channels=meta["shape"][1],
        num_joints=meta["shape"][3],
        channel_names=channels_of(meta),
    )
    final.skipped = list(meta["skipped"])
    old_to_new = np.full(len(labels), -1, dtype=np.int64)
    for r in keep_rows:
        old_to_new[r] = final.add(
            np.asarray(data[r]), int(new_label[labels[r]]), int(frames[r]), str(names[r])
        )
    del data
    splits = {}
    for bench, parts in meta["benchmarks"].items():
        splits[bench] = {}
        for sp in parts:
            idx = old_to_new[np.load(src / "splits" / bench / f"{sp}.npy")]
            splits[bench][sp] = idx[idx >= 0]
    original = meta.get("original_labels", list(range(1, meta["num_classes"] + 1)))
    extra = {key: v for key, v in meta.items() if key not in _WRITER_KEYS}
    extra.update(
        min_instances=int(k),
        original_labels=[int(original[c]) for c in kept],
        dropped_by_min_instances=int(len(labels) - len(keep_rows)),
    )
    result = final.finalize(splits, **extra)
    print(
        f"{meta['dataset']}: kept {len(kept)} classes with >= {k} samples "
        f"({len(keep_rows)} of {len(labels)}) in {out}"
    )
    return result
