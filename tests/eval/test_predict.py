"""``skelcon predict``: raw clips in every format ``prepare`` reads give the logits the
kept classifier gives on the same clips once prepared; what does not fit is one line."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
from tinydata import make_classifier

import skelcon
from skelcon.cli import main
from skelcon.data.rawinputs import read_inputs
from skelcon.errors import DataFormatError, SkelconError
from skelcon.eval.predict import predict
from skelcon.examples import write_folder, write_kinetics, write_pyskl


def _prepare(*argv) -> None:
    assert main(["prepare", *[str(a) for a in argv]]) == 0


def _prepared_logits(data, model) -> dict[str, np.ndarray]:
    """The model's logits on every prepared clip of ``data``, by name."""
    x = np.load(data / "data.npy")
    nf = np.load(data / "num_frames.npy")
    names = [str(n) for n in np.load(data / "names.npy")]
    return dict(zip(names, model(x, nf).numpy(), strict=True))


def _same_as_prepared(data, model_dir, inputs, **kw) -> int:
    model = skelcon.load_classifier(model_dir)
    preds = model.predict_files(inputs, **kw)
    want = _prepared_logits(data, model)
    assert preds.names and not preds.skipped
    for name, got in zip(preds.names, preds.logits, strict=True):
        np.testing.assert_allclose(got, want[name], atol=1e-5, err_msg=name)
    return len(preds.names)


def test_npy_csv_json_clips_and_folders_read_as_prepared(tmp_path):
    raw = write_folder(tmp_path / "raw", num_classes=2, per_class=3)  # npy, csv, json in turn
    data = tmp_path / "d"
    _prepare(
        "folder",
        "--raw",
        raw,
        "--out",
        data,
        "--layout",
        "coco17",
        "--normalize",
        "--channels",
        "x,y,score",
        "--max-frames",
        "40",
    )
    model = make_classifier(data, tmp_path / "m")
    assert _same_as_prepared(data, model, [raw]) == 6  # the folder, recursively
    files = sorted(raw.rglob("clip*.*"))
    assert {f.suffix for f in files} == {".npy", ".csv", ".json"}
    clf = skelcon.load_classifier(model)
    want = _prepared_logits(data, clf)
    preds = clf.predict_files(files)  # each file on its own: named by its stem
    for f, got in zip(files, preds.logits, strict=True):
        np.testing.assert_allclose(got, want[f"{f.parent.name}/{f.stem}"], atol=1e-5)


def test_openpose_folder_one_clip_per_video(tmp_path):
    raw = tmp_path / "raw" / "clap"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for video, frames in (("a", 9), ("b", 6)):
        for t in range(frames):
            kp = np.c_[rng.uniform(10, 600, (25, 2)), rng.uniform(0.2, 1, (25, 1))]
            doc = {"people": [{"pose_keypoints_2d": kp.ravel().tolist()}]}
            (raw / f"{video}_{t:012d}_keypoints.json").write_text(json.dumps(doc))
    data = tmp_path / "d"
    _prepare("folder", "--raw", raw.parent, "--out", data, "--layout", "openpose25", "--normalize")
    model = make_classifier(data, tmp_path / "m")
    assert _same_as_prepared(data, model, [raw.parent]) == 2  # clap/a, clap/b
    one = tmp_path / "one"
    one.mkdir()
    for f in raw.glob("a_*"):
        (one / f.name).write_bytes(f.read_bytes())
    preds = skelcon.load_classifier(model).predict_files([one])  # the video folder itself
    assert preds.names == ["one"] and int(preds.num_frames[0]) == 9
    # a frame file's message advises folder/<video>: that path is one video of several
    clf = skelcon.load_classifier(model)
    with pytest.raises(SkelconError, match=r"give '.*clap/b' \(the video\)"):
        clf.predict_files([next(iter(sorted(raw.glob("b_*"))))])
    preds = clf.predict_files([raw / "b"])
    assert preds.names == ["b"] and int(preds.num_frames[0]) == 6


def test_pyskl_pickle_every_annotation_a_clip(tmp_path):
    pkl = write_pyskl(tmp_path / "ann.pkl", num_classes=2, per_class=3)
    data = tmp_path / "d"
    _prepare("import-pyskl", "--raw", pkl, "--out", data, "--layout", "coco17", "--normalize")
    model = make_classifier(data, tmp_path / "m")
    assert _same_as_prepared(data, model, [pkl]) == 6  # x, y + keypoint_score as x, y, score
    xy = tmp_path / "xy"
    _prepare(
        "import-pyskl", "--raw", pkl, "--out", xy, "--layout", "coco17", "--normalize", "--no-score"
    )
    assert _same_as_prepared(xy, make_classifier(xy, tmp_path / "m2"), [pkl]) == 6


def test_kinetics_skeleton_json(tmp_path):
    kin = write_kinetics(tmp_path / "kin", num_classes=2, per_class=3)
    data = tmp_path / "d"
    _prepare("kinetics-skeleton", "--raw", kin, "--out", data, "--max-frames", "64")
    model = make_classifier(data, tmp_path / "m")
    clips = sorted(kin.glob("kinetics_*/*.json"))
    clf = skelcon.load_classifier(model)
    want = _prepared_logits(data, clf)
    preds = clf.predict_files(clips)
    assert len(preds.names) == 6
    for name, got in zip(preds.names, preds.logits, strict=True):
        np.testing.assert_allclose(got, want[name], atol=1e-5)
    # a folder of them: the label files are not clips (skipped, listed)
    preds = clf.predict_files([kin])
    assert len(preds.names) == 6 and sorted(p for p, _ in preds.skipped) == sorted(
        str(p) for p in kin.glob("*_label.json")
    )


def test_mixed_folder_and_cli_outputs(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SKELCON_EXTRACT_PYTHON", str(tmp_path / "no-python"))  # no backend
    raw = write_folder(tmp_path / "raw", num_classes=2, per_class=2)
    data = tmp_path / "d"
    _prepare(
        "folder",
        "--raw",
        raw,
        "--out",
        data,
        "--layout",
        "coco17",
        "--normalize",
        "--channels",
        "x,y,score",
    )
    model = make_classifier(data, tmp_path / "m")
    (raw / "action_0" / "notes.txt").write_text("not a clip")
    (raw / "action_0" / ".DS_Store").write_text("")
    (raw / "action_1" / "broken.npy").write_bytes(b"\x93NUMPY garbage")
    (raw / "action_1" / "walk.mp4").write_bytes(b"\0")
    out = tmp_path / "preds"
    argv = ["predict", "--model", str(model), "--input", str(raw), "--out", str(out)]
    assert main([*argv, "--top-k", "2", "--quiet", "--batch-size", "3"]) == 0
    text = capsys.readouterr()
    assert "skipped " in text.err and "broken.npy" in text.err
    lines = [ln for ln in text.out.splitlines() if ln.startswith("action_")]
    assert len(lines) == 4 and all(ln.count(" %") == 2 for ln in lines)
    doc = json.loads((out / "predictions.json").read_text())
    assert (
        doc["num_clips"] == 4 and doc["top_k"] == 2 and doc["classes"] == ["action_0", "action_1"]
    )
    # the video could not be extracted (no backend here): skipped with the reason, the
    # clips predicted (test_predict_video.py extracts videos)
    skipped = {d["path"]: d["reason"] for d in doc["skipped"]}
    assert sorted(skipped) == [str(raw / "action_1" / n) for n in ("broken.npy", "walk.mp4")]
    assert "SKELCON_EXTRACT_PYTHON" in skipped[str(raw / "action_1" / "walk.mp4")]
    reasons = {p.split("/")[-1]: r for p, r in ((d["path"], d["reason"]) for d in doc["not_read"])}
    assert reasons[".DS_Store"] == "hidden file" and "notes.txt" in reasons
    clip = doc["clips"][0]
    probs = np.exp(clip["logits"]) / np.exp(clip["logits"]).sum()
    assert clip["top"][0]["probability"] == pytest.approx(probs.max(), abs=1e-6)
    rows = (out / "predictions.csv").read_text().splitlines()
    assert rows[0] == "name,path,num_frames,top1,p1,top2,p2" and len(rows) == 5
    assert (
        rows[1].split(",")[0] == clip["name"] and rows[1].split(",")[3] == clip["top"][0]["class"]
    )
    # --strict: the bad file is the error, one line
    (raw / "action_1" / "walk.mp4").unlink()
    assert main([*argv, "--quiet", "--strict"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "broken.npy" in err


@pytest.fixture(scope="module")
def coco(tmp_path_factory):
    """A coco17 x, y, score dataset of a few clips and a classifier for it."""
    tmp = tmp_path_factory.mktemp("coco")
    raw = write_folder(tmp / "raw", num_classes=2, per_class=2, formats=(".npy",))
    _prepare(
        "folder",
        "--raw",
        raw,
        "--out",
        tmp / "d",
        "--layout",
        "coco17",
        "--normalize",
        "--channels",
        "x,y,score",
    )
    return tmp, make_classifier(tmp / "d", tmp / "m")


def _one_line(argv, capsys) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err
    return err


def test_what_does_not_fit_the_model_is_one_line_naming_both_sides(coco, tmp_path, capsys):
    _, model = coco
    wants = "the model takes coco17 clips (V=17 joints; C=3: x, y, score; up to M=2 persons)"
    base = ["predict", "--model", str(model), "--quiet", "--input"]
    np.save(tmp_path / "ntu.npy", np.ones((30, 25, 3), np.float32))  # 25 joints
    err = _one_line([*base, str(tmp_path / "ntu.npy")], capsys)
    assert "ntu.npy" in err and "25" in err and wants in err
    np.save(tmp_path / "xy.npy", np.ones((30, 17, 2), np.float32) * 5)  # no score channel
    err = _one_line([*base, str(tmp_path / "xy.npy")], capsys)
    assert "xy.npy" in err and wants in err
    kin = write_kinetics(tmp_path / "kin", num_classes=1, per_class=1)  # openpose18 clips
    clip = next(kin.glob("kinetics_*/*.json"))
    err = _one_line([*base, str(clip)], capsys)
    assert str(clip) in err and "Kinetics-skeleton" in err and wants in err
    ann = {"frame_dir": "x1", "label": 0, "keypoint": np.ones((1, 9, 18, 2), np.float32)}
    (tmp_path / "p.pkl").write_bytes(pickle.dumps({"annotations": [ann]}, protocol=4))
    err = _one_line([*base, str(tmp_path / "p.pkl")], capsys)
    assert "p.pkl[x1]" in err and "V=18" in err and wants in err
    assert main([*base, str(tmp_path / "ntu.npy"), str(tmp_path / "xy.npy")]) == 2
    err = capsys.readouterr().err.strip().splitlines()  # each skipped, then the error
    assert [ln.split(":")[0] for ln in err] == ["skipped " + str(tmp_path / "ntu.npy")] + [
        "skipped " + str(tmp_path / "xy.npy"),
        "skelcon",
    ]
    assert "no clip could be read: all 2 inputs were skipped (first: " in err[-1]
    err = _one_line([*base, str(tmp_path / "clip.mp4")], capsys)  # videos: test_predict_video
    assert f"--input {str(tmp_path / 'clip.mp4')!r} does not exist" in err
    err = _one_line([*base, str(tmp_path / "nope.npy")], capsys)
    assert "does not exist" in err
    err = _one_line([*base, str(tmp_path / "ntu.npy"), "--top-k", "0"], capsys)
    assert "--top-k must be at least 1" in err


def test_a_pickle_is_never_run(coco, tmp_path, capsys):
    class Evil:
        def __reduce__(self):
            return (print, ("ran",))

    (tmp_path / "evil.pkl").write_bytes(pickle.dumps({"annotations": [Evil()]}))
    _, model = coco
    err = _one_line(
        ["predict", "--model", str(model), "--quiet", "--input", str(tmp_path / "evil.pkl")], capsys
    )
    assert "evil.pkl" in err and "ran" not in capsys.readouterr().out


def test_file_channels_other_than_the_models(tmp_path):
    """A model of x, y fed an estimator's x, y, score files with --channels x,y,score."""
    raw = tmp_path / "raw" / "wave"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(3):
        kp = np.c_[rng.uniform(10, 600, (20, 17, 2)).reshape(-1, 2), rng.uniform(0.3, 1, (340, 1))]
        np.save(tmp_path / f"s{i}.npy", kp.reshape(20, 17, 3).astype(np.float32))
        np.save(raw / f"s{i}.npy", kp.reshape(20, 17, 3)[..., :2].astype(np.float32))
    data = tmp_path / "d"
    _prepare("folder", "--raw", raw.parent, "--out", data, "--layout", "coco17", "--normalize")
    clf = skelcon.load_classifier(make_classifier(data, tmp_path / "m"))
    want = _prepared_logits(data, clf)
    preds = clf.predict_files(
        [tmp_path / f"s{i}.npy" for i in range(3)], channels=["x", "y", "score"]
    )
    for i, got in enumerate(preds.logits):
        np.testing.assert_allclose(got, want[f"wave/s{i}"], atol=1e-5)


def test_read_inputs_names_and_order(coco, tmp_path):
    tmp, _ = coco
    inputs = read_inputs([tmp / "raw"], tmp / "d")
    names = [c.name for c in inputs.clips]
    assert names == sorted(names) and names[0].startswith("action_0/")
    with pytest.raises(SkelconError, match="hold no clip"):
        read_inputs([tmp_path], tmp / "d")
    (tmp_path / "x.npy").write_bytes(b"junk")
    bad = read_inputs([tmp_path / "x.npy"], tmp / "d")
    with pytest.raises(DataFormatError, match=r"x\.npy.*the model takes coco17"):
        bad.load(bad.clips[0])


def test_predict_checks_options_before_reading(coco, tmp_path):
    tmp, model = coco
    (tmp_path / "file").write_text("")
    with pytest.raises(SkelconError, match="is a file, not a directory"):
        predict(model, [tmp / "raw"], out=tmp_path / "file", progress=False)
    with pytest.raises(SkelconError, match="batch_size must be at least 1"):
        predict(model, [tmp / "raw"], batch_size=0, progress=False)
