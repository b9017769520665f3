"""The prepared-dataset contract that every ``skelcon prepare`` writes and all later
stages read.

Layout of a prepared directory::

    meta.json                  dataset, layout (name and definition), channels, classes,
                               shape, benchmarks, counts, skipped
    data.npy                   (N, C, T, V, M) float32, every sample stored once
    labels.npy                 (N,) int64, 0-based
    num_frames.npy             (N,) int64, valid frames of each sample
    names.npy                  (N,) unicode sample names
    splits/<benchmark>/<split>.npy   int64 indices into the arrays above

Samples shared by several benchmarks (NTU x-sub and x-view) are stored once; the
benchmarks are index lists. All arrays are ``.npy`` (no pickle) and ``data.npy`` is
opened as a memory map, so a split is never loaded whole into RAM.

A directory is written under a hidden ``.<name>.partial`` sibling and renamed into
place by :meth:`PreparedWriter.finalize`, so an interrupted ``prepare`` never leaves
a directory that loads as complete. A ``prepare`` that fails (a bad input, a duplicate
sample, Ctrl-C, SIGTERM) leaves nothing behind: every writer not yet finalised when an
exception leaves :func:`prepare_cleanup` (which the CLI wraps around each ``prepare``
command, and each ``prepare_*`` function around itself) removes its ``.partial``
directory with the pre-allocated ``data.npy``. Only a process killed outright (SIGKILL,
power loss) leaves it; the next ``skelcon prepare`` to the same ``--out`` removes it as
soon as it holds the output lock (:func:`remove_stale_partial`), before any other check,
so even a prepare that then fails leaves no stale ``.partial``.
"""

from __future__ import annotations

import hashlib
import json
import mmap
import os
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ..errors import SkelconError, choices_message
from ..utils.io import NO_SPACE, fsync_dir, fsync_tree, no_space_errors, npy_error, read_json
from .channels import channels_of, check_channels, default_channels
from .coverage import class_coverage
from .layouts import JointLayout, layout_from_meta, load_layout

FORMAT = "skelcon-prepared"
FORMAT_VERSION = 1


class SplitArray:
    """A lazy view of the rows ``indices`` of a memory-mapped ``(N, C, T, V, M)`` array.

    Indexing with an int, a slice or an index array reads only those rows.
    """

    def __init__(self, base: np.ndarray, indices: np.ndarray):
        self.base = base
        self.indices = np.asarray(indices, dtype=np.int64)

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.indices), *self.base.shape[1:])

    @property
    def dtype(self) -> np.dtype:
        return self.base.dtype

    @property
    def ndim(self) -> int:
        return self.base.ndim

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, idx: Any) -> np.ndarray:
        rows = self.indices[idx]
        if np.ndim(rows) == 0:
            return np.asarray(self.base[int(rows)])
        rows = np.asarray(rows)
        order = np.argsort(rows, kind="stable")  # sorted reads are sequential on disk
        out = np.empty((len(rows), *self.base.shape[1:]), dtype=self.base.dtype)
        out[order] = self.base[rows[order]]
        return out

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        arr = self[:]
        return arr.astype(dtype) if dtype is not None else arr


class Clip(NamedTuple):
    """One sample of a prepared split: ``x`` ``(C, T, V, M)`` float32 (``T`` the
    dataset's padded length; frames past ``num_frames`` are zeros), ``label`` (0-based
    class index), ``num_frames`` (valid frames) and ``name``."""

    x: np.ndarray
    label: int
    num_frames: int
    name: str


@dataclass
class PreparedSplit:
    """One benchmark split of a prepared dataset.

    ``data``: lazy ``(N, C, T, V, M)`` float32; ``labels``: (N,) int64;
    ``num_frames``: (N,) int64; ``names``: (N,) str; ``meta``: the dataset's meta.json.

    ``len(split)`` is ``N``; ``split[i]`` (negative ``i`` counts from the end) is a
    :class:`Clip` ``(x (C, T, V, M), label, num_frames, name)`` read from disk, and
    iterating yields every clip in order. For batches, slice the arrays:
    ``split.data[a:b]`` ``(B, C, T, V, M)`` with ``split.num_frames[a:b]``.
    """

    root: Path
    benchmark: str
    split: str
    data: SplitArray
    labels: np.ndarray
    num_frames: np.ndarray
    names: np.ndarray
    meta: dict = field(repr=False)
    indices: np.ndarray = field(repr=False)

    def __len__(self) -> int:
        return len(self.labels)

    def fingerprint(self) -> dict[str, str]:
        """What identifies this split's data: dataset, benchmark, split, the stored
        ``(N, C, T, V, M)`` shape and a SHA-256 of its sample names in order (a resumed
        run must see the same clips)."""
        digest = hashlib.sha256("\n".join(map(str, self.names.tolist())).encode()).hexdigest()
        return {
            "dataset": str(self.meta.get("dataset")),
            "benchmark": self.benchmark,
            "split": self.split,
            "stored_shape": list(self.meta.get("shape", [])),
            "names_sha256": digest,
        }

    def __getitem__(self, i: int) -> Clip:
        """Clip ``i`` (``-len <= i < len``); IndexError outside, TypeError for a
        non-integer index."""
        if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)):
            raise TypeError(
                f"a prepared split is indexed by an int, not {type(i).__name__} "
                "(for a batch use split.data[a:b] and split.num_frames[a:b])"
            )
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"clip index {int(i)} out of range for a split of {n} clips")
        i = int(i) % n
        return Clip(
            np.asarray(self.data[i]),
            int(self.labels[i]),
            int(self.num_frames[i]),
            str(self.names[i]),
        )

    def __iter__(self) -> Iterator[Clip]:
        for i in range(len(self)):
            yield self[i]

    @property
    def num_classes(self) -> int:
        return int(self.meta["num_classes"])

    @property
    def layout(self) -> str:
        """The joint layout's name (``meta["layout"]``)."""
        return str(self.meta["layout"])

    @property
    def joint_layout(self) -> JointLayout:
        """The joint layout itself (stored in meta.json, or a built-in one)."""
        return layout_from_meta(self.meta)

    @property
    def channels(self) -> list[str]:
        """What the C axis holds, e.g. ``["x", "y", "z"]`` (:mod:`skelcon.data.channels`)."""
        return channels_of(self.meta)


def read_meta(root: str | os.PathLike) -> dict:
    """The ``meta.json`` of a complete prepared dataset, or a one-line error."""
    root = Path(root)
    old = root.parent / f".{root.name}.old"
    if not root.exists() and (old / "meta.json").is_file():
        raise SkelconError(
            f"data directory {str(root)!r} does not exist: a prepare stopped while replacing "
            f"it; the previous dataset is in {str(old)!r} (move it back, or run prepare again)"
        )
    if not root.exists():
        raise SkelconError(
            f"data directory {str(root)!r} does not exist (run `skelcon prepare ...` first)"
        )
    meta_path = root / "meta.json"
    if not meta_path.is_file():
        partial = root.parent / f".{root.name}.partial"
        hint = " (an interrupted prepare left it; run prepare again)" if partial.exists() else ""
        if (
            not hint
            and root.is_dir()
            and any(
                p.suffix.lower() in (".npy", ".csv", ".json")
                for p in root.rglob("*")
                if p.is_file()
            )
        ):
            hint = (
                " (raw clips? prepare them first: skelcon prepare folder --raw "
                f"{str(root)!r} --layout LAYOUT --out DATA)"
            )
        raise SkelconError(f"{str(root)!r} is not a prepared dataset: no meta.json{hint}")
    try:
        meta = read_json(meta_path)
    except (OSError, ValueError, RecursionError) as e:  # ValueError: bad JSON or UTF-8
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise SkelconError(f"cannot read {str(meta_path)!r}: {msg}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or not meta.get("complete"):
        raise SkelconError(f"{str(meta_path)!r} is not a complete skelcon prepared dataset")
    return meta


def load_prepared(root: str | os.PathLike, benchmark: str, split: str) -> PreparedSplit:
    """Open ``benchmark``/``split`` of the prepared dataset at ``root`` (memory-mapped)."""
    root = Path(root)
    meta = read_meta(root)
    benches = meta.get("benchmarks", {})
    if not isinstance(benches, dict) or not all(isinstance(b, dict) for b in benches.values()):
        raise SkelconError(
            f"{root / 'meta.json'}: benchmarks {benches!r} is not a mapping of benchmark -> "
            "{split: count}"[:300]
        )
    if benchmark not in benches:
        raise SkelconError(choices_message(f"benchmark for {root}", benchmark, benches))
    if split not in benches[benchmark]:
        raise SkelconError(choices_message(f"split of {benchmark}", split, benches[benchmark]))
    try:
        data = np.load(root / "data.npy", mmap_mode="r", allow_pickle=False)
        labels = np.load(root / "labels.npy", allow_pickle=False)
        num_frames = np.load(root / "num_frames.npy", allow_pickle=False)
        names = np.load(root / "names.npy", allow_pickle=False)
        idx = np.load(root / "splits" / benchmark / f"{split}.npy", allow_pickle=False)
    except FileNotFoundError as e:
        raise SkelconError(f"prepared dataset {str(root)!r} is missing {e.filename}") from None
    except Exception as e:  # a damaged .npy header raises ValueError, SyntaxError, ...
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise SkelconError(f"cannot read prepared dataset {str(root)!r}: {msg}") from None
    split_dir = root / "splits" / benchmark
    check_prepared(root, meta, data, labels, num_frames, names)
    idx = _check_indices(split_dir / f"{split}.npy", idx, data.shape[0], benches[benchmark][split])
    parts = {split: idx}
    for other, count in benches[benchmark].items():  # the benchmark's other splits
        if other != split:
            path = split_dir / f"{other}.npy"
            try:
                arr = np.load(path, allow_pickle=False)
            except Exception as e:  # noqa: BLE001 - missing or damaged: one line naming it
                raise SkelconError(f"cannot read {str(path)!r}: {npy_error(e)}") from None
            parts[other] = _check_indices(path, arr, data.shape[0], count)
    check_split_members(parts, names, lambda s: str(split_dir / f"{s}.npy"))
    check_finite_rows(root / "data.npy", data, idx, names)
    return PreparedSplit(
        root=root,
        benchmark=benchmark,
        split=split,
        data=SplitArray(data, idx),
        labels=labels[idx].astype(np.int64),
        num_frames=num_frames[idx].astype(np.int64),
        names=names[idx],
        meta=meta,
        indices=idx,
    )


def _ints(path: Path, arr: np.ndarray, what: str) -> np.ndarray:
    """``arr`` as int64 when it is a 1-D array of integers, else a one-line error."""
    if arr.ndim != 1:
        raise SkelconError(f"{path}: {what} must be a 1-D array, got shape {tuple(arr.shape)}")
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer):
        raise SkelconError(
            f"{path}: {what} must be integers (int64), got {arr.dtype}; re-save it with "
            ".astype(np.int64) after checking the values, or prepare the dataset again"
        )
    return arr.astype(np.int64, copy=False)


def _first_bad(
    path: Path, values: np.ndarray, bad: np.ndarray, names: np.ndarray, what: str, valid: str
) -> SkelconError:
    """One line naming the first of the ``bad`` samples, its value and how many there are."""
    i = int(np.flatnonzero(bad)[0])
    name = f" ({names[i]})" if i < len(names) else ""
    return SkelconError(
        f"{path}: {what} {values[i].item()!r} of sample {i}{name} is outside {valid}; "
        f"{int(bad.sum())} of {len(values)} samples are"
    )


def check_prepared(
    root: Path,
    meta: Mapping[str, Any],
    data: np.ndarray,
    labels: np.ndarray,
    num_frames: np.ndarray,
    names: np.ndarray,
) -> None:
    """Check the arrays of a prepared dataset against each other and its ``meta.json``.

    ``data`` ``(N, C, T, V, M)`` must be float32 of ``meta["shape"]``; ``labels``,
    ``num_frames`` and ``names`` 1-D of length ``N``; labels integers in
    ``0..num_classes-1`` (``num_classes`` = ``len(meta["classes"])``); ``num_frames``
    integers in ``1..T``; the channel names and the stored layout must fit ``C`` and
    ``V``. Raises a one-line :class:`SkelconError` naming the file and what is wrong.
    Reads only the small arrays (``data``'s values: :func:`check_finite_rows`).
    """
    meta_path = root / "meta.json"
    data_path = root / "data.npy"
    if data.ndim != 5:
        raise SkelconError(
            f"{data_path} has shape {tuple(data.shape)}; expected 5 dims (N, C, T, V, M)"
        )
    if data.dtype != np.float32:
        raise SkelconError(
            f"{data_path} holds {data.dtype} values; skelcon reads float32 (prepare the "
            "dataset again, or re-save it with .astype(np.float32))"
        )
    shape = meta.get("shape")
    if not isinstance(shape, list) or [int(s) for s in data.shape] != shape:
        raise SkelconError(
            f"{meta_path}: shape {shape!r} does not match {data_path} "
            f"{list(data.shape)} (N, C, T, V, M)"
        )
    n, c, t, v, _ = (int(s) for s in data.shape)
    classes, k = meta.get("classes"), meta.get("num_classes")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise SkelconError(f"{meta_path}: num_classes {k!r} is not a positive integer")
    if not isinstance(classes, list) or len(classes) != k:
        raise SkelconError(
            f"{meta_path}: num_classes {k} but classes lists "
            f"{len(classes) if isinstance(classes, list) else repr(classes)} names"
        )
    try:
        channels_of(meta)
        joints = layout_from_meta(meta).num_joints
    except (SkelconError, KeyError, TypeError, ValueError) as e:
        raise SkelconError(f"{meta_path}: {e}") from None
    if joints != v:
        raise SkelconError(
            f"{meta_path}: layout {meta.get('layout')!r} has {joints} joints but {data_path} "
            f"has V={v}"
        )
    for arr, what in ((labels, "labels.npy"), (num_frames, "num_frames.npy"), (names, "names.npy")):
        if arr.ndim != 1 or len(arr) != n:
            raise SkelconError(
                f"{root / what} has shape {tuple(arr.shape)}; expected ({n},), one entry per "
                f"sample of {data_path}"
            )
    lab = _ints(root / "labels.npy", labels, "labels")
    bad = (lab < 0) | (lab >= k)
    if bad.any():
        raise _first_bad(
            root / "labels.npy", lab, bad, names, "label", f"0..{k - 1} (meta.json: {k} classes)"
        )
    nf = _ints(root / "num_frames.npy", num_frames, "num_frames")
    bad = (nf < 1) | (nf > t)
    if bad.any():
        raise _first_bad(
            root / "num_frames.npy", nf, bad, names, "num_frames", f"1..{t} (T of {data_path})"
        )


def _check_indices(path: Path, idx: np.ndarray, n: int, count: Any) -> np.ndarray:
    """A split's index array as int64 when it indexes ``0..n-1`` and has the ``count``
    entries meta.json records, else a one-line error naming ``path``."""
    idx = _ints(path, idx, "split indices")
    if len(idx) and (idx.min() < 0 or idx.max() >= n):
        bad = (idx < 0) | (idx >= n)
        raise SkelconError(
            f"{path}: index {int(idx[bad][0])} is outside 0..{n - 1} (the samples of "
            f"data.npy); {int(bad.sum())} of {len(idx)} indices"
        )
    if isinstance(count, int) and not isinstance(count, bool) and count != len(idx):
        raise SkelconError(f"{path} holds {len(idx)} indices but meta.json says {count}")
    return idx


def check_split_members(
    parts: Mapping[str, np.ndarray], names: np.ndarray, where: Callable[[str], str]
) -> None:
    """Refuse a split that lists a sample twice, and two splits of one benchmark that
    share a sample (a sample seen in training and scored in test: a leak).

    ``parts``: every split of one benchmark, ``{split: (n,) int64 indices}`` into
    ``names`` ``(N,)``; ``where(split)`` names the split in the message (its file).
    Vectorised (sorting, ``np.intersect1d``). Raises a one-line :class:`SkelconError`
    naming the split, the first offending sample (in the split's order) and how many
    there are. (Benchmarks may share samples: they are separate index lists.)
    """
    for split, idx in parts.items():
        order = np.argsort(idx, kind="stable")
        repeat = np.zeros(len(idx), bool)
        repeat[order[1:]] = idx[order[1:]] == idx[order[:-1]]  # a later copy of a sample
        if repeat.any():
            pos = int(np.flatnonzero(repeat)[0])
            i = int(idx[pos])
            raise SkelconError(
                f"{where(split)}: sample {i} ({names[i]}) is listed again at position {pos}; "
                f"{int(repeat.sum())} of {len(idx)} entries repeat a sample (a split lists each "
                "sample once)"
            )
    splits = list(parts)
    for a_i, a in enumerate(splits):
        for b in splits[a_i + 1 :]:
            common = np.intersect1d(parts[a], parts[b])
            if len(common):
                pos = int(np.flatnonzero(np.isin(parts[a], common))[0])
                i = int(parts[a][pos])
                raise SkelconError(
                    f"{where(a)}: sample {i} ({names[i]}) is also in {where(b)}; {len(common)} "
                    f"sample{' is' if len(common) == 1 else 's are'} in both (the {a} and {b} "
                    "splits of a benchmark share no sample, else the test results are inflated)"
                )


FINITE_CHUNK_BYTES = 64 << 20


def check_finite_rows(
    path: Path, data: np.ndarray, rows: np.ndarray, names: np.ndarray | None = None
) -> None:
    """Refuse NaN or infinite values in the ``rows`` of ``data`` ``(N, ...)`` (a memory
    map of ``path``): one vectorised pass in chunks of about 64 MiB, in sorted row order
    (sequential reads; where the rows are dense, as in a benchmark's interleaved
    split, whole slices, which numpy reads far faster than picked rows). Raises a one-line :class:`SkelconError` naming the first such
    sample (index and name) and how many there are."""
    rows = np.unique(np.asarray(rows, dtype=np.int64))
    per = max(1, FINITE_CHUNK_BYTES // max(1, int(np.prod(data.shape[1:])) * data.itemsize))
    bad_rows: list[np.ndarray] = []
    for s in range(0, len(rows), per):
        part = rows[s : s + per]
        lo, hi = int(part[0]), int(part[-1]) + 1
        if hi - lo <= 2 * len(part):  # dense (a benchmark's interleaved split): one slice
            ok = np.isfinite(data[lo:hi]).reshape(hi - lo, -1).all(axis=1)[part - lo]
        else:  # sparse: only these rows
            ok = np.isfinite(data[part]).reshape(len(part), -1).all(axis=1)
        if not ok.all():
            bad_rows.append(part[~ok])
    if bad_rows:
        bad = np.concatenate(bad_rows)
        i = int(bad[0])
        name = f" ({names[i]})" if names is not None and i < len(names) else ""
        raise SkelconError(
            f"{path}: sample {i}{name} holds NaN or infinite values ({len(bad)} "
            f"sample{'s' if len(bad) != 1 else ''} of this split); prepare the dataset again (missing joints are stored as 0)"
        )


def check_output_dir(out: str | os.PathLike, overwrite: bool) -> None:
    """Refuse an ``--out`` that is a file, or an existing non-empty directory unless
    ``overwrite`` (a ``--raw`` pointing at the wrong folder must not silently replace a
    prepared dataset). ``skelcon prepare`` calls it before reading any input."""
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise SkelconError(f"out {str(path)!r} is a file; give a directory", param="out")
    if path.resolve() in (Path.cwd(), *Path.cwd().parents) or path.name in ("", ".", ".."):
        raise SkelconError(
            f"out {str(path)!r} is the current directory or above it; give a new directory "
            "for the dataset (it is written beside it and renamed into place)",
            param="out",
        )
    if path.is_dir() and any(path.iterdir()):
        if not overwrite:
            raise SkelconError(
                f"out {str(path)!r} already exists and is not empty; pass "
                "--overwrite to replace it",
                param="out",
            )
        if not (path / "meta.json").is_file():
            raise SkelconError(
                f"out {str(path)!r} is not a prepared dataset (no meta.json); "
                "--overwrite replaces only prepared datasets",
                param="out",
            )


def partial_path(out: str | os.PathLike) -> Path:
    """The hidden ``.<name>.partial`` sibling a :class:`PreparedWriter` for ``out``
    writes into before renaming it into place."""
    out = Path(out)
    return out.parent / f".{out.name}.partial"


def remove_stale_partial(out: str | os.PathLike) -> Path | None:
    """Remove ``out``'s ``.partial`` left by a prepare killed outright (SIGKILL, power
    loss); returns its path when there was one, else None.

    Call it only while holding ``out``'s output lock (:func:`~skelcon.utils.io.output_lock`):
    every live writer of ``out`` holds that lock, so a ``.partial`` found then is stale."""
    name = Path(out).name
    tmp = partial_path(out)
    if name in ("", ".", "..") or not (tmp.exists() or tmp.is_symlink()):
        return None
    if tmp.is_dir() and not tmp.is_symlink():
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        tmp.unlink(missing_ok=True)
    return tmp


_LIVE: list[PreparedWriter] = []
"""The writers of this process not yet finalised or aborted, oldest first."""


@contextmanager
def prepare_cleanup() -> Iterator[None]:
    """Remove what the writers created in the body wrote, when the body raises anything
    (a one-line error, ``KeyboardInterrupt``, ``SystemExit``...); the exception goes on.

    The one mechanism behind "a failed prepare leaves nothing behind": the CLI wraps it
    around every ``prepare`` command, and a ``prepare_*`` function may use it as a
    decorator (``@prepare_cleanup()``) so that Python callers get the same. Nested uses
    clean up only their own writers.
    """
    first = len(_LIVE)
    try:
        yield
    except BaseException:
        for w in list(_LIVE[first:]):
            w.abort()
        raise


class PreparedWriter:
    """Streams samples into a new prepared dataset at ``out``.

    ``capacity`` is an upper bound on the sample count; unused rows are dropped by
    :meth:`finalize`. Usage::

        w = PreparedWriter(out, dataset="ntu60", layout="ntu25", classes=names,
                           capacity=len(files), max_frames=300, num_persons=2)
        # layout: a built-in name, a layout YAML path or a JointLayout; its definition
        # goes into meta.json. channel_names: e.g. ["x", "y", "score"] (default by C)
        i = w.add(x, label, num_frames, name)   # x: (C, T, V, M)
        w.skip(name, reason)
        w.finalize({"xsub": {"train": [...], "test": [...]}})
    """

    def __init__(
        self,
        out: str | os.PathLike,
        *,
        dataset: str,
        layout: str | JointLayout,
        classes: Sequence[str],
        capacity: int,
        max_frames: int,
        num_persons: int,
        channels: int = 3,
        num_joints: int | None = None,
        channel_names: Sequence[str] | None = None,
    ):
        self.out = Path(out)
        self.dataset = dataset
        self.layout = load_layout(layout)
        self.classes = list(classes)
        self.channel_names = (
            default_channels(channels)
            if channel_names is None
            else check_channels(channel_names, channels)
        )
        v = num_joints or self.layout.num_joints
        self.sample_shape = (channels, max_frames, v, num_persons)
        self.tmp = partial_path(self.out)
        if self.tmp.exists():
            shutil.rmtree(self.tmp)
        self.capacity = max(int(capacity), 1)
        with self._no_space():
            self.tmp.mkdir(parents=True)
            self._data = np.lib.format.open_memmap(
                self.tmp / "data.npy",
                mode="w+",
                dtype=np.float32,
                shape=(self.capacity, *self.sample_shape),
            )
            _preallocate(self.tmp / "data.npy")
        self._labels: list[int] = []
        self._frames: list[int] = []
        self._names: list[str] = []
        self.skipped: list[dict[str, Any]] = []
        _LIVE.append(self)

    def abort(self) -> None:
        """Drop everything written so far: the memory map and the ``.partial``
        directory (idempotent; ``out`` itself, if it existed, is left as it was)."""
        if self in _LIVE:
            _LIVE.remove(self)
        if hasattr(self, "_data"):
            del self._data  # unmaps the pre-allocated data.npy
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> PreparedWriter:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None:
            self.abort()

    def __len__(self) -> int:
        return len(self._labels)

    def add(self, x: np.ndarray, label: int, num_frames: int, name: str) -> int:
        """Append one sample ``x: (C, T, V, M)`` and return its index."""
        i = len(self._labels)
        if i >= self.capacity:
            raise RuntimeError(f"PreparedWriter capacity {self.capacity} exceeded")
        if tuple(x.shape) != self.sample_shape:
            raise ValueError(f"sample {name}: shape {tuple(x.shape)} != {self.sample_shape}")
        if not 0 <= label < len(self.classes):
            raise ValueError(f"sample {name}: label {label} outside 0..{len(self.classes) - 1}")
        self._data[i] = x
        if (i + 1) % self.RELEASE_EVERY == 0:
            with self._no_space():
                self._release_pages()
        self._labels.append(int(label))
        self._frames.append(int(num_frames))
        self._names.append(str(name))
        return i

    RELEASE_EVERY = 256

    def _release_pages(self) -> None:
        """Write dirty rows to disk and drop them from this process's resident set, so
        peak RSS stays flat however many samples are written."""
        self._data.flush()
        mm = getattr(self._data, "_mmap", None)
        if mm is not None and hasattr(mmap, "MADV_DONTNEED"):
            try:
                mm.madvise(mmap.MADV_DONTNEED)
            except (OSError, ValueError):
                pass

    def _no_space(self) -> AbstractContextManager[None]:
        """A full disk: remove the partial directory, then one line naming ``out``."""
        kept = f"the previous {self.out} is intact" if self.out.exists() else "nothing was kept"
        return no_space_errors(
            self.out,
            cleanup=lambda: shutil.rmtree(self.tmp, ignore_errors=True),
            kept=f" (removed the partial {self.tmp}; {kept})",
        )

    def skip(self, name: str, reason: str) -> None:
        """Record a sample that was left out, and why (kept in meta.json)."""
        self.skipped.append({"name": str(name), "reason": str(reason)})

    def finalize(
        self, splits: Mapping[str, Mapping[str, Sequence[int] | np.ndarray]], **extra: Any
    ) -> Path:
        """Write labels, names, splits and meta.json, ``fsync`` them, then move the
        directory into place (a full disk: one-line error, the partial is removed).
        Splits of one benchmark that share a sample, or a split listing one twice, are
        refused in one line (:func:`check_split_members`) and nothing is left."""
        try:
            with self._no_space():
                return self._finalize(splits, **extra)
        except BaseException:
            self.abort()
            raise
        finally:
            if self in _LIVE:
                _LIVE.remove(self)

    def _finalize(
        self, splits: Mapping[str, Mapping[str, Sequence[int] | np.ndarray]], **extra: Any
    ) -> Path:
        n = len(self._labels)
        if n == 0 and self.skipped:  # every input was refused: no empty dataset, one line
            first = self.skipped[0]
            self._data.flush()
            del self._data
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise SkelconError(
                f"no clip was kept: all {len(self.skipped)} inputs were skipped (first: "
                f"{first['name']}: {first['reason']}); nothing was written"
            )
        self._data.flush()
        del self._data
        _shrink_npy(self.tmp / "data.npy", n)
        np.save(self.tmp / "labels.npy", np.asarray(self._labels, dtype=np.int64))
        np.save(self.tmp / "num_frames.npy", np.asarray(self._frames, dtype=np.int64))
        names = np.asarray(self._names, dtype=str) if n else np.zeros((0,), dtype="<U1")
        np.save(self.tmp / "names.npy", names)
        bench_counts: dict[str, dict[str, int]] = {}
        bench_rows: dict[str, dict[str, np.ndarray]] = {}
        for bench, parts in splits.items():
            (self.tmp / "splits" / bench).mkdir(parents=True, exist_ok=True)
            bench_counts[bench] = {}
            arrays = {split: np.asarray(idx, dtype=np.int64) for split, idx in parts.items()}
            # what load_prepared refuses is never written (e.g. PYSKL lists that overlap)
            check_split_members(arrays, names, lambda s, b=bench: f"split {b}/{s}")
            bench_rows[bench] = arrays
            for split, idx in arrays.items():
                np.save(self.tmp / "splits" / bench / f"{split}.npy", idx)
                bench_counts[bench][split] = int(len(idx))
        labels = np.asarray(self._labels, dtype=np.int64)
        meta = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "dataset": self.dataset,
            "layout": self.layout.name,
            "layout_def": self.layout.to_dict(),
            "channels": self.channel_names,
            "classes": self.classes,
            "num_classes": len(self.classes),
            "shape": [n, *self.sample_shape],
            "max_frames": self.sample_shape[1],
            "num_persons": self.sample_shape[3],
            "benchmarks": bench_counts,
            "counts": {
                "samples": n,
                "skipped": len(self.skipped),
                "per_class": np.bincount(labels, minlength=len(self.classes)).tolist(),
            },
            "skipped": self.skipped,
            **extra,
            "class_coverage": class_coverage(labels, self.classes, bench_rows),
            "complete": True,
        }
        # meta.json last: it marks the directory complete (the rename makes it atomic)
        (self.tmp / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
        fsync_tree(self.tmp)  # the data is on the device before the rename can be
        old = self.out.parent / f".{self.out.name}.old"
        if old.exists():
            shutil.rmtree(old)
        if self.out.exists():
            os.replace(self.out, old)  # (read_meta points at .old if we die right here)
        os.replace(self.tmp, self.out)
        fsync_dir(self.out.parent)
        if old.exists():
            shutil.rmtree(old)
        return self.out


def _preallocate(path: Path) -> None:
    """Reserve the blocks of a sparse file now, so a full disk is an ``OSError(ENOSPC)``
    here instead of a SIGBUS when a memory-mapped page is first written."""
    fd = os.open(path, os.O_RDWR)
    try:
        os.posix_fallocate(fd, 0, os.fstat(fd).st_size)
    except OSError as e:
        if e.errno in NO_SPACE:
            raise
        # filesystems without fallocate (EOPNOTSUPP, EINVAL): stay sparse
    finally:
        os.close(fd)


def _shrink_npy(path: Path, n: int) -> None:
    """Cut an ``.npy`` file to its first ``n`` rows in place (rewrite header, truncate)."""
    with open(path, "r+b") as f:
        version = np.lib.format.read_magic(f)
        read = (
            np.lib.format.read_array_header_1_0
            if version == (1, 0)
            else np.lib.format.read_array_header_2_0
        )
        shape, fortran, dtype = read(f)
        header_len = f.tell()
        if shape[0] == n:
            return
        new_shape = (n, *shape[1:])
        f.seek(0)
        header = {
            "descr": np.lib.format.dtype_to_descr(dtype),
            "fortran_order": fortran,
            "shape": new_shape,
        }
        np.lib.format.write_array_header_1_0(f, header) if version == (
            1,
            0,
        ) else np.lib.format.write_array_header_2_0(f, header)
        if f.tell() != header_len:  # header length changed: fall back to a copy
            f.close()
            src = np.load(path, mmap_mode="r")
            tmp = path.with_suffix(".shrink.npy")
            dst = np.lib.format.open_memmap(tmp, mode="w+", dtype=dtype, shape=new_shape)
            for s in range(0, n, 1024):
                dst[s : s + 1024] = src[s : s + 1024]
            dst.flush()
            del dst, src
            os.replace(tmp, path)
            return
        row = int(np.prod(shape[1:])) * dtype.itemsize
        f.truncate(header_len + n * row)
