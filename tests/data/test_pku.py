"""PKU-MMD Phase I / II: parsers and bad-input policy on hand-written files, the CLI,
and the shared real Phase I subset (218 sequences) and Phase II file."""

from __future__ import annotations

import lzma
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from skelcon.cli import main
from skelcon.data.layouts import NTU25
from skelcon.data.normalize import normalize
from skelcon.data.pku import (
    class_names,
    parse_split_list,
    prepare_pku,
    read_skeleton,
)
from skelcon.data.prepared import load_prepared, read_meta
from skelcon.errors import DataFormatError, SkelconError

INTERACTIONS = [12, 14, 16, 18, 21, 24, 26, 27]  # shared-data README: the 8 two-person classes


# ----------------------------------------------------------------------------- hand-made files


def _frames(t: int, seed: int = 0, persons: int = 2) -> np.ndarray:
    """(t, 150) plausible frames (person 2 zero when persons == 1), 6 decimals."""
    rng = np.random.default_rng(seed)
    x = rng.normal(scale=0.3, size=(t, 2, 25, 3)) + [0.0, 0.0, 2.5]
    if persons == 1:
        x[:, 1] = 0
    return np.round(x.reshape(t, 150), 6)


def _write_seq(path: Path, frames: np.ndarray, xz: bool = False) -> Path:
    text = "".join(" ".join(f"{v:.6f}" for v in row) + " \n" for row in frames)
    if xz:
        path = path.with_name(path.name + ".xz")
        path.write_bytes(lzma.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def _clip(frames: np.ndarray, start: int, end: int) -> np.ndarray:
    """Frames start..end (0-based, inclusive) as (3, T, 25, 2), by hand."""
    seg = frames[start : end + 1].reshape(-1, 2, 25, 3)
    return np.ascontiguousarray(seg.transpose(3, 0, 2, 1)).astype(np.float32)


def _splits(d: Path, train: list[str], test: list[str]) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    text = "Training videos: \n" + ", ".join(train) + ", \nValidataion videos: \n" + ", ".join(test)
    (d / "cross-subject.txt").write_text(text + "\n")
    return d


@pytest.fixture
def tiny(tmp_path: Path) -> dict:
    """Three Part I sequences (one xz-compressed) and a label file without a skeleton."""
    raw, lab = tmp_path / "raw", tmp_path / "labels"
    raw.mkdir()
    lab.mkdir()
    seqs = {"0002-L": _frames(40, 1), "0002-M": _frames(30, 2, persons=1), "0291-R": _frames(25, 3)}
    _write_seq(raw / "0002-L.txt", seqs["0002-L"])
    _write_seq(raw / "0002-M.txt", seqs["0002-M"], xz=True)
    _write_seq(raw / "0291-R.txt", seqs["0291-R"])
    labels = {
        "0002-L": ["3,0,9,1", "12,10,39,2", "3,5,5,0"],
        "0002-M": ["12,2,6,1", "7,0,29,2"],
        "0291-R": ["3,4,20,2"],
        "0003-L": ["1,0,10,1"],  # no skeleton file
    }
    for stem, rows in labels.items():
        (lab / f"{stem}.txt").write_text("\n".join(rows) + "\n")
    splits = _splits(tmp_path / "split", ["0002-L", "0002-M", "0003-L"], ["0291-R"])
    return {"raw": raw, "labels": lab, "splits": splits, "seqs": seqs, "out": tmp_path / "out"}


def _cli(t: dict, *extra: str, dataset: str = "pku-mmd1") -> int:
    args = ["prepare", dataset, "--raw", str(t["raw"]), "--labels", str(t["labels"])]
    return main([*args, "--splits", str(t["splits"]), "--out", str(t["out"]), *extra])


def test_clips_cut_start_to_end_inclusive_and_normalised(tiny, capsys):
    assert _cli(tiny) == 0
    meta = read_meta(tiny["out"])
    assert meta["dataset"] == "pku-mmd1" and meta["layout"] == "ntu25"
    assert meta["shape"] == [6, 3, 300, 25, 2]
    assert meta["missing_sequences"] == ["0003-L"]
    assert "1 of 4 labelled sequences have no skeleton" in capsys.readouterr().err
    tr = load_prepared(tiny["out"], "xsub", "train")
    te = load_prepared(tiny["out"], "xsub", "test")
    assert list(te.names) == ["0291-R_001"]
    assert sorted(tr.names) == [
        "0002-L_001",
        "0002-L_002",
        "0002-L_003",
        "0002-M_001",
        "0002-M_002",
    ]
    by_name = {n: i for i, n in enumerate(tr.names)}
    # label line "12,10,39,2" of 0002-L: frames 10..39 inclusive -> 30 frames, class 12 -> 11
    i = by_name["0002-L_002"]
    assert tr.labels[i] == 11 and tr.num_frames[i] == 30
    want = normalize(_clip(tiny["seqs"]["0002-L"], 10, 39), 300, NTU25)
    np.testing.assert_allclose(tr.data[i], want, atol=1e-6)
    # a one-frame instance (start == end) from the same sequence
    i = by_name["0002-L_003"]
    assert tr.num_frames[i] == 1 and tr.labels[i] == 2
    # xz-compressed single-person sequence: person 2 stays zero, joint 1 of person 1 at 0
    i = by_name["0002-M_002"]
    assert tr.num_frames[i] == 30
    assert not tr.data[i][..., 1].any()
    assert np.abs(tr.data[i][:, :30, 1, 0]).max() == 0
    assert np.abs(tr.data[i][:, :30, 0, 0]).max() > 0.01


def test_long_clips_are_uniformly_subsampled(tiny):
    assert _cli(tiny, "--max-frames", "10") == 0
    meta = read_meta(tiny["out"])
    assert meta["max_frames"] == 10
    # clips longer than 10 frames: 3,0,9 has 10 (kept); 12,10,39 (30); 7,0,29 (30); 3,4,20 (17)
    assert meta["resampled"] == 3
    tr = load_prepared(tiny["out"], "xsub", "test")  # 0291-R_001: frames 4..20, 17 frames
    assert tr.num_frames[0] == 10
    # round(linspace(0, 16, 10)) = 0 2 4 5 7 9 11 12 14 16, by hand
    idx = np.array([0, 2, 4, 5, 7, 9, 11, 12, 14, 16]) + 4
    seq = tiny["seqs"]["0291-R"]
    want = normalize(np.stack([_clip(seq, j, j)[:, 0] for j in idx], axis=1), 10, NTU25)
    np.testing.assert_allclose(tr.data[0], want, atol=1e-6)
    full = load_prepared(tiny["out"], "xsub", "train")
    assert int(full.num_frames[list(full.names).index("0002-L_001")]) == 10


def test_min_instances_keeps_and_relabels_classes(tiny):
    # instances: class 3 x3, class 12 x2, class 7 x1
    assert _cli(tiny, "--min-instances", "2") == 0
    meta = read_meta(tiny["out"])
    names = class_names("pku-mmd1")
    assert meta["classes"] == [names[2], names[11]]
    assert meta["original_labels"] == [3, 12]
    assert meta["min_instances"] == 2 and meta["dropped_by_min_instances"] == 1
    assert meta["missing_sequences"] == ["0003-L"]
    tr = load_prepared(tiny["out"], "xsub", "train")
    te = load_prepared(tiny["out"], "xsub", "test")
    got = dict(zip(tr.names, tr.labels, strict=True)) | dict(zip(te.names, te.labels, strict=True))
    assert got == {
        "0002-L_001": 0,
        "0002-L_002": 1,
        "0002-L_003": 0,
        "0002-M_001": 1,
        "0291-R_001": 0,
    }
    assert not any(p.name.endswith(".stage") for p in tiny["out"].parent.iterdir())
    assert _cli(tiny, "--min-instances", "4") == 2


def _bad_cases(t: dict) -> list[tuple[str, str, int | None, str]]:
    """Write one bad input per case; returns (case, file, line, reason) per case."""
    raw, lab = t["raw"], t["labels"]
    f = _frames(12, 9)
    cases = []

    def seq(stem: str, lines: list[str], xz: bool = False) -> Path:
        path = raw / f"{stem}.txt"
        text = "\n".join(lines) + "\n"
        if xz:
            path = raw / f"{stem}.txt.xz"
            path.write_bytes(lzma.compress(text.encode()))
        else:
            path.write_text(text)
        (lab / f"{stem}.txt").write_text("1,0,3,1\n")
        return path

    good = [" ".join(f"{v:.6f}" for v in row) for row in f]
    lines = list(good)
    lines[4] = " ".join(lines[4].split()[:149])
    p = seq("0010-L", lines)
    cases.append(("short", str(p), 5, "expected 150 values in a frame line, found 149"))
    lines = list(good)
    toks = lines[2].split()
    lines[2] = " ".join([*toks[:7], "abc", *toks[8:]])
    p = seq("0010-M", lines)
    cases.append(("text", str(p), 3, "non-numeric value 'abc'"))
    lines = list(good)
    lines[6] = "nan " + " ".join(lines[6].split()[1:])
    p = seq("0010-R", lines, xz=True)
    cases.append(("nan", str(p), 7, "non-finite value 'nan'"))
    lines = list(good)
    lines[10] = " ".join(lines[10].split()[:-1] + ["inf"])
    p = seq("0011-L", lines)
    cases.append(("inf", str(p), 11, "non-finite value 'inf'"))
    p = seq("0011-M", [])
    cases.append(("empty", str(p), None, "sequence has no frames"))
    lines = list(good)
    lines.insert(3, "")
    p = seq("0011-R", lines)
    cases.append(("blank", str(p), 4, "expected 150 values in a frame line, found 0"))
    # label-line problems in one sequence of 12 frames (lines 1, 3 and 6 are fine)
    _write_seq(raw / "0012-L.txt", f)
    lp = lab / "0012-L.txt"
    lp.write_text("4,0,3,1\n52,0,3,1\n5,0,11,2\n\n4,5,13,1\n2,7,6,1\n9,1,2,1,5\n8,a,2,1\n0,1,2,1\n")
    cases += [
        ("class", str(lp), 2, "class 52 out of range 1..51"),
        (
            "end",
            str(lp),
            5,
            f"end frame 13 beyond the 12 frames of {raw / '0012-L.txt'} (expected at most 12)",
        ),
        ("order", str(lp), 6, "start frame 7 > end frame 6"),
        (
            "fields",
            str(lp),
            7,
            "expected 'label,start,end[,confidence]', found 5 fields in '9,1,2,1,5'",
        ),
        ("int", str(lp), 8, "start frame 'a' is not an integer"),
        ("zero", str(lp), 9, "class 0 out of range 1..51"),
    ]
    return cases


def _where(path: str, line: int | None) -> str:
    return path if line is None else f"{path}:{line}"


def test_bad_input_is_skipped_with_file_and_line(tmp_path, capsys):
    t = {"raw": tmp_path / "raw", "labels": tmp_path / "lab", "out": tmp_path / "out"}
    t["raw"].mkdir()
    t["labels"].mkdir()
    cases = _bad_cases(t)
    t["splits"] = _splits(tmp_path / "sp", ["0010-L", "0012-L"], ["0011-L"])
    assert _cli(t) == 0
    err = capsys.readouterr().err
    meta = read_meta(t["out"])
    skipped = {s["reason"] for s in meta["skipped"]}
    for case, path, line, reason in cases:
        msg = f"{_where(path, line)}: {reason}"
        assert f"skipped {msg}\n" in err, case
        assert msg in skipped, case
    assert meta["counts"]["skipped"] == len(cases)
    assert sorted(meta["bad_sequences"]) == [
        "0010-L",
        "0010-M",
        "0010-R",
        "0011-L",
        "0011-M",
        "0011-R",
    ]
    assert meta["bad_label_lines"] == 6
    # only the good label lines 1 and 3 of 0012-L became clips
    tr = load_prepared(t["out"], "xsub", "train")
    assert list(tr.names) == ["0012-L_001", "0012-L_003"]
    assert list(tr.labels) == [3, 4] and list(tr.num_frames) == [4, 12]
    assert len(load_prepared(t["out"], "xsub", "test")) == 0
    assert meta["sequences_not_in_split"]["xsub"] == ["0010-M", "0010-R", "0011-M", "0011-R"]


@pytest.mark.parametrize(
    "case",
    ["short", "text", "nan", "inf", "empty", "blank", "class", "end", "order", "fields", "int"],
)
def test_strict_stops_with_exit_2_and_one_line(tmp_path, capsys, case):
    t = {"raw": tmp_path / "raw", "labels": tmp_path / "lab", "out": tmp_path / "out"}
    t["raw"].mkdir()
    t["labels"].mkdir()
    cases = {c[0]: c for c in _bad_cases(t)}
    _, path, line, reason = cases[case]
    stem = Path(path).name.split(".")[0]
    for p in [*t["raw"].iterdir(), *t["labels"].iterdir()]:  # keep only this case's sequence
        if p.name.split(".")[0] != stem:
            p.unlink()
    if path.startswith(str(t["labels"])):  # blank the other bad label lines, keep numbering
        rows = Path(path).read_text().splitlines()
        keep = {1, 3, line}
        Path(path).write_text("\n".join(r if k in keep else "" for k, r in enumerate(rows, 1)))
    t["splits"] = _splits(tmp_path / "sp", [stem], [])
    assert _cli(t, "--strict") == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == f"skelcon: error: {_where(path, line)}: {reason}"
    assert not t["out"].exists()


def test_read_skeleton_parses_text_and_xz_identically(tmp_path):
    f = _frames(7, 4)
    a = read_skeleton(_write_seq(tmp_path / "a.txt", f))
    b = read_skeleton(_write_seq(tmp_path / "b.txt", f, xz=True))
    assert a.shape == (7, 150) and a.dtype == np.float32
    np.testing.assert_array_equal(a, f.astype(np.float32))
    np.testing.assert_array_equal(a, b)
    (tmp_path / "c.txt").write_bytes(
        b"\r\n".join(" ".join(map(str, r)).encode() for r in f) + b"\r\n"
    )
    np.testing.assert_array_equal(read_skeleton(tmp_path / "c.txt"), a)
    with pytest.raises(DataFormatError, match="corrupt xz"):
        (tmp_path / "d.txt.xz").write_bytes(b"not xz")
        read_skeleton(tmp_path / "d.txt.xz")


def test_split_list_format():
    text = "Training videos: \n0002-L, 0002-M, \n0003-R\nValidataion videos: \n0291-L, 0291-M,\n"
    assert parse_split_list(text) == {
        "train": ["0002-L", "0002-M", "0003-R"],
        "test": ["0291-L", "0291-M"],
    }
    with pytest.raises(DataFormatError, match="both parts"):
        parse_split_list("Training videos:\n0002-L\nValidation videos:\n0002-L\n")


def test_part2_requires_split_list(tmp_path, capsys):
    raw, lab = tmp_path / "raw", tmp_path / "lab"
    raw.mkdir()
    lab.mkdir()
    _write_seq(raw / "A01N01-L.txt", _frames(20, 5))
    _write_seq(raw / "A02N05-M.txt", _frames(20, 6))
    (lab / "A01N01-L.txt").write_text("41,0,19,1\n42,0,5,1\n")
    (lab / "A02N05-M.txt").write_text("1,3,8,1\n")
    t = {"raw": raw, "labels": lab, "out": tmp_path / "out"}
    args = ["prepare", "pku-mmd2", "--raw", str(raw), "--labels", str(lab), "--out", str(t["out"])]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--splits" in err[0] and "Part II" in err[0]
    t["splits"] = _splits(tmp_path / "sp", ["A01N01-L"], ["A02N05-M"])
    assert _cli(t, dataset="pku-mmd2") == 0
    meta = read_meta(t["out"])
    assert meta["classes"] == [f"A{i:02d}" for i in range(1, 42)]
    assert list(meta["benchmarks"]) == ["xsub"]
    assert f"{lab / 'A01N01-L.txt'}:2: class 42 out of range 1..41" in meta["skipped"][0]["reason"]
    tr = load_prepared(t["out"], "xsub", "train")
    assert list(tr.labels) == [40] and list(tr.num_frames) == [20]


def test_user_errors(tmp_path, capsys):
    (tmp_path / "lab").mkdir()
    assert (
        main(
            [
                "prepare",
                "pku-mmd1",
                "--raw",
                str(tmp_path / "nope"),
                "--labels",
                str(tmp_path / "lab"),
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 2
    )
    assert "is not a directory" in capsys.readouterr().err
    with pytest.raises(SkelconError, match="no pku-mmd1 label files"):
        prepare_pku("pku-mmd1", tmp_path, tmp_path / "lab", tmp_path / "o")
    (tmp_path / "lab" / "0002-L.txt").write_text("1,0,1,1\n")
    with pytest.raises(SkelconError, match="holds none of the 1 labelled"):
        prepare_pku("pku-mmd1", tmp_path, tmp_path / "lab", tmp_path / "o")
    with pytest.raises(SkelconError, match="neither cross-subject.txt nor cross-view.txt"):
        prepare_pku("pku-mmd1", tmp_path, tmp_path / "lab", tmp_path / "o", splits=tmp_path)


def test_class_names_match_the_interaction_ids():
    names = class_names("pku-mmd1")
    assert len(names) == 51 and len(set(names)) == 51
    inter = [names[i - 1] for i in INTERACTIONS]
    assert all("other person" in n or n == "handshaking" for n in inter)
    assert sum("other person" in n for n in names) == 7


# ----------------------------------------------------------------------------- shared real data


def _official(path: Path) -> dict[str, set[str]]:
    """The official list, read with a regex (independent of the module's parser)."""
    text = path.read_text()
    head, tail = re.split(r"Valid\w* videos:", text)
    names = re.compile(r"\d{4}-[LMR]")
    return {"train": set(names.findall(head)), "test": set(names.findall(tail))}


def _count_lines(path: Path) -> int:
    return lzma.decompress(path.read_bytes()).rstrip().count(b"\n") + 1


def _expected_clips(dirs: dict[str, Path]) -> dict[str, list[tuple[int, int, int]]]:
    """Per present sequence, its valid label rows (label, start, end), by hand."""
    files = sorted(dirs["raw"].glob("*.txt.xz"))
    with ThreadPoolExecutor(2) as pool:  # lzma releases the GIL
        lengths = list(pool.map(_count_lines, files))
    out = {}
    for f, frames in zip(files, lengths, strict=True):
        stem = f.name[: -len(".txt.xz")]
        rows = []
        for line in (dirs["labels"] / f"{stem}.txt").read_text().splitlines():
            if line.strip():
                lab, s, e, _ = (int(v) for v in line.split(","))
                if 1 <= lab <= 51 and 0 <= s <= e < frames:
                    rows.append((lab, s, e))
        out[stem] = rows
    return out


@pytest.fixture(scope="module")
def expected(pku1_dirs) -> dict[str, list[tuple[int, int, int]]]:
    return _expected_clips(pku1_dirs)


def _kept(expected: dict) -> dict[str, list[tuple[int, int, int, int]]]:
    """Per sequence, ``(label-file line, label, start, end)`` of its interaction clips:
    what ``--min-instances 50`` keeps of the shared subset."""
    return {
        s: [(j + 1, *r) for j, r in enumerate(rows) if r[0] in INTERACTIONS]
        for s, rows in expected.items()
    }


def test_shared_clip_count_and_missing_sequences(pku1_prepared, pku1_dirs, expected):
    meta = read_meta(pku1_prepared)
    assert len(expected) == 218
    n = sum(len(v) for v in expected.values())
    assert n == 1772  # the README's count: every instance of the 218 sequences is valid
    kept = sum(len(v) for v in _kept(expected).values())
    assert meta["counts"]["samples"] == kept and meta["shape"] == [kept, 3, 300, 25, 2]
    assert meta["dropped_by_min_instances"] == n - kept
    labelled = {p.stem for p in pku1_dirs["labels"].glob("*.txt")}
    assert meta["missing_sequences"] == sorted(labelled - set(expected))
    assert len(meta["missing_sequences"]) == 1076 - 218
    assert meta["skipped"] == [] and meta["sequences"] == 218
    counts = np.bincount([lab for v in expected.values() for lab, _, _ in v], minlength=52)
    assert meta["counts"]["per_class"] == [int(counts[c]) for c in INTERACTIONS]


@pytest.mark.parametrize(
    ("bench", "fname"), [("xsub", "cross-subject.txt"), ("xview", "cross-view.txt")]
)
def test_shared_splits_follow_the_official_lists(pku1_prepared, pku1_dirs, expected, bench, fname):
    official = _official(pku1_dirs["splits"] / fname)
    kept = _kept(expected)
    for split in ("train", "test"):
        p = load_prepared(pku1_prepared, bench, split)
        stems = {n.rsplit("_", 1)[0] for n in p.names}
        want = {s for s in set(expected) & official[split] if kept[s]}
        assert stems == want
        assert len(p) == sum(len(kept[s]) for s in want)
    if bench == "xsub":
        assert len(set(expected) & official["train"]) == 193
        assert len(set(expected) & official["test"]) == 25


def test_shared_clip_content_and_centring(pku1_prepared, pku1_dirs, expected):
    p = load_prepared(pku1_prepared, "xsub", "train")
    nf = p.num_frames
    for s in range(0, len(p), 256):
        x = p.data[s : s + 256]
        valid = np.arange(300)[None, :] < nf[s : s + 256, None]  # (n, T)
        centre = np.abs(x[:, :, :, 1, 0]).max(axis=1)  # (n, T)
        assert centre[valid].max() == 0
        base = np.abs(x[:, :, :, 0, 0]).sum(axis=1)
        assert (base[valid] > 0).mean() > 0.95  # real data, not zeros (a few empty frames)
    # one clip against the raw file cut by hand (0-based start..end inclusive)
    kept = _kept(expected)
    stem = sorted(s for s in kept if kept[s] and f"{s}_{kept[s][0][0]:03d}" in set(p.names))[0]
    line, lab, s0, e0 = kept[stem][0]
    i = list(p.names).index(f"{stem}_{line:03d}")
    with lzma.open(pku1_dirs["raw"] / f"{stem}.txt.xz", "rt") as fh:
        rows = [ln for ln in fh if ln.strip()][s0 : e0 + 1]
    frames = np.array([[float(v) for v in r.split()] for r in rows])
    assert p.labels[i] == INTERACTIONS.index(lab) and p.num_frames[i] == e0 - s0 + 1
    np.testing.assert_allclose(
        p.data[i], normalize(_clip(frames, 0, e0 - s0), 300, NTU25), atol=1e-5
    )


def test_shared_min_instances_50_keeps_the_interaction_classes(pku1_prepared, expected):
    counts = np.bincount([lab for v in expected.values() for lab, _, _ in v], minlength=52)
    frequent = [c for c in range(1, 52) if counts[c] >= 50]
    assert frequent == INTERACTIONS
    meta = read_meta(pku1_prepared)
    assert meta["original_labels"] == INTERACTIONS and meta["min_instances"] == 50
    names = class_names("pku-mmd1")
    assert meta["classes"] == [names[c - 1] for c in INTERACTIONS]
    full = load_prepared(pku1_prepared, "xsub", "train")
    kept = _kept(expected)
    want = sorted(f"{s}_{line:03d}" for s, rows in kept.items() for line, *_ in rows)
    have = sorted([*full.names, *load_prepared(pku1_prepared, "xsub", "test").names])
    assert set(have) <= set(want) and len(have) == len(set(have))


def test_shared_part2_file_parses(shared_data):
    path = shared_data / "pku_mmd" / "v2" / "A10N08-L.txt"
    if not path.is_file():
        pytest.skip("PKU-MMD Phase II sample not in the shared data")
    x = read_skeleton(path)
    assert x.shape == (1040, 150) and x.dtype == np.float32
    assert np.isfinite(x).all() and np.abs(x[:, :75]).sum(axis=1).min() > 0
    first = path.read_text().splitlines()[0].split()
    np.testing.assert_array_equal(x[0], np.array(first, dtype=np.float32))


def test_sparse_classes_are_named_with_the_flag_that_drops_them(tiny, capsys):
    """`prepare pku-mmd1` names its empty and tiny classes (meta.json and a note) and the
    flag that drops them; with --min-instances the note is about what is left."""
    assert _cli(tiny) == 0
    out = capsys.readouterr().out
    cov = read_meta(tiny["out"])["class_coverage"]
    assert len(cov["empty"]) == 48 and len(cov["tiny"]) == 3  # classes 3, 7, 12 have clips
    assert "pku-mmd1: note: of 51 classes, 48 classes have no clip" in out
    assert "--min-instances 50" in out
    assert _cli(tiny, "--min-instances", "2", "--overwrite") == 0
    out = capsys.readouterr().out
    assert "--min-instances 50" not in out
    assert read_meta(tiny["out"])["class_coverage"]["empty"] == []
