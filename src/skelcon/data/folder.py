"""A plain folder of clips: ``skelcon prepare folder`` and :func:`read_folder`.

For everyone whose skeletons come from their own pipeline. Layout of ``DIR``::

    DIR/<class>/<clip>.npy        keypoints (T, V, C) or (M, T, V, C)
    DIR/<class>/<clip>.csv        one line per frame: x0,y0[,z0|,s0],x1,... (V*C values
                                  per person; M persons one after the other); an
                                  optional header line
    DIR/<class>/<clip>.json       the same nested list, or {"keypoints": [...]}

or split folders ``DIR/train/<class>/...`` and ``DIR/test/<class>/...``, or any files
named in a labels CSV (``--labels``: lines ``clip,label[,split]``, ``clip`` the path
relative to ``DIR``, ``label`` the class name, ``split`` train or test). Without split
folders or a split column, a fixed ~``test_fraction`` of each class (chosen by a hash
of the clip name, so adding clips never moves the others) is the test split.

``V`` must be the layout's joint count (``--layout``: a built-in name or a layout YAML).
``C`` is 2 (``x, y``), 3 (``x, y, z`` unless ``--channels x,y,score``) or 4
(``x, y, z, score``); every clip must have the same. Clips longer than ``max_frames``
are uniformly subsampled, persons beyond ``max_persons`` dropped (the least confident
or least moving), and with ``norm`` each clip is normalised
(:mod:`skelcon.data.clips`). Benchmark ``default``, splits ``train`` and ``test``.

Python use (e.g. to embed a folder with a trained encoder)::

    from skelcon.data.folder import read_folder
    folder = read_folder("my_clips", "coco17")
    for clip in folder.clips:
        sample = folder.load(clip)    # Sample(name, x (C, T_max, V, M), label, num_frames)
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataFormatError, SkelconError
from ..utils.text import parse_float, read_text, split_fields, text_lines
from .channels import check_channels, default_channels
from .clips import ClipNorm, add_norm_args, clip_to_sample, norm_from_args
from .kinetics import parse_json
from .layouts import JointLayout, load_layout
from .pipeline import Sample, run_prepare
from .prepared import PreparedWriter, prepare_cleanup

__all__ = ["FolderClip", "FolderData", "prepare_folder", "read_clip", "read_folder"]

EXTENSIONS = (".npy", ".csv", ".json")
MAX_VALUE = 1e7  # |coordinate| above this is a damaged file


@dataclass(frozen=True)
class FolderClip:
    """One clip of a folder: its file, name (path relative to the root, no
    extension), 0-based label and split (``train``/``test``)."""

    path: str
    name: str
    label: int
    split: str


def _check_array(a: np.ndarray, num_joints: int, num_channels: int | None, path: str) -> np.ndarray:
    if a.dtype == object or not (np.issubdtype(a.dtype, np.number) and not np.iscomplexobj(a)):
        raise DataFormatError(f"keypoints must be real numbers, got {a.dtype}", path)
    if a.ndim == 3:
        a = a[None]
    if a.ndim != 4:
        raise DataFormatError(
            f"keypoints of shape {list(a.shape)}: expected (T, V, C) or (M, T, V, C)", path
        )
    m, t, v, c = a.shape
    if m == 0 or t == 0:
        raise DataFormatError(f"keypoints of shape {list(a.shape)} hold no frame", path)
    if v != num_joints:
        raise DataFormatError(
            f"{v} joints, the layout has {num_joints} (shape {list(a.shape)})", path
        )
    if num_channels is not None and c != num_channels:
        raise DataFormatError(f"{c} channels per joint, expected {num_channels}", path)
    if c not in (2, 3, 4):
        raise DataFormatError(f"{c} channels per joint, expected 2, 3 or 4", path)
    a = a.astype(np.float32)
    if not np.isfinite(a).all():
        raise DataFormatError("non-finite value", path)
    if np.abs(a).max() > MAX_VALUE:
        raise DataFormatError(f"value out of range (|v| > {MAX_VALUE:g})", path)
    return a


def _read_csv(path: str, num_joints: int, num_channels: int | None) -> np.ndarray:
    rows = []
    width = None
    for i, (ln, line) in enumerate(text_lines(read_text(path, "csv clip"))):
        fields = split_fields(line)
        if i == 0 and fields and not _numeric(fields[0]):
            continue  # a header line
        vals = [parse_float(f, "value", path, ln) for f in fields]
        if width is None:
            width = len(vals)
        elif len(vals) != width:
            raise DataFormatError(f"{len(vals)} values, the first frame has {width}", path, ln)
        rows.append(vals)
    if not rows:
        raise DataFormatError("no frame", path)
    width = len(rows[0])
    if num_channels is None:
        per = [c for c in (2, 3) if width == num_joints * c]
        if not per:
            raise DataFormatError(
                f"{width} values per line: one person is {num_joints}*2 or {num_joints}*3 values "
                "(give --channels for several persons per line)", path,
            )  # fmt: skip
        num_channels = per[0]
    if width % (num_joints * num_channels):
        raise DataFormatError(
            f"{width} values per line is not a multiple of {num_joints} joints x "
            f"{num_channels} channels", path,
        )  # fmt: skip
    m = width // (num_joints * num_channels)
    a = np.asarray(rows, dtype=np.float64).reshape(len(rows), m, num_joints, num_channels)
    return a.transpose(1, 0, 2, 3)


def _numeric(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def read_clip(
    path: str | os.PathLike, num_joints: int, num_channels: int | None = None
) -> np.ndarray:
    """One clip file (``.npy``, ``.csv``, ``.json``) -> keypoints ``(M, T, V, C)`` float32.

    ``num_channels`` (C) is checked when given (a CSV line needs it to hold several
    persons). Raises :class:`DataFormatError` naming the file (and line) on anything
    else than the documented formats, a joint count other than ``num_joints``, or
    non-finite values.
    """
    p = str(path)
    ext = Path(p).suffix.lower()
    if ext == ".npy":
        try:
            a = np.load(p, allow_pickle=False)
        except Exception as e:  # damaged header, pickled objects, short file
            msg = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise DataFormatError(f"cannot read npy: {msg}", p) from None
    elif ext == ".json":
        doc = parse_json(read_text(p, "json clip"), p)
        if isinstance(doc, dict):
            if "keypoints" not in doc:
                raise DataFormatError("expected a list or an object with 'keypoints'", p)
            doc = doc["keypoints"]
        try:
            a = np.asarray(doc, dtype=np.float64)
        except (ValueError, TypeError, OverflowError, RecursionError):
            raise DataFormatError(
                "keypoints is not a numeric (M, T, V, C) nested list", p
            ) from None
    elif ext == ".csv":
        a = _read_csv(p, num_joints, num_channels)
    else:
        raise DataFormatError(f"unknown clip format {ext!r} (valid: {', '.join(EXTENSIONS)})", p)
    return _check_array(a, num_joints, num_channels, p)


# --------------------------------------------------------------------------- finding clips


def _class_sort(names: set[str]) -> list[str]:
    if names and all(n.lstrip("-").isdigit() for n in names):
        return sorted(names, key=int)
    return sorted(names)


def _hash_split(name: str, test_fraction: float) -> str:
    h = int(hashlib.sha1(name.encode("utf-8", "surrogateescape")).hexdigest()[:8], 16)
    return "test" if h / 2**32 < test_fraction else "train"


def _clip_files(folder: Path) -> list[Path]:
    return sorted(f for f in folder.iterdir() if f.is_file() and f.suffix.lower() in EXTENSIONS)


def _scan_tree(
    raw: Path, test_fraction: float
) -> tuple[list[str], list[tuple[Path, str, str, str]]]:
    """``(classes, [(file, name, class, split)])`` of ``raw/<class>/`` or
    ``raw/{train,test}/<class>/``."""
    split_dirs = [raw / s for s in ("train", "test")]
    if all(d.is_dir() for d in split_dirs):
        roots = [(d, d.name) for d in split_dirs]
    elif any(d.is_dir() for d in split_dirs):
        raise SkelconError(f"--raw {str(raw)!r} has only one of train/ and test/ (need both, or "
                           "class folders directly)")  # fmt: skip
    else:
        roots = [(raw, None)]
    found = []
    for root, split in roots:
        for cls_dir in sorted(
            d for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")
        ):
            for f in _clip_files(cls_dir):
                name = str(f.relative_to(raw).with_suffix("")).replace(os.sep, "/")
                found.append((f, name, cls_dir.name, split or _hash_split(name, test_fraction)))
    return _class_sort({c for _, _, c, _ in found}), found


def _scan_labels(raw: Path, labels: Path, test_fraction: float):
    """The clips a labels CSV names: ``clip,label[,split]`` lines."""
    text = read_text(labels, "--labels file")
    found, seen = [], set()
    for i, (ln, line) in enumerate(text_lines(text)):
        fields = [f.strip() for f in (line.split(",") if "," in line else line.split("\t"))]
        if i == 0 and len(fields) >= 2 and fields[1].lower() in ("label", "class"):
            continue
        if len(fields) not in (2, 3) or not fields[0] or not fields[1]:
            raise SkelconError(f"{labels}:{ln}: expected clip,label[,split], got {line!r}")
        f = raw / fields[0]
        if f.suffix.lower() not in EXTENSIONS:
            raise SkelconError(
                f"{labels}:{ln}: clip {fields[0]!r} is not a {'/'.join(EXTENSIONS)} file"
            )
        name = fields[0].rsplit(".", 1)[0]
        if name in seen:
            raise SkelconError(f"{labels}:{ln}: clip {fields[0]!r} listed twice")
        seen.add(name)
        split = fields[2].lower() if len(fields) == 3 else _hash_split(name, test_fraction)
        if split == "val":
            split = "test"
        if split not in ("train", "test"):
            raise SkelconError(f"{labels}:{ln}: split {fields[2]!r} (valid: train, test)")
        found.append((f, name, fields[1], split))
    if not found:
        raise SkelconError(f"--labels {str(labels)!r} lists no clip")
    return _class_sort({c for _, _, c, _ in found}), found


@dataclass
class FolderData:
    """A scanned folder: what :func:`read_folder` found, and :meth:`load` to read a clip."""

    root: Path
    layout: JointLayout
    channels: list[str]
    classes: list[str]
    clips: list[FolderClip]
    max_frames: int = 300
    max_persons: int = 2
    norm: ClipNorm = field(default_factory=ClipNorm)

    def load(self, clip: FolderClip | int) -> Sample:
        """One clip as a prepared sample: ``x (C, max_frames, V, max_persons)`` float32
        (normalised as :attr:`norm` says), its label and valid frames; raises
        :class:`DataFormatError` for a bad file."""
        return _load(_FolderTask(self.clips[clip] if isinstance(clip, int) else clip,
                                 self.layout, tuple(self.channels), self.max_frames,
                                 self.max_persons, self.norm))  # fmt: skip


@dataclass(frozen=True)
class _FolderTask:
    clip: FolderClip
    layout: JointLayout
    channels: tuple[str, ...]
    max_frames: int
    max_persons: int
    norm: ClipNorm


def _load(task: _FolderTask) -> Sample:
    kp = read_clip(task.clip.path, task.layout.num_joints, len(task.channels))
    x, nf, info = clip_to_sample(kp, task.layout, task.channels, task.max_frames,
                                 task.max_persons, task.norm, task.clip.path)  # fmt: skip
    if not x.any():
        raise DataFormatError("all-zero clip (no skeleton data)", task.clip.path)
    return Sample(task.clip.name, x, task.clip.label, nf, info)


def _task_name(task: _FolderTask) -> str:
    return task.clip.name


def read_folder(
    raw: str | os.PathLike,
    layout: str | os.PathLike | JointLayout,
    *,
    channels: Sequence[str] | None = None,
    labels: str | os.PathLike | None = None,
    max_frames: int = 300,
    max_persons: int = 2,
    norm: ClipNorm | None = None,
    test_fraction: float = 0.2,
) -> FolderData:
    """Scan a plain folder of clips (module doc) without reading them all.

    ``layout``: a built-in name, a layout YAML path or a :class:`JointLayout`;
    ``channels``: e.g. ``["x", "y", "score"]`` (default: from the first readable clip's
    C: ``x, y`` / ``x, y, z`` / ``x, y, z, score``). Raises :class:`SkelconError` when
    the folder holds no clip or the options do not fit.
    """
    raw = Path(raw)
    if not raw.is_dir():
        raise SkelconError(f"--raw {str(raw)!r} is not a directory")
    lay = load_layout(layout)
    norm = norm or ClipNorm()
    if max_frames < 1 or max_persons < 1:
        raise SkelconError(f"--max-frames and --max-persons must be at least 1, got "
                           f"{max_frames} and {max_persons}")  # fmt: skip
    if not 0.0 <= test_fraction < 1.0:
        raise SkelconError(f"--test-fraction must be in [0, 1), got {test_fraction}")
    if labels is not None:
        classes, found = _scan_labels(raw, Path(labels), test_fraction)
    else:
        classes, found = _scan_tree(raw, test_fraction)
    if not found:
        raise SkelconError(
            f"--raw {str(raw)!r} holds no clips: expected <class>/<clip>.npy|.csv|.json "
            "(or train/ and test/ folders of those, or --labels FILE.csv)"
        )
    names: dict[str, str] = {}
    for f, n, _, _ in found:
        if n in names:
            raise SkelconError(f"two clips are both named {n!r}: {names[n]} and {f} "
                               "(one file per clip name)")  # fmt: skip
        names[n] = str(f)
    index = {c: i for i, c in enumerate(classes)}
    clips = [FolderClip(str(f), n, index[c], s) for f, n, c, s in found]
    if channels is None:
        c = None
        for clip in clips:
            try:
                c = read_clip(clip.path, lay.num_joints).shape[-1]
                break
            except DataFormatError:
                continue
        if c is None:
            raise SkelconError(f"--raw {str(raw)!r}: no clip is readable (first: "
                               f"{_first_error(clips[0], lay)})")  # fmt: skip
        chans = ["x", "y", "z", "score"] if c == 4 else default_channels(c)
    else:
        chans = check_channels(channels, None, "--channels")
    norm.check(chans, f"--raw {raw}")
    return FolderData(raw, lay, chans, classes, clips, max_frames, max_persons, norm)


def _first_error(clip: FolderClip, lay: JointLayout) -> str:
    try:
        read_clip(clip.path, lay.num_joints)
    except DataFormatError as e:
        return str(e)
    return "?"  # pragma: no cover


@prepare_cleanup()
def prepare_folder(
    raw: str | os.PathLike,
    out: str | os.PathLike,
    *,
    layout: str | os.PathLike | JointLayout,
    channels: Sequence[str] | None = None,
    labels: str | os.PathLike | None = None,
    max_frames: int = 300,
    max_persons: int = 2,
    norm: ClipNorm | None = None,
    test_fraction: float = 0.2,
    dataset: str | None = None,
    workers: int = 1,
    strict: bool = False,
    progress: bool = True,
) -> Path:
    """Prepare the plain folder ``raw`` (module doc) into ``out``; returns ``out``."""
    folder = read_folder(raw, layout, channels=channels, labels=labels, max_frames=max_frames,
                         max_persons=max_persons, norm=norm, test_fraction=test_fraction)  # fmt: skip
    if channels is None and folder.channels == ["x", "y", "z"]:
        print("folder: C=3 read as x, y, z (for 2D keypoints with a confidence pass "
              "--channels x,y,score)", file=sys.stderr)  # fmt: skip
    tasks = [
        _FolderTask(c, folder.layout, tuple(folder.channels), max_frames, max_persons, folder.norm)
        for c in folder.clips
    ]
    name = dataset or Path(raw).resolve().name
    writer = PreparedWriter(
        out, dataset=name, layout=folder.layout, classes=folder.classes, capacity=len(tasks),
        max_frames=max_frames, num_persons=max_persons, channels=len(folder.channels),
        channel_names=folder.channels,
    )  # fmt: skip
    report = run_prepare(tasks, _load, writer, workers=workers, strict=strict, desc=name,
                         name_fn=_task_name, progress=progress)  # fmt: skip
    parts: dict[str, list[int]] = {"train": [], "test": []}
    for clip in folder.clips:
        if clip.name in report.indices:
            parts[clip.split].append(report.indices[clip.name])
    parts = {s: r for s, r in parts.items() if r or s == "train"}
    resampled = [{"name": k, "frames": v["resampled_from"]}
                 for k, v in sorted(report.info.items()) if "resampled_from" in v]  # fmt: skip
    done = writer.finalize(
        {"default": parts},
        source_format="folder",
        source=str(raw),
        labels_file=str(labels) if labels is not None else None,
        normalization=folder.norm.describe(folder.channels),
        resampled=resampled,
        split_rule="split folders" if (Path(raw) / "train").is_dir() and labels is None
        else f"labels file column, else test if sha1(name) < {test_fraction} of the hash range",
    )  # fmt: skip
    print(
        f"folder: {len(writer)} clips ({len(folder.classes)} classes, channels "
        f"{','.join(folder.channels)}, layout {folder.layout.name}) written to {out} ("
        + ", ".join(f"{s} {len(r)}" for s, r in parts.items())
        + f"); skipped {len(report.skipped)}"
    )
    return done


def _run(args: argparse.Namespace) -> int:
    channels = None if args.channels is None else [s.strip() for s in args.channels.split(",")]
    prepare_folder(
        args.raw, args.out, layout=args.layout, channels=channels, labels=args.labels,
        max_frames=args.max_frames, max_persons=args.max_persons, norm=norm_from_args(args),
        test_fraction=args.test_fraction, dataset=args.dataset, workers=args.workers,
        strict=args.strict,
    )  # fmt: skip
    return 0


def add_cli(subparsers: argparse._SubParsersAction) -> None:
    """Add ``skelcon prepare folder``."""
    p = subparsers.add_parser(
        "folder",
        help="a plain folder: <class>/<clip>.npy|.csv|.json of (T, V, C) or (M, T, V, C)",
        description="Prepare a plain folder of clips: DIR/<class>/<clip>.npy|.csv|.json "
        "(or DIR/train/<class>/..., DIR/test/<class>/..., or --labels FILE.csv).",
    )
    p.add_argument("--raw", required=True, metavar="DIR", help="the folder of clips")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--layout", required=True,
                   help="joint layout: ntu25, kinect20, coco17, openpose18, openpose25 or a "
                   "layout YAML file")  # fmt: skip
    p.add_argument("--channels", default=None, metavar="x,y[,z][,score]",
                   help="what C holds (default by C: x,y / x,y,z / x,y,z,score)")  # fmt: skip
    p.add_argument("--labels", default=None, metavar="FILE.csv",
                   help="clip,label[,split] lines (clip relative to DIR) instead of class folders")  # fmt: skip
    p.add_argument("--test-fraction", type=float, default=0.2,
                   help="share of each class in the test split without split folders (default 0.2)")  # fmt: skip
    p.add_argument("--max-frames", type=int, default=300,
                   help="T_max; longer clips are uniformly subsampled (default 300)")  # fmt: skip
    p.add_argument("--max-persons", type=int, default=2,
                   help="M; more persons: the most confident (or moving) kept (default 2)")  # fmt: skip
    p.add_argument("--dataset", default=None, metavar="NAME", help="dataset name kept in meta.json")
    p.add_argument("--workers", type=int, default=1, help="parser processes (default 1)")
    p.add_argument("--strict", action="store_true", help="stop at the first bad clip (exit 2)")
    add_norm_args(p, default_on=False)
    p.set_defaults(func=_run)
