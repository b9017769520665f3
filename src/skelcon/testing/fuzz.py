"""Fuzzing every skelcon reader: mutation strategies and per-reader case runners.

Used by ``bench/fuzz.py`` (thousands of cases) and ``tests/data/test_fuzz.py``
(hypothesis, a few hundred). One *case* is ``run_case(reader, seed, corpus)``: the
seed drives a :class:`random.Random` that picks a seed input (a real file from the
shared data when available, else a synthesised one), mutates it (truncate, flip
bytes, delete/duplicate/swap lines, change counts, insert NaN/Inf/huge values, wrong
types, structural damage of JSON/pickle/npy inputs) and feeds it to the reader. The
outcome is one of

* ``ok``: prepared correctly (finite data of the documented shape);
* ``skipped``: prepared, with some samples/lines skipped as bad input;
* ``refused``: a :class:`~skelcon.errors.SkelconError` with a one-line message;

or a bad outcome (a bug): ``TRACEBACK`` (any other exception), ``multiline`` (a
refusal whose message is not one line), ``NaN`` (non-finite prepared data or config
value), ``hang`` (over the per-case time limit), ``incomplete-output`` (an output
directory that exists but is not a complete, consistent prepared dataset, or exists
after a refusal, or a ``.partial`` left beside it) or ``silent`` (wrong data accepted
without a word: a score packed in the third channel read as z, a depth read as a
score, swapped frame/person axes, NaN joints not counted, ``--channels`` not matching
the data accepted).

Readers: ``ntu``, ``pku-skeleton``, ``pku-labels``, ``pku-splits``, ``ucla``,
``config``, ``layout``, ``kinetics`` call the parsing functions directly;
``ntu-prepare``, ``pku-prepare``, ``ucla-prepare``, ``import-npy``, ``import-pyskl``,
``kinetics-prepare``, ``folder-prepare`` run the prepare/import functions end to end on
tiny folders and check the output directory contract (the readers of issue 11 are in
:mod:`skelcon.testing.fuzz_owndata`; ``prepared-open`` and ``checkpoint-open``, what users
hand back, in :mod:`skelcon.testing.fuzz_prepared`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import lzma
import math
import os
import pickle
import random
import shutil
import signal
import tempfile
import threading
import time
import traceback
import typing
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import SkelconError

OUTCOMES = (
    "ok",
    "skipped",
    "refused",
    "TRACEBACK",
    "multiline",
    "NaN",
    "hang",
    "incomplete-output",
    "silent",  # wrong data accepted without a word (a reader's own check says so)
)
GOOD = frozenset(["ok", "skipped", "refused"])
BAD = frozenset(OUTCOMES) - GOOD


# --------------------------------------------------------------------------- corpus


def _ntu_first_frames(text: bytes, k: int) -> bytes:
    """The first ``k`` frames of a valid NTU ``.skeleton`` text (frame count rewritten)."""
    lines = text.split(b"\n")
    i = 1
    for _ in range(k):
        nb = int(lines[i])
        i += 1 + nb * 27
    return b"\n".join([str(k).encode(), *lines[1:i]]) + b"\n"


def synth_ntu(rng: random.Random, frames: int = 12) -> bytes:
    """A valid synthetic NTU ``.skeleton`` text (0-2 bodies per frame)."""
    lines = [str(frames)]
    for _ in range(frames):
        nb = rng.choice([1, 1, 2, 0])
        lines.append(str(nb))
        for b in range(nb):
            lines.append(f"7205759403793110{b} 0 1 1 1 1 0 0.02764709 0.05745083 2")
            lines.append("25")
            for _ in range(25):
                x, y, z = rng.gauss(0, 0.3), rng.gauss(0, 0.3), 3 + rng.gauss(0, 0.3)
                lines.append(f"{x:.7f} {y:.7f} {z:.6f} 277.4 191.8 1036.2 519.1 0 0 0 0 2")
    return ("\n".join(lines) + "\n").encode()


def synth_pku(rng: random.Random, frames: int = 40) -> str:
    """A valid synthetic PKU-MMD skeleton text (``frames`` lines of 150 numbers)."""
    rows = []
    for _ in range(frames):
        rows.append(
            " ".join(f"{rng.gauss(0, 0.4) + (2 if k % 3 == 2 else 0):.6f}" for k in range(150))
        )
    return "\n".join(rows) + "\n"


@dataclass
class Corpus:
    """Seed inputs. Real files from ``shared`` (the shared data folder) when given,
    else synthesised ones; ``real`` says which."""

    ntu: list[tuple[str, bytes]] = field(default_factory=list)  # (sample name, file bytes)
    pku: list[tuple[str, str, str]] = field(default_factory=list)  # (stem, skeleton, labels)
    pku_label_files: list[str] = field(default_factory=list)  # whole official label files
    pku_splits: list[str] = field(default_factory=list)
    configs: list[str] = field(default_factory=list)
    real: bool = False

    @classmethod
    def load(cls, shared: str | os.PathLike | None = None, *, seed: int = 0) -> Corpus:
        """Build the corpus; ``shared`` is the shared data folder or None."""
        rng = random.Random(seed)
        c = cls()
        root = configs_root()
        c.configs = [
            p.read_text("utf-8") for p in sorted(root.iterdir()) if p.name.endswith(".yaml")
        ]
        shared = Path(shared) if shared is not None else None
        ntu_zip = shared / "ntu" / "nturgbd_skeletons_s001_to_s017.zip" if shared else None
        pku_root = shared / "pku_mmd" / "v1" if shared else None
        if ntu_zip is not None and ntu_zip.is_file():
            c.real = True
            with zipfile.ZipFile(ntu_zip) as zf:
                members = sorted(m for m in zf.namelist() if m.endswith(".skeleton"))
                # small ones first (fast cases), plus one cut-off and one two-person file
                members.sort(key=lambda m: zf.getinfo(m).file_size)
                chosen = members[:3] + [m for m in members if "S005C002P013R002A056" in m]
                chosen += [m for m in members if "A050" in m][:1]
                for m in dict.fromkeys(chosen):
                    data = zf.read(m)
                    c.ntu.append((Path(m).stem, data))
            # short real excerpts: the first frames of each complete file
            for name, data in list(c.ntu):
                with contextlib.suppress(ValueError, IndexError):
                    c.ntu.append((name, _ntu_first_frames(data, 20)))
        else:
            c.ntu = [
                (f"S001C001P001R001A{a:03d}", synth_ntu(rng, rng.randint(3, 20))) for a in (1, 50)
            ]
        if pku_root is not None and (pku_root / "PKU_Skeleton_Renew").is_dir():
            c.real = True
            skel_files = sorted((pku_root / "PKU_Skeleton_Renew").glob("*.txt.xz"))[:3]
            for f in skel_files:
                stem = f.name.split(".")[0]
                with lzma.open(f, "rt") as fh:
                    lines = fh.read().splitlines()
                total = len(lines)
                excerpt = lines[:80]
                labels = (pku_root / "Train_Label_PKU_final" / f"{stem}.txt").read_text("utf-8")
                c.pku.append((stem, "\n".join(excerpt) + "\n", _scale_labels(labels, total, 80)))
            label_dir = pku_root / "Train_Label_PKU_final"
            c.pku_label_files = [p.read_text("utf-8") for p in sorted(label_dir.glob("*.txt"))[:40]]
            c.pku_splits = [
                p.read_text("utf-8", errors="replace")
                for p in sorted((pku_root / "Split").glob("*.txt"))
            ]
        else:
            for stem in ("0002-L", "0003-M"):
                text = synth_pku(rng, 40)
                labels = "".join(
                    f"{rng.randint(1, 51)},{s},{s + rng.randint(0, 15)},{rng.randint(0, 2)}\n"
                    for s in sorted(rng.sample(range(20), 4))
                )
                c.pku.append((stem, text, labels))
            c.pku_label_files = [lab for _, _, lab in c.pku]
            shipped = resources.files("skelcon").joinpath("resources", "pku_mmd1")
            c.pku_splits = [shipped.joinpath(f).read_text("utf-8") for f in ("cross-subject.txt",)]
        return c


def _scale_labels(text: str, total: int, frames: int) -> str:
    """Real label lines with start/end scaled from ``total`` to ``frames`` frames (the
    line format, classes and confidences stay as in the official file)."""
    out = []
    for line in text.splitlines():
        parts = line.split(",")
        try:
            label, s, e, conf = parts
            s2 = int(s) * frames // total
            e2 = max(s2, min(frames - 1, int(e) * frames // total))
        except ValueError:
            out.append(line)
            continue
        out.append(f"{label},{s2},{e2},{conf}")
    return "\n".join(out) + "\n"


def configs_root() -> Path:
    """The folder of the packaged YAML recipes."""
    return Path(str(resources.files("skelcon") / "configs"))


# --------------------------------------------------------------------------- mutations

SPECIAL_NUMBERS = [
    "nan", "NaN", "-nan", "inf", "-inf", "Infinity", "1e308", "-1e308", "1e39", "3.4e38",
    "-3.3e38", "1e30", "1e-320", "99999999999999999999", "0", "-0", "1e", "--1", "1..2",
    "1,5", "0x1F", "+5", "abc", "None", "\u0663", "1_000", "", "\x00", "\xff",
]  # fmt: skip
SPECIAL_COUNTS = ["0", "-1", "1", "2", "3", "5", "26", "24", "1000", "1000000000",
                  "9" * 30, "1.5", "2e1", "+3", "0x10", "", "a", "\u0663", "1" * 5000]  # fmt: skip


class Case:
    """One fuzz case: its random source, scratch folder and a log of the mutations."""

    def __init__(self, rng: random.Random, tmp: Path):
        self.rng = rng
        self.tmp = tmp
        self.log: list[str] = []
        # end-to-end cases: re-classify a refusal that left the output directory behind
        self.post: Callable[[str, str], tuple[str, str]] | None = None

    def note(self, what: str) -> None:
        self.log.append(what)

    def chance(self, p: float) -> bool:
        return self.rng.random() < p


def _tokens(line: bytes) -> list[tuple[int, int]]:
    """(start, end) of the whitespace-separated tokens of ``line``."""
    out, i, n = [], 0, len(line)
    while i < n:
        while i < n and line[i : i + 1].isspace():
            i += 1
        j = i
        while j < n and not line[j : j + 1].isspace():
            j += 1
        if j > i:
            out.append((i, j))
        i = j
    return out


def _pick_line(case: Case, lines: list[bytes], single_token: bool = False) -> int | None:
    idx = range(len(lines))
    if single_token:
        cands = [i for i in idx if len(lines[i].split()) == 1]
        return case.rng.choice(cands) if cands else None
    return case.rng.randrange(len(lines)) if lines else None


def _replace_token(case: Case, lines: list[bytes], i: int, value: str, sep: bytes) -> None:
    line = lines[i]
    if sep == b" ":
        toks = _tokens(line)
        if not toks:
            return
        s, e = case.rng.choice(toks)
    else:
        parts = line.split(sep)
        k = case.rng.randrange(len(parts))
        s = sum(len(p) + len(sep) for p in parts[:k])
        e = s + len(parts[k])
    lines[i] = line[:s] + value.encode("utf-8", "surrogatepass") + line[e:]


def mutate_bytes(case: Case, data: bytes, sep: bytes = b" ", rounds: int | None = None) -> bytes:
    """Apply 1-3 random text-file mutations to ``data`` (``sep``: the field separator,
    ``b" "`` for whitespace-separated files, ``b","`` for CSV lines)."""
    rng = case.rng
    n = rounds if rounds is not None else rng.choice([1, 1, 1, 2, 3])
    for _ in range(n):
        op = rng.choice(
            ["truncate", "truncate-line", "flip", "delete-line", "duplicate-line", "swap-lines",
             "count", "count", "value", "value", "value", "garbage", "newlines", "blank-lines",
             "split-line", "join-lines", "empty", "duplicate-block", "wrong-type"]
        )  # fmt: skip
        lines = data.split(b"\n")
        if op == "truncate":
            cut = rng.randrange(len(data) + 1) if data else 0
            data = data[:cut]
            case.note(f"truncate at byte {cut}")
        elif op == "truncate-line":
            k = rng.randrange(len(lines) + 1)
            data = b"\n".join(lines[:k])
            case.note(f"keep first {k} lines")
        elif op == "flip":
            b = bytearray(data)
            for _ in range(rng.randint(1, 4)):
                if b:
                    p = rng.randrange(len(b))
                    b[p] ^= rng.randint(1, 255)
                    case.note(f"flip byte {p}")
            data = bytes(b)
        elif op in ("delete-line", "duplicate-line") and lines:
            i = rng.randrange(len(lines))
            if op == "delete-line":
                del lines[i]
            else:
                lines.insert(i, lines[i])
            case.note(f"{op} {i + 1}")
            data = b"\n".join(lines)
        elif op == "swap-lines" and len(lines) > 1:
            i, j = rng.sample(range(len(lines)), 2)
            lines[i], lines[j] = lines[j], lines[i]
            case.note(f"swap lines {i + 1},{j + 1}")
            data = b"\n".join(lines)
        elif op == "count":
            i = _pick_line(case, lines, single_token=sep == b" ")
            if i is not None:
                v = rng.choice(SPECIAL_COUNTS)
                _replace_token(case, lines, i, v, sep)
                case.note(f"count on line {i + 1} -> {v[:12]!r}")
                data = b"\n".join(lines)
        elif op in ("value", "wrong-type"):
            i = _pick_line(case, lines)
            if i is not None:
                pool = (
                    SPECIAL_NUMBERS if op == "value" else ["[]", "{}", "null", "true", "'x'", '""']
                )
                v = rng.choice(pool)
                _replace_token(case, lines, i, v, sep)
                case.note(f"value on line {i + 1} -> {v!r}")
                data = b"\n".join(lines)
        elif op == "garbage":
            p = rng.randrange(len(data) + 1)
            junk = bytes(
                rng.choice(b"\x00\xff\xfe\r\t ,;.-e9aZ\x1b\x85") for _ in range(rng.randint(1, 6))
            )
            data = data[:p] + junk + data[p:]
            case.note(f"insert {junk!r} at {p}")
        elif op == "newlines":
            style = rng.choice([b"\r\n", b"\r", b"\n\n"])
            data = data.replace(b"\n", style)
            case.note(f"newlines -> {style!r}")
        elif op == "blank-lines" and lines:
            i = rng.randrange(len(lines))
            lines.insert(i, rng.choice([b"", b"   ", b"\t"]))
            case.note(f"blank line at {i + 1}")
            data = b"\n".join(lines)
        elif op == "split-line" and lines:
            i = rng.randrange(len(lines))
            lines[i] = lines[i].replace(sep, b"\n", 1)
            case.note(f"split line {i + 1}")
            data = b"\n".join(lines)
        elif op == "join-lines" and len(lines) > 1:
            i = rng.randrange(len(lines) - 1)
            lines[i : i + 2] = [lines[i] + sep + lines[i + 1]]
            case.note(f"join lines {i + 1},{i + 2}")
            data = b"\n".join(lines)
        elif op == "empty":
            data = rng.choice([b"", b"\n", b"  \n\n"])
            case.note(f"empty file {data!r}")
        elif op == "duplicate-block" and len(lines) > 2:
            i = rng.randrange(len(lines))
            j = min(len(lines), i + rng.randint(1, 30))
            lines[j:j] = lines[i:j]
            case.note(f"duplicate lines {i + 1}..{j}")
            data = b"\n".join(lines)
    return data


# --------------------------------------------------------------------------- outcomes


class _Hang(BaseException):
    """Raised by the alarm: a case ran over its time limit (not an Exception, so that
    readers' ``except Exception`` blocks cannot swallow it)."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`_Hang` after ``seconds`` (main thread only; elsewhere no limit)."""
    if threading.current_thread() is not threading.main_thread() or seconds <= 0:
        yield
        return

    def _alarm(signum: int, frame: Any) -> None:
        raise _Hang()

    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@dataclass
class CaseResult:
    """The outcome of one case; ``mutation`` describes the input, ``detail`` the
    error message or traceback tail."""

    reader: str
    seed: int
    outcome: str
    mutation: str
    detail: str = ""
    seconds: float = 0.0

    @property
    def bad(self) -> bool:
        return self.outcome in BAD


def _is_finite_tree(x: Any) -> bool:
    return bool(np.isfinite(np.asarray(x, dtype=np.float64)).all())


def check_sample(x: np.ndarray, shape: tuple[int, ...], num_frames: int, label: int,
                 num_classes: int) -> str | None:  # fmt: skip
    """None when a prepared sample is sound, else the bad outcome."""
    if tuple(x.shape) != shape or x.dtype != np.float32:
        return "incomplete-output"
    if not np.isfinite(x).all():
        return "NaN"
    if not 1 <= num_frames <= shape[1] or not 0 <= label < num_classes:
        return "incomplete-output"
    return None


def check_output(out: Path) -> str:
    """Classify a prepared directory that a prepare call returned: ``ok``, ``skipped``,
    ``NaN`` or ``incomplete-output``."""
    from ..data.prepared import read_meta

    try:
        meta = read_meta(out)
        data = np.load(out / "data.npy", mmap_mode="r", allow_pickle=False)
        labels = np.load(out / "labels.npy", allow_pickle=False)
        frames = np.load(out / "num_frames.npy", allow_pickle=False)
        names = np.load(out / "names.npy", allow_pickle=False)
        n = meta["counts"]["samples"]
        ok = (
            list(data.shape) == list(meta["shape"])
            and data.shape[0] == n == len(labels) == len(frames) == len(names)
            and data.dtype == np.float32
            and (n == 0 or (labels.min() >= 0 and labels.max() < meta["num_classes"]))
            and (n == 0 or (frames.min() >= 1 and frames.max() <= meta["max_frames"]))
            and len(set(names.tolist())) == n
        )
        for bench, parts in meta["benchmarks"].items():
            for split, count in parts.items():
                idx = np.load(out / "splits" / bench / f"{split}.npy", allow_pickle=False)
                ok = ok and len(idx) == count and (count == 0 or (idx.min() >= 0 and idx.max() < n))
    except (SkelconError, OSError, ValueError, KeyError, TypeError) as e:
        return f"incomplete-output:{type(e).__name__}: {e}"
    if not ok:
        return "incomplete-output:arrays disagree with meta.json"
    for s in range(0, n, 256):
        if not np.isfinite(data[s : s + 256]).all():
            return "NaN"
    return "skipped" if meta["skipped"] else "ok"


def _classify(fn: Callable[[], str], limit: float) -> tuple[str, str]:
    """Run ``fn`` (which returns a good or bad outcome, optionally ``outcome:detail``)
    under the time limit and classify what it raised."""
    try:
        with time_limit(limit), contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()):  # fmt: skip
            res = fn()
    except _Hang:
        return "hang", f"over {limit:g} s"
    except SkelconError as e:
        msg = str(e)
        if not msg.strip() or "\n" in msg or "\r" in msg:
            return "multiline", repr(msg[:300])
        return "refused", msg[:300]
    except RecursionError as e:  # a traceback, but keep the report short
        return "TRACEBACK", f"RecursionError: {e}"
    except Exception as e:
        tb = traceback.extract_tb(e.__traceback__)
        where = " <- ".join(f"{Path(f.filename).name}:{f.lineno}" for f in reversed(tb[-3:]))
        return "TRACEBACK", f"{type(e).__name__}: {str(e)[:200]} at {where}"
    outcome, _, detail = res.partition(":")
    return outcome, detail


def _out_after_refusal(out: Path) -> Callable[[str, str], tuple[str, str]]:
    def post(outcome: str, detail: str) -> tuple[str, str]:
        partial = out.parent / f".{out.name}.partial"
        if partial.exists():
            return "incomplete-output", f"{partial.name} left behind after: {outcome} {detail}"
        if outcome != "refused":
            return outcome, detail
        if out.exists():
            return "incomplete-output", f"{out.name} exists after: {detail}"
        return outcome, detail

    return post


# --------------------------------------------------------------------------- readers


def _ntu_input(case: Case, corpus: Corpus) -> tuple[str, bytes]:
    name, data = case.rng.choice(corpus.ntu)
    case.note(f"ntu seed {name} ({len(data)} B)")
    if case.chance(0.08):
        case.note("unmutated")
        return name, data
    if case.chance(0.1):
        data = synth_ntu(case.rng, case.rng.randint(1, 8))
        case.note("synthesised")
    return name, mutate_bytes(case, data)


def case_ntu(case: Case, corpus: Corpus) -> str:
    """Reader level: ``ntu.prepare_sample`` on a mutated ``.skeleton`` file."""
    from ..data.ntu import NtuName, NtuTask, prepare_sample

    name, data = _ntu_input(case, corpus)
    max_frames = case.rng.choice([300, 300, 64, 8, 1])
    path = case.tmp / f"{name}.skeleton"
    path.write_bytes(data)
    case.note(f"max_frames {max_frames}")
    s = prepare_sample(NtuTask(name, str(path), None, max_frames))
    bad = check_sample(s.x, (3, max_frames, 25, 2), s.num_frames, s.label, 120)
    if bad is None and s.label != NtuName.parse(name).action - 1:
        bad = "incomplete-output"
    return bad or "ok"


def case_ntu_prepare(case: Case, corpus: Corpus) -> str:
    """End to end: ``prepare_ntu`` on a folder of 1-3 files, one or more mutated."""
    from ..data.ntu import prepare_ntu

    raw = case.tmp / "raw"
    raw.mkdir()
    n = case.rng.randint(1, 3)
    for k in range(n):
        name, data = case.rng.choice(corpus.ntu)
        name = name[:-4] + f"A{case.rng.choice([1, 2, 50, 60, 61, 120, 0, 999]):03d}"
        name = name[:12] + f"R{k + 1:03d}" + name[16:]
        if case.chance(0.6):
            data = mutate_bytes(case, data)
        if case.chance(0.05):
            name = case.rng.choice(["bad_name", name + "x", name.lower()])
        (raw / f"{name}.skeleton").write_bytes(data)
        case.note(f"file {name}")
    if case.chance(0.1):
        (raw / "sub").mkdir()
        shutil.copy(next(raw.glob("*.skeleton")), raw / "sub")
        case.note("same name twice")
    dataset = case.rng.choice(["ntu60", "ntu120"])
    strict = case.chance(0.3)
    max_frames = case.rng.choice([300, 16, 1])
    case.note(f"{dataset} strict={strict} max_frames={max_frames}")
    out = case.tmp / "out"
    case.post = _out_after_refusal(out)
    prepare_ntu(dataset, [raw], out, strict=strict, max_frames=max_frames, progress=False)
    return check_output(out)


def _pku_task(case: Case, stem: str, skel: str, labels: str, strict: bool, max_frames: int):
    from ..data.pku import PkuTask

    path = case.tmp / f"{stem}.txt"
    if case.chance(0.2):
        path = case.tmp / f"{stem}.txt.xz"
        path.write_bytes(lzma.compress(skel.encode("utf-8", "surrogateescape")))
    else:
        path.write_bytes(skel.encode("utf-8", "surrogateescape"))
    return PkuTask(stem, str(path), str(case.tmp / f"{stem}_labels.txt"), labels, 51,
                   max_frames, strict)  # fmt: skip


def _check_bundle(sample: Any, max_frames: int) -> str:
    b = sample.x
    for k in range(len(b.names)):
        bad = check_sample(b.x[k], (3, max_frames, 25, 2), b.num_frames[k], b.labels[k], 51)
        if bad:
            return bad
    return "skipped" if b.skipped else "ok"


def case_pku_skeleton(case: Case, corpus: Corpus) -> str:
    """Reader level: ``pku.prepare_sequence`` with a mutated skeleton file."""
    from ..data.pku import prepare_sequence

    stem, skel, labels = case.rng.choice(corpus.pku)
    case.note(f"pku seed {stem}")
    if case.chance(0.08):
        case.note("unmutated")
    else:
        if case.chance(0.1):
            skel = synth_pku(case.rng, case.rng.randint(1, 30))
            case.note("synthesised")
        skel = mutate_bytes(case, skel.encode()).decode("utf-8", "surrogateescape")
    max_frames = case.rng.choice([300, 300, 10, 1])
    case.note(f"max_frames {max_frames}")
    task = _pku_task(case, stem, skel, labels, case.chance(0.3), max_frames)
    if task.skeleton.endswith(".xz") and case.chance(0.3):
        p = Path(task.skeleton)
        p.write_bytes(mutate_bytes(case, p.read_bytes(), rounds=1))
        case.note("xz stream mutated")
    return _check_bundle(prepare_sequence(task), max_frames)


def case_pku_labels(case: Case, corpus: Corpus) -> str:
    """Reader level: a mutated label file through ``prepare_sequence`` (skeleton an
    unmutated excerpt), or a whole official label file through ``parse_label_line``."""
    from ..data.pku import parse_label_line, prepare_sequence

    if case.chance(0.3):
        text = case.rng.choice(corpus.pku_label_files)
        text = mutate_bytes(case, text.encode(), sep=b",").decode("utf-8", "replace")
        case.note("whole label file, parse_label_line")
        for i, line in enumerate(text.splitlines(), 1):
            if line.strip():
                inst = parse_label_line(line, i, "<labels>", 51)
                if not (1 <= inst.label <= 51 and 0 <= inst.start <= inst.end):
                    return "incomplete-output:bad instance accepted"
        return "ok"
    stem, skel, labels = case.rng.choice(corpus.pku)
    case.note(f"pku seed {stem}")
    labels = mutate_bytes(case, labels.encode(), sep=b",").decode("utf-8", "replace")
    max_frames = case.rng.choice([300, 300, 5, 1])
    strict = case.chance(0.3)
    case.note(f"max_frames {max_frames} strict={strict}")
    task = _pku_task(case, stem, skel, labels, strict, max_frames)
    return _check_bundle(prepare_sequence(task), max_frames)


def case_pku_splits(case: Case, corpus: Corpus) -> str:
    """Reader level: ``pku.parse_split_list`` on a mutated official split list."""
    from ..data.pku import parse_split_list

    text = case.rng.choice(corpus.pku_splits)
    text = mutate_bytes(case, text.encode(), sep=b",").decode("utf-8", "replace")
    parts = parse_split_list(text, "<split>")
    if set(parts["train"]) & set(parts["test"]):
        return "incomplete-output:sequence in both parts"
    return "ok"


def case_pku_prepare(case: Case, corpus: Corpus) -> str:
    """End to end: ``prepare_pku`` on tiny skeleton/label/split folders."""
    from ..data.pku import prepare_pku

    raw, labels, splits = case.tmp / "raw", case.tmp / "labels", case.tmp / "splits"
    for d in (raw, labels):
        d.mkdir()
    chosen = case.rng.sample(corpus.pku, min(len(corpus.pku), case.rng.randint(1, 2)))
    for stem, skel, lab in chosen:
        target = case.rng.choice(["skel", "labels", "none", "none"])
        if target == "skel":
            skel = mutate_bytes(case, skel.encode()).decode("utf-8", "surrogateescape")
        elif target == "labels":
            lab = mutate_bytes(case, lab.encode(), sep=b",").decode("utf-8", "replace")
        case.note(f"{stem}: mutated {target}")
        if case.chance(0.2):
            (raw / f"{stem}.txt.xz").write_bytes(
                lzma.compress(skel.encode("utf-8", "surrogateescape"))
            )
        else:
            (raw / f"{stem}.txt").write_bytes(skel.encode("utf-8", "surrogateescape"))
        (labels / f"{stem}.txt").write_text(lab, "utf-8")
    split_dir = None
    if case.chance(0.3):
        splits.mkdir()
        text = case.rng.choice(corpus.pku_splits)
        text = mutate_bytes(case, text.encode(), sep=b",").decode("utf-8", "replace")
        (splits / "cross-subject.txt").write_text(text, "utf-8")
        split_dir = splits
        case.note("mutated split list")
    min_inst = case.rng.choice([None, None, 1, 2, 100])
    strict = case.chance(0.3)
    max_frames = case.rng.choice([300, 16, 1])
    case.note(f"strict={strict} max_frames={max_frames} min_instances={min_inst}")
    out = case.tmp / "out"
    case.post = _out_after_refusal(out)
    prepare_pku("pku-mmd1", raw, labels, out, splits=split_dir, strict=strict,
                max_frames=max_frames, min_instances=min_inst, progress=False)  # fmt: skip
    return check_output(out)


# ----------------------------------------------------------------- NW-UCLA (synthesised)


def _ucla_doc(case: Case, corpus: Corpus) -> dict:
    rng = case.rng
    t = rng.randint(1, 40)
    label = rng.randint(1, 10)
    name = (
        f"a{label:02d}_s{rng.randint(1, 10):02d}_e{rng.randint(0, 4):02d}_v{rng.randint(1, 3):02d}"
    )
    base = [rng.gauss(0, 0.3) for _ in range(60)]
    skel = [[[round(base[3 * j + c] + rng.gauss(0, 0.02) + (3 if c == 2 else 0), 5)
              for c in range(3)] for j in range(20)] for _ in range(t)]  # fmt: skip
    return {"file_name": name, "skeletons": skel, "label": label}


UCLA_BAD_VALUES: list[Any] = [
    0, 11, -1, True, 1.0, "1", None, [1], 10**30, {}, "", "a01_s01_e00",
    "a01_s01_e00_v00", "a01_s01_e00_v04", "x_v1\nx", "a_v" + "1" * 5000, float("nan"),
]  # fmt: skip


def mutate_ucla(case: Case, doc: dict) -> str:
    """A structurally or textually mutated NW-UCLA JSON document."""
    rng = case.rng
    op = rng.choice(["key", "field", "field", "skeleton", "skeleton", "skeleton", "text",
                     "text", "deep", "toplevel", "none"])  # fmt: skip
    skel = doc["skeletons"]
    if op == "key":
        k = rng.choice(list(doc))
        del doc[k]
        case.note(f"delete key {k}")
    elif op == "field":
        k = rng.choice(["file_name", "label", "skeletons"])
        doc[k] = rng.choice(UCLA_BAD_VALUES)
        case.note(f"{k} -> {str(doc[k])[:20]!r}")
    elif op == "skeleton":
        what = rng.choice(["value", "joint", "coord", "frames", "ragged", "type", "huge-t"])
        t, j, c = rng.randrange(len(skel)), rng.randrange(20), rng.randrange(3)
        if what == "value":
            v = rng.choice([float("nan"), float("inf"), -float("inf"), 1e308, 1e39, 3.4e38,
                            -3e38, 1e30, 1e-320, 0.0, "1.0", None, True, [1.0], 10**400])  # fmt: skip
            skel[t][j][c] = v
            case.note(f"skeletons[{t}][{j}][{c}] = {str(v)[:20]}")
        elif what == "joint":
            if rng.random() < 0.5:
                del skel[t][j]
            else:
                skel[t].append([0.0, 0.0, 0.0])
            case.note(f"joint count of frame {t}")
        elif what == "coord":
            if rng.random() < 0.5:
                del skel[t][j][c]
            else:
                skel[t][j].append(1.0)
            case.note(f"coordinate count of joint {t},{j}")
        elif what == "frames":
            doc["skeletons"] = rng.choice([[], [[]], [[[]]], skel[:0], skel * 20])
            case.note(f"skeletons with {len(doc['skeletons'])} frames")
        elif what == "ragged":
            skel[t] = skel[t][: rng.randint(0, 19)]
            case.note(f"ragged frame {t}")
        elif what == "type":
            skel[t] = rng.choice(["frame", 3, None, {"a": 1}])
            case.note(f"frame {t} of wrong type")
        else:
            doc["skeletons"] = skel * rng.randint(10, 40)
            case.note(f"{len(doc['skeletons'])} frames")
    elif op == "deep":
        depth = rng.choice([50, 2000, 100000])
        case.note(f"skeletons nested {depth} deep")
        return json.dumps({**{k: v for k, v in doc.items() if k != "skeletons"}, "skeletons": 0}
                          ).replace("0}", "[" * depth + "]" * depth + "}")  # fmt: skip
    elif op == "toplevel":
        v = rng.choice([[], "x", 3, None, [doc]])
        case.note(f"top level {type(v).__name__}")
        return json.dumps(v)
    text = json.dumps(doc)  # NaN/Infinity allowed, as Python writes them
    if op == "text":
        text = mutate_bytes(case, text.encode(), sep=b",").decode("utf-8", "replace")
    if op == "none":
        case.note("unmutated")
    return text


def case_ucla(case: Case, corpus: Corpus) -> str:
    """Reader level: ``ucla.prepare_file`` on a mutated JSON document."""
    from ..data.ucla import UclaTask, prepare_file

    text = mutate_ucla(case, _ucla_doc(case, corpus))
    path = case.tmp / "a01_s01_e00_v01_skeletons.json"
    path.write_text(text, "utf-8", errors="surrogateescape")
    max_frames = case.rng.choice([300, 300, 16, 1])
    case.note(f"max_frames {max_frames}")
    s = prepare_file(UclaTask(str(path), max_frames))
    return check_sample(s.x, (3, max_frames, 20, 1), s.num_frames, s.label, 10) or "ok"


def case_ucla_prepare(case: Case, corpus: Corpus) -> str:
    """End to end: ``prepare_ucla`` on 1-3 JSON files, some mutated."""
    from ..data.ucla import prepare_ucla

    raw = case.tmp / "raw"
    raw.mkdir()
    for k in range(case.rng.randint(1, 3)):
        doc = _ucla_doc(case, corpus)
        text = mutate_ucla(case, doc) if case.chance(0.6) else json.dumps(doc)
        (raw / f"f{k}.json").write_text(text, "utf-8", errors="surrogateescape")
    strict = case.chance(0.3)
    max_frames = case.rng.choice([300, 16, 1])
    case.note(f"strict={strict} max_frames={max_frames}")
    out = case.tmp / "out"
    case.post = _out_after_refusal(out)
    prepare_ucla(raw, out, strict=strict, max_frames=max_frames, progress=False)
    return check_output(out)


# ----------------------------------------------------------------- import-npy / import-pyskl

BAD_LABELS: list[Any] = [-1, 1.5, True, "3", None, 10**9, 10**30, 2**63, [1], b"x"]
BAD_NAMES: list[Any] = [3, None, b"name", "", "a\nb", ["x"], "same"]


def _bad_array(case: Case, x: np.ndarray) -> np.ndarray:
    rng = case.rng
    what = rng.choice(["nan", "inf", "huge", "dtype", "dtype", "ndim", "zero-dim", "fortran"])
    x = x.copy()
    if what in ("nan", "inf", "huge") and x.size:
        v = {"nan": np.nan, "inf": rng.choice([np.inf, -np.inf]), "huge": rng.choice(
            [3.4e38, -3.3e38, 1e30, 1e20])}[what]  # fmt: skip
        x.reshape(-1)[rng.randrange(x.size)] = v
        case.note(f"{what} value")
        return x
    if what == "dtype":
        dt = rng.choice([np.float64, np.float16, np.int32, np.uint8, np.complex64, np.bool_,
                         np.int64, "<U3", "datetime64[s]"])  # fmt: skip
        case.note(f"dtype {np.dtype(dt)}")
        try:
            return x.astype(dt)
        except (ValueError, TypeError):
            return x.astype(np.int64)
    if what == "ndim":
        case.note("ndim changed")
        return x[..., None] if rng.random() < 0.5 else x[0]
    if what == "zero-dim":
        axis = rng.randrange(x.ndim)
        case.note(f"axis {axis} of size 0")
        return np.take(x, [], axis=axis)
    case.note("fortran order")
    return np.asfortranarray(x)


def _npy_folder(case: Case) -> Path:
    rng = case.rng
    raw = case.tmp / "raw"
    raw.mkdir()
    t, m = rng.randint(2, 12), rng.choice([1, 2])
    nrng = np.random.default_rng(rng.randrange(2**32))
    for prefix in ("train", "val"):
        if prefix == "val" and rng.random() < 0.2:
            continue
        n = rng.randint(1, 4)
        data = nrng.normal(size=(n, 3, t, 25, m)).astype(np.float32)
        frames = nrng.integers(1, t + 1, size=n)
        for i, f in enumerate(frames):
            data[i, :, f:] = 0
        names: list[Any] = [f"{prefix}_{i}" for i in range(n)]
        labels: list[Any] = [int(v) for v in nrng.integers(0, 5, size=n)]
        obj: Any = (names, labels)
        target = rng.choice(["data", "frames", "labels", "bytes", "missing", "none", "none"])
        if target == "data":
            data = _bad_array(case, data)
        elif target == "frames":
            fv = rng.choice([0, -1, t + 1, 2.7, np.nan, 10**12, "len", "2d", "float"])
            case.note(f"{prefix} num_frame -> {fv}")
            if fv == "len":
                frames = frames[:-1]
            elif fv == "2d":
                frames = frames[:, None]
            elif fv == "float":
                frames = frames.astype(np.float64) + 0.5
            else:
                frames = frames.astype(np.float64)
                frames[rng.randrange(n)] = fv
        elif target == "labels":
            kind = rng.choice(["label", "name", "shape", "length"])
            if kind == "label":
                labels[rng.randrange(n)] = rng.choice(BAD_LABELS)
            elif kind == "name":
                names[rng.randrange(n)] = rng.choice(BAD_NAMES)
            elif kind == "shape":
                obj = rng.choice([names, {"names": names}, (names, labels, labels), None, (names,)])
            else:
                labels = labels[:-1]
            if kind != "shape":
                obj = (names, labels)
            case.note(f"{prefix} label pickle: {kind}")
        np.save(raw / f"{prefix}_data_joint.npy", data)
        np.save(raw / f"{prefix}_num_frame.npy", frames)
        try:
            with open(raw / f"{prefix}_label.pkl", "wb") as f:
                pickle.dump(obj, f, protocol=rng.randint(0, 5))
        except (pickle.PicklingError, TypeError):
            pass
        if target == "bytes":
            fname = rng.choice(["data_joint.npy", "num_frame.npy", "label.pkl"])
            p = raw / f"{prefix}_{fname}"
            p.write_bytes(mutate_bytes(case, p.read_bytes(), rounds=1))
            case.note(f"{prefix}_{fname} bytes mutated")
        elif target == "missing":
            fname = rng.choice(["data_joint.npy", "num_frame.npy", "label.pkl"])
            (raw / f"{prefix}_{fname}").unlink()
            case.note(f"{prefix}_{fname} removed")
    return raw


def case_import_npy(case: Case, corpus: Corpus) -> str:
    """End to end: ``prepare_import_npy`` on a tiny, possibly damaged, npy folder."""
    from ..data.imports import prepare_import_npy

    if case.chance(0.5):  # the kinds of issue 17: channels, axes, NaN, pickle bombs
        raw, kwargs, expect = _npy_kind(case)
        out = case.tmp / "out"
        case.post = _out_after_refusal(out)
        prepare_import_npy(raw, out, progress=False, normalize_data=case.chance(0.3), **kwargs)
        return _expect_check(out, expect)
    raw = _npy_folder(case)
    norm, strict = case.chance(0.4), case.chance(0.3)
    classes = None
    if case.chance(0.2):
        classes = case.tmp / "classes.txt"
        classes.write_text("\n".join(f"c{i}" for i in range(case.rng.randint(0, 8))))
    case.note(f"normalize={norm} strict={strict} classes={classes is not None}")
    out = case.tmp / "out"
    case.post = _out_after_refusal(out)
    prepare_import_npy(raw, out, normalize_data=norm, strict=strict, classes=classes,
                       progress=False)  # fmt: skip
    return check_output(out)


def _pyskl_obj(case: Case) -> Any:
    rng = case.rng
    nrng = np.random.default_rng(rng.randrange(2**32))
    anns = []
    c = rng.choice([3, 3, 2])  # 2: 2D keypoints, whose keypoint_score becomes a channel
    for i in range(rng.randint(1, 4)):
        t, m = rng.randint(1, 12), rng.choice([1, 2])
        kp = nrng.normal(size=(m, t, 25, c)).astype(np.float32)
        anns.append({"frame_dir": f"S{i:03d}", "label": rng.randint(0, 4), "keypoint": kp,
                     "total_frames": t, "keypoint_score": np.ones((m, t, 25), np.float32),
                     "img_shape": (1080, 1920)})  # fmt: skip
    names = [a["frame_dir"] for a in anns]
    obj: dict[str, Any] = {"split": {"xsub_train": names[::2], "xsub_val": names[1::2]},
                           "annotations": anns}  # fmt: skip
    op = rng.choice(["ann", "ann", "ann", "keypoint", "keypoint", "split", "top", "none"])
    a = rng.choice(anns)
    if op == "ann":
        k = rng.choice(["frame_dir", "label", "total_frames", "keypoint"])
        if rng.random() < 0.2:
            del a[k]
            case.note(f"annotation without {k}")
        else:
            pool = {"frame_dir": BAD_NAMES + ["S000"], "label": BAD_LABELS + [np.int64(2), np.uint8(1)],
                    "total_frames": [0, -1, 99, "5", 5.0, np.int64(3), None],
                    "keypoint": [None, [[1.0]], "kp", np.zeros(3)]}[k]  # fmt: skip
            a[k] = rng.choice(pool)
            case.note(f"{k} -> {str(a[k])[:20]!r}")
    elif op == "keypoint":
        a["keypoint"] = _bad_array(case, a["keypoint"])
        if rng.random() < 0.5:
            a["total_frames"] = a["keypoint"].shape[1] if a["keypoint"].ndim > 1 else 0
    elif op == "split":
        v = rng.choice([None, [], {"train": names, "val": names}, {"xsub_train": "S000"},
                        {"xsub_train": [1, 2]}, {5: names}, {"foo": names},
                        {"xsub_val": names, "xsub_test": names}, {"train1": names, "test1": []},
                        {"xsub_train": names + ["ghost"]}])  # fmt: skip
        obj["split"] = v
        case.note(f"split -> {str(v)[:40]}")
    elif op == "top":
        v = rng.choice([[], None, {"annotations": []}, {"annotations": "x"}, {"split": {}},
                        {"annotations": [1, 2]}, anns])  # fmt: skip
        case.note(f"top -> {str(v)[:30]}")
        return v
    else:
        case.note("unmutated")
    return obj


def case_import_pyskl(case: Case, corpus: Corpus) -> str:
    """End to end: ``prepare_import_pyskl`` on a tiny, possibly damaged, PYSKL pickle."""
    from ..data.imports import prepare_import_pyskl

    if case.chance(0.5):  # the kinds of issue 17: channels, axes, NaN, pickle bombs
        obj, kwargs, expect = _pyskl_kind(case)
        raw, out = case.tmp / "ann.pkl", case.tmp / "out"
        _write_pickle(raw, obj, case.rng.randint(2, 5))
        case.post = _out_after_refusal(out)
        prepare_import_pyskl(raw, out, progress=False, normalize_data=case.chance(0.3), **kwargs)
        return _expect_check(out, expect)
    obj = _pyskl_obj(case)
    raw = case.tmp / "ann.pkl"
    proto = case.rng.randint(0, 5)
    try:
        raw.write_bytes(pickle.dumps(obj, protocol=proto))
    except (pickle.PicklingError, TypeError, ValueError):
        raw.write_bytes(pickle.dumps(None))
    if case.chance(0.25):
        raw.write_bytes(mutate_bytes(case, raw.read_bytes(), rounds=1))
        case.note("pickle bytes mutated")
    max_frames = case.rng.choice([None, None, 1, 4])
    norm, strict = case.chance(0.3), case.chance(0.3)
    case.note(f"protocol {proto} max_frames={max_frames} normalize={norm} strict={strict}")
    out = case.tmp / "out"
    case.post = _out_after_refusal(out)
    prepare_import_pyskl(raw, out, max_frames=max_frames, normalize_data=norm, strict=strict,
                         progress=False)  # fmt: skip
    return check_output(out)


# ----------------------------------------------------- importers: channels, axes, bombs


def pickle_bomb(case: Case) -> tuple[str, Any | bytes]:
    """A small pickle that costs a naive reader unbounded time or memory: a plain
    object built of shared references (returned as an object to pickle) or crafted
    bytes (colliding dict keys, deep nesting, ``ndarray`` of a huge shape)."""
    rng = case.rng
    kind = rng.choice(["lists", "tuples", "dicts", "mixed", "keys", "deep", "ndarray", "frozen"])
    depth = rng.randint(25, 60)
    if kind in ("lists", "tuples", "dicts", "mixed"):
        x: Any = rng.choice([0, "a", 1.5, None])
        for d in range(depth):
            k = kind if kind != "mixed" else ("lists", "tuples", "dicts")[d % 3]
            x = [x, x, x] if k == "lists" else (x, x, x, x) if k == "tuples" else {"a": x, "b": x}
        return f"{kind} sharing references, {depth} deep", x
    if kind in ("keys", "frozen"):
        n = rng.randint(5_000, 20_000)
        keys = b"".join(pickle.dumps(k * (2**61 - 1), 2)[2:-1] for k in range(1, n))
        if kind == "keys":
            body = b"}(" + b"".join(pickle.dumps(k * (2**61 - 1), 2)[2:-1] + b"K\x00"
                                     for k in range(1, n)) + b"u"  # fmt: skip
        else:
            body = b"(" + keys + b"\x91"
        return f"{n} {kind} with one hash", b"\x80\x04" + body + b"."
    if kind == "deep":
        n = rng.randint(1_000, 200_000)
        return f"{n} nested lists", b"\x80\x02" + b"]" * n + b"a" * (n - 1) + b"."
    n = rng.choice([10**9, 10**10, 2**40])
    return f"ndarray of {n} elements", (
        b"\x80\x02cnumpy._core.multiarray\n_reconstruct\ncnumpy\nndarray\n"
        + b"\x8a\x08"
        + n.to_bytes(8, "little")
        + b"\x85U\x01b\x87R."
    )


def _write_pickle(path: Path, obj: Any, proto: int) -> None:
    path.write_bytes(obj if isinstance(obj, bytes) else pickle.dumps(obj, protocol=proto))


def _expect_check(out: Path, expect: dict[str, Any]) -> str:
    """The prepared ``out`` against what a fuzz case knows of its input: ``silent`` (with
    what) when wrong data were accepted without a word, else :func:`check_output`'s."""
    from ..data.prepared import read_meta

    res = check_output(out)
    if res.split(":")[0] not in ("ok", "skipped"):
        return res
    meta = read_meta(out)
    if "refuse" in expect:
        return f"silent:accepted although {expect['refuse']}"
    if "channels" in expect and meta["channels"] != expect["channels"]:
        return f"silent:channels {meta['channels']} != {expect['channels']}"
    if "max_samples" in expect and meta["counts"]["samples"] > expect["max_samples"]:
        return f"silent:{meta['counts']['samples']} samples kept, at most {expect['max_samples']}"
    if "shape" in expect and meta["shape"][1:] != expect["shape"]:
        return f"silent:(C, T, V, M) {meta['shape'][1:]} != {expect['shape']}: axes misread"
    if "unused" in expect and meta.get("unused_count") != expect["unused"]:
        return (f"silent:{expect['unused']} files not read, {meta.get('unused_count')} "
                "accounted for")  # fmt: skip
    if "max_persons" in expect and meta["num_persons"] > expect["max_persons"]:
        return f"silent:M={meta['num_persons']}: frame and person axes swapped"
    if "nonfinite" in expect:
        got = sum(r["joints"] for r in meta.get("nonfinite_joints", []))
        if got != expect["nonfinite"] and not meta["skipped"]:
            return f"silent:{expect['nonfinite']} non-finite joints, {got} counted"
    return res


def _expect_channels(rng: random.Random, kind: str, lay: str, kwargs: dict[str, Any],
                     expect: dict[str, Any]) -> None:  # fmt: skip
    """For an importer case whose third channel is a score (``packed``, ``nan``) or a
    depth (``depth2d``): maybe pass ``--channels``, and what the import must then do."""
    if kind not in ("packed", "depth2d", "nan"):
        return
    if rng.random() < 0.3:
        kwargs["channels"] = ["x", "y", "z"] if kind == "depth2d" else ["x", "y", "score"]
        expect["channels"] = kwargs["channels"]
    elif lay == "ntu25":
        expect["channels"] = ["x", "y", "z"]
    elif kind == "depth2d":
        expect["refuse"] = "a depth was taken for a score"
    else:
        expect["channels"] = ["x", "y", "score"]


def _npy_kind(case: Case) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    """An import-npy folder of a new kind: ``(raw, prepare kwargs, expectations)``."""
    rng = case.rng
    nrng = np.random.default_rng(rng.randrange(2**32))
    raw = case.tmp / "raw"
    raw.mkdir()
    kind = rng.choice(["packed", "depth2d", "transposed", "nan", "channels", "bomb", "nmtvc"])
    lay = rng.choice(["openpose18", "coco17"] if kind == "nmtvc" else
                     ["openpose18", "coco17", "ntu25"])  # fmt: skip
    v = {"openpose18": 18, "coco17": 17, "ntu25": 25}[lay]
    n, t, m = rng.randint(1, 4), rng.randint(3, 12), rng.choice([1, 2])
    xy = nrng.uniform(0.1, 0.9, (n, 2, t, v, m))
    third = nrng.uniform(0.2, 1.0, (n, 1, t, v, m))  # a confidence
    kwargs: dict[str, Any] = {"layout": lay}
    expect: dict[str, Any] = {}
    if kind == "depth2d":
        third = nrng.uniform(1.5, 5.0, (n, 1, t, v, m))  # metres: a depth, not a score
    data = np.concatenate([xy, third], 1).astype(np.float32)
    _expect_channels(rng, kind, lay, kwargs, expect)
    if kind == "nan":
        k = rng.randint(1, 5)
        picks = {(rng.randrange(n), rng.randrange(t), rng.randrange(v), rng.randrange(m))
                 for _ in range(k)}  # fmt: skip
        for i, tt, vv, mm in picks:
            data[i, rng.randrange(3), tt, vv, mm] = rng.choice([np.nan, np.inf, -np.inf])
        expect["nonfinite"] = len(picks)
    elif kind == "transposed":
        tt = rng.randint(11, 40)
        data = nrng.uniform(0.2, 0.9, (n, 3, 2, v, tt)).astype(np.float32)  # (N, C, M, V, T)
        expect["max_persons"] = 10
    elif kind == "channels":
        c = rng.choice([2, 3, 4])
        data = nrng.uniform(0.2, 0.9, (n, c, t, v, m)).astype(np.float32)
        given = rng.choice([ch for ch in (["x", "y"], ["x", "y", "z"], ["x", "y", "score"],
                                          ["x", "y", "z", "score"]) if len(ch) != c])  # fmt: skip
        kwargs["channels"] = given
        expect["refuse"] = f"--channels {given} on C={c}"
    elif kind == "nmtvc":  # PYSKL's / mmaction2's (N, M, T, V, C): x, y, score last
        m = rng.choice([1, 2, 2, 3])
        data = np.concatenate([nrng.uniform(0.1, 0.9, (n, m, t, v, 2)),
                               nrng.uniform(0.2, 1.0, (n, m, t, v, 1))], -1).astype(np.float32)  # fmt: skip
        if m > 1 and rng.random() < 0.5:
            data[::2, 1:] = 0  # persons absent from some clips
        if rng.random() < 0.4:
            kwargs["channels"] = ["x", "y", "score"]
        expect["channels"] = ["x", "y", "score"]
        expect["shape"] = [3, t, v, m]  # (C, T, V, M) of each sample, or a refusal
    np.save(raw / "train_data_joint.npy", data)
    labels: Any = ([f"s{i}" for i in range(n)], [i % 3 for i in range(n)])
    if kind == "bomb":
        what, labels = pickle_bomb(case)
        case.note(f"label pickle bomb: {what}")
        expect["refuse"] = "a pickle bomb"
    _write_pickle(raw / "train_label.pkl", labels, rng.randint(2, 5))
    case.note(f"npy kind {kind}, layout {lay}, shape {data.shape}, {kwargs.get('channels')}")
    return raw, kwargs, expect


def _pyskl_kind(case: Case) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """A PYSKL pickle of a new kind: ``(object or bytes, prepare kwargs, expectations)``."""
    rng = case.rng
    nrng = np.random.default_rng(rng.randrange(2**32))
    kind = rng.choice(["packed", "depth2d", "transposed", "nan", "channels", "bomb", "bomb"])
    lay = rng.choice(["coco17", "coco17", "ntu25"])
    v = 17 if lay == "coco17" else 25
    kwargs: dict[str, Any] = {"layout": lay}
    expect: dict[str, Any] = {}
    anns = []
    for i in range(rng.randint(1, 4)):
        t, m = rng.randint(2, 12), rng.choice([1, 2])
        xy = nrng.uniform(0, 1000, (m, t, v, 2))
        third = (nrng.uniform(1.5, 5.0, (m, t, v, 1)) if kind == "depth2d"
                 else nrng.uniform(0.1, 1.0, (m, t, v, 1)))  # fmt: skip
        anns.append({"frame_dir": f"v{i}", "label": i % 3, "total_frames": t,
                     "keypoint": np.concatenate([xy, third], -1).astype(np.float32)})  # fmt: skip
    _expect_channels(rng, kind, lay, kwargs, expect)
    if kind == "nan":
        a = rng.choice(anns)
        kp = a["keypoint"]
        picks = {(rng.randrange(kp.shape[0]), rng.randrange(kp.shape[1]), rng.randrange(v))
                 for _ in range(rng.randint(1, 4))}  # fmt: skip
        for mm, tt, vv in picks:
            kp[mm, tt, vv, rng.randrange(3)] = rng.choice([np.nan, np.inf])
        expect["nonfinite"] = len(picks)
    elif kind == "transposed":
        a = rng.choice(anns)
        tt = rng.randint(11, 40)
        a["keypoint"] = nrng.uniform(0.1, 1.0, (tt, 2, v, 3)).astype(np.float32)  # (T, M, V, C)
        a["total_frames"] = rng.choice([tt, 2])
        expect["max_persons"] = 10
    elif kind == "channels":
        c = rng.choice([2, 3, 4])
        for a in anns:
            a["keypoint"] = nrng.uniform(0.1, 1.0, (*a["keypoint"].shape[:3], c)).astype(np.float32)
        given = rng.choice([ch for ch in (["x", "y"], ["x", "y", "z"], ["x", "y", "score"],
                                          ["x", "y", "z", "score"]) if len(ch) != c])  # fmt: skip
        kwargs["channels"] = given
        expect["refuse"] = f"--channels {given} on C={c}"
    obj: Any = {"split": {"xsub_train": [a["frame_dir"] for a in anns]}, "annotations": anns}
    if kind == "bomb":
        what, bomb = pickle_bomb(case)
        if isinstance(bomb, bytes):
            obj = bomb
        else:
            where = rng.choice(["annotations", "keypoint", "label", "frame_dir", "split", "extra"])
            if where == "annotations":
                obj["annotations"] = bomb
            elif where == "split":
                obj["split"] = {"xsub_train": bomb}
            else:
                anns[0][where] = bomb
        case.note(f"pickle bomb: {what}")
        expect["refuse"] = "a pickle bomb"  # wherever it sits: the unpickler refuses it
    case.note(f"pyskl kind {kind}, layout {lay}, {kwargs.get('channels')}")
    return obj, kwargs, expect


# ----------------------------------------------------------------- configs

OVERRIDE_VALUES = [
    "0", "1", "-1", "0.5", "1e-4", "1e400", ".nan", ".inf", "-.inf", "nan", "inf", "[1, 2]", "[]",
    "{a: 1}", "abc", "", "null", "true", "0x10", "seq,stg", "[seq, [stg]]", "'3'", "1" * 5000,
    "!!python/object/apply:os.system ['true']", "&a [*a]", "[" * 2000, "{{", "999999999999",
    "2e9", "- 1\n- 2",
]  # fmt: skip


def _config_fields(cls: type, prefix: str = "") -> list[str]:
    out = []
    for f in dataclasses.fields(cls):
        hint = typing.get_type_hints(cls)[f.name]
        if dataclasses.is_dataclass(hint):
            out += _config_fields(hint, f"{prefix}{f.name}.")
        out.append(prefix + f.name)
    return out


def _check_config(cfg: Any) -> str | None:
    """NaN when an accepted config holds a non-finite float anywhere."""
    for f in dataclasses.fields(cfg):
        v = getattr(cfg, f.name)
        if dataclasses.is_dataclass(v):
            bad = _check_config(v)
            if bad:
                return bad
        vals = v if isinstance(v, list) else [v]
        for x in vals:
            if isinstance(x, float) and not math.isfinite(x):
                return f"NaN:{f.name} = {x}"
    return None


def case_config(case: Case, corpus: Corpus) -> str:
    """Reader level: ``load_config`` (YAML file + ``--set`` overrides) and ``validate``."""
    from .. import config as C

    rng = case.rng
    cls = rng.choice([C.PretrainConfig] * 4 + [C.LinearEvalConfig, C.KnnConfig, C.FinetuneConfig])
    path = None
    if cls is C.PretrainConfig and rng.random() < 0.8:
        text = rng.choice(corpus.configs).encode()
        if rng.random() < 0.7:
            text = mutate_bytes(case, text, sep=b": ")
        path = case.tmp / "cfg.yaml"
        path.write_bytes(text)
    fields = _config_fields(cls)
    overrides = []
    for _ in range(rng.choice([0, 0, 1, 2, 3])):
        key = rng.choice(fields + ["nope", "optim.nope", "optim", "", "a.b.c", "optim.lr.x"])
        value = rng.choice(OVERRIDE_VALUES)
        overrides.append(rng.choice([f"{key}={value}", f"{key}={value}", key, f" {key} = {value}"]))
    case.note(f"{cls.__name__} file={path is not None} overrides={[o[:40] for o in overrides]}")
    cfg = C.load_config(cls, path, overrides)
    cfg.validate()
    return _check_config(cfg) or "ok"


# --------------------------------------------------------------------------- registry

READERS: dict[str, Callable[[Case, Corpus], str]] = {
    "ntu": case_ntu,
    "ntu-prepare": case_ntu_prepare,
    "pku-skeleton": case_pku_skeleton,
    "pku-labels": case_pku_labels,
    "pku-splits": case_pku_splits,
    "pku-prepare": case_pku_prepare,
    "ucla": case_ucla,
    "ucla-prepare": case_ucla_prepare,
    "import-npy": case_import_npy,
    "import-pyskl": case_import_pyskl,
    "config": case_config,
}
# share of the cases per reader in a mixed run (reader level cheap, end to end less)
WEIGHTS: dict[str, int] = {
    "ntu": 14, "ntu-prepare": 5, "pku-skeleton": 12, "pku-labels": 12, "pku-splits": 6,
    "pku-prepare": 5, "ucla": 12, "ucla-prepare": 5, "import-npy": 10, "import-pyskl": 10,
    "config": 12,
}  # fmt: skip

# the readers of one's own data (issue 11); the module uses the helpers above
from .fuzz_owndata import OWN_READERS, OWN_WEIGHTS  # noqa: E402

READERS.update(OWN_READERS)
WEIGHTS.update(OWN_WEIGHTS)
from .fuzz_prepared import PREPARED_READERS, PREPARED_WEIGHTS  # noqa: E402  (issue 17)

READERS.update(PREPARED_READERS)
WEIGHTS.update(PREPARED_WEIGHTS)


def schedule(cases: int) -> list[str]:
    """The reader of each of ``cases`` cases, interleaved, proportional to WEIGHTS."""
    total = sum(WEIGHTS.values())
    out: list[str] = []
    credit = dict.fromkeys(WEIGHTS, 0.0)
    for _ in range(cases):
        for r in credit:
            credit[r] += WEIGHTS[r] / total
        r = max(credit, key=lambda k: credit[k])
        credit[r] -= 1
        out.append(r)
    return out


def run_case(reader: str, seed: int, corpus: Corpus, *, limit: float = 20.0,
             tmp_root: str | os.PathLike | None = None) -> CaseResult:  # fmt: skip
    """Run one fuzz case of ``reader`` (a key of :data:`READERS`) from ``seed``."""
    t0 = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix=f"fuzz-{reader}-", dir=tmp_root))
    case = Case(random.Random(f"{reader}:{seed}"), tmp)
    try:
        outcome, detail = _classify(lambda: READERS[reader](case, corpus), limit)
        post = case.post
        if post is not None:
            outcome, detail = post(outcome, detail)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return CaseResult(reader, seed, outcome, "; ".join(case.log), detail,
                      time.perf_counter() - t0)  # fmt: skip
