"""NTU RGB+D 60 / 120: ``.skeleton`` parser and ``skelcon prepare ntu60|ntu120``.

Reads the official archives in place (``zipfile``, members
``nturgb+d_skeletons/*.skeleton``) or extracted folders, and writes the standard
preparation (the one behind the published numbers): missing-skeleton list applied, up to 4 bodies read per frame,
the 2 most energetic kept, empty frames padded, centred and rotated
(:mod:`skelcon.data.normalize`), benchmarks ``xsub``/``xview`` (NTU-60) or
``xsub``/``xsetup`` (NTU-120) with splits ``train``/``test``.

Choices (documented in meta.json too):

* ``num_frames`` is the frame count declared in the file, empty frames included,
  exactly as the reference preparation (its golden output agrees), capped at
  ``--max-frames``.
* A sequence longer than ``--max-frames`` (the reference crashes on it) is cut to its
  first ``max_frames`` frames after the bodies were chosen on the whole sequence; its
  name and original length are listed in meta ``"truncated"``.
* A file whose frames hold no body at all is skipped as bad input.
"""

from __future__ import annotations

import os
import re
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from ..errors import DataFormatError, SkelconError, choices_message
from ..utils.text import read_text, strip_bom
from .layouts import NTU25
from .normalize import fit_length, normalize, require_finite, select_bodies
from .normalize2d import normalize_2d
from .pipeline import Sample, run_prepare
from .prepared import PreparedWriter, prepare_cleanup

NUM_JOINTS = 25
MAX_BODIES = 4
JOINT_FIELDS = 12
BODY_FIELDS = 10
XYZ_FIELDS = (0, 1, 2)  # of a joint line: x y z depthX depthY colorX colorY orientation(4) state
COLOR_FIELDS = (5, 6)  # colorX, colorY: pixels of the 1920x1080 colour image
COORDS = ("xyz", "color2d")
NAME_RE = re.compile(r"S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})")

NTU60_XSUB_TRAIN = frozenset(
    [1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38]
)
NTU120_XSUB_TRAIN = NTU60_XSUB_TRAIN | frozenset(
    int(v)
    for v in "45 46 47 49 50 52 53 54 55 56 57 58 59 70 74 78 80 81 82 83 84 85 86 89 91 92 93 94 95 97 98 100 103".split()
)
NTU60_XVIEW_TRAIN_CAMERAS = frozenset([2, 3])

DATASETS = {
    # name: (num classes, max setup, benchmarks, missing-list resource)
    "ntu60": (60, 17, ("xsub", "xview"), "ntu60_missing_skeletons.txt"),
    "ntu120": (120, 32, ("xsub", "xsetup"), "ntu120_missing_skeletons.txt"),
}


# --------------------------------------------------------------------------- names


@dataclass(frozen=True)
class NtuName:
    """The fields of a sample name ``SsssCcccPpppRrrrAaaa`` (all 1-based)."""

    setup: int
    camera: int
    performer: int
    replication: int
    action: int

    @classmethod
    def parse(cls, name: str) -> NtuName:
        m = NAME_RE.fullmatch(name)
        if m is None:
            raise DataFormatError(f"sample name {name!r} is not of the form SsssCcccPpppRrrrAaaa")
        return cls(*(int(g) for g in m.groups()))


def split_of(name: str, benchmark: str) -> str:
    """``"train"`` or ``"test"`` of sample ``name`` under ``benchmark``
    (``xsub`` NTU-60, ``xsub120`` NTU-120 subjects, ``xview``, ``xsetup``)."""
    n = NtuName.parse(name)
    if benchmark == "xsub":
        train = n.performer in NTU60_XSUB_TRAIN
    elif benchmark == "xsub120":
        train = n.performer in NTU120_XSUB_TRAIN
    elif benchmark == "xview":
        train = n.camera in NTU60_XVIEW_TRAIN_CAMERAS
    elif benchmark == "xsetup":
        train = n.setup % 2 == 0
    else:
        raise ValueError(f"unknown NTU benchmark {benchmark!r}")
    return "train" if train else "test"


def class_names(num_classes: int = 120) -> list[str]:
    """The NTU action names (A001 ``drink water`` ...), first ``num_classes``."""
    text = resources.files("skelcon").joinpath("resources/ntu120_classes.txt").read_text("utf-8")
    names = [s.strip() for s in text.splitlines() if s.strip()]
    return names[:num_classes]


def load_missing(path: str | os.PathLike | None = None, dataset: str = "ntu60") -> set[str]:
    """Sample names of a missing-skeleton list (the official one of ``dataset`` when
    ``path`` is None). Lines that are not sample names are ignored."""
    if path is None:
        res = resources.files("skelcon").joinpath("resources", DATASETS[dataset][3])
        text = res.read_text("utf-8")
    else:
        text = read_text(path, "--missing file")
    found = (NAME_RE.search(line) for line in text.splitlines())
    return {m.group(0) for m in found if m}


# --------------------------------------------------------------------------- parser

_WS_BYTES = b"\t\n\x0b\x0c\r "  # the bytes bytes.split() splits on
_WS_TABLE = bytes(1 if i in _WS_BYTES else 0 for i in range(256))  # byte -> is whitespace
_POW10 = np.array([float(10**k) for k in range(23)])  # exact in float64
_MAX_FAST_DIGITS = 15  # integers below 2**53 are exact in float64
_MAX_WIDTH = 17
_MAX_COUNT_DIGITS = 9  # a frame, body or joint count has at most 9 digits
# bytes a number can be made of (digits, sign, point, exponent, nan/inf spellings)
_NUMERIC = b"0123456789+-.eEnNaAiIfFtTyY"


def _fast_decimals(
    buf: np.ndarray, starts: np.ndarray, lens: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised parsing of plain decimals ``-?digits[.digits]`` (at most 15 digits).

    Tokens are ``buf[starts[i] : starts[i] + lens[i]]``. The integer mantissa is
    exact in float64 and one division by an exact power of ten gives the correctly
    rounded value (Clinger's fast path), i.e. exactly what ``float()`` returns.
    Returns ``(values, ok)``; tokens with ``ok`` False (exponents, '+', NaN,
    garbage, too many digits) must be parsed another way.
    """
    w = int(min(max(int(lens.max(initial=1)), 1), _MAX_WIDTH))
    cols = np.arange(w, dtype=np.int32)[:, None]  # character position; (W, K) layout
    ch = buf[np.minimum(starts[None, :] + cols, len(buf) - 1)]  # (W, K)
    neg = ch[0] == 45  # '-'
    region = (cols >= neg) & (cols < lens)
    d = ch - np.uint8(48)  # wraps for non-digits
    dig = (d < 10) & region
    dot = (ch == 46) & region
    ndig = dig.sum(axis=0, dtype=np.int32)
    ok = (lens <= w) & (ndig >= 1) & (ndig <= _MAX_FAST_DIGITS)
    ok &= ((dig | dot) == region).all(axis=0) & (dot.sum(axis=0) <= 1)
    # integer mantissa (exact below 2**53) and the number of digits after the point
    m = np.zeros(len(starts), dtype=np.float64)
    frac = np.zeros(len(starts), dtype=np.int32)
    seen_dot = np.zeros(len(starts), dtype=bool)
    for c in range(w):  # over character columns, each a vector op over all tokens
        dc = dig[c]
        m = np.where(dc, m * 10.0 + d[c], m)
        frac += dc & seen_dot
        seen_dot |= dot[c]
    val = m / _POW10[np.minimum(frac, 22)]
    return np.where(neg, -val, val), ok


def _token_error(data: bytes, tok: int, starts, lens, tok_line, path: str, what: str):
    shown = data[starts[tok] : starts[tok] + lens[tok]].decode("utf-8", "replace")
    return DataFormatError(f"{what} {shown!r}", path, int(tok_line[tok]))


def _parse_numbers(
    data: bytes, sel: np.ndarray, starts: np.ndarray, lens: np.ndarray, tok_line, path: str
) -> np.ndarray:
    """float64 values of the tokens ``sel``; :class:`DataFormatError` at a non-number."""
    buf = np.frombuffer(data, dtype=np.uint8)
    values, ok = _fast_decimals(buf, starts[sel], lens[sel])
    slow = np.flatnonzero(~ok)
    if len(slow):
        toks = [
            data[s : s + n]
            for s, n in zip(starts[sel[slow]].tolist(), lens[sel[slow]].tolist(), strict=True)
        ]
        try:
            values[slow] = np.array(toks, dtype=np.float64)
        except ValueError:
            for i, t in zip(
                sel[slow].tolist(), toks, strict=True
            ):  # error path only: find the culprit
                try:
                    np.array([t], dtype=np.float64)
                except ValueError:
                    raise _token_error(
                        data, i, starts, lens, tok_line, path, "non-numeric value"
                    ) from None
            raise  # pragma: no cover
    return values


def parse_skeleton(
    data: bytes, path: str = "<skeleton>", fields: Sequence[int] = XYZ_FIELDS
) -> tuple[np.ndarray, int]:
    """Parse the text of one ``.skeleton`` file.

    Returns ``(bodies, num_frames)``: ``bodies (F, T, 25, 4)`` float64, the joint
    ``fields`` (default x, y, z; :data:`COLOR_FIELDS` are the colour-image pixel
    coordinates colorX, colorY) of the first 4 bodies listed in each frame (zeros
    where a frame lists fewer), ``T`` = declared frame count. Raises
    :class:`DataFormatError` with the 1-based line for a truncated file, a
    non-numeric value, a non-finite x, y or z, zero frames, a bad count or a body
    whose joint count is not 25. (The official files hold NaN in the colour/depth
    fields of some joints: there a requested colour/depth field reads 0, a missing
    joint.)

    How: the token boundaries and line of every token come from vectorised byte
    scans; a loop over frames and bodies (not joints) checks the line structure
    (token count per line) and collects where each body's joint rows start; x, y, z
    of all bodies are then converted at once (:func:`_fast_decimals`). Counts are
    read as integers; the unused fields are only checked to consist of characters
    numbers are made of.
    """
    data = strip_bom(data)
    if b"\r" in data and b"\n" not in data:  # old Mac line ends: lines are counted by \n
        data = data.replace(b"\r", b"\n")
    buf = np.frombuffer(data, dtype=np.uint8)
    ws = np.frombuffer(data.translate(_WS_TABLE), dtype=bool)
    nonws = ~ws
    is_start = nonws.copy()
    is_start[1:] &= ws[:-1]
    is_end = nonws.copy()
    is_end[:-1] &= ws[1:]
    starts = np.flatnonzero(is_start)
    if len(starts) == 0:
        raise DataFormatError("empty file", path, 1)
    lens = np.flatnonzero(is_end) + 1 - starts
    newlines = np.flatnonzero(buf == 10)
    tok_line = np.searchsorted(newlines, starts) + 1  # 1-based line of every token
    last_line = len(newlines) + 1  # where the missing content of a short file belongs
    if data.translate(None, _NUMERIC + _WS_BYTES):  # a byte no number is made of
        foreign = np.flatnonzero(nonws & ~np.isin(buf, np.frombuffer(_NUMERIC, np.uint8)))
        tok = int(np.searchsorted(starts, foreign[0], side="right")) - 1
        raise _token_error(data, tok, starts, lens, tok_line, path, "non-numeric value")

    # one entry per non-empty line: its 1-based number, first token, token count
    first_tok = np.flatnonzero(np.diff(tok_line, prepend=0))
    line_no = tok_line[first_tok].tolist()
    line_start = first_tok.tolist()
    line_len = np.diff(first_tok, append=len(starts))
    bad_row = np.concatenate([[0], np.cumsum(line_len != JOINT_FIELDS)]).tolist()
    line_len = line_len.tolist()
    n_lines = len(line_no)

    def count(li: int, what: str) -> int:
        if li >= n_lines:
            raise DataFormatError(f"file ends early: expected {what}", path, last_line)
        if line_len[li] != 1:
            raise DataFormatError(
                f"expected one value ({what}), found {line_len[li]}", path, line_no[li]
            )
        tok = line_start[li]
        text = data[starts[tok] : starts[tok] + lens[tok]]
        if not text.isdigit():
            raise _token_error(data, tok, starts, lens, tok_line, path, f"{what} is not a count:")
        if len(text) > _MAX_COUNT_DIGITS:  # int() of 5000 digits raises; no file is that long
            raise DataFormatError(f"{what} {text[:20].decode()}... is too large", path, line_no[li])
        return int(text)

    num_frames = count(0, "frame count")
    if num_frames == 0:
        raise DataFormatError("zero frames", path, line_no[0])
    body_frame: list[int] = []
    body_slot: list[int] = []
    body_line: list[int] = []  # line index of the body's first joint row
    li = 1
    per_body = 2 + NUM_JOINTS
    for t in range(num_frames):
        nb = count(li, f"body count of frame {t + 1}/{num_frames}")
        li += 1
        for b in range(nb):
            what = f"frame {t + 1}/{num_frames}, body {b + 1}/{nb}"
            if li >= n_lines:
                raise DataFormatError(f"file ends early in {what}", path, last_line)
            if line_len[li] != BODY_FIELDS:
                raise DataFormatError(
                    f"{what}: expected {BODY_FIELDS} body fields, found {line_len[li]}",
                    path,
                    line_no[li],
                )
            nj = count(li + 1, f"joint count of {what}")
            if nj != NUM_JOINTS:
                raise DataFormatError(
                    f"{what}: {nj} joints, expected {NUM_JOINTS}", path, line_no[li + 1]
                )
            end = li + per_body
            if end > n_lines or bad_row[end] != bad_row[li + 2]:
                k = li + 2
                while k < min(end, n_lines) and line_len[k] == JOINT_FIELDS:
                    k += 1
                if k >= n_lines:
                    raise DataFormatError(f"file ends early in {what}", path, last_line)
                if k == n_lines - 1:  # the last line is incomplete: a cut-off file
                    raise DataFormatError(
                        f"file ends early in {what}: last line holds {line_len[k]} of "
                        f"{JOINT_FIELDS} joint fields",
                        path,
                        line_no[k],
                    )
                raise DataFormatError(
                    f"{what}: expected {JOINT_FIELDS} joint fields, found {line_len[k]}",
                    path,
                    line_no[k],
                )
            if b < MAX_BODIES:
                body_frame.append(t)
                body_slot.append(b)
                body_line.append(li + 2)
            li = end
    if li < n_lines:
        raise DataFormatError(
            f"unexpected data after the {num_frames} declared frames", path, line_no[li]
        )

    bodies = np.zeros((len(fields), num_frames, NUM_JOINTS, MAX_BODIES), dtype=np.float64)
    if body_line:
        first = np.asarray(line_start)[np.asarray(body_line)]  # (B,) first joint token
        cols = np.asarray(fields)
        idx = first[:, None, None] + (np.arange(NUM_JOINTS) * JOINT_FIELDS)[:, None] + cols
        xyz = _parse_numbers(data, idx.ravel(), starts, lens, tok_line, path)
        xyz = xyz.reshape(idx.shape)  # (B, V, F)
        bad = ~np.isfinite(xyz)
        must = bad & (cols < 3)  # x, y, z must be finite; other fields: NaN = missing
        if must.any():
            tok = int(idx[must][0])
            raise _token_error(data, tok, starts, lens, tok_line, path, "non-finite coordinate")
        xyz[bad] = 0.0
        # advanced indices around a slice: the indexed view is (B, F, V)
        bodies[:, body_frame, :, body_slot] = xyz.transpose(0, 2, 1)
    return bodies, num_frames


# --------------------------------------------------------------------------- samples


@dataclass(frozen=True)
class NtuTask:
    """Where one sample lives: a file, or ``member`` of the zip archive ``source``."""

    name: str
    source: str
    member: str | None
    max_frames: int
    coords: str = "xyz"

    @property
    def where(self) -> str:
        return self.source if self.member is None else f"{self.source}/{self.member}"


_ZIPS: dict[str, zipfile.ZipFile] = {}


def _read(task: NtuTask) -> bytes:
    try:
        if task.member is None:
            return Path(task.source).read_bytes()
        zf = _ZIPS.get(task.source)
        if zf is None:
            zf = _ZIPS[task.source] = zipfile.ZipFile(task.source)
        return zf.read(task.member)
    except (OSError, zipfile.BadZipFile, zlib.error, KeyError) as e:
        raise DataFormatError(f"cannot read: {e}", task.where) from None


def _close_zips() -> None:
    while _ZIPS:
        _ZIPS.popitem()[1].close()


def prepare_sample(task: NtuTask) -> Sample:
    """Read, select bodies, normalise: one :class:`~skelcon.data.pipeline.Sample`.

    ``task.coords == "color2d"``: the bodies are chosen by their 3D motion as always,
    then their colour-image pixel coordinates are kept and normalised as 2D joints
    (:func:`~skelcon.data.normalize2d.normalize_2d`: centred on spine_mid, scaled by
    the spine length), ``(2, T_max, 25, 2)``."""
    color = task.coords == "color2d"
    fields = XYZ_FIELDS + COLOR_FIELDS if color else XYZ_FIELDS
    bodies, declared = parse_skeleton(_read(task), task.where, fields)
    if not bodies[:3].any():
        raise DataFormatError(f"no body in any of the {declared} frames", task.where)
    x = select_bodies(bodies, 2, energy_channels=3).astype(np.float32)  # (F, T, 25, 2)
    info = {}
    if declared > task.max_frames:
        info["truncated_from"] = declared
    if color:
        x = fit_length(x[3:], task.max_frames)
        x = require_finite(normalize_2d(x, NTU25, ("x", "y")), task.where)
    else:
        x = require_finite(normalize(x, task.max_frames, NTU25), task.where)
    label = NtuName.parse(task.name).action - 1
    return Sample(task.name, x, label, min(declared, task.max_frames), info)


def _task_name(task: NtuTask) -> str:
    return task.name


def find_samples(
    raw: Sequence[str | os.PathLike], max_frames: int = 300, coords: str = "xyz"
) -> list[NtuTask]:
    """All ``*.skeleton`` samples in the zip archives / folders ``raw``, sorted by
    name; a name found twice is an error."""
    tasks: dict[str, NtuTask] = {}
    for p in raw:
        p = Path(p)
        if p.is_dir():
            found = [(f.stem, str(f), None) for f in sorted(p.rglob("*.skeleton"))]
        elif p.is_file() and zipfile.is_zipfile(p):
            try:
                with zipfile.ZipFile(p) as zf:
                    members = [m for m in zf.namelist() if m.endswith(".skeleton")]
            except (OSError, zipfile.BadZipFile) as e:
                raise SkelconError(f"cannot read zip archive {str(p)!r}: {e}") from None
            found = [(Path(m).stem, str(p), m) for m in sorted(members)]
        elif p.exists():
            raise SkelconError(f"raw {str(p)!r} is neither a zip archive nor a folder", param="raw")
        else:
            raise SkelconError(f"raw {str(p)!r} does not exist", param="raw")
        if not found:
            raise SkelconError(f"raw {str(p)!r} holds no *.skeleton files", param="raw")
        for name, src, member in found:
            if name in tasks:
                raise SkelconError(f"sample {name} found twice (in {tasks[name].source} and {src})")
            tasks[name] = NtuTask(name, src, member, max_frames, coords)
    return [tasks[k] for k in sorted(tasks)]


@prepare_cleanup()
def prepare_ntu(
    dataset: str,
    raw: Sequence[str | os.PathLike],
    out: str | os.PathLike,
    *,
    workers: int = 1,
    strict: bool = False,
    missing: str | os.PathLike | None = None,
    max_frames: int = 300,
    progress: bool = True,
    coords: str = "xyz",
) -> Path:
    """Prepare NTU-60 (``dataset="ntu60"``) or NTU-120 into ``out``; returns ``out``.

    ``coords="color2d"`` keeps each joint's colour-image pixel coordinates instead of
    its 3D position: a real 2D dataset (C = 2, channels x, y), named
    ``<dataset>-color2d``."""
    num_classes, max_setup, benches, _ = DATASETS[dataset]
    if coords not in COORDS:
        raise SkelconError(choices_message("coords", coords, COORDS), param="coords")
    if max_frames < 1:
        raise SkelconError(f"max_frames must be at least 1, got {max_frames}", param="max_frames")
    if workers < 1:
        raise SkelconError(f"workers must be at least 1, got {workers}", param="workers")
    missing_names = load_missing(missing, dataset)
    tasks, outside = [], 0
    for t in find_samples(raw, max_frames, coords):
        n = NtuName.parse(t.name) if NAME_RE.fullmatch(t.name) else None
        if n is None or n.setup > max_setup or not 1 <= n.action <= num_classes:
            outside += 1
        else:
            tasks.append(t)
    if not tasks:
        raise SkelconError(f"no {dataset} samples in {', '.join(map(str, raw))}")
    listed = [t for t in tasks if t.name in missing_names]
    tasks = [t for t in tasks if t.name not in missing_names]
    color = coords == "color2d"
    writer = PreparedWriter(
        out,
        dataset=f"{dataset}-color2d" if color else dataset,
        layout=NTU25.name,
        classes=class_names(num_classes),
        capacity=len(tasks),
        max_frames=max_frames,
        num_persons=2,
        channels=2 if color else 3,
    )
    for t in listed:
        writer.skip(t.name, "in the missing-skeleton list")
    try:
        report = run_prepare(
            tasks,
            prepare_sample,
            writer,
            workers=workers,
            strict=strict,
            desc=dataset,
            name_fn=_task_name,
            progress=progress,
        )
    finally:
        _close_zips()
    names = sorted(report.indices)
    splits: dict[str, dict[str, list[int]]] = {}
    for bench in benches:
        rule = "xsub120" if (bench == "xsub" and dataset == "ntu120") else bench
        parts: dict[str, list[int]] = {"train": [], "test": []}
        for name in names:
            parts[split_of(name, rule)].append(report.indices[name])
        splits[bench] = parts
    truncated = [
        {"name": k, "frames": v["truncated_from"]}
        for k, v in sorted(report.info.items())
        if "truncated_from" in v
    ]
    print(
        f"{dataset}: {len(report.indices)} samples written to {out}; skipped "
        f"{len(listed)} listed as missing, {len(report.skipped)} bad"
        + (f"; ignored {outside} files outside {dataset}" if outside else "")
        + (f"; truncated {len(truncated)} longer than {max_frames} frames" if truncated else "")
    )
    return writer.finalize(
        splits,
        truncated=truncated,
        missing_list=str(missing) if missing is not None else f"official {dataset} list",
        ignored_outside_dataset=outside,
        num_frames_note="declared frame count of the file, empty frames included, capped at max_frames",
        name_format="SsssCcccPpppRrrrAaaa: setup, camera, performer, replication, action (1-based)",
        **(
            {
                "coords": "color2d: colorX, colorY pixels of the 1920x1080 colour image",
                "normalization": "2D: centred on spine_mid (person 1) per frame, divided by "
                "the median spine_base-spine_mid length",
            }
            if color
            else {}
        ),
    )
