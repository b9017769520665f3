"""A plain folder of clips: ``skelcon prepare folder`` and :func:`read_folder`.

For everyone whose skeletons come from their own pipeline. Layout of ``DIR``::

    DIR/<class>/<clip>.npy        keypoints (T, V, C) or (M, T, V, C)
    DIR/<class>/<clip>.csv        one line per frame: x0,y0[,z0|,s0],x1,... (V*C values
                                  per person; M persons one after the other); an
                                  optional header line (names, or pandas' column
                                  numbers 0,1,...) and row-index first column (pandas'
                                  ``index=True``), both skipped and reported
    DIR/<class>/<clip>.json       the same nested list, or {"keypoints": [...]}, or
                                  OpenPose frames [{"people": [...]}, ...]
    DIR/<class>/[<video>/]<video>_<frame>_keypoints.json
                                  OpenPose --write_json output: one clip per video
                                  (:mod:`skelcon.data.openpose`), x, y, score

Clips in sub-folders of a class folder are that class's. Every file under ``DIR`` is
read, skipped with its reason, or listed as not read (``FolderData.unused``, in
meta.json ``unused_files``): dot-files (``.DS_Store``, macOS ``._*``), other file types,
files outside a class folder, and a second path to a file already read (symlinked
files and class folders, hard links: the path without a symlink is read; loops are cut).

or split folders ``DIR/train/<class>/...`` and ``DIR/test/<class>/...``, or any files
named in a labels CSV (``--labels``: lines ``clip,label[,split]``, ``clip`` the path
relative to ``DIR``, ``label`` the class name, ``split`` train or test). Without split
folders or a split column, ``test_fraction`` of each class is the test split
(:func:`stratified_split`: chosen by a hash of the clip names, at least one clip of every
class with two or more, so each such class is in both splits).

``V`` must be the layout's joint count (``--layout``: a built-in name or a layout YAML).
``C`` is 2 (``x, y``), 3 (``x, y, z`` unless ``--channels x,y,score``) or 4
(``x, y, z, score``); every clip must have the same. An array whose axes fit only in
another order (``(V, T, C)``, ST-GCN's ``(C, T, V, M)``, ``(T, M, V, C)``) is transposed
and reported (meta.json ``axes_assumed``); one that fits several orders is refused. A
short ``(M, T, V, C)`` array with more persons than frames is read as saved and reported
as possibly ``(T, M, V, C)`` (``could_be`` in ``axes_assumed``).
A joint the estimator did not detect (NaN or JSON ``null``, an empty CSV cell, ``0, 0``,
``-1, -1``, a score <= 0) is read as missing (every channel 0,
:func:`~skelcon.data.clips.mark_missing`) and counted (meta.json ``missing_joints``).
CSV clips may separate values by ``,``, ``;``, tabs or spaces; with ``;``/tabs/spaces a
``,`` inside a value is a decimal comma (a ``,``-separated file with decimal commas is
refused, never read as other numbers: whole numbers only, one with a leading zero like
``1,05`` or pairs that would fit the layout too). A labels CSV is read with :mod:`csv` (quotes,
``;`` or tab separators, BOM, CRLF); a clip path leading outside ``DIR`` is refused. Clips longer than ``max_frames``
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

import csv
import hashlib
import itertools
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataFormatError, SkelconError
from ..utils.io import npy_error
from ..utils.text import read_text, text_lines
from . import files as _files
from .channels import check_channels, coord_count, resolve_channels
from .clips import (
    MISSING_ENCODINGS,
    ClipNorm,
    clip_to_sample,
    mark_missing,
    missing_summary,
)
from .files import rel_path
from .files import walk_tree as _walk_tree
from .kinetics import parse_json
from .layouts import JointLayout, get_layout, load_layout
from .openpose import FRAME_FILE, MAX_VALUE, is_people_doc, read_openpose_frames, read_people_frames
from .pipeline import PrepareReport, Sample, run_prepare
from .prepared import PreparedWriter, prepare_cleanup

__all__ = [
    "FolderClip",
    "FolderData",
    "prepare_folder",
    "read_clip",
    "read_clip_info",
    "read_folder",
]

EXTENSIONS = (".npy", ".csv", ".json")
NA_TOKENS = frozenset(["", "nan", "-nan", "na", "n/a", "null", "none"])  # a missing value


@dataclass(frozen=True)
class FolderClip:
    """One clip of a folder: its file, name (path relative to the root, no
    extension), 0-based label and split (``train``/``test``); ``frames``: for an
    OpenPose ``--write_json`` video, its per-frame files in frame order (``path`` is
    then the first of them)."""

    path: str
    name: str
    label: int
    split: str
    frames: tuple[str, ...] = ()


# --------------------------------------------------------------------------- clip arrays


def _fits(sizes: dict[str, int], num_joints: int, chans: tuple[int, ...]) -> bool:
    if sizes["V"] != num_joints or sizes["C"] not in chans or sizes["T"] < 1:
        return False
    return "M" not in sizes or 1 <= sizes["M"] <= max(8, sizes["T"])  # persons << frames


def _axis_order(
    shape: tuple[int, ...], num_joints: int, num_channels: int | None
) -> tuple[tuple[int, ...], str] | None:
    """The permutation that turns an array of ``shape`` into ``(M, T, V, C)`` /
    ``(T, V, C)`` order and the order it assumed (``"(V, T, C)"``); the identity when
    the shape fits as it is; None when no order fits. Raises
    :class:`DataFormatError` (without a path) when several fit."""
    roles = "MTVC" if len(shape) == 4 else "TVC"
    chans = (num_channels,) if num_channels is not None else (2, 3, 4)
    ident = tuple(range(len(shape)))
    if _fits({r: shape[i] for r, i in zip(roles, ident, strict=False)}, num_joints, chans):
        return ident, ""
    found = [
        p
        for p in itertools.permutations(ident)
        if _fits({r: shape[i] for r, i in zip(roles, p, strict=False)}, num_joints, chans)
    ]
    c_last = [p for p in found if p[-1] == len(shape) - 1]  # channels last: the usual
    found = c_last if len(c_last) == 1 else found
    if len(found) > 1:
        orders = " or ".join(_names(roles, p) for p in found[:3])
        raise DataFormatError(
            f"keypoints of shape {list(shape)} fit several axis orders ({orders}); "
            f"save ({', '.join(roles)}) or give --channels"
        )
    if not found:
        return None
    p = found[0]
    return p, _names(roles, p)


def _names(roles: str, p: tuple[int, ...]) -> str:
    """The file's axis order under permutation ``p``: ``"(V, T, C)"``."""
    return "(" + ", ".join(roles[p.index(i)] for i in range(len(p))) + ")"


def _where(a: np.ndarray, bad: np.ndarray) -> str:
    m, t, v, c = (int(i) for i in np.argwhere(bad)[0])
    return f"person {m} frame {t} joint {v} channel {c} (0-based)"


def _check_array(
    a: np.ndarray, num_joints: int, num_channels: int | None, path: str
) -> tuple[np.ndarray, dict]:
    """``a`` -> ``((M, T, V, C) float32, info)``; ``info["axes"]`` names the order
    assumed for an array whose axes did not fit as ``(T, V, C)``/``(M, T, V, C)``
    (it is transposed). NaN (a joint not detected) is kept for :func:`mark_missing`."""
    if a.dtype == object or not (np.issubdtype(a.dtype, np.number) and not np.iscomplexobj(a)):
        raise DataFormatError(f"keypoints must be real numbers, got {a.dtype}", path)
    if a.ndim not in (3, 4):
        raise DataFormatError(
            f"keypoints of shape {list(a.shape)}: expected (T, V, C) or (M, T, V, C)", path
        )
    if 0 in a.shape:
        raise DataFormatError(f"keypoints of shape {list(a.shape)} hold no frame", path)
    info: dict = {}
    try:
        order = _axis_order(a.shape, num_joints, num_channels)
    except DataFormatError as e:
        raise DataFormatError(e.reason, path) from None
    if order is None:
        b = a if a.ndim == 4 else a[None]
        m, t, v, c = b.shape
        if v != num_joints:
            raise DataFormatError(
                f"{v} joints, the layout has {num_joints} (shape {list(a.shape)})", path
            )
        if num_channels is not None and c != num_channels:
            raise DataFormatError(f"{c} channels per joint, expected {num_channels}", path)
        if c not in (2, 3, 4):
            raise DataFormatError(f"{c} channels per joint, expected 2, 3 or 4", path)
        raise DataFormatError(
            f"keypoints of shape {list(a.shape)}: {m} persons but {t} frames, and no other axis "
            "order fits unambiguously; save (M, T, V, C) with M the persons",
            path,
        )
    perm, assumed = order
    if assumed:
        info["axes"] = {"shape": list(a.shape), "read_as": assumed}
        a = a.transpose(perm)
    elif (
        a.ndim == 4
        and a.shape[0] > a.shape[1]
        and _fits(
            {"M": a.shape[1], "T": a.shape[0], "V": a.shape[2], "C": a.shape[3]},
            num_joints,
            (num_channels,) if num_channels is not None else (2, 3, 4),
        )
    ):
        # more persons than frames as saved: a short (T, M, V, C) array fits too; read
        # in the documented order, reported as possibly transposed
        info["axes"] = {
            "shape": list(a.shape),
            "read_as": "(M, T, V, C)",
            "could_be": "(T, M, V, C)",
        }
    if a.ndim == 3:
        a = a[None]
    return _check_values(a, path), info


def _check_values(a: np.ndarray, path: str) -> np.ndarray:
    """``a (M, T, V, C)`` as float32; an infinite or out-of-range value refused with
    its place (NaN is left for :func:`mark_missing`)."""
    with np.errstate(over="ignore"):
        a = a.astype(np.float32)
    inf = np.isinf(a)
    if inf.any():
        raise DataFormatError(
            f"infinite value at {_where(a, inf)} (write NaN or 0 for a joint not detected)", path
        )
    big = np.abs(np.nan_to_num(a)) > MAX_VALUE
    if big.any():
        raise DataFormatError(f"value out of range (|v| > {MAX_VALUE:g}) at {_where(a, big)}", path)
    return a


def _delimiter(text: str) -> str | None:
    """The field separator of a numeric CSV clip: ``;`` or tab when present (then a
    ``,`` inside a field is a decimal comma), else ``,`` unless values are separated by
    spaces (``1,5 2,25``: decimal commas); None: whitespace."""
    head = text[:4096]
    for d in (";", "\t"):
        if d in head:
            return d
    if "," in head:
        lines = head.strip().split("\n")
        last = lines[-2 if len(lines) > 1 else -1]  # a whole line, not the header
        # "1,5 2,25": spaces between values, decimal commas
        return None if any(len(f.split()) > 1 for f in last.split(",")) else ","
    return None


def _floats(rows: list[list[str]], lines: list[int], decimal_comma: bool, path: str) -> np.ndarray:
    """Fields -> ``(rows, width)`` float64; NaN for an empty/NA field (a missing value);
    one line naming the first field that is not a number."""
    a = np.array(rows, dtype=object)
    s = np.char.strip(a.astype(str))
    if decimal_comma:
        s = np.char.replace(s, ",", ".")
    na = np.isin(np.char.lower(s), list(NA_TOKENS))
    s = np.where(na, "nan", s)
    try:
        return s.astype(np.float64)
    except ValueError:
        pass
    for (i, j), tok in np.ndenumerate(s):
        try:
            float(tok)
        except ValueError:
            hint = " (a decimal comma needs ';' or tab between values)" if "," in str(tok) else ""
            raise DataFormatError(
                f"value {rows[i][j]!r} is not a number{hint}", path, lines[i]
            ) from None
    raise DataFormatError("not a numeric table", path)  # pragma: no cover


def _widths(num_joints: int, num_channels: int | None):
    """Whether a line of ``w`` values holds whole persons of ``num_channels`` (None:
    one person of 2 or 3 channels)."""
    if num_channels is None:
        return lambda w: w in (2 * num_joints, 3 * num_joints)
    return lambda w: w > 0 and w % (num_joints * num_channels) == 0


def _header_kind(fields: list[str], decimal_comma: bool) -> str:
    """What a CSV clip's first line is when it is a header, else "": ``names`` (no
    value is a number), ``column numbers`` (exactly ``0, 1, ..., n-1``: what
    ``pandas.DataFrame(a).to_csv()`` writes); either may start with an empty cell
    (pandas' ``index=True``: then the first column is a row index)."""
    cells = [f.strip() for f in fields]
    body = cells[1:] if cells and not cells[0] else cells
    if not any(_numeric(f, decimal_comma) for f in cells):
        return "names"
    if len(body) > 1 and body == [str(i) for i in range(len(body))]:
        return "column numbers"
    return ""


def _split_decimals(s: np.ndarray, fits, path: str) -> None:
    """Refuse a ``,``-separated table ``s (rows, width)`` of unquoted whole numbers that
    may be numbers with decimal commas cut in two (``309,29`` = 309.29): when a field
    has a leading zero (``1,05``: a fraction, never an integer as written), or when the
    line pairs up (no sign where a fraction would be) into ``width / 2`` values that
    fit the layout too."""
    na = np.isin(np.char.lower(s), list(NA_TOKENS))
    digits = np.char.lstrip(s, "+-")
    if na.all() or not (np.char.isdigit(digits) | na).all():
        return  # a '.', an exponent: not whole numbers
    width = s.shape[1]
    lead0 = np.argwhere(np.char.startswith(digits, "0") & (np.char.str_len(digits) > 1))
    pairs = not width % 2 and (np.char.isdigit(s[:, 1::2]) | na[:, 1::2]).all()
    if len(lead0):
        i, j = lead0[0]
        why = f"{str(s[i, j])!r} has a leading zero, as a fraction has"
    elif pairs and fits(width // 2):
        why = f"{width // 2} values per line would fit too"
    else:
        return
    sample = f"{s[0, 0]},{s[0, 1]}" if width > 1 else s[0, 0]
    raise DataFormatError(
        f"{width} whole numbers per line separated by ',' may be numbers with decimal commas "
        f"cut in two ({sample} = {sample.replace(',', '.')}?; {why}): write the file with ';' "
        "or tabs between values or '.' as the decimal mark",
        path,
    )


def _read_csv(path: str, num_joints: int, num_channels: int | None) -> tuple[np.ndarray, dict]:
    """A CSV clip -> ``(values (M, T, V, C) float64, info)``: one line per frame, an
    optional header line (``info["csv_header"]``: names, or pandas' column numbers
    ``0,1,...``), an optional row-index first column (pandas' ``index=True``: an empty
    first header cell, or a first column ``0, 1, ..., T-1`` that makes the line one
    value too long; dropped, ``info["csv_index_column"]``). Raises
    :class:`DataFormatError` naming the file and line for anything else, and for
    ``,``-separated whole numbers that may be decimal commas (:func:`_split_decimals`)."""
    text = read_text(path, "csv clip")
    delim = _delimiter(text)
    dec_comma = delim != ","
    rows, lines, raw = [], [], []
    numbered = text_lines(text)
    info: dict = {}
    index_col = False
    if delim is None:
        parsed = [line.split() for _, line in numbered]
    else:
        parsed = list(
            csv.reader([line for _, line in numbered], delimiter=delim, skipinitialspace=True)
        )
    for i, ((ln, line), fields) in enumerate(zip(numbered, parsed, strict=False)):
        if len(fields) % num_joints == 1 and not fields[-1].strip():
            fields = fields[:-1]  # a trailing separator (not an empty last value) adds no field
        if i == 0:
            kind = _header_kind(fields, dec_comma)
            if kind:  # a header line: skipped
                index_col = not fields[0].strip() and len(fields) > 1
                if kind != "names" or index_col:
                    info["csv_header"] = f"line {ln}: {line[:40]!r} ({kind})"
                continue
        if rows and len(fields) != len(rows[0]):
            raise DataFormatError(
                f"{len(fields)} values, the first frame has {len(rows[0])}", path, ln
            )
        rows.append(fields)
        lines.append(ln)
        raw.append(line)
    if not rows or not rows[0]:
        raise DataFormatError("no frame", path)
    fits = _widths(num_joints, num_channels)
    values = _floats(rows, lines, dec_comma, path)
    width = values.shape[1]
    t = len(rows)
    if index_col and fits(width) and not fits(width - 1):
        index_col = False  # an empty first header cell over a line that fits as it is
    if not index_col and not fits(width) and fits(width - 1):
        first = values[:, 0]
        index_col = any(np.array_equal(first, np.arange(k, t + k)) for k in (0, 1))
    if index_col:
        values, rows = values[:, 1:], [r[1:] for r in rows]
        width -= 1
        info["csv_index_column"] = True
    if delim == "," and not any('"' in line for line in raw):
        _split_decimals(np.char.strip(np.array(rows, dtype=str)), fits, path)
    if num_channels is None:
        per = [c for c in (2, 3) if width == num_joints * c]
        if not per:
            raise DataFormatError(
                f"{width} values per line: one person is {num_joints}*2 or {num_joints}*3 values "
                "(give --channels for several persons per line)",
                path,
            )
        num_channels = per[0]
    if width % (num_joints * num_channels):
        raise DataFormatError(
            f"{width} values per line is not a multiple of {num_joints} joints x "
            f"{num_channels} channels",
            path,
        )
    m = width // (num_joints * num_channels)
    return values.reshape(t, m, num_joints, num_channels).transpose(1, 0, 2, 3), info


def _numeric(s: str, decimal_comma: bool = False) -> bool:
    s = s.strip()
    try:
        float(s.replace(",", ".") if decimal_comma else s)
    except ValueError:
        return False
    return True


def read_clip_info(
    path: str | os.PathLike,
    num_joints: int,
    num_channels: int | None = None,
    *,
    frames: Sequence[str] = (),
    max_persons: int | None = None,
    layout: JointLayout | None = None,
) -> tuple[np.ndarray, dict]:
    """One clip -> ``(keypoints (M, T, V, C) float32, info)``.

    ``path``: a ``.npy``, ``.csv`` or ``.json`` file (a nested list, ``{"keypoints":
    ...}``, or OpenPose frames ``{"people": [...]}``, :mod:`skelcon.data.openpose`);
    ``frames``: the per-frame files of an OpenPose video instead. NaN marks a joint not
    detected (see :func:`~skelcon.data.clips.mark_missing`). ``info`` says what was
    assumed: ``axes`` (an array transposed into order), ``channels`` (those of the
    file, for OpenPose ``x, y, score``), the OpenPose tracking counts. ``num_channels``
    (C) is checked when given (a CSV line needs it to hold several persons). Raises
    :class:`DataFormatError` naming the file (and line, frame, joint) on anything else
    than the documented formats, a joint count other than ``num_joints``, or an
    infinite value; with ``layout`` (the one the clip is read in), also for a clip
    ``skelcon extract`` wrote in another layout (:func:`check_extracted_layout`).
    """
    p = str(path)
    ext = Path(p).suffix.lower()
    if frames:
        if layout is not None:
            check_openpose_layout(layout, p)
        kp, info = read_openpose_frames(list(frames), num_joints, max_persons)
        return _check_values(kp, p), {"channels": ["x", "y", "score"], **info}
    if ext == ".npy":
        try:
            a = np.load(p, allow_pickle=False)
        except Exception as e:  # damaged header, pickled objects, short file
            raise DataFormatError(f"cannot read npy: {npy_error(e)}", p) from None
    elif ext == ".json":
        doc = parse_json(read_text(p, "json clip"), p)
        if is_people_doc(doc):
            if layout is not None:
                check_extracted_layout(doc, layout, p)
                if not (isinstance(doc, dict) and doc.get("format") == EXTRACT_FORMAT):
                    check_openpose_layout(layout, p)
            kp, info = read_people_frames(doc, num_joints, p, max_persons)
            return _check_values(kp, p), {"channels": ["x", "y", "score"], **info}
        if isinstance(doc, dict):
            if "keypoints" not in doc:
                raise DataFormatError(
                    "expected a list, an object with 'keypoints' or OpenPose "
                    'frames {"people": [...]}',
                    p,
                )
            doc = doc["keypoints"]
        try:
            a = np.asarray(doc, dtype=np.float64)  # JSON null -> NaN: not detected
        except (ValueError, TypeError, OverflowError, RecursionError):
            raise DataFormatError(
                "keypoints is not a numeric (M, T, V, C) nested list", p
            ) from None
    elif ext == ".csv":  # persons and frames laid out by the file: no axis order to guess
        a, info = _read_csv(p, num_joints, num_channels)
        return _check_values(a, p), info
    else:
        raise DataFormatError(f"unknown clip format {ext!r} (valid: {', '.join(EXTENSIONS)})", p)
    return _check_array(a, num_joints, num_channels, p)


EXTRACT_FORMAT = "skelcon-extract"  # the "format" of a clip file skelcon extract writes


OPENPOSE_LAYOUTS = ("openpose25", "openpose18")  # BODY_25 and COCO-18 of OpenPose's JSON


def check_openpose_layout(layout: JointLayout, path: str) -> None:
    """Refuse to read OpenPose ``--write_json`` frames (``{"people": [...]}``) in a
    built-in layout other than OpenPose's own (``openpose25``: BODY_25, ``openpose18``:
    COCO-18): their joints would be read as another layout's (BODY_25 and ntu25 both
    have 25); other tools' OpenPose-format JSON of another joint count (COCO-17 from
    MMPose or AlphaPose) is read in the layout of that count. A user's own layout is
    trusted to name the file's joints. Raises :class:`DataFormatError` naming ``path``."""
    own_counts = {get_layout(n).num_joints for n in OPENPOSE_LAYOUTS}
    if not layout.builtin or layout.name in OPENPOSE_LAYOUTS or layout.num_joints not in own_counts:
        return
    raise DataFormatError(
        f"holds OpenPose keypoints (its --write_json frames: BODY_25 or COCO-18 joints), not "
        f"{layout.name}: read them with --layout openpose25 or openpose18 (a model of such "
        "data), or extract the video with skelcon extract --layout "
        f"{layout.name}",
        path,
    )


def check_extracted_layout(doc: object, layout: JointLayout, path: str) -> None:
    """Refuse a clip file ``skelcon extract`` wrote (``"format": "skelcon-extract"``)
    whose recorded ``layout`` is not ``layout`` when ``layout`` is a built-in one or
    has another joint count (a user's own copy of the clip's layout under another name,
    same joints, is read): its joints would be read as another layout's (openpose25
    and ntu25 both have 25). The :class:`DataFormatError` says how to convert: ``skelcon
    extract --layout NAME`` when a shipped table converts the video's keypoints
    (:mod:`skelcon.data.retarget`), else which conversions there are."""
    if not isinstance(doc, dict) or doc.get("format") != EXTRACT_FORMAT:
        return
    rec = doc.get("layout")
    if not isinstance(rec, str) or rec == layout.name:
        return
    count = _people_joint_count(doc)
    if not layout.builtin and count in (None, layout.num_joints):
        return
    from .retarget import load_table, no_conversion_message

    source = doc.get("converted_from")
    source = source if isinstance(source, str) else rec
    hint = (
        f"extract its video with --layout {layout.name} to convert them"
        if load_table(source, layout.name) is not None
        else no_conversion_message(source, layout.name)
    )
    joints = f", {count} joints" if count is not None else ""
    raise DataFormatError(
        f"holds {rec} keypoints (skelcon extract{joints}), not {layout.name}: {hint}", path
    )


def _people_joint_count(doc: dict) -> int | None:
    """The joints of the first person of an extracted clip, None if it has nobody."""
    for frame in doc.get("frames") or ():
        people = frame.get("people") if isinstance(frame, dict) else None
        for person in people if isinstance(people, list) else ():
            kp = person.get("pose_keypoints_2d") if isinstance(person, dict) else None
            if isinstance(kp, list) and kp:
                return len(kp) // 3
    return None


def read_clip(
    path: str | os.PathLike, num_joints: int, num_channels: int | None = None
) -> np.ndarray:
    """One clip file -> keypoints ``(M, T, V, C)`` float32 (:func:`read_clip_info`
    without the info; NaN where a joint was not detected)."""
    return read_clip_info(path, num_joints, num_channels)[0]


# --------------------------------------------------------------------------- finding clips


def _class_sort(names: set[str]) -> list[str]:
    if names and all(n.lstrip("-").isdigit() for n in names):
        return sorted(names, key=int)
    return sorted(names)


def _name_hash(name: str) -> int:
    return int(hashlib.sha1(name.encode("utf-8", "surrogateescape")).hexdigest()[:8], 16)


def stratified_split(
    names: Sequence[str], labels: Sequence[str], test_fraction: float
) -> list[str]:
    """``"train"`` or ``"test"`` for each clip: per class, the ``round(test_fraction * n)``
    clips with the smallest SHA-1 of their name are the test split, but at least one
    and at most ``n - 1`` for a class of ``n >= 2`` clips (so every such class is in
    both splits) and none for a class of one clip. Deterministic; adding a clip to a
    class moves at most one other clip of that class. ``test_fraction`` 0: all train."""
    per_class: dict[str, list[int]] = {}
    for i, c in enumerate(labels):
        per_class.setdefault(c, []).append(i)
    out = ["train"] * len(names)
    for members in per_class.values():
        n = len(members)
        k = round(test_fraction * n)
        if test_fraction > 0 and n >= 2:
            k = min(max(k, 1), n - 1)
        elif n < 2:
            k = 0
        for i in sorted(members, key=lambda i: (_name_hash(names[i]), names[i]))[:k]:
            out[i] = "test"
    return out


def _group(files: list[Path], raw: Path, class_dir: Path):
    """Clip files of one class -> ``[(path, name, frames)]``: OpenPose per-frame files
    of one video (one folder, one name prefix) become one clip."""
    videos: dict[tuple[Path, str], list[Path]] = {}
    out = []
    for f in files:
        m = FRAME_FILE.match(f.name)
        if m:
            videos.setdefault((f.parent, m.group("video")), []).append(f)
        else:
            out.append((f, str(f.relative_to(raw).with_suffix("")).replace(os.sep, "/"), ()))
    prefixes: dict[Path, int] = {}
    for parent, _ in videos:
        prefixes[parent] = prefixes.get(parent, 0) + 1
    for (parent, video), fs in videos.items():
        base = rel_path(parent, raw)
        name = base if parent != class_dir and prefixes[parent] == 1 else f"{base}/{video}"
        out.append((fs[0], name, tuple(str(f) for f in fs)))
    return out


def _scan_tree(raw: Path, test_fraction: float):
    """``(classes, [(file, name, class, split, frames)], unused)`` of ``raw/<class>/``
    or ``raw/{train,test}/<class>/`` (clips in sub-folders of a class are that
    class's)."""
    split_dirs = [raw / s for s in ("train", "test")]
    if all(d.is_dir() for d in split_dirs):
        roots = [(d, d.name) for d in split_dirs]
    elif any(d.is_dir() for d in split_dirs):
        raise SkelconError(
            f"raw {str(raw)!r} has only one of train/ and test/ (need both, or "
            "class folders directly)",
            param="raw",
        )
    else:
        roots = [(raw, None)]
    unused: list[tuple[str, str]] = []
    files: list[Path] = []
    _walk_tree(raw, files, unused)
    files = _files.dedupe_files(files, raw, unused)
    per_class: dict[tuple[Path, str | None], list[Path]] = {}
    for f in files:
        root, split = next(((r, s) for r, s in roots if r in f.parents), (None, None))
        rel = f.relative_to(root).parts if root is not None else ()
        if root is None:
            unused.append((rel_path(f, raw), "outside train/ and test/"))
        elif _files.is_layout_file(f):  # the layout file skelcon extract writes beside clips
            continue
        elif len(rel) < 2:
            unused.append((rel_path(f, raw), "not in a class folder"))
        elif f.suffix.lower() not in EXTENSIONS:
            unused.append((rel_path(f, raw), f"not a {'/'.join(EXTENSIONS)} clip"))
        else:
            per_class.setdefault((root / rel[0], split), []).append(f)
    found = []
    for (cls_dir, split), fs in per_class.items():
        for f, name, frames in _group(fs, raw, cls_dir):
            found.append((f, name, cls_dir.name, split, frames))
    found.sort(key=lambda r: r[1])
    return _class_sort({c for _, _, c, _, _ in found}), found, unused


def _sniff(text: str) -> str:
    """The separator of a labels CSV (``,``, ``;`` or tab), as :class:`csv.Sniffer`
    sees it, else the first of ``;``/tab/``,`` in the first line."""
    try:
        return csv.Sniffer().sniff(text[:4096], delimiters=",;\t").delimiter
    except csv.Error:
        first = text.split("\n", 1)[0]
        return next((d for d in (";", "\t") if d in first), ",")


def _inside(raw: Path, field: str) -> str | None:
    """``field`` as a path relative to ``raw`` (``/`` separated), None when it leads
    outside (``..``, an absolute path elsewhere)."""
    p = Path(field)
    if p.is_absolute():
        try:
            p = Path(os.path.abspath(p)).relative_to(os.path.abspath(raw))
        except ValueError:
            return None
    rel = os.path.normpath(p)
    if rel == os.curdir or rel == os.pardir or rel.startswith(os.pardir + os.sep):
        return None
    return rel.replace(os.sep, "/")


def _scan_labels(raw: Path, labels: Path, test_fraction: float):
    """The clips a labels CSV names: ``clip,label[,split]`` rows, as spreadsheets write
    them (quoted fields, ``;`` or tab separators, a BOM, CRLF)."""
    text = read_text(labels, "--labels file")
    delim = _sniff(text)
    numbered = text_lines(text)
    rows = csv.reader([line for _, line in numbered], delimiter=delim, skipinitialspace=True)
    found, seen, real_seen = [], {}, {}
    for i, ((ln, line), fields) in enumerate(zip(numbered, rows, strict=False)):
        fields = [f.strip() for f in fields]
        if fields and not fields[-1] and len(fields) in (3, 4):
            fields = fields[:-1]  # a trailing separator
        if (
            i == 0
            and len(fields) >= 2
            and (
                fields[1].lower() in ("label", "class")
                or fields[0].lower() in ("clip", "file", "path")
            )
        ):
            continue
        if len(fields) not in (2, 3) or not fields[0] or not fields[1]:
            raise SkelconError(
                f"{labels}:{ln}: expected clip{delim}label[{delim}split], got {line!r}"
            )
        if "\\" in fields[0] and not (raw / fields[0]).exists():
            fields[0] = fields[0].replace("\\", "/")  # a path written on Windows
        rel = _inside(raw, fields[0])
        if rel is None:
            raise SkelconError(
                f"{labels}:{ln}: clip {fields[0]!r} is outside --raw {str(raw)!r} "
                "(clip paths are relative to --raw, without '..')"
            )
        f = raw / rel
        frames: tuple[str, ...] = ()
        if f.is_dir():
            frames = tuple(str(x) for x in sorted(f.iterdir()) if FRAME_FILE.match(x.name))
            if not frames:
                raise SkelconError(
                    f"{labels}:{ln}: folder {fields[0]!r} holds no OpenPose "
                    "<video>_<frame>_keypoints.json file"
                )
            name, f = rel, Path(frames[0])
        elif f.suffix.lower() not in EXTENSIONS:
            raise SkelconError(
                f"{labels}:{ln}: clip {fields[0]!r} is not a {'/'.join(EXTENSIONS)} file"
            )
        else:
            name = rel.rsplit(".", 1)[0]
        if name in seen:
            raise SkelconError(
                f"{labels}:{ln}: clip {fields[0]!r} listed twice (line {seen[name]})"
            )
        seen[name] = ln
        real = _files.file_key(f) or f  # a symlink or a hard link to a clip listed before
        if real in real_seen and not frames:
            raise SkelconError(
                f"{labels}:{ln}: clip {fields[0]!r} is the same file as line {real_seen[real]}"
            )
        real_seen[real] = ln
        split = fields[2].lower() if len(fields) == 3 else None
        if split == "val":
            split = "test"
        if split not in ("train", "test", None):
            raise SkelconError(f"{labels}:{ln}: split {fields[2]!r} (valid: train, test)")
        found.append((f, name, fields[1], split, frames))
    if not found:
        raise SkelconError(f"labels {str(labels)!r} lists no clip", param="labels")
    return _class_sort({c for _, _, c, _, _ in found}), found, []


@dataclass
class FolderData:
    """A scanned folder: what :func:`read_folder` found, and :meth:`load` to read a clip.

    ``unused``: ``(path relative to the root, reason)`` of every file under it that is
    not read (hidden, not a clip, a second path to a file read elsewhere, ...);
    ``channels_note``: what the channels were assumed to be, "" when ``--channels``
    named them or the format does (OpenPose)."""

    root: Path
    layout: JointLayout
    channels: list[str]
    classes: list[str]
    clips: list[FolderClip]
    max_frames: int = 300
    max_persons: int = 2
    norm: ClipNorm = field(default_factory=ClipNorm)
    unused: list[tuple[str, str]] = field(default_factory=list)
    channels_note: str = ""  # what C was assumed to hold ("" when given or certain)

    def load(self, clip: FolderClip | int) -> Sample:
        """One clip as ``prepare folder`` with *these* options stores it: ``x (C,
        max_frames, V, max_persons)`` float32 (missing joints 0, normalised only as
        :attr:`norm` says: :func:`read_folder` without ``norm`` keeps the file's pixels or
        metres), its label and valid frames; ``info`` says what was assumed or counted.
        To read a clip as a *prepared dataset* holds it (its channels and normalisation),
        use :func:`skelcon.read_clip` (:func:`skelcon.data.rawclip.read_clip`). Raises
        :class:`DataFormatError` for a bad file."""
        return _load(
            _FolderTask(
                self.clips[clip] if isinstance(clip, int) else clip,
                self.layout,
                tuple(self.channels),
                self.max_frames,
                self.max_persons,
                self.norm,
            )
        )


@dataclass(frozen=True)
class _FolderTask:
    clip: FolderClip
    layout: JointLayout
    channels: tuple[str, ...]
    max_frames: int
    max_persons: int
    norm: ClipNorm
    file_channels: tuple[str, ...] | None = None  # what the file holds, when not ``channels``


def _clip_where(clip: FolderClip) -> str:
    """The clip as messages name it: its file, or for an OpenPose video the glob of its
    frame files (``raw/clap/vid0/vid0_*_keypoints.json``)."""
    if not clip.frames:
        return clip.path
    first = Path(clip.frames[0])
    m = FRAME_FILE.match(first.name)
    video = m.group("video") if m else ""
    sep = "_" if video and first.name[len(video)] == "_" else ""
    return str(first.parent / f"{video}{sep}*_keypoints.json")


def _load(task: _FolderTask) -> Sample:
    clip = task.clip
    where = _clip_where(clip)
    given = task.file_channels or task.channels
    kp, info = read_clip_info(
        clip.path,
        task.layout.num_joints,
        None if clip.frames else len(given),
        frames=clip.frames,
        max_persons=task.max_persons,
        layout=task.layout,
    )
    own = tuple(info.pop("channels", given))
    if kp.shape[-1] != len(own) or not set(task.channels) <= set(own):
        raise DataFormatError(
            f"the file holds {', '.join(own)}; --channels {','.join(task.channels)} does not fit",
            where,
        )
    kp, missing = mark_missing(kp, own)
    if own != task.channels:
        kp = kp[..., [own.index(c) for c in task.channels]]
    if any(missing[k] for k in MISSING_ENCODINGS):
        info["missing"] = missing
    x, nf, more = clip_to_sample(
        kp, task.layout, task.channels, task.max_frames, task.max_persons, task.norm, where
    )
    if not x.any():
        why = ", ".join(f"{MISSING_ENCODINGS[k]} {n}" for k, n in missing.items() if n)
        what = (
            f"an OpenPose video with nobody detected in its {len(clip.frames)} frame files"
            if clip.frames
            else "all-zero clip"
        )
        raise DataFormatError(
            what
            + " (no skeleton data"
            + (f"; joints read as not detected: {why})" if why else ")"),
            where,
        )
    info.update(more)
    for k in ("tracks", "tracks_dropped", "empty_people", "frame_gaps", "frame_step"):
        if not info.get(k):
            info.pop(k, None)
    return Sample(clip.name, x, clip.label, nf, info)


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
    C: ``x, y`` / ``x, y, z`` / ``x, y, z, score``; OpenPose output ``x, y, score``).
    Every option is checked before any clip is read. Raises :class:`SkelconError` when
    the folder holds no clip or the options do not fit.
    """
    raw = Path(raw)
    norm = norm or ClipNorm()
    if max_frames < 1 or max_persons < 1:
        raise SkelconError(
            f"--max-frames and --max-persons must be at least 1, got {max_frames} and {max_persons}"
        )
    if not 0.0 <= test_fraction < 1.0:
        raise SkelconError(
            f"test_fraction must be in [0, 1), got {test_fraction}", param="test_fraction"
        )
    chans = None if channels is None else check_channels(channels, None, "--channels")
    if chans is not None:
        norm.check(chans, "--channels " + ",".join(chans))
    lay = load_layout(layout)
    if not raw.is_dir():
        raise SkelconError(f"raw {str(raw)!r} is not a directory", param="raw")
    if labels is not None:
        classes, found, unused = _scan_labels(raw, Path(labels), test_fraction)
    else:
        classes, found, unused = _scan_tree(raw, test_fraction)
    if not found:
        raise SkelconError(
            f"raw {str(raw)!r} holds no clips: expected <class>/<clip>.npy|.csv|.json "
            "or OpenPose <class>/<video>/*_keypoints.json (or train/ and test/ folders of "
            "those, or --labels FILE.csv)"
            + (f"; not read: {unused[0][0]} ({unused[0][1]})" if unused else ""),
            param="raw",
        )
    free = [i for i, r in enumerate(found) if r[3] is None]  # no split folder or column
    drawn = stratified_split(
        [found[i][1] for i in free], [found[i][2] for i in free], test_fraction
    )
    for i, split in zip(free, drawn, strict=True):
        found[i] = (*found[i][:3], split, found[i][4])
    names: dict[str, str] = {}
    for f, n, _, _, _ in found:
        if n in names:
            raise SkelconError(
                f"two clips are both named {n!r}: {names[n]} and {f} (one file per clip name)"
            )
        names[n] = str(f)
    index = {c: i for i, c in enumerate(classes)}
    clips = [FolderClip(str(f), n, index[c], s, fr) for f, n, c, s, fr in found]
    note = ""
    if chans is None:
        got = None
        for clip in clips:
            try:
                kp, info = read_clip_info(
                    clip.path, lay.num_joints, frames=clip.frames[:1], layout=lay
                )
            except DataFormatError:
                continue
            got = info.get("channels")  # the format names them (OpenPose): nothing assumed
            if got is None:
                got, note = resolve_channels(None, kp.shape[-1], lay, f"--raw {raw}")
            break
        if got is None:
            raise SkelconError(
                f"raw {str(raw)!r}: no clip is readable (first: {_first_error(clips[0], lay)})",
                param="raw",
            )
        chans = list(got)
        norm.check(chans, f"--raw {raw}")
    if any(c.frames for c in clips) and coord_count(chans) != 2:
        raise SkelconError(
            f"channels {','.join(chans)}: OpenPose keypoints are x, y, score "
            "(give x,y,score or x,y)",
            param="channels",
        )
    return FolderData(raw, lay, chans, classes, clips, max_frames, max_persons, norm, unused, note)


def _first_error(clip: FolderClip, lay: JointLayout) -> str:
    try:
        read_clip_info(clip.path, lay.num_joints, frames=clip.frames[:1], layout=lay)
    except DataFormatError as e:
        return str(e)
    return "?"  # pragma: no cover


MAX_LISTED = 1000  # entries of a list kept in meta.json (the counts are always whole)


def _report(folder: FolderData, report: PrepareReport) -> tuple[dict, list[str]]:
    """What was assumed, dropped or read as missing: ``(meta.json entries, lines)``."""
    info = report.info
    missing = dict.fromkeys(MISSING_ENCODINGS, 0)
    with_missing = 0
    for v in info.values():
        if "missing" in v:
            with_missing += 1
            for k, n in v["missing"].items():
                missing[k] += n
    axes = [{"name": k, **v["axes"]} for k, v in sorted(info.items()) if "axes" in v]
    persons = [
        {"name": k, "persons": v["persons_dropped"]}
        for k, v in sorted(info.items())
        if "persons_dropped" in v
    ]
    tracks = {
        k: sum(v.get(k, 0) for v in info.values())
        for k in ("tracks_dropped", "empty_people", "frame_gaps")
    }
    gaps = [k for k, v in sorted(info.items()) if v.get("frame_gaps")]
    steps = [k for k, v in sorted(info.items()) if v.get("frame_step")]
    tracks.update(
        gap_clips=len(gaps), gap_clip_names=gaps[:MAX_LISTED], frame_step_clips=len(steps)
    )
    csvs = [
        {"name": k, "header": v.get("csv_header"), "index_column": bool(v.get("csv_index_column"))}
        for k, v in sorted(info.items())
        if "csv_header" in v or "csv_index_column" in v
    ]
    meta = {
        "missing_joints": {
            **missing,
            "clips": with_missing,
            "rule": "NaN, (0, 0), -1 coordinates or score <= 0 read as missing: every channel 0",
        },
        "axes_assumed": axes[:MAX_LISTED],
        "csv_assumed": csvs[:MAX_LISTED],
        "persons_dropped": persons[:MAX_LISTED],
        "openpose": tracks,
        "unused_files": [{"path": p, "reason": r} for p, r in folder.unused[:MAX_LISTED]],
        "unused_count": len(folder.unused),
    }
    lines = []
    text = missing_summary(missing)
    if text:
        lines.append(f"folder: {text} in {with_missing} clips (meta.json 'missing_joints')")
    moved = [a for a in axes if "could_be" not in a]
    if moved:
        a = moved[0]
        lines.append(
            f"folder: {len(moved)} clips had their axes in another order and were "
            f"transposed (first: {a['name']}: shape {a['shape']} read as "
            f"{a['read_as']}); listed in meta.json 'axes_assumed'"
        )
    maybe = [a for a in axes if "could_be" in a]
    if maybe:
        a = maybe[0]
        lines.append(
            f"folder: {len(maybe)} clips hold more persons than frames as (M, T, V, C) "
            f"and may be transposed {a['could_be']} arrays (first: {a['name']}: shape "
            f"{a['shape']}, read as {a['shape'][0]} persons x {a['shape'][1]} frames; if "
            "the frames come first, save them as (M, T, V, C)); listed in meta.json "
            "'axes_assumed'"
        )
    if csvs:
        heads = [c for c in csvs if c["header"]]
        index = sum(c["index_column"] for c in csvs)
        first = heads[0] if heads else csvs[0]
        lines.append(
            f"folder: CSV: {len(heads)} clips began with a header line of numbers or "
            f"with an empty first cell, skipped; {index} had a row-index first column, "
            f"not read as a coordinate (first: {first['name']}"
            + (f", {first['header']}" if first["header"] else "")
            + "; meta.json 'csv_assumed')"
        )
    if persons:
        lines.append(
            f"folder: {sum(p['persons'] for p in persons)} persons beyond "
            f"--max-persons {folder.max_persons} left out in {len(persons)} clips "
            "(the least confident or moving; meta.json 'persons_dropped')"
        )
    if gaps:
        lines.append(
            f"folder: OpenPose: {len(gaps)} videos had {tracks['frame_gaps']} frame "
            "files missing between their first and last; those frames were filled as "
            f"empty (nobody detected) to keep the timing (first: {gaps[0]}; meta.json "
            "'openpose')"
        )
    if steps:
        lines.append(
            f"folder: OpenPose: {len(steps)} videos have frame numbers with a common "
            f"step (first: {steps[0]}, step {info[steps[0]]['frame_step']}: "
            "--frame_step), read one frame a step"
        )
    if tracks["tracks_dropped"] or tracks["empty_people"]:
        lines.append(
            f"folder: OpenPose: {tracks['tracks_dropped']} people tracks beyond "
            f"--max-persons and {tracks['empty_people']} detections without a "
            "joint left out"
        )
    return meta, lines


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
    """Prepare the plain folder ``raw`` (module doc) into ``out``; returns ``out``.

    Prints every file not read with its reason (hidden files only counted) before
    parsing, and after it what was read as missing, transposed or left out (also in
    meta.json). A failure leaves nothing behind (no partial directory).
    """
    if int(workers) < 1:
        raise SkelconError(f"workers must be at least 1, got {workers}", param="workers")
    folder = read_folder(
        raw,
        layout,
        channels=channels,
        labels=labels,
        max_frames=max_frames,
        max_persons=max_persons,
        norm=norm,
        test_fraction=test_fraction,
    )
    if folder.channels_note:  # what C=3 was read as, as every importer says it
        print(f"folder: note: {folder.channels_note}", file=sys.stderr)
    shown = [(p, r) for p, r in folder.unused if r != "hidden file"]
    for p, r in shown[:20]:
        print(f"not read {Path(raw) / p}: {r}", file=sys.stderr)
    hidden = len(folder.unused) - len(shown)
    if len(shown) > 20 or hidden:
        print(
            f"folder: {len(shown)} files not read"
            + (f", {hidden} hidden files ignored" if hidden else "")
            + " (all in meta.json 'unused_files')",
            file=sys.stderr,
        )
    tasks = [
        _FolderTask(c, folder.layout, tuple(folder.channels), max_frames, max_persons, folder.norm)
        for c in folder.clips
    ]
    name = dataset or Path(raw).resolve().name
    writer = PreparedWriter(
        out,
        dataset=name,
        layout=folder.layout,
        classes=folder.classes,
        capacity=len(tasks),
        max_frames=max_frames,
        num_persons=max_persons,
        channels=len(folder.channels),
        channel_names=folder.channels,
    )
    report = run_prepare(
        tasks,
        _load,
        writer,
        workers=workers,
        strict=strict,
        desc=name,
        name_fn=_task_name,
        progress=progress,
    )
    parts: dict[str, list[int]] = {"train": [], "test": []}
    for clip in folder.clips:
        if clip.name in report.indices:
            parts[clip.split].append(report.indices[clip.name])
    parts = {s: r for s, r in parts.items() if r or s == "train"}
    resampled = [
        {"name": k, "frames": v["resampled_from"]}
        for k, v in sorted(report.info.items())
        if "resampled_from" in v
    ]
    meta, lines = _report(folder, report)
    done = writer.finalize(
        {"default": parts},
        source_format="folder",
        source=str(raw),
        labels_file=str(labels) if labels is not None else None,
        normalization=folder.norm.describe(folder.channels),
        resampled=resampled,
        split_rule="split folders"
        if (Path(raw) / "train").is_dir() and labels is None
        else f"labels file column, else per class the round({test_fraction} x n) clips with the "
        "smallest sha1(name), at least 1 and at most n-1 for a class of n >= 2 clips",
        channels_assumed=folder.channels_note or None,
        **meta,
    )
    print(
        f"folder: {len(writer)} clips ({len(folder.classes)} "
        f"{'class' if len(folder.classes) == 1 else 'classes'}, channels "
        f"{','.join(folder.channels)}, layout {folder.layout.name}) written to {out} ("
        + ", ".join(f"{s} {len(r)}" for s, r in parts.items())
        + f"); skipped {len(report.skipped)}"
        + (f"; {len(folder.unused)} files not read" if folder.unused else "")
    )
    for line in lines:
        print(line)
    return done
