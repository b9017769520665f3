"""Imports: the ST-GCN-style npy folder and PYSKL pickles round-trip; malicious or
disallowed pickles are refused without running anything."""

from __future__ import annotations

import collections
import os
import pickle
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from skelcon.cli import main
from skelcon.data.imports import split_key
from skelcon.data.layouts import NTU25
from skelcon.data.normalize import normalize
from skelcon.data.prepared import load_prepared, read_meta
from skelcon.data.safe_pickle import NUMPY_GLOBALS, load_label_pickle, load_restricted
from skelcon.errors import SkelconError


class _Evil:
    """Pickles to ``os.system("touch <marker>")``."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _npy_folder(d: Path, n_train: int = 5, n_val: int = 3, t: int = 20, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    d.mkdir(parents=True, exist_ok=True)
    out = {}
    for prefix, n in (("train", n_train), ("val", n_val)):
        data = rng.normal(size=(n, 3, t, 25, 2)).astype(np.float32)
        frames = rng.integers(1, t + 1, size=n)
        for i, f in enumerate(frames):
            data[i, :, f:] = 0
        names = [f"{prefix}_S{i:03d}.skeleton" for i in range(n)]
        labels = [int(v) for v in rng.integers(0, 7, size=n)]
        np.save(d / f"{prefix}_data_joint.npy", data)
        np.save(d / f"{prefix}_num_frame.npy", frames)
        with open(d / f"{prefix}_label.pkl", "wb") as f:
            pickle.dump((names, labels), f)
        out[prefix] = {"data": data, "frames": frames, "names": names, "labels": labels}
    return out


def test_npy_round_trip(tmp_path):
    src = _npy_folder(tmp_path / "src")
    assert (
        main(
            [
                "prepare",
                "import-npy",
                "--raw",
                str(tmp_path / "src"),
                "--out",
                str(tmp_path / "out"),
                "--dataset",
                "toy",
            ]
        )
        == 0
    )
    meta = read_meta(tmp_path / "out")
    labels = src["train"]["labels"] + src["val"]["labels"]
    assert meta["dataset"] == "toy" and meta["layout"] == "ntu25"
    assert meta["num_classes"] == max(labels) + 1 and meta["normalized"] is False
    assert meta["benchmarks"] == {"default": {"train": 5, "test": 3}}
    for prefix, split in (("train", "train"), ("val", "test")):
        p = load_prepared(tmp_path / "out", "default", split)
        s = src[prefix]
        np.testing.assert_array_equal(p.data[:], s["data"])
        assert list(p.labels) == s["labels"] and list(p.names) == s["names"]
        np.testing.assert_array_equal(p.num_frames, s["frames"])


def test_npy_normalize_flag_and_missing_num_frames(tmp_path):
    src = _npy_folder(tmp_path / "src", seed=1)
    (tmp_path / "src" / "val_num_frame.npy").unlink()
    classes = tmp_path / "classes.txt"
    classes.write_text("\n".join(f"action {i}" for i in range(9)) + "\n")
    assert (
        main(
            [
                "prepare",
                "import-npy",
                "--raw",
                str(tmp_path / "src"),
                "--out",
                str(tmp_path / "out"),
                "--normalize",
                "--classes",
                str(classes),
            ]
        )
        == 0
    )
    meta = read_meta(tmp_path / "out")
    assert meta["classes"] == [f"action {i}" for i in range(9)] and meta["normalized"] is True
    p = load_prepared(tmp_path / "out", "default", "test")
    # num_frames of val recomputed: last non-zero frame + 1 == the frames we zeroed after
    np.testing.assert_array_equal(p.num_frames, src["val"]["frames"])
    want = normalize(src["val"]["data"][1], 20, NTU25)
    np.testing.assert_allclose(p.data[1], want, atol=1e-6)


def test_npy_layout_mismatch_and_label_count(tmp_path, capsys):
    _npy_folder(tmp_path / "src")
    args = ["prepare", "import-npy", "--raw", str(tmp_path / "src"), "--out", str(tmp_path / "o")]
    assert main([*args, "--layout", "kinect20"]) == 2
    assert "25 joints but layout kinect20 has 20" in capsys.readouterr().err
    with open(tmp_path / "src" / "val_label.pkl", "wb") as f:
        pickle.dump((["a"], [1, 2]), f)
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "1 names but 2 labels" in err[0]


def test_malicious_label_pickle_does_not_execute(tmp_path, capsys):
    _npy_folder(tmp_path / "src")
    marker = tmp_path / "PWNED"
    with open(tmp_path / "src" / "train_label.pkl", "wb") as f:
        pickle.dump((["a"], [_Evil(marker)]), f)
    with pytest.raises(SkelconError, match="refusing to load global posix.system") as e:
        load_label_pickle(tmp_path / "src" / "train_label.pkl")
    assert "\n" not in str(e.value)
    assert not marker.exists()
    rc = main(
        ["prepare", "import-npy", "--raw", str(tmp_path / "src"), "--out", str(tmp_path / "o")]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "refusing to load global" in err[0]
    assert not marker.exists() and not (tmp_path / "o").exists()
    # the numpy-enabled unpickler (PYSKL path) refuses it as well
    pk = tmp_path / "evil.pkl"
    pk.write_bytes(pickle.dumps({"annotations": [_Evil(marker)], "x": np.zeros(3)}, protocol=2))
    with pytest.raises(SkelconError, match="refusing to load global"):
        load_restricted(pk, allow_numpy=True)
    assert main(["prepare", "import-pyskl", "--raw", str(pk), "--out", str(tmp_path / "o")]) == 2
    assert not marker.exists()


def test_label_pickle_numpy_labels_and_bad_ones(tmp_path):
    p = tmp_path / "l.pkl"
    p.write_bytes(pickle.dumps((["a", "b"], np.array([0, 1]))))
    assert load_label_pickle(p) == (["a", "b"], [0, 1])
    p.write_bytes(pickle.dumps((np.array(["a", "b"]), [np.int32(1), 2])))
    assert load_label_pickle(p) == (["a", "b"], [1, 2])
    p.write_bytes(pickle.dumps((["a", "b"], np.array([0.5, 1.0]))))
    with pytest.raises(SkelconError, match="1-D integer array"):
        load_label_pickle(p)
    p.write_bytes(pickle.dumps((["a", "b"], [0, "1"])))
    with pytest.raises(SkelconError, match="list of int labels, found '1'"):
        load_label_pickle(p)
    p.write_bytes(pickle.dumps((["a", "b"], [0, np.float64(1)])))
    with pytest.raises(SkelconError, match="list of int labels"):
        load_label_pickle(p)
    p.write_bytes(pickle.dumps((["a", "b"], np.array([0, 1], dtype=object))))
    with pytest.raises(SkelconError, match="object"):
        load_label_pickle(p)
    p.write_bytes(b"\x80\x04not a pickle")
    with pytest.raises(SkelconError, match="not a readable pickle"):
        load_label_pickle(p)


def _pyskl(rng: np.random.Generator, c: int = 3) -> dict:
    anns = []
    for i, (m, t, label) in enumerate([(1, 12, 0), (2, 20, 3), (1, 7, 2), (2, 15, 3), (1, 9, 1)]):
        kp = rng.normal(size=(m, t, 25, c)).astype(np.float32)
        anns.append(
            {
                "frame_dir": f"S001C00{i}P001R001A00{label + 1}",
                "label": label,
                "keypoint": kp,
                "total_frames": t,
                "img_shape": (1080, 1920),
            }
        )
    names = [a["frame_dir"] for a in anns]
    split = {
        "xsub_train": names[:3],
        "xsub_val": names[3:],
        "xview_train": names[1:],
        "xview_val": names[:1],
    }
    return {"split": split, "annotations": anns}


@pytest.mark.parametrize(("protocol", "c"), [(2, 3), (4, 2), (5, 3)])
def test_pyskl_round_trip(tmp_path, protocol, c):
    obj = _pyskl(np.random.default_rng(protocol), c)
    obj["annotations"][2]["label"] = np.int64(2)  # numpy scalars are allowed
    pk = tmp_path / "ntu60_3danno.pkl"
    pk.write_bytes(pickle.dumps(obj, protocol=protocol))
    assert (
        main(
            [
                "prepare",
                "import-pyskl",
                "--raw",
                str(pk),
                "--out",
                str(tmp_path / "o"),
                "--layout",
                "ntu25",
            ]
        )
        == 0
    )
    meta = read_meta(tmp_path / "o")
    assert meta["shape"] == [5, c, 20, 25, 2] and meta["num_classes"] == 4
    assert meta["benchmarks"] == {"xsub": {"train": 3, "test": 2}, "xview": {"train": 4, "test": 1}}
    anns = {a["frame_dir"]: a for a in obj["annotations"]}
    for bench, split, key in (
        ("xsub", "train", "xsub_train"),
        ("xsub", "test", "xsub_val"),
        ("xview", "train", "xview_train"),
        ("xview", "test", "xview_val"),
    ):
        p = load_prepared(tmp_path / "o", bench, split)
        assert list(p.names) == obj["split"][key]
        for i, name in enumerate(p.names):
            a = anns[name]
            m, t = a["keypoint"].shape[:2]
            assert p.labels[i] == a["label"] and p.num_frames[i] == t
            x = p.data[i]
            np.testing.assert_array_equal(x[:, :t, :, :m], a["keypoint"].transpose(3, 1, 2, 0))
            assert not x[:, t:].any() and not x[..., m:].any()


def test_pyskl_disallowed_global_and_object_arrays_refused(tmp_path, capsys):
    pk = tmp_path / "a.pkl"
    obj = _pyskl(np.random.default_rng(0))
    obj["annotations"][0]["extra"] = collections.OrderedDict(a=1)
    pk.write_bytes(pickle.dumps(obj, protocol=4))
    assert main(["prepare", "import-pyskl", "--raw", str(pk), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "refusing to load global collections.OrderedDict" in err[0]
    pk.write_bytes(pickle.dumps({"annotations": [np.array([1, "x"], dtype=object)]}))
    with pytest.raises(SkelconError, match="object arrays are not allowed"):
        load_restricted(pk, allow_numpy=True)
    assert ("numpy", "ndarray") in NUMPY_GLOBALS and ("builtins", "eval") not in NUMPY_GLOBALS


def test_pyskl_bad_annotation_skipped_or_strict(tmp_path, capsys):
    obj = _pyskl(np.random.default_rng(3))
    obj["annotations"][1]["keypoint"] = np.zeros((2, 20, 25))  # 3 dims
    obj["annotations"][3]["total_frames"] = 99
    pk = tmp_path / "a.pkl"
    pk.write_bytes(pickle.dumps(obj))
    assert main(["prepare", "import-pyskl", "--raw", str(pk), "--out", str(tmp_path / "o")]) == 0
    err = capsys.readouterr().err
    d1, d3 = obj["annotations"][1]["frame_dir"], obj["annotations"][3]["frame_dir"]
    assert (
        f"skipped {pk}: annotation 1 ({d1}): keypoint must be a numeric (M, T, V, C) array, got (2, 20, 25)"
        in err
    )
    assert f"skipped {pk}: annotation 3 ({d3}): total_frames 99 != keypoint frames 15" in err
    meta = read_meta(tmp_path / "o")
    assert meta["counts"]["samples"] == 3 and meta["shape"][2] == 12  # T from the good ones
    assert meta["benchmarks"]["xsub"] == {"train": 2, "test": 1}
    assert meta["split_names_without_annotation"] == {
        "xsub_train": 1,
        "xsub_val": 1,
        "xview_train": 2,
    }
    rc = main(
        ["prepare", "import-pyskl", "--raw", str(pk), "--out", str(tmp_path / "s"), "--strict"]
    )
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert rc == 2 and last.startswith(f"skelcon: error: {pk}: annotation 1 ({d1}): keypoint")


def test_split_key_mapping():
    assert split_key("xsub_train") == ("xsub", "train")
    assert split_key("xset_val") == ("xset", "test")
    assert split_key("train") == ("default", "train") and split_key("val") == ("default", "test")
    assert split_key("test1") == ("split1", "test")
    assert split_key("sub_val2") == ("sub2", "test")
    assert split_key("everything") is None


def test_one_based_labels_warn_and_label_base(tmp_path, capsys):
    """Labels 1..C imported as 0-based leave class 0 empty: a warning names it and says
    what to do; --label-base 1 imports them as 0..C-1."""
    d = tmp_path / "npy"
    _npy_folder(d)
    top = 4  # 1-based labels 1..5 covering every class
    for prefix in ("train", "val"):
        names, _ = pickle.loads((d / f"{prefix}_label.pkl").read_bytes())
        labels = [i % 5 + 1 for i in range(len(names))]
        (d / f"{prefix}_label.pkl").write_bytes(pickle.dumps((names, labels)))
    assert main(["prepare", "import-npy", "--raw", str(d), "--out", str(tmp_path / "a")]) == 0
    err = capsys.readouterr().err
    assert "have no samples: 0 (class_0)" in err and "--label-base 1" in err
    assert read_meta(tmp_path / "a")["num_classes"] == top + 2
    assert (
        main(
            [
                "prepare",
                "import-npy",
                "--raw",
                str(d),
                "--out",
                str(tmp_path / "b"),
                "--label-base",
                "1",
            ]
        )
        == 0
    )
    assert "warning" not in capsys.readouterr().err
    meta = read_meta(tmp_path / "b")
    assert meta["num_classes"] == top + 1 and meta["counts"]["per_class"][0] > 0
    # a 0 label with --label-base 1 is refused, naming the file
    names, labels = pickle.loads((d / "val_label.pkl").read_bytes())
    (d / "val_label.pkl").write_bytes(pickle.dumps((names, [0] + labels[1:])))
    assert (
        main(
            [
                "prepare",
                "import-npy",
                "--raw",
                str(d),
                "--out",
                str(tmp_path / "c"),
                "--label-base",
                "1",
            ]
        )
        == 2
    )
    assert "val_label.pkl: label 0 is below --label-base 1" in capsys.readouterr().err


def test_repeat_padded_clips_get_their_true_length(tmp_path, capsys):
    """Data padded the 2s-AGCN way (a clip of L frames repeated up to T, then centred per
    frame) imports with each clip's true length when *_num_frame.npy is absent."""
    rng = np.random.default_rng(3)
    t, lengths = 60, [60, 7, 23, 59, 31]
    data = np.zeros((len(lengths) + 1, 3, t, 25, 2), np.float32)
    for i, n in enumerate(lengths):
        clip = rng.normal(size=(3, n, 25, 1)).astype(np.float32)
        data[i, :, :, :, :1] = clip[:, np.arange(t) % n]  # repeat padding
    data[:, :, :, :, :] -= data[:, :, :, 1:2, :1]  # centre every frame on joint 1 alike
    data[-1, :, :17, :, :1] = rng.normal(size=(3, 17, 25, 1))  # a zero-padded clip
    d = tmp_path / "npy"
    d.mkdir()
    np.save(d / "train_data_joint.npy", data)
    names = [f"c{i}" for i in range(len(data))]
    (d / "train_label.pkl").write_bytes(pickle.dumps((names, [0] * len(data))))
    assert main(["prepare", "import-npy", "--raw", str(d), "--out", str(tmp_path / "o")]) == 0
    split = load_prepared(tmp_path / "o", "default", "train")
    assert split.num_frames.tolist() == [*lengths, 17]
    x = np.asarray(split.data)
    for i, n in enumerate(lengths):
        np.testing.assert_array_equal(x[i, :, :n], data[i, :, :n])
        assert not x[i, :, n:].any()  # the copies are not part of the clip
    out = capsys.readouterr().out
    assert "4 padded by repeating their frames" in out and "1 zero-padded" in out
    assert "1 fill every frame" in out
    meta = read_meta(tmp_path / "o")
    assert meta["num_frames_inferred"] == {"none": 1, "repeat": 4, "zero": 1}


def test_pyskl_coco17_keypoint_score_becomes_a_channel(tmp_path):
    from skelcon.examples import write_pyskl

    pkl = write_pyskl(tmp_path / "coco.pkl", num_classes=3, per_class=3)
    anns = pickle.loads(pkl.read_bytes())["annotations"]
    out = tmp_path / "out"
    assert (
        main(
            ["prepare", "import-pyskl", "--raw", str(pkl), "--layout", "coco17", "--out", str(out)]
        )
        == 0
    )
    meta = read_meta(out)
    assert meta["layout"] == "coco17" and meta["channels"] == ["x", "y", "score"]
    assert meta["shape"][1] == 3 and meta["benchmarks"]["xsub"] == {"train": 6, "test": 3}
    s = load_prepared(out, "xsub", "train")
    x, label, nf, name = s[0]
    a = next(a for a in anns if a["frame_dir"] == name)
    assert label == a["label"] and nf == a["total_frames"]
    np.testing.assert_array_equal(x[:2, :nf, :, 0], a["keypoint"][0].transpose(2, 0, 1))
    np.testing.assert_array_equal(x[2, :nf, :, 0], a["keypoint_score"][0])
    # --no-score: C = 2; --normalize: the 2D normalisation (centre on the nose)
    assert (
        main(
            [
                "prepare",
                "import-pyskl",
                "--raw",
                str(pkl),
                "--layout",
                "coco17",
                "--no-score",
                "--normalize",
                "--out",
                str(tmp_path / "xy"),
            ]
        )
        == 0
    )
    xy = load_prepared(tmp_path / "xy", "xsub", "train")
    assert xy.channels == ["x", "y"] and xy.data.shape[1] == 2
    x2, _, nf2, _ = xy[0]
    present = np.any(x2[:, :nf2, 0, 0] != 0, axis=0)
    assert np.allclose(x2[:, :nf2, 0, 0][:, present], 0, atol=1e-6)


def test_pyskl_2d_score_shape_mismatch_is_skipped(tmp_path, capsys):
    from skelcon.examples import write_pyskl

    pkl = write_pyskl(tmp_path / "coco.pkl", num_classes=2, per_class=2)
    obj = pickle.loads(pkl.read_bytes())
    obj["annotations"][1]["keypoint_score"] = obj["annotations"][1]["keypoint_score"][:, :-1]
    del obj["annotations"][2]["keypoint_score"]
    pkl.write_bytes(pickle.dumps(obj))
    out = tmp_path / "out"
    assert (
        main(
            ["prepare", "import-pyskl", "--raw", str(pkl), "--layout", "coco17", "--out", str(out)]
        )
        == 0
    )
    err = capsys.readouterr().err
    assert "annotation 1 (clip0001): keypoint_score shape" in err
    assert "annotation 2 (clip0002): no numeric keypoint_score" in err
    assert read_meta(out)["counts"]["samples"] == 2
    with pytest.raises(SkelconError, match="--score-threshold and --image-size act in the 2D"):
        from skelcon.data.imports import prepare_import_pyskl

        prepare_import_pyskl(pkl, tmp_path / "o2", layout="coco17", score_threshold=0.5)


def test_npy_with_named_channels_stgcn_kinetics_style(tmp_path):
    rng = np.random.default_rng(3)
    src = tmp_path / "src"
    src.mkdir()
    data = np.zeros((4, 3, 12, 18, 2), dtype=np.float32)  # x, y in [0, 1] and a score
    data[:, :2, :10] = rng.uniform(0.2, 0.8, size=(4, 2, 10, 18, 2))
    data[:, 2, :10] = rng.uniform(0.5, 1.0, size=(4, 10, 18, 2))
    np.save(src / "train_data_joint.npy", data)
    with open(src / "train_label.pkl", "wb") as f:
        pickle.dump(([f"v{i}" for i in range(4)], [0, 1, 0, 1]), f)
    out = tmp_path / "out"
    assert (
        main(
            [
                "prepare",
                "import-npy",
                "--raw",
                str(src),
                "--layout",
                "openpose18",
                "--channels",
                "x,y,score",
                "--normalize",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    s = load_prepared(out, "default", "train")
    assert s.channels == ["x", "y", "score"] and s.layout == "openpose18"
    x, _, nf, _ = s[0]
    assert nf == 10 and np.allclose(x[:2, :nf, 1, 0], 0, atol=1e-6)  # centred on the neck
    assert np.array_equal(x[2], data[0, 2])  # the score as it was
    with pytest.raises(
        SkelconError, match=r"^channels x,y names 2 channels but .*train_data_joint.npy has C=3"
    ):
        from skelcon.data.imports import prepare_import_npy

        prepare_import_npy(src, tmp_path / "o2", layout="openpose18", channels=["x", "y"])


# ---------------------------------------------------------------- channels, axes, NaN


def test_handed_packed_score_read_as_2d_with_a_note(shared_cases, tmp_path, capsys):
    """PYSKL keypoint (M, T, 17, 3) = x, y, score packed, coco17: x,y,score and the 2D
    normalisation, said on screen and in meta.json; never x,y,z rotated."""
    pk = shared_cases / "s3" / "22-pyskl-score-packed-in-keypoint" / "packed.pkl"
    out = tmp_path / "out"
    assert (
        main(
            [
                "prepare",
                "import-pyskl",
                "--raw",
                str(pk),
                "--layout",
                "coco17",
                "--normalize",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "note: C=3 with the 2D layout coco17: read as x,y,score" in printed
    meta = read_meta(out)
    assert meta["channels"] == ["x", "y", "score"] and meta["normalization"].startswith("2D")
    assert "coco17" in meta["channels_assumed"]
    ann = load_restricted(pk, allow_numpy=True)["annotations"]
    s = load_prepared(out, "xsub", "train")
    a = next(a for a in ann if a["frame_dir"] == s.names[0])
    t = a["keypoint"].shape[1]
    np.testing.assert_array_equal(s.data[0][2, :t, :, 0], a["keypoint"][0, :, :, 2])  # scores
    assert 0 <= s.data[0][2].min() and s.data[0][2].max() <= 1
    assert (
        main(
            [
                "prepare",
                "import-pyskl",
                "--raw",
                str(pk),
                "--layout",
                "coco17",
                "--channels",
                "x,y,z",
                "--out",
                str(tmp_path / "z"),
            ]
        )
        == 0
    )  # as the user says
    assert read_meta(tmp_path / "z")["channels"] == ["x", "y", "z"]
    assert (
        main(
            [
                "prepare",
                "import-pyskl",
                "--raw",
                str(pk),
                "--layout",
                "coco17",
                "--channels",
                "x,y",
                "--out",
                str(tmp_path / "b"),
            ]
        )
        == 2
    )
    assert (
        capsys.readouterr()
        .err.strip()
        .splitlines()[-1]
        .endswith("--channels x,y names 2 channels but " + str(pk) + " keypoint has C=3")
    )


def test_assumed_score_that_is_not_a_confidence_is_refused(tmp_path, capsys):
    rng = np.random.default_rng(0)
    anns = [
        {
            "frame_dir": f"v{i}",
            "label": i % 2,
            "total_frames": 9,
            "keypoint": rng.uniform(-500, 900, (1, 9, 17, 3)).astype(np.float32),
        }
        for i in range(4)
    ]
    pk = tmp_path / "z.pkl"
    pk.write_bytes(pickle.dumps({"annotations": anns}))
    args = ["prepare", "import-pyskl", "--raw", str(pk), "--layout", "coco17"]
    assert main([*args, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a confidence in [0, 1]: pass --channels x,y,z" in err[0]
    assert not (tmp_path / "o").exists()
    assert main([*args, "--channels", "x,y,score", "--out", str(tmp_path / "o")]) == 0
    assert "warning: " in capsys.readouterr().err  # as the user said, with a warning


def test_every_importer_takes_channels_checked_before_any_work(tmp_path, capsys):
    src = _npy_folder(tmp_path / "src")  # ntu25, C=3: x,y,z, nothing assumed
    assert (
        main(
            ["prepare", "import-npy", "--raw", str(tmp_path / "src"), "--out", str(tmp_path / "o")]
        )
        == 0
    )
    meta = read_meta(tmp_path / "o")
    assert meta["channels"] == ["x", "y", "z"] and meta["channels_assumed"] is None
    assert src["train"]["data"].shape[1] == 3
    for cmd, extra in (
        ("nw-ucla", []),
        ("ntu60", []),
        ("pku-mmd1", ["--labels", "x"]),
        ("kinetics-skeleton", []),
        ("import-npy", []),
        ("import-pyskl", []),
    ):
        rc = main(
            [
                "prepare",
                cmd,
                "--raw",
                str(tmp_path / "none"),
                "--out",
                str(tmp_path / cmd),
                "--channels",
                "x,y,q",
                *extra,
            ]
        )
        assert rc == 2, cmd
        assert "--channels: ['x', 'y', 'q'] is not a channel list" in capsys.readouterr().err
    assert (
        main(
            [
                "prepare",
                "nw-ucla",
                "--raw",
                str(tmp_path / "none"),
                "--out",
                str(tmp_path / "u"),
                "--channels",
                "x,y,score",
            ]
        )
        == 2
    )
    assert "NW-UCLA (3D Kinect joints) holds x,y,z" in capsys.readouterr().err


def test_nonfinite_joints_are_missing_and_counted(tmp_path, capsys):
    _npy_folder(tmp_path / "src", n_train=3, n_val=1, t=8)
    data = np.load(tmp_path / "src" / "train_data_joint.npy")
    frames = np.load(tmp_path / "src" / "train_num_frame.npy")
    data[1, 0, 0, 4, 0] = np.nan  # one joint: its x
    data[1, :, 0, 5, 0] = np.inf  # another: every channel
    np.save(tmp_path / "src" / "train_data_joint.npy", data)
    assert (
        main(
            ["prepare", "import-npy", "--raw", str(tmp_path / "src"), "--out", str(tmp_path / "o")]
        )
        == 0
    )
    assert "2 joints in 1 samples held NaN or infinity" in capsys.readouterr().out
    meta = read_meta(tmp_path / "o")
    assert meta["counts"]["samples"] == 4 and meta["counts"]["skipped"] == 0
    assert meta["nonfinite_joints"] == [
        {"name": "train_S001.skeleton", "split": "train", "joints": 2}
    ]
    x = load_prepared(tmp_path / "o", "default", "train").data[1]
    assert np.isfinite(x).all() and not x[:, 0, 4:6, 0].any()
    assert frames[1] >= 1 and np.array_equal(x[:, 0, 6:, 0], data[1, :, 0, 6:, 0])


def test_pyskl_nan_scores_and_transposed_annotation(tmp_path, capsys):
    rng = np.random.default_rng(2)
    anns = []
    for i in range(4):
        anns.append(
            {
                "frame_dir": f"v{i}",
                "label": i % 2,
                "total_frames": 12,
                "keypoint": rng.uniform(0, 1, (1, 12, 17, 2)).astype(np.float32),
                "keypoint_score": rng.uniform(0, 1, (1, 12, 17)).astype(np.float32),
            }
        )
    anns[1]["keypoint_score"][0, 3, 7] = np.nan
    anns[2]["keypoint"] = rng.uniform(0, 1, (40, 2, 17, 2)).astype(np.float32)  # (T, M, V, C)
    anns[2]["keypoint_score"] = np.ones((40, 2, 17), np.float32)
    anns[2]["total_frames"] = 40
    pk = tmp_path / "p.pkl"
    pk.write_bytes(pickle.dumps({"annotations": anns}))
    assert (
        main(
            [
                "prepare",
                "import-pyskl",
                "--raw",
                str(pk),
                "--layout",
                "coco17",
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 0
    )
    meta = read_meta(tmp_path / "o")
    assert meta["shape"] == [3, 3, 12, 17, 1]  # the transposed one did not make M=40
    assert meta["nonfinite_joints"] == [{"name": "v1", "joints": 1}]
    (skip,) = meta["skipped"]
    assert skip["name"] == "v2" and "looks like (T, M, V, C)" in skip["reason"]
    s = load_prepared(tmp_path / "o", "default", "train")
    assert np.isfinite(s.data[:]).all() and not s.data[1][:, 3, 7, 0].any()


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        (
            (2, 3, 2, 25, 300),
            "300 persons but only 2 frames: the frame and person axes look swapped",
        ),
        ((2, 8, 25, 1, 3), "V=1 joints but layout ntu25 has 25; axis T has 25"),
        ((2, 9, 8, 25, 1), "C=9 channels (expected 2 to 4"),
    ],
)
def test_npy_transposed_axes_refused_with_the_order(tmp_path, capsys, shape, message):
    d = tmp_path / "src"
    d.mkdir()
    np.save(d / "train_data_joint.npy", np.ones(shape, np.float32))
    (d / "train_label.pkl").write_bytes(pickle.dumps((["a", "b"], [0, 1])))
    assert main(["prepare", "import-npy", "--raw", str(d), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and "train_data_joint.npy" in err[0]


def test_handed_bomb_label_pickle_through_import_npy(shared_cases, tmp_path, capsys):

    d = tmp_path / "npy"
    d.mkdir()
    np.save(d / "train_data_joint.npy", np.ones((1, 3, 10, 18, 1), np.float32))
    bomb = shared_cases / "s3" / "17-pickle-shared-reference-bomb"
    (d / "train_label.pkl").write_bytes((bomb / "bomb_label.pkl").read_bytes())
    for args in (
        ["import-npy", "--raw", str(d), "--layout", "openpose18", "--channels", "x,y,score"],
        ["import-pyskl", "--raw", str(bomb / "bomb_pyskl.pkl"), "--layout", "coco17"],
    ):
        tracemalloc.start()  # a bomb expanded (3**40 references) would need far more
        try:
            assert main(["prepare", *args, "--out", str(tmp_path / "o")]) == 2
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 64 * 2**20, peak
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and len(err[0]) < 400 and ".pkl" in err[0]
        assert "pickle refused as too large" in err[0]


def test_pyskl_bomb_inside_keypoint_refused_with_the_unpicklers_reason(tmp_path, capsys):
    """A shared-reference bomb in one annotation's keypoint: the unpickler's reason
    (too large), not "keypoint must be a numeric array, got None"."""
    obj = _pyskl(np.random.default_rng(4))
    bomb: object = 0.5
    for _ in range(30):
        bomb = [bomb, bomb, bomb]
    obj["annotations"][1]["keypoint"] = bomb
    pk = tmp_path / "p.pkl"
    pk.write_bytes(pickle.dumps(obj, protocol=4))
    assert main(["prepare", "import-pyskl", "--raw", str(pk), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "p.pkl: pickle refused as too large" in err[0], err
    assert "a pickle bomb" in err[0] and "got None" not in err[0]


def _nmtvc_folder(d: Path, persons_padded: bool = True, score: bool = True) -> np.ndarray:
    """(N, M, T, V, C) = (12, 2, 30, 18, 3) as PYSKL/mmaction write: x, y in pixels,
    a score in [0, 1]; the second person absent (zero) in half the samples."""
    rng = np.random.default_rng(7)
    d.mkdir()
    data = np.zeros((12, 2, 30, 18, 3), np.float32)
    data[..., :2] = rng.uniform(10, 600, (12, 2, 30, 18, 2))
    data[..., 2] = (
        rng.uniform(0.3, 1.0, (12, 2, 30, 18)) if score else rng.uniform(2, 5, (12, 2, 30, 18))
    )
    if persons_padded:
        data[::2, 1] = 0
    np.save(d / "train_data_joint.npy", data)
    (d / "train_label.pkl").write_bytes(
        pickle.dumps(([f"s{i}" for i in range(12)], [i % 2 for i in range(12)]))
    )
    return data


@pytest.mark.parametrize("channels", [[], ["--channels", "x,y,score"]])
def test_npy_in_pyskl_order_is_read_as_such_and_said(tmp_path, capsys, channels):
    """(N, M, T, V, C) data were read as C=2 channels and 3 "persons" (x, y, score)
    without a word; now the score channel and padding persons show the order: the
    data are transposed, said on screen and in meta.json axes_assumed."""
    data = _nmtvc_folder(tmp_path / "src")
    assert (
        main(
            [
                "prepare",
                "import-npy",
                "--raw",
                str(tmp_path / "src"),
                "--layout",
                "openpose18",
                *channels,
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "read as (N, M, T, V, C)" in out and "axes_assumed" in out
    meta = read_meta(tmp_path / "o")
    assert meta["channels"] == ["x", "y", "score"] and meta["shape"] == [12, 3, 30, 18, 2]
    (a,) = meta["axes_assumed"]
    assert a["shape"] == [12, 2, 30, 18, 3] and a["read_as"] == "(N, M, T, V, C)"
    x = load_prepared(tmp_path / "o", "default", "train").data[1]
    assert np.array_equal(x, data[1].transpose(3, 1, 2, 0))


def test_npy_order_ambiguous_or_unsupported_is_refused_with_the_fix(tmp_path, capsys):
    # no score channel, both persons always there: --channels x,y,score fits only
    # (N, M, T, V, C), but nothing in the data shows it
    _nmtvc_folder(tmp_path / "a", persons_padded=False, score=False)
    args = ["prepare", "import-npy", "--raw", str(tmp_path / "a"), "--layout", "openpose18"]
    assert main([*args, "--channels", "x,y,score", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--channels x,y,score names 3 channels but" in err[0]
    assert "has C=2 (shape [12, 2, 30, 18, 3] as (N, C, T, V, M))" in err[0]
    assert (
        "(N, M, T, V, C) with M=2 persons and C=3 channels" in err[0] and "--axes NMTVC" in err[0]
    )
    assert (
        main([*args, "--channels", "x,y,score", "--axes", "NMTVC", "--out", str(tmp_path / "o")])
        == 0
    )
    assert read_meta(tmp_path / "o")["axes_assumed"][0]["why"] == "--axes NMTVC"
    capsys.readouterr()
    # both orders backed by the data: (12, 3, 30, 18, 3), x, y, score in [0, 1] and padding
    d = tmp_path / "b"
    d.mkdir()
    data = np.random.default_rng(0).uniform(0.1, 0.9, (12, 3, 30, 18, 3)).astype(np.float32)
    data[::2, 1:] = 0  # as (N, M, T, V, C): persons 1, 2 absent; as (N, C, T, V, M): a score
    np.save(d / "train_data_joint.npy", data)
    (d / "train_label.pkl").write_bytes(pickle.dumps(([f"s{i}" for i in range(12)], [0] * 12)))
    assert (
        main(
            [
                "prepare",
                "import-npy",
                "--raw",
                str(d),
                "--layout",
                "openpose18",
                "--out",
                str(tmp_path / "o2"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "fits both (N, C, T, V, M)" in err[0]
    assert "pass --axes NCTVM or --axes NMTVC" in err[0]


def test_standard_npy_order_unchanged(tmp_path):
    """ST-GCN's (N, C, T, V, M) Kinetics files (x, y, score; second person often zero)
    stay as they are, nothing assumed."""
    rng = np.random.default_rng(8)
    d = tmp_path / "src"
    d.mkdir()
    data = np.zeros((6, 3, 12, 18, 2), np.float32)
    data[:, :2] = rng.uniform(-0.5, 0.5, (6, 2, 12, 18, 2))
    data[:, 2] = rng.uniform(0.2, 1.0, (6, 12, 18, 2))
    data[::2, :, :, :, 1] = 0
    np.save(d / "train_data_joint.npy", data)
    (d / "train_label.pkl").write_bytes(pickle.dumps(([f"s{i}" for i in range(6)], [0] * 6)))
    assert (
        main(
            [
                "prepare",
                "import-npy",
                "--raw",
                str(d),
                "--layout",
                "openpose18",
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 0
    )
    meta = read_meta(tmp_path / "o")
    assert meta["shape"] == [6, 3, 12, 18, 2] and meta["axes_assumed"] == []
