"""``prepare folder`` on files as pose estimators and spreadsheets write them):
OpenPose ``--write_json`` folders, every encoding of a missing joint, odd folder
trees, labels CSVs in any locale, transposed arrays; the handed cases s3/01, 05, 07, 08."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from skelcon.cli import main
from skelcon.data.clips import ClipNorm, mark_missing
from skelcon.data.folder import prepare_folder, read_clip, read_clip_info, read_folder
from skelcon.data.layouts import get_layout
from skelcon.data.normalize import center
from skelcon.data.normalize2d import normalize_2d
from skelcon.data.openpose import track_people
from skelcon.data.prepared import read_meta
from skelcon.errors import DataFormatError, SkelconError


def _build(shared_cases: Path, case: str, tmp_path: Path) -> Path:
    """Copy an s3 case's builder into ``tmp_path`` and build its inputs there."""
    src = shared_cases / "s3" / case
    dst = tmp_path / case
    dst.mkdir()
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    if (src / "make.py").exists():
        shutil.copy(src / "make.py", dst)
        subprocess.run([sys.executable, "make.py"], cwd=dst, check=True, env=env)
    else:
        shutil.copy(src / "make.sh", dst)
        subprocess.run(["sh", "make.sh"], cwd=dst, check=True, env=env)
    return dst


def _arrays(out: Path) -> tuple[dict, np.ndarray, list[str]]:
    return (read_meta(out), np.load(out / "data.npy"), np.load(out / "names.npy").tolist())


# --------------------------------------------------------------------------- OpenPose


def test_case_01_openpose_per_frame_json_is_one_clip_per_video(shared_cases, tmp_path):
    d = _build(shared_cases, "01-openpose-per-frame-json", tmp_path)
    out = tmp_path / "out"
    rc = main(
        [
            "prepare",
            "folder",
            "--raw",
            str(d / "raw"),
            "--layout",
            "openpose25",
            "--normalize",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    meta, x, names = _arrays(out)
    assert sorted(names) == ["clap/clap0", "clap/clap1", "wave/wave0", "wave/wave1"]
    assert meta["channels"] == ["x", "y", "score"] and meta["counts"]["skipped"] == 0
    assert np.load(out / "num_frames.npy").tolist() == [12] * 4
    # frames 4 and 9 have nobody; joints 15-18 are written 0,0,0 in the other 10 frames
    assert not x[:, :, [4, 9]].any() and not x[:, :, :, 15:19].any()
    assert meta["missing_joints"]["zero"] == 4 * 10 * 4 and meta["missing_joints"]["nan"] == 0
    # the score channel is the file's confidence of that frame
    i = names.index("wave/wave1")
    doc = json.loads((d / "raw/wave/wave1_000000000003_keypoints.json").read_text())
    kp = np.asarray(doc["people"][0]["pose_keypoints_2d"]).reshape(25, 3)
    np.testing.assert_allclose(x[i, 2, 3, :, 0], np.where(kp[:, 0] != 0, kp[:, 2], 0), rtol=1e-6)


def _person(rng, cx, cy, v=18, score=0.9):
    kp = np.c_[rng.normal(cx, 20, v), rng.normal(cy, 40, v), np.full(v, score)]
    return {"person_id": [-1], "pose_keypoints_2d": kp.round(2).ravel().tolist()}


def test_openpose_people_tracked_across_frames_and_the_best_kept(tmp_path, capsys):
    rng = np.random.default_rng(0)
    vid = tmp_path / "raw" / "jump" / "video 1"
    vid.mkdir(parents=True)
    for t in range(10):
        people = [
            _person(rng, 300 + 5 * t, 400),
            _person(rng, 1200 - 5 * t, 420, score=0.8),
            _person(rng, 700, 100, score=0.2),
        ]
        if t % 2:
            people = people[::-1]  # OpenPose lists people in no fixed order
        if t == 6:
            people = people[1:]  # somebody not detected
        (vid / f"video 1_{t:012d}_keypoints.json").write_text(json.dumps({"people": people}))
    (vid / "video 1.avi").write_bytes(b"\0")  # the video beside its frames
    out = tmp_path / "out"
    prepare_folder(tmp_path / "raw", out, layout="openpose18", progress=False)
    meta, x, names = _arrays(out)
    assert names == ["jump/video 1"] and meta["channels"] == ["x", "y", "score"]
    left = x[0, 0, :10, :, 0].mean(-1)  # person 1: the most confident, on the left
    right = x[0, 0, :10, :, 1].mean(-1)
    present = x[0, 0, :10, :, 0].any(-1)
    assert (left[present] < 500).all() and (right > 900).all()
    assert present.sum() >= 9 and meta["openpose"]["tracks_dropped"] == 1
    assert meta["unused_files"] == [
        {"path": "jump/video 1/video 1.avi", "reason": "not a .npy/.csv/.json clip"}
    ]
    assert "not read" in capsys.readouterr().err


def test_openpose_single_file_and_wrong_model(tmp_path):
    rng = np.random.default_rng(1)
    frames = [{"people": [_person(rng, 100 + t, 200, v=25)]} for t in range(5)] + [{"people": []}]
    f = tmp_path / "clip.json"
    f.write_text(json.dumps(frames))
    kp, info = read_clip_info(f, 25)
    assert kp.shape == (1, 6, 25, 3) and info["channels"] == ["x", "y", "score"]
    assert not kp[0, 5].any() and info["tracks"] == 1
    with pytest.raises(
        DataFormatError,
        match=r"clip.json: frame 0: people\[0\]\."
        r"pose_keypoints_2d holds 25 joints \(BODY_25, --layout openpose25\); "
        "the layout has 18",
    ):
        read_clip_info(f, 18)


def test_track_people_matches_nearest_and_starts_new_tracks():
    a = np.array([[[10.0, 10, 1], [20, 30, 1]]])  # one person, 2 joints
    b = a + [[[1000, 0, 0]]]
    frames = [np.concatenate([a, b]), np.concatenate([b + 2, a + 2]), a[:0], np.concatenate([a])]
    kp, info = track_people(frames)
    assert kp.shape == (2, 4, 2, 3) and info["tracks"] == 2
    np.testing.assert_allclose(kp[0, :, 0, 0], [10, 12, 0, 10])
    np.testing.assert_allclose(kp[1, :, 0, 0], [1010, 1012, 0, 0])


# --------------------------------------------------------------------------- missing joints


def test_every_missing_joint_encoding_is_zero_and_counted():
    kp = np.full((1, 2, 5, 3), 50.0, dtype=np.float32)
    kp[0, 0, 0, :2] = np.nan  # NaN
    kp[0, 0, 1] = [0, 0, 0.7]  # (0, 0) with a score
    kp[0, 0, 2, :2] = -1  # sentinel
    kp[0, 0, 3, 2] = 0  # zero score
    kp[0, 1] = 0  # person absent in frame 1: not counted
    out, counts = mark_missing(kp, ["x", "y", "score"])
    assert counts == {"nan": 1, "zero": 1, "score0": 1, "sentinel": 1}
    assert not out[0, 0, :4].any() and (out[0, 0, 4] == 50).all() and np.isfinite(out).all()
    _, counts = mark_missing(kp[..., :2], ["x", "y"])  # no score channel: a zero score unseen
    assert counts["score0"] == 0 and counts["nan"] == 1


def test_case_05_nan_joints_read_as_missing_never_as_centre(shared_cases, tmp_path):
    d = _build(shared_cases, "05-nan-for-missing-joints", tmp_path)
    expected = sum(int(np.isnan(np.load(f)).any(-1).sum()) for f in (d / "raw").glob("*/*.npy"))
    out = tmp_path / "out"
    assert (
        main(
            [
                "prepare",
                "folder",
                "--raw",
                str(d / "raw"),
                "--layout",
                "coco17",
                "--channels",
                "x,y,score",
                "--normalize",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    meta, x, _ = _arrays(out)
    assert meta["counts"]["samples"] == 6 and meta["counts"]["skipped"] == 0
    assert meta["missing_joints"]["nan"] == expected >= 6
    assert np.isfinite(x).all() and not x[:, :, 7, 3, 0].any()  # frame 7 joint 3: missing


def test_missing_centre_joint_is_not_the_origin():
    lay = get_layout("coco17")
    rng = np.random.default_rng(0)
    x = np.zeros((3, 4, 17, 1), np.float32)
    x[:2] = rng.uniform(500, 600, (2, 4, 17, 1))
    x[2] = 0.9
    x[:, 1, lay.center] = 0  # missing centre in frame 1 (2D)
    y = normalize_2d(x, lay, ["x", "y", "score"])
    assert abs(y[:2, 1].mean()) < 0.5 and not y[:, 1, lay.center].any()
    z = np.zeros((3, 2, 25, 1), np.float32)
    z[:, :, :, 0] = rng.uniform(2, 3, (3, 2, 25))
    ntu = get_layout("ntu25")
    z[:, 1, ntu.center] = 0  # 3D: NTU's centre joint missing in frame 1
    c = center(z, ntu)
    assert np.abs(c[:, 1].mean(axis=(1, 2))).max() < 1e-5 and not c[:, 1, ntu.center].any()
    np.testing.assert_allclose(c[:, 0], z[:, 0] - z[:, 0, ntu.center : ntu.center + 1], atol=1e-6)


def test_sentinel_and_null_joints_from_json_and_csv(tmp_path):
    (tmp_path / "a").mkdir()
    kp = np.full((4, 17, 3), 100.0)
    kp[:, 5] = [-1, -1, 0.0]
    doc = kp.tolist()
    doc[2][6] = [None, None, 0.0]
    (tmp_path / "a" / "j.json").write_text(json.dumps(doc))
    rows = ["x0;y0;s0" + ";v" * 48] + [";".join(["100,5"] * 51) for _ in range(3)]
    (tmp_path / "a" / "c.csv").write_text("\n".join(rows).replace("100,5", "", 1))
    out = tmp_path / "out"
    prepare_folder(tmp_path, out, layout="coco17", channels=["x", "y", "score"], progress=False)
    meta, x, names = _arrays(out)
    m = meta["missing_joints"]
    assert (m["sentinel"], m["nan"], m["clips"]) == (4, 2, 2)  # an empty CSV cell: NaN
    c = x[names.index("a/c")]
    assert c[0, 0, 0, 0] == 0 and c[0, 0, 1, 0] == np.float32(100.5)


# --------------------------------------------------------------------------- folders


def test_case_07_every_file_accounted_for_once(shared_cases, tmp_path):
    d = _build(shared_cases, "07-folder-odd-names", tmp_path)
    out = tmp_path / "out"
    assert (
        main(
            [
                "prepare",
                "folder",
                "--raw",
                str(d / "raw"),
                "--layout",
                "coco17",
                "--channels",
                "x,y,score",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    meta, _, names = _arrays(out)
    assert meta["classes"] == ["Wave Hands", "clap", "über"]
    assert "clap/session1/clip4" in names and "clap/CLIP3" in names and len(names) == 12
    assert not [n for n in names if "linked" in n or n.startswith("uber_link")]
    reasons = {u["path"]: u["reason"] for u in meta["unused_files"]}
    assert reasons["clap/._clip.v0.final.npy"] == reasons[".DS_Store"] == "hidden file"
    assert reasons["uber_link"] == "a link to the folder über (read there)"
    assert reasons["über/linked.npy"].startswith("the same file as clap/clip.v0.final.npy")
    assert "loop" in reasons["clap/loop"] and reasons["empty_class"] == "an empty folder"
    assert meta["counts"]["skipped"] == 0 and meta["unused_count"] == len(reasons)


# --------------------------------------------------------------------------- CSV text


def test_case_08_quoted_labels_read_and_traversal_refused(shared_cases, tmp_path, capsys):
    d = _build(shared_cases, "08-labels-csv-quotes-traversal", tmp_path)
    outs = {}
    for kind in ("quoted", "plain"):
        outs[kind] = tmp_path / kind
        assert (
            main(
                [
                    "prepare",
                    "folder",
                    "--raw",
                    str(d / "raw"),
                    "--labels",
                    str(d / f"labels_{kind}.csv"),
                    "--layout",
                    "coco17",
                    "--channels",
                    "x,y,score",
                    "--out",
                    str(outs[kind]),
                ]
            )
            == 0
        )
    q, p = _arrays(outs["quoted"]), _arrays(outs["plain"])
    assert q[0]["classes"] == p[0]["classes"] == ["clap action", "wave action"]
    assert (
        q[2] == p[2]
        and np.array_equal(q[1], p[1])
        and q[0]["benchmarks"]["default"] == {"train": 6, "test": 2}
    )
    capsys.readouterr()
    out = tmp_path / "t"
    assert (
        main(
            [
                "prepare",
                "folder",
                "--raw",
                str(d / "raw"),
                "--labels",
                str(d / "labels_traversal.csv"),
                "--layout",
                "coco17",
                "--out",
                str(out),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err.strip()
    assert err.endswith(
        "labels_traversal.csv:10: clip '../outside/x.npy' is outside --raw "
        f"'{d / 'raw'}' (clip paths are relative to --raw, without '..')"
    )
    assert "\n" not in err and not out.exists()
    absolute = tmp_path / "abs.csv"
    absolute.write_text(f"{d / 'outside' / 'x.npy'},a\n{d / 'raw' / 'wave' / 'clip 0.npy'},b\n")
    with pytest.raises(SkelconError, match="abs.csv:1: clip .* is outside --raw"):
        read_folder(d / "raw", "coco17", labels=absolute)
    absolute.write_text(f"{d / 'raw' / 'wave' / 'clip 0.npy'},b\n")  # inside: a relative name
    assert read_folder(d / "raw", "coco17", labels=absolute).clips[0].name == "wave/clip 0"


def test_labels_csv_in_other_locales(tmp_path):
    (tmp_path / "a").mkdir()
    for i in range(3):
        np.save(tmp_path / "a" / f"{i}.npy", np.ones((3, 17, 2), np.float32))
    labels = tmp_path / "l.csv"
    labels.write_bytes(
        b'\xef\xbb\xbf"clip";"label";"split"\r\n"a/0.npy";"wave; hands";"train"\r\n'
        b'"a/1.npy";"clap, twice";"test"\r\n'
    )
    f = read_folder(tmp_path, "coco17", labels=labels)
    assert f.classes == ["clap, twice", "wave; hands"] and [c.split for c in f.clips] == [
        "train",
        "test",
    ]
    labels.write_text("a/0.npy\ta b\ttrain\na/2.npy\tc\ttest\n")
    assert read_folder(tmp_path, "coco17", labels=labels).classes == ["a b", "c"]
    rng = np.random.default_rng(2)
    video = tmp_path / "v" / "run 1"
    video.mkdir(parents=True)
    for t in range(3):
        doc = {"people": [_person(rng, 100, 100, v=17)]}
        (video / f"run_{t:012d}_keypoints.json").write_text(json.dumps(doc))
    labels.write_text("a\\1.npy;wave\nv/run 1;jump\n")  # a Windows path, an OpenPose folder
    f = read_folder(tmp_path, "coco17", labels=labels)
    assert [(c.name, len(c.frames)) for c in f.clips] == [("a/1", 0), ("v/run 1", 3)]
    assert f.load(1).num_frames == 3 and f.channels == ["x", "y"]
    labels.write_text("a/0.npy,x\nlinked.npy,y\n")
    os.symlink(tmp_path / "a" / "0.npy", tmp_path / "linked.npy")
    with pytest.raises(SkelconError, match="l.csv:2: clip 'linked.npy' is the same file as line 1"):
        read_folder(tmp_path, "coco17", labels=labels)


def test_csv_clips_with_decimal_commas_never_invent_numbers(tmp_path):
    kp = np.arange(2 * 17 * 2, dtype=np.float64).reshape(2, 17, 2) / 4 + 0.25
    semi = "\r\n".join(";".join(f"{v:.2f}".replace(".", ",") for v in f.ravel()) for f in kp)
    (tmp_path / "semi.csv").write_text(semi)
    np.testing.assert_allclose(read_clip(tmp_path / "semi.csv", 17)[0], kp)
    (tmp_path / "tab.csv").write_text(semi.replace(";", "\t"))
    np.testing.assert_allclose(read_clip(tmp_path / "tab.csv", 17)[0], kp)
    quoted = "\n".join(",".join(f'"{v}"' for v in f.ravel()) for f in kp)
    (tmp_path / "q.csv").write_text(quoted)
    np.testing.assert_allclose(read_clip(tmp_path / "q.csv", 17)[0], kp)
    (tmp_path / "bad.csv").write_text(semi.replace(";", ",", 1).replace(",25;", ",25,", 1))
    with pytest.raises(DataFormatError, match="bad.csv"):  # never 1,5 -> 1 and 5
        read_clip(tmp_path / "bad.csv", 17)
    (tmp_path / "th.csv").write_text(semi.replace("0,25", "1.000,25", 1))
    with pytest.raises(DataFormatError, match=r"th.csv:1: value '1.000,25' is not a number"):
        read_clip(tmp_path / "th.csv", 17)


# --------------------------------------------------------------------------- axes


def test_transposed_arrays_assumed_and_reported(tmp_path, capsys):
    rng = np.random.default_rng(0)
    kp = rng.uniform(1, 100, (2, 30, 17, 3)).astype(np.float32)
    (tmp_path / "a").mkdir()
    np.save(tmp_path / "a" / "vtc.npy", kp[0].transpose(1, 0, 2))  # (V, T, C)
    np.save(tmp_path / "a" / "ctvm.npy", kp.transpose(3, 1, 2, 0))  # ST-GCN (C, T, V, M)
    np.save(tmp_path / "a" / "tmvc.npy", kp.transpose(1, 0, 2, 3))  # (T, M, V, C)
    np.save(tmp_path / "a" / "ok.npy", kp)
    out = tmp_path / "out"
    prepare_folder(tmp_path, out, layout="coco17", channels=["x", "y", "score"], progress=False)
    meta, x, names = _arrays(out)
    axes = {a["name"]: a["read_as"] for a in meta["axes_assumed"]}
    assert axes == {"a/ctvm": "(C, T, V, M)", "a/tmvc": "(T, M, V, C)", "a/vtc": "(V, T, C)"}
    ok = x[names.index("a/ok")]
    assert np.array_equal(x[names.index("a/ctvm")], ok)
    assert np.array_equal(x[names.index("a/tmvc")], ok)
    np.testing.assert_array_equal(x[names.index("a/vtc"), :, :, :, 0], ok[:, :, :, 0])
    assert "3 clips had their axes in another order" in capsys.readouterr().out
    # without --channels the ST-GCN order is ambiguous only when nothing settles it
    a, info = read_clip_info(tmp_path / "a" / "vtc.npy", 17)
    assert a.shape == (1, 30, 17, 3) and info["axes"]["read_as"] == "(V, T, C)"
    np.save(tmp_path / "amb.npy", np.ones((3, 3, 17), np.float32))
    with pytest.raises(
        DataFormatError,
        match=r"amb.npy: keypoints of shape \[3, 3, 17\] fit several axis orders \(\(T, C, V\) or "
        r"\(C, T, V\)\); save \(T, V, C\) or give --channels",
    ):
        read_clip(tmp_path / "amb.npy", 17)


# --------------------------------------------------------------------------- failures


def test_failed_prepare_leaves_nothing_and_options_checked_first(tmp_path, monkeypatch):
    (tmp_path / "raw" / "a").mkdir(parents=True)
    np.save(tmp_path / "raw" / "a" / "0.npy", np.ones((3, 17, 2), np.float32))
    np.save(tmp_path / "raw" / "a" / "1.npy", np.ones((3, 16, 2), np.float32))
    out = tmp_path / "out"
    with pytest.raises(DataFormatError, match="16 joints"):
        prepare_folder(tmp_path / "raw", out, layout="coco17", strict=True, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw"]  # no .out.partial

    def no_read(*a, **k):
        raise AssertionError("a clip was read before the options were checked")

    monkeypatch.setattr("skelcon.data.folder.read_clip_info", no_read)
    with pytest.raises(SkelconError, match="3D normalisation needs x, y, z only"):
        prepare_folder(
            tmp_path / "raw",
            out,
            layout="coco17",
            channels=["x", "y", "z", "score"],
            norm=ClipNorm(True),
            progress=False,
        )
    with pytest.raises(SkelconError, match="--channels"):
        prepare_folder(tmp_path / "raw", out, layout="coco17", channels=["x", "q"], progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw"]


# --------------------------------------------------------------------------- files a review tried


def _xys(t: int, m: int = 1, seed: int = 0) -> np.ndarray:
    """``(m, t, 17, 3)`` x, y in pixels and a score, two decimals."""
    rng = np.random.default_rng(seed)
    kp = np.concatenate(
        [rng.uniform(100, 900, (m, t, 17, 2)), rng.uniform(0.1, 1, (m, t, 17, 1))], -1
    )
    return np.round(kp, 2)


def test_comma_separated_decimal_commas_refused_even_with_channels(tmp_path, capsys):
    kp = np.floor(_xys(6)) + 0.25  # no fraction with a leading zero: only the count tells

    def write(kp):
        rows = [",".join(f"{v:.2f}".replace(".", ",") for v in f.ravel()) for f in kp[0]]
        (tmp_path / "a" / "dc.csv").write_text("\n".join(rows) + "\n")  # 102 fields: 309,25,...

    (tmp_path / "a").mkdir()
    write(kp)
    for nc in (3, None):
        with pytest.raises(
            DataFormatError,
            match=r"dc.csv: 102 whole numbers per line separated "
            r"by ',' may be numbers with decimal commas cut in two \(\d+,25 = "
            r"\d+.25\?; 51 values per line would fit too\): write the file with "
            "';' or tabs",
        ):
            read_clip(tmp_path / "a" / "dc.csv", 17, nc)
    out = tmp_path / "out"
    with pytest.raises(SkelconError, match="no clip was kept"):  # never "2 persons"
        prepare_folder(tmp_path, out, layout="coco17", channels=["x", "y", "score"], progress=False)
    # x,y channels: 102 = 3 persons of 34, but a leading zero ("0,05") shows the decimals
    kp[0, 0, 0, 0] = 309.05
    write(kp)
    with pytest.raises(DataFormatError, match="'05' has a leading zero"):
        read_clip(tmp_path / "a" / "dc.csv", 17, 2)
    kp = kp[..., :2].copy()  # x with decimals, whole y: 309,05,338 would pass as x, y, score
    kp[..., 1] = np.floor(kp[..., 1])
    rows = [
        ",".join(f"{v:.2f}".replace(".", ",").removesuffix(",00") for v in f.ravel()) for f in kp[0]
    ]
    (tmp_path / "a" / "dc.csv").write_text("\n".join(rows) + "\n")
    with pytest.raises(DataFormatError, match="'05' has a leading zero"):
        read_clip(tmp_path / "a" / "dc.csv", 17, 3)
    # whole numbers that cannot be decimal pairs are read: a sign where a fraction would be
    ints = np.arange(2 * 34).reshape(1, 2, 17, 2) - 30
    (tmp_path / "i.csv").write_text(",".join(str(v) for v in ints.ravel()))
    np.testing.assert_array_equal(read_clip(tmp_path / "i.csv", 17, 2), ints.reshape(2, 1, 17, 2))
    one = np.arange(34).reshape(1, 1, 17, 2) + 100  # one person: 17 pairs fit nothing
    (tmp_path / "o.csv").write_text(",".join(str(v) for v in one.ravel()))
    np.testing.assert_array_equal(read_clip(tmp_path / "o.csv", 17, 2), one)


def test_pandas_headers_and_index_column_never_read_as_frames(tmp_path, capsys):
    kp = _xys(5)
    flat = kp[0].reshape(5, -1)
    body = [",".join(repr(float(v)) for v in f) for f in flat]
    head = ",".join(str(i) for i in range(51))
    (tmp_path / "a").mkdir()
    files = {  # what pandas.DataFrame(flat).to_csv(...) writes
        "plain": [head, *body],  # index=False
        "index": ["," + head, *[f"{t},{r}" for t, r in enumerate(body)]],  # index=True
        "noheader": [f"{t},{r}" for t, r in enumerate(body)],  # header=False, index=True
    }
    for name, lines in files.items():
        (tmp_path / "a" / f"{name}.csv").write_text("\n".join(lines) + "\n")
        a, info = read_clip_info(tmp_path / "a" / f"{name}.csv", 17, 3)
        np.testing.assert_allclose(a, kp, rtol=0, atol=1e-4)
        assert ("csv_header" in info) == (name != "noheader")
        assert info.get("csv_index_column", False) == (name != "plain")
    out = tmp_path / "out"
    prepare_folder(tmp_path, out, layout="coco17", channels=["x", "y", "score"], progress=False)
    meta, x, names = _arrays(out)
    assert np.load(out / "num_frames.npy").tolist() == [5, 5, 5]
    assert [c["name"] for c in meta["csv_assumed"]] == ["a/index", "a/noheader", "a/plain"]
    assert "folder: CSV: 2 clips began with a header line" in capsys.readouterr().out


def test_hard_linked_file_read_once(shared_cases, tmp_path):
    d = _build(shared_cases, "07-folder-odd-names", tmp_path)
    os.link(d / "raw" / "über" / "clip_é0.npy", d / "raw" / "clap" / "hardlinked.npy")
    out = tmp_path / "out"
    assert (
        main(
            [
                "prepare",
                "folder",
                "--raw",
                str(d / "raw"),
                "--layout",
                "coco17",
                "--channels",
                "x,y,score",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    meta, _, names = _arrays(out)
    assert len(names) == 12 and ("clap/hardlinked" in names) != ("über/clip_é0" in names)
    reasons = {u["path"]: u["reason"] for u in meta["unused_files"]}
    assert reasons["über/clip_é0.npy"] == (
        "the same file as clap/hardlinked.npy (read once, there; a hard link)"
    )
    labels = tmp_path / "l.csv"
    labels.write_text("über/clip_é0.npy,a\nclap/hardlinked.npy,b\n")
    with pytest.raises(SkelconError, match="l.csv:2: clip 'clap/hardlinked.npy' is the same file"):
        read_folder(d / "raw", "coco17", labels=labels)


def _openpose_video(d: Path, frames, rng, people=1) -> None:
    d.mkdir(parents=True)
    for t in frames:
        doc = {"people": [_person(rng, 300 + 5 * t, 400) for _ in range(people)]}
        (d / f"{d.name}_{t:012d}_keypoints.json").write_text(json.dumps(doc))


def test_openpose_frame_gaps_filled_and_said(tmp_path, capsys):
    rng = np.random.default_rng(3)
    raw = tmp_path / "raw"
    _openpose_video(raw / "jump" / "gappy", [t for t in range(20) if t not in (4, 5, 11)], rng)
    _openpose_video(raw / "jump" / "stepped", range(0, 50, 5), rng)  # --frame_step 5
    _openpose_video(raw / "jump" / "empty", range(3), rng, people=0)
    _openpose_video(raw / "jump" / "stray", [0, 1, 5000], rng)  # not 5001 frames of nothing
    out = tmp_path / "out"
    prepare_folder(raw, out, layout="openpose18", progress=False)
    meta, x, names = _arrays(out)
    nf = dict(zip(names, np.load(out / "num_frames.npy").tolist(), strict=True))
    assert nf == {"jump/gappy": 20, "jump/stepped": 10}
    g = x[names.index("jump/gappy")]
    assert not g[:, [4, 5, 11]].any() and g[:, [3, 6, 10, 12]].all(axis=(0, 2))[:, 0].all()
    assert meta["openpose"]["frame_gaps"] == 3 and meta["openpose"]["gap_clips"] == 1
    assert meta["channels_assumed"] is None
    printed = capsys.readouterr()
    assert "OpenPose: 1 videos had 3 frame files missing" in printed.out
    assert "step 5" in printed.out
    assert "pass --channels" not in printed.err  # the format names its channels
    empty = str(raw / "jump" / "empty" / "empty_*_keypoints.json")
    assert meta["skipped"][0] == {
        "name": "jump/empty",
        "reason": f"{empty}: an OpenPose video with "
        "nobody detected in its 3 frame files (no skeleton data)",
    }
    assert meta["skipped"][1]["reason"].endswith(
        "stray_000000005000_keypoints.json: frame numbers "
        "0 to 5000 span 5001 frames but only 3 frame files "
        "are there (a stray file?)"
    )


def test_short_frames_first_array_reported_as_possibly_transposed(tmp_path, capsys):
    kp = _xys(6, m=2).astype(np.float32)  # 6 frames of 2 persons
    (tmp_path / "raw" / "a").mkdir(parents=True)
    np.save(tmp_path / "raw" / "a" / "tmvc.npy", kp.transpose(1, 0, 2, 3))  # (6, 2, 17, 3)
    out = tmp_path / "out"
    prepare_folder(
        tmp_path / "raw", out, layout="coco17", channels=["x", "y", "score"], progress=False
    )
    meta, _, _ = _arrays(out)
    assert meta["axes_assumed"] == [
        {
            "name": "a/tmvc",
            "shape": [6, 2, 17, 3],
            "read_as": "(M, T, V, C)",
            "could_be": "(T, M, V, C)",
        }
    ]
    assert "1 clips hold more persons than frames" in capsys.readouterr().out
    np.save(tmp_path / "raw" / "a" / "tmvc.npy", kp)  # (2, 6, ...): persons <= frames, no doubt
    assert "axes" not in read_clip_info(tmp_path / "raw" / "a" / "tmvc.npy", 17, 3)[1]
    # C=3 from an array: what was assumed is said (unlike OpenPose, whose format says it)
    prepare_folder(tmp_path / "raw", tmp_path / "o2", layout="coco17", progress=False)
    assert "note: C=3 with the 2D layout coco17" in capsys.readouterr().err
    assert "read as x,y,score" in read_meta(tmp_path / "o2")["channels_assumed"]
