"""Mutation strategies: :class:`Case` (a case's random source, scratch folder and
log), text/byte mutations (:func:`mutate_bytes`), damaged arrays (:func:`bad_array`)
and pickle bombs (:func:`pickle_bomb`).
"""

from __future__ import annotations

import pickle
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

SPECIAL_NUMBERS = [
    "nan",
    "NaN",
    "-nan",
    "inf",
    "-inf",
    "Infinity",
    "1e308",
    "-1e308",
    "1e39",
    "3.4e38",
    "-3.3e38",
    "1e30",
    "1e-320",
    "99999999999999999999",
    "0",
    "-0",
    "1e",
    "--1",
    "1..2",
    "1,5",
    "0x1F",
    "+5",
    "abc",
    "None",
    "\u0663",
    "1_000",
    "",
    "\x00",
    "\xff",
]
SPECIAL_COUNTS = [
    "0",
    "-1",
    "1",
    "2",
    "3",
    "5",
    "26",
    "24",
    "1000",
    "1000000000",
    "9" * 30,
    "1.5",
    "2e1",
    "+3",
    "0x10",
    "",
    "a",
    "\u0663",
    "1" * 5000,
]


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
            [
                "truncate",
                "truncate-line",
                "flip",
                "delete-line",
                "duplicate-line",
                "swap-lines",
                "count",
                "count",
                "value",
                "value",
                "value",
                "garbage",
                "newlines",
                "blank-lines",
                "split-line",
                "join-lines",
                "empty",
                "duplicate-block",
                "wrong-type",
            ]
        )
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


def bad_array(case: Case, x: np.ndarray) -> np.ndarray:
    rng = case.rng
    what = rng.choice(["nan", "inf", "huge", "dtype", "dtype", "ndim", "zero-dim", "fortran"])
    x = x.copy()
    if what in ("nan", "inf", "huge") and x.size:
        v = {
            "nan": np.nan,
            "inf": rng.choice([np.inf, -np.inf]),
            "huge": rng.choice([3.4e38, -3.3e38, 1e30, 1e20]),
        }[what]
        x.reshape(-1)[rng.randrange(x.size)] = v
        case.note(f"{what} value")
        return x
    if what == "dtype":
        dt = rng.choice(
            [
                np.float64,
                np.float16,
                np.int32,
                np.uint8,
                np.complex64,
                np.bool_,
                np.int64,
                "<U3",
                "datetime64[s]",
            ]
        )
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
            body = (
                b"}("
                + b"".join(pickle.dumps(k * (2**61 - 1), 2)[2:-1] + b"K\x00" for k in range(1, n))
                + b"u"
            )
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


# odd JSON values for a field
JSON_BAD: list[Any] = [
    None,
    True,
    "1",
    [1],
    {},
    -1,
    0,
    1.5,
    10**30,
    float("nan"),
    float("inf"),
    "x\ny",
    [[1, 2]],
    10**400,
]
