"""NTU RGB+D preparation: the parser on hand-written files, the shared real samples
(all 268), the golden reference output, splits, bad-input policy, the CLI."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skelcon.cli import main
from skelcon.data import ntu
from skelcon.data.layouts import NTU25
from skelcon.data.ntu import (
    NtuTask,
    class_names,
    load_missing,
    parse_skeleton,
    prepare_ntu,
)
from skelcon.data.pipeline import run_prepare
from skelcon.data.prepared import PreparedWriter, load_prepared, read_meta
from skelcon.errors import DataFormatError, SkelconError

ZIP60 = "ntu/nturgbd_skeletons_s001_to_s017.zip"
ZIP120 = "ntu/nturgbd_skeletons_s018_to_s032.zip"
GOLDEN = "ntu/golden/ntu60_sample_reference_preparation.npz"
TRUNCATED = {"S005C002P013R002A056": 2086, "S012C001P008R002A030": 2819}

# The official NTU-60 / NTU-120 split rules, written out independently of the module's constants
XSUB60 = {1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38}
XSUB120 = XSUB60 | {
    int(v)
    for v in "45 46 47 49 50 52 53 54 55 56 57 58 59 70 74 78 80 81 82 83 84 85 86 89 91 92 93 94 95 97 98 100 103".split()
}


def _field(name: str, letter: str) -> int:
    i = name.index(letter)
    return int(name[i + 1 : i + 4])


def _expected_split(name: str, bench: str, dataset: str) -> str:
    if bench == "xsub":
        train = _field(name, "P") in (XSUB60 if dataset == "ntu60" else XSUB120)
    elif bench == "xview":
        train = _field(name, "C") in (2, 3)
    else:
        train = _field(name, "S") % 2 == 0
    return "train" if train else "test"


# ----------------------------------------------------------------------------- hand-written files


def _skeleton_text(frames: list[int], seed: int = 0) -> str:
    """A valid file; ``frames[t]`` bodies in frame t. Line numbers: 1 frame count;
    per frame a body-count line, then per body 1 info + 1 joint-count + 25 joint lines."""
    rng = np.random.default_rng(seed)
    lines = [str(len(frames))]
    for nb in frames:
        lines.append(str(nb))
        for b in range(nb):
            lines.append(f"7205759403793110{b} 0 1 1 1 1 0 0.02764709 0.05745083 2")
            lines.append("25")
            for _ in range(25):
                x, y, z = rng.normal(size=3) + [0, 0, 3]
                lines.append(
                    f"{x:.7f} {y:.7f} {z:.6f} 277.419 191.8218 1036.233 519.1677 0 0 0 0 2"
                )
    return "\n".join(lines) + "\n"


def _lines(text: str) -> list[str]:
    return text.split("\n")


def _join(lines: list[str]) -> bytes:
    return "\n".join(lines).encode()


def test_parse_valid_small_file_values_and_layout():
    text = _skeleton_text([1, 2, 0], seed=1)
    bodies, t = parse_skeleton(text.encode())
    assert t == 3 and bodies.shape == (3, 3, 25, 4)
    lines = _lines(text)
    # frame 2 (lines: 1 + 1+27 = 29 before it; count line 30), body 2 joint 4
    row = lines[29 + 1 + 27 + 2 + 3].split()
    np.testing.assert_array_equal(bodies[:, 1, 3, 1], [float(v) for v in row[:3]])
    assert not bodies[:, 2].any() and not bodies[..., 2:].any()


def test_parse_reads_first_four_bodies_only():
    bodies, _ = parse_skeleton(_skeleton_text([5]).encode())
    assert bodies.shape[-1] == 4 and bodies[..., 3].any()


def test_parse_accepts_crlf_and_nan_in_unused_fields():
    lines = _lines(_skeleton_text([1]))
    lines[5] = lines[5].replace("277.419 191.8218", "NaN NaN")
    ok, _ = parse_skeleton(_join(lines).replace(b"\n", b"\r\n"))
    assert np.isfinite(ok).all()


@pytest.mark.parametrize(
    ("edit", "line", "words"),
    [
        (lambda ls: ls.__setitem__(6, "abc" + ls[6][ls[6].index(" ") :]), 7, "non-numeric"),
        (lambda ls: ls.__setitem__(2, ls[2].replace("0.02764709", "zz")), 3, "non-numeric"),
        (lambda ls: ls.__setitem__(9, "1.2.3" + ls[9][ls[9].index(" ") :]), 10, "non-numeric"),
        (lambda ls: ls.__setitem__(0, "0"), 1, "zero frames"),
        (lambda ls: ls.__setitem__(39, "NaN" + ls[39][ls[39].index(" ") :]), 40, "non-finite"),
        (lambda ls: ls.__setitem__(39, ls[39].replace(" ", " inf ", 1)), 40, "12 joint fields"),
        (lambda ls: ls.__setitem__(29, "1.5"), 30, "not a count"),
        (lambda ls: ls.__setitem__(31, "24") or ls.pop(32), 32, "24 joints"),
        (lambda ls: ls.__setitem__(0, "3"), 58, "ends early"),
        (lambda ls: ls.insert(57, "1"), 58, "after the 2 declared frames"),
    ],
)
def test_parse_bad_input_reports_the_line(edit, line, words):
    lines = _lines(_skeleton_text([1, 1]))
    edit(lines)
    with pytest.raises(DataFormatError) as e:
        parse_skeleton(_join(lines), "bad.skeleton")
    assert e.value.line == line and e.value.path == "bad.skeleton"
    assert words in e.value.reason
    assert str(e.value).startswith(f"bad.skeleton:{line}: ")


def test_parse_truncated_mid_line_and_empty():
    data = _skeleton_text([1, 1]).encode()
    cut = data[: data.index(b"\n", 1000) - 20]  # inside a joint line
    with pytest.raises(DataFormatError) as e:
        parse_skeleton(cut)
    assert e.value.line == cut.count(b"\n") + 1 and "ends early" in e.value.reason
    for empty in (b"", b"  \n\n"):
        with pytest.raises(DataFormatError):
            parse_skeleton(empty)


def test_fast_decimals_match_float():
    words = [
        b"0.2181153",
        b"-0.8071845",
        b"3",
        b"-0",
        b"12.",
        b"-.5",
        b"007.250",
        b"123456789012345",
        b"1234567890123456",
        b"1e5",
        b"+2.5",
        b"-1.5E-3",
        b"nan",
        b"0.000000000000000000001",
    ]
    text = b" ".join(words)
    buf = np.frombuffer(text, np.uint8)
    starts = np.array(
        [text.index(w, sum(len(x) + 1 for x in words[:i])) for i, w in enumerate(words)]
    )
    lens = np.array([len(w) for w in words])
    vals, ok = ntu._fast_decimals(buf, starts, lens)
    for w, v, good in zip(words, vals, ok, strict=True):
        if good:
            assert v == float(w) and np.signbit(v) == np.signbit(float(w)), w
    assert ok[:8].all() and not ok[8:].any()


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 10**15 - 1), min_size=1, max_size=40), st.data())
def test_fast_decimals_property(ints, data):
    words = []
    for n in ints:
        s = str(n)
        p = data.draw(st.integers(0, len(s)))
        words.append((data.draw(st.sampled_from(["", "-"])) + s[:p] + "." + s[p:]).encode())
    text = b" ".join(words)
    lens = np.array([len(w) for w in words])
    starts = np.concatenate([[0], np.cumsum(lens + 1)[:-1]])
    vals, ok = ntu._fast_decimals(np.frombuffer(text, np.uint8), starts, lens)
    assert ok.all()
    assert vals.tolist() == [float(w) for w in words]


_SMALL = _skeleton_text([2, 1], seed=3).encode()


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(["truncate", "replace", "delete"]),
    pos=st.integers(0, 10**6),
    junk=st.sampled_from(
        ["", "x", "1e400", "nan", "-", ".", "3", "999999999999", "1.5", "\x00", "é"]
    ),
)
def test_parse_corruptions_only_raise_data_format_error(kind, pos, junk):
    data = _SMALL
    if kind == "truncate":
        data = data[: pos % len(data)]
    else:
        lines = data.split(b"\n")
        k = pos % len(lines)
        if kind == "delete":
            del lines[k]
        else:
            toks = lines[k].split(b" ")
            toks[(pos // 7) % len(toks)] = junk.encode()
            lines[k] = b" ".join(toks)
        data = b"\n".join(lines)
    try:
        bodies, t = parse_skeleton(data, "c.skeleton")
    except DataFormatError as e:
        assert e.path == "c.skeleton"
        assert e.line is None or 1 <= e.line <= data.count(b"\n") + 2
    else:
        assert bodies.shape == (3, t, 25, 4) and np.isfinite(bodies).all()


# ----------------------------------------------------------------------------- real samples


@pytest.fixture(scope="module")
def prepared120(shared_data, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ntu") / "ntu120"
    prepare_ntu("ntu120", [shared_data / ZIP60, shared_data / ZIP120], out, progress=False)
    return out


@pytest.fixture(scope="module")
def prepared60(shared_data, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ntu") / "ntu60"
    assert main(["prepare", "ntu60", "--raw", str(shared_data / ZIP60), "--out", str(out)]) == 0
    return out


def test_all_268_samples_parse_except_the_two_truncated(prepared120):
    meta = read_meta(prepared120)
    assert meta["counts"]["samples"] == 266 and meta["shape"] == [266, 3, 300, 25, 2]
    assert meta["num_classes"] == 120 and meta["classes"] == class_names(120)
    skipped = {s["name"]: s["reason"] for s in meta["skipped"]}
    assert set(skipped) == set(TRUNCATED)
    for name, line in TRUNCATED.items():
        assert f"{name}.skeleton:{line}: " in skipped[name] and "ends early" in skipped[name]
    assert meta["truncated"] == []


def test_ntu120_splits_and_labels_follow_the_names(prepared120):
    seen = {}
    for bench in ("xsub", "xsetup"):
        names_in = []
        for split in ("train", "test"):
            s = load_prepared(prepared120, bench, split)
            for name, label in zip(s.names, s.labels, strict=True):
                assert _expected_split(name, bench, "ntu120") == split, (bench, name)
                assert label == _field(name, "A") - 1
            names_in += list(s.names)
        assert sorted(names_in) == sorted(set(names_in)) and len(names_in) == 266
        seen[bench] = set(names_in)
    assert seen["xsub"] == seen["xsetup"]
    labels = load_prepared(prepared120, "xsub", "train").meta["counts"]["per_class"]
    assert sum(labels[:60]) == 26 and all(c == 4 for c in labels[60:])


def test_prepared_samples_are_centred_and_aligned(prepared120):
    s = load_prepared(prepared120, "xsetup", "train")
    t = load_prepared(prepared120, "xsetup", "test")
    x = np.concatenate([s.data[:], t.data[:]])  # (N, 3, 300, 25, 2)
    present = x[:, :, :, :, 0].sum(axis=(1, 3)) != 0  # (N, T) valid frames of person 1
    centre = np.moveaxis(x[:, :, :, 1, 0], 1, 2)[present]  # (K, 3)
    np.testing.assert_array_equal(centre, 0)
    sh = x[:, :, 0, 8, 0] - x[:, :, 0, 4, 0]  # (N, 3) left -> right shoulder, frame 0
    assert (sh[:, 0] > 0).all()
    np.testing.assert_allclose(sh[:, 1:], 0, atol=1e-5)
    assert present[:, 0].all()


def test_ntu60_matches_the_golden_reference(prepared60, shared_data):
    g = np.load(shared_data / GOLDEN)
    rows = {}
    for split in ("train", "test"):
        s = load_prepared(prepared60, "xview", split)
        for i, name in enumerate(s.names):
            rows[str(name)] = (s, i)
    assert sorted(rows) == sorted(map(str, g["names"]))
    err = 0.0
    for k, name in enumerate(g["names"]):
        s, i = rows[str(name)]
        assert s.num_frames[i] == g["num_frames"][k]
        err = max(err, float(np.abs(s.data[i] - g["data"][k]).max()))
    assert err < 1e-5


def test_ntu60_splits_and_classes(prepared60):
    meta = read_meta(prepared60)
    assert meta["dataset"] == "ntu60" and meta["num_classes"] == 60
    assert (
        meta["classes"][0] == "drink water"
        and meta["classes"][59] == "walking apart from each other"
    )
    assert set(meta["benchmarks"]) == {"xsub", "xview"}
    for bench in ("xsub", "xview"):
        total = 0
        for split in ("train", "test"):
            s = load_prepared(prepared60, bench, split)
            total += len(s)
            assert all(_expected_split(n, bench, "ntu60") == split for n in s.names)
        assert total == 26


def test_class_names_and_official_missing_lists():
    names = class_names()
    assert len(names) == 120 and len(set(names)) == 120
    assert names[119].startswith("finger-guessing")
    assert len(load_missing(None, "ntu60")) == 302
    assert len(load_missing(None, "ntu120")) == 535
    assert "S001C002P005R002A008" in load_missing(None, "ntu60")


def test_missing_list_override_skips_and_records(shared_data, tmp_path):
    lst = tmp_path / "missing.txt"
    lst.write_text("a header line\nS001C001P001R001A002\n")
    out = tmp_path / "p"
    rc = main(
        [
            "prepare",
            "ntu60",
            "--raw",
            str(shared_data / ZIP60),
            "--out",
            str(out),
            "--missing",
            str(lst),
        ]
    )
    assert rc == 0
    meta = read_meta(out)
    assert {"name": "S001C001P001R001A002", "reason": "in the missing-skeleton list"} in meta[
        "skipped"
    ]
    assert meta["counts"]["samples"] == 25
    assert "S001C001P001R001A002" not in np.load(out / "names.npy")


def test_strict_stops_at_the_truncated_file(shared_data, tmp_path, capsys):
    out = tmp_path / "p"
    rc = main(
        ["prepare", "ntu60", "--raw", str(shared_data / ZIP60), "--out", str(out), "--strict"]
    )
    assert rc == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if "error" in ln]
    assert len(err) == 1 and err[0].startswith("skelcon: error: ")
    assert "S005C002P013R002A056.skeleton:2086: file ends early in frame 44/59" in err[0]
    with pytest.raises(SkelconError):
        load_prepared(out, "xsub", "train")


def test_interrupted_prepare_is_never_loadable_and_rerun_finishes(
    shared_data, tmp_path, monkeypatch
):
    out = tmp_path / "p"
    real = ntu.prepare_sample
    calls = []

    def flaky(task):
        calls.append(task.name)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return real(task)

    monkeypatch.setattr(ntu, "prepare_sample", flaky)
    with pytest.raises(KeyboardInterrupt):
        prepare_ntu("ntu60", [shared_data / ZIP60], out, progress=False)
    assert not (tmp_path / ".p.partial").exists() and not out.exists()  # nothing left behind
    with pytest.raises(SkelconError):
        load_prepared(out, "xsub", "train")
    monkeypatch.setattr(ntu, "prepare_sample", real)
    prepare_ntu("ntu60", [shared_data / ZIP60], out, progress=False)
    assert len(load_prepared(out, "xsub", "train")) + len(load_prepared(out, "xsub", "test")) == 26
    assert not (tmp_path / ".p.partial").exists()


def test_two_workers_give_identical_output(shared_data, prepared60, tmp_path):
    out = tmp_path / "w2"
    prepare_ntu("ntu60", [shared_data / ZIP60], out, workers=2, progress=False)
    for f in ("data.npy", "labels.npy", "num_frames.npy", "names.npy"):
        np.testing.assert_array_equal(np.load(out / f), np.load(prepared60 / f))
    assert read_meta(out)["skipped"] == read_meta(prepared60)["skipped"]


def test_folder_input_and_truncation_to_max_frames(shared_data, prepared60, tmp_path):
    folder = tmp_path / "raw" / "nturgb+d_skeletons"
    folder.mkdir(parents=True)
    picks = ["S001C001P001R001A002", "S001C001P001R001A005", "S017C003P020R002A059"]
    with zipfile.ZipFile(shared_data / ZIP60) as zf:
        for n in picks:
            (folder / f"{n}.skeleton").write_bytes(zf.read(f"nturgb+d_skeletons/{n}.skeleton"))
    full = tmp_path / "full"
    prepare_ntu("ntu60", [tmp_path / "raw"], full, progress=False)
    ref_names = list(np.load(prepared60 / "names.npy"))
    ref = np.load(prepared60 / "data.npy", mmap_mode="r")
    got = np.load(full / "data.npy")
    for k, n in enumerate(picks):
        np.testing.assert_array_equal(got[k], ref[ref_names.index(n)])
    cut = tmp_path / "cut"
    prepare_ntu("ntu60", [tmp_path / "raw"], cut, max_frames=60, progress=False)
    meta = read_meta(cut)
    assert meta["shape"] == [3, 3, 60, 25, 2]
    # A002 has 158 frames, A005 54, A059 111
    assert meta["truncated"] == [
        {"name": "S001C001P001R001A002", "frames": 158},
        {"name": "S017C003P020R002A059", "frames": 111},
    ]
    assert np.load(cut / "num_frames.npy").tolist() == [60, 54, 60]


def test_cli_user_errors(tmp_path, capsys):
    assert (
        main(
            ["prepare", "ntu60", "--raw", str(tmp_path / "nope.zip"), "--out", str(tmp_path / "o")]
        )
        == 2
    )
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert (
        main(["prepare", "ntu120", "--raw", str(tmp_path / "empty"), "--out", str(tmp_path / "o")])
        == 2
    )
    assert "no *.skeleton" in capsys.readouterr().err


def test_pool_skips_or_stops_at_bad_input_without_hanging(tmp_path, capsys):
    good = tmp_path / "good.skeleton"
    good.write_text(_skeleton_text([1, 2, 1]))
    bad = tmp_path / "bad.skeleton"
    bad.write_text(_skeleton_text([1, 1])[:-400])
    # more tasks than the pool may run ahead (64), the bad one early
    tasks = [NtuTask(f"S001C001P001R{k:03d}A001", str(good), None, 20) for k in range(1, 201)]
    tasks[3] = NtuTask("S001C001P001R999A001", str(bad), None, 20)

    def writer(name):
        return PreparedWriter(
            tmp_path / name,
            dataset="t",
            layout="ntu25",
            classes=class_names(60),
            capacity=len(tasks),
            max_frames=20,
            num_persons=2,
        )

    w = writer("skip")
    report = run_prepare(tasks, ntu.prepare_sample, w, workers=2, chunksize=1, progress=False)
    assert len(report.indices) == 199 and [s[0] for s in report.skipped] == ["S001C001P001R999A001"]
    assert report.indices["S001C001P001R005A001"] == 3  # task order kept
    line = f"skipped {bad}:{_skeleton_text([1, 1])[:-400].count(chr(10)) + 1}: file ends early"
    assert line in capsys.readouterr().err
    with pytest.raises(DataFormatError) as e:
        run_prepare(
            tasks,
            ntu.prepare_sample,
            writer("strict"),
            workers=2,
            strict=True,
            chunksize=1,
            progress=False,
        )
    assert e.value.path == str(bad)


def test_parse_color_fields_nan_reads_as_missing():
    lines = _lines(_skeleton_text([1]))
    lines[5] = lines[5].replace("1036.233 519.1677", "NaN NaN")  # joint 2's colorX, colorY
    bodies, _ = parse_skeleton(_join(lines), fields=(0, 1, 2, 5, 6))
    assert bodies.shape == (5, 1, 25, 4)
    assert np.array_equal(bodies[3:, 0, 1, 0], [0.0, 0.0])  # NaN colour: a missing joint
    assert np.array_equal(bodies[3:, 0, 0, 0], [1036.233, 519.1677])
    assert np.isfinite(bodies[:3]).all()


def test_color2d_from_the_shared_samples(shared_data, tmp_path):
    out = tmp_path / "ntu2d"
    rc = main(
        [
            "prepare",
            "ntu60",
            "--raw",
            str(shared_data / ZIP60),
            "--out",
            str(out),
            "--coords",
            "color2d",
        ]
    )
    assert rc == 0
    meta = read_meta(out)
    assert meta["dataset"] == "ntu60-color2d" and meta["channels"] == ["x", "y"]
    assert meta["shape"] == [26, 2, 300, 25, 2] and meta["counts"]["skipped"] == 2
    s = load_prepared(out, "xview", "train")
    x, _, nf, _ = s[0]
    assert np.isfinite(x).all() and not x[:, nf:].any()
    # centred on spine_mid, scaled by the spine length: a body about 2-6 spines tall
    assert np.allclose(x[:, :nf, NTU25.center, 0], 0, atol=1e-5)
    height = x[1, :nf, :, 0].max(axis=1) - x[1, :nf, :, 0].min(axis=1)
    assert 2.0 < float(np.median(height)) < 6.0
    # the head is above the spine base in the image (y points down)
    assert np.median(x[1, :nf, 3, 0]) < np.median(x[1, :nf, 0, 0])
