"""Evaluations keep their classifier (``model.pt``): loaded back, it gives on the raw clip
files of the test split the logits the evaluation scored (``scores.npy``)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch
from tinydata import TINY_PRETRAIN

import skelcon
from skelcon.cli import main
from skelcon.data.folder import read_folder
from skelcon.errors import SkelconError
from skelcon.eval.classifier import MODEL_FILE, load_classifier

CLASSES = ("clap", "jump", "wave")


def _raw_clips(root, seed=0):
    """Pixel-coordinate x, y, score clips of 14 to 60 frames (some longer than the
    dataset's 40: subsampled), a class-dependent swing of the wrists."""
    rng = np.random.default_rng(seed)
    for c, cls in enumerate(CLASSES):
        (root / cls).mkdir(parents=True)
        for i in range(8):
            t = int(rng.integers(14, 61))
            kp = rng.uniform(200, 500, size=(t, 17, 3)).astype(np.float32)
            swing = 80 * np.sin(np.linspace(0, (c + 1) * np.pi, t, dtype=np.float32))
            kp[:, 9:11, c % 2] += swing[:, None]
            kp[..., 2] = rng.uniform(0.2, 1, size=(t, 17))
            np.save(root / cls / f"c{i}.npy", kp)
    return root


@pytest.fixture(scope="module")
def evals(tmp_path_factory):
    """Raw clips, ``prepare folder`` of them (2D normalised, 40 frames), a 1-epoch tiny
    run, and its ``eval linear`` (SEQ+STG) and ``eval semi`` (SEQ, fractions 0.5 and 1)."""
    tmp = tmp_path_factory.mktemp("kept")
    raw = _raw_clips(tmp / "raw")
    data, run = tmp / "d", tmp / "run"
    flags = ["--layout", "coco17", "--channels", "x,y,score", "--normalize", "--max-frames", "40"]
    assert main(["prepare", "folder", "--raw", str(raw), "--out", str(data), *flags]) == 0
    sets = [a for it in TINY_PRETRAIN for a in ("--set", it)]
    argv = ["pretrain", "--data", str(data), "--out", str(run), "--epochs", "1", "--quiet"]
    assert main([*argv, *sets, "--set", "batch_size=4", "--set", "moco.queue_size=8"]) == 0
    common = ["--checkpoint", str(run), "--data", str(data), "--quiet"]
    lin = ["eval", "linear", *common, "--representation", "seq+stg", "--epochs", "3"]
    assert main([*lin, "--set", "train_crop=center", "--out", str(tmp / "lin")]) == 0
    semi = ["eval", "semi", *common, "--representation", "seq", "--epochs", "1"]
    assert main([*semi, "--fractions", "0.5,1", "--repeats", "1", "--out", str(tmp / "semi")]) == 0
    return tmp


def _test_files(tmp):
    side = json.loads((tmp / "lin" / "scores.json").read_text())
    return side["names"], [tmp / "raw" / f"{n}.npy" for n in side["names"]]


@pytest.mark.parametrize(("eval_dir", "which", "row"), [("lin", None, None), ("semi", "1:0", 1)])
def test_predict_on_raw_test_clips_gives_the_evaluations_scores(
    evals, eval_dir, which, row, tmp_path
):
    scores = np.load(evals / eval_dir / "scores.npy")
    scores = scores if row is None else scores[row]
    names, files = _test_files(evals)
    assert len(names) == 6 and any(np.load(f).shape[0] > 40 for f in files)  # some subsampled
    out = tmp_path / "p"
    argv = ["predict", "--model", str(evals / eval_dir), "--input", *map(str, files)]
    assert main([*argv, "--out", str(out), "--quiet"] + (["--which", which] if which else [])) == 0
    doc = json.loads((out / "predictions.json").read_text())
    logits = np.array([c["logits"] for c in doc["clips"]])
    assert [c["name"] for c in doc["clips"]] == [f.stem for f in files]
    np.testing.assert_allclose(logits, scores, atol=1e-4)
    assert [c["top"][0]["index"] for c in doc["clips"]] == scores.argmax(1).tolist()
    # the same from Python, on the folder (recursively; names relative to it)
    clf = skelcon.load_classifier(evals / eval_dir, model=which)
    preds = clf.predict_files([evals / "raw"])
    by_name = dict(zip(preds.names, preds.logits, strict=True))
    np.testing.assert_allclose(np.stack([by_name[n] for n in names]), scores, atol=1e-4)


def test_the_match_needs_the_normalisation_and_the_crop(evals):
    """The check above can fail: the clips as read without the normalisation, or cropped
    otherwise, give other logits."""
    from skelcon.augment import center_crop_resize

    scores = np.load(evals / "lin" / "scores.npy")
    names, files = _test_files(evals)
    clf = load_classifier(evals / "lin")
    folder = read_folder(evals / "raw", "coco17", channels=["x", "y", "score"], max_frames=40)
    by = {c.name: c for c in folder.clips}
    pixels = [folder.load(by[n]) for n in names]  # no normalisation
    x = np.stack([s.x for s in pixels])
    nf = np.array([s.num_frames for s in pixels])
    with pytest.warns(UserWarning, match="input coordinates reach"):
        assert np.abs(clf(x, nf).numpy() - scores).max() > 1e-2
    good = [skelcon.read_clip(f, clf.contract) for f in files]
    x = torch.from_numpy(np.stack([s.x for s in good]))
    nf = torch.tensor([s.num_frames for s in good])
    np.testing.assert_allclose(clf(x, nf).numpy(), scores, atol=1e-4)
    whole = center_crop_resize(x, nf, out_len=clf.encoder.num_frames, ratio=1.0)  # no crop
    with torch.no_grad():
        other = clf.head(clf.encoder.encoder(whole)).numpy()
    assert np.abs(other - scores).max() > 1e-3


def _plain(value, where="") -> None:
    """Only dicts, lists, str, numbers, None and tensors."""
    if isinstance(value, dict):
        for k, v in value.items():
            assert isinstance(k, str), where
            _plain(v, f"{where}.{k}")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _plain(v, f"{where}[{i}]")
    else:
        assert value is None or isinstance(value, (str, int, float, bool, torch.Tensor)), where


def test_model_file_is_plain_and_loads_weights_only(evals):
    state = torch.load(evals / "lin" / MODEL_FILE, weights_only=True)
    _plain(state)
    assert state["protocol"] == "linear" and state["representation"] == "seq+stg"
    assert state["classes"] == list(CLASSES) and state["skelcon_version"] == skelcon.__version__
    c = state["contract"]
    assert (c["layout"], c["channels"], c["num_joints"], c["num_persons"], c["max_frames"]) == (
        "coco17",
        ["x", "y", "score"],
        17,
        2,
        40,
    )
    assert c["normalization"].startswith("2D") and c["crop"]["ratio"] == 0.95
    assert c["crop"]["encoder_frames"] == 16 and c["stream"] == "joint"
    assert state["classifier"] == {
        "kind": "linear",
        "in_dim": 384,
        "num_classes": 3,
        "standardize": True,
    }
    assert [m["id"] for m in state["models"]] == ["linear"]
    semi = torch.load(evals / "semi" / MODEL_FILE, weights_only=True)
    assert [(m["id"], m["fraction"], m["repeat"]) for m in semi["models"]] == [
        ("0.5:0", 0.5, 0),
        ("1:0", 1.0, 0),
    ]
    side = json.loads((evals / "semi" / "scores.json").read_text())
    assert [m["top1"] for m in semi["models"]] == [m["top1"] for m in side["models"]]
    one, two = (m["encoder_state"] for m in semi["models"])  # each its own fine-tuned encoder
    assert any(not torch.equal(one[k], two[k]) for k in one)


def test_several_models_need_a_choice(evals, capsys):
    with pytest.raises(
        SkelconError, match=r"holds 2 models of semi .*valid: 0\.5:0, 1:0, or an index 0\.\.1"
    ):
        load_classifier(evals / "semi")
    assert load_classifier(evals / "semi", model="0.50:0").model_id == "0.5:0"
    assert load_classifier(evals / "semi", model=1).model_id == "1:0"
    assert load_classifier(evals / "lin", model="linear").model_id == "linear"
    with pytest.raises(SkelconError, match=r"model '0\.2:0' is not in"):
        load_classifier(evals / "semi", model="0.2:0")
    _, files = _test_files(evals)
    assert main(["predict", "--model", str(evals / "semi"), "--input", str(files[0])]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--which" in err and "0.5:0, 1:0" in err


class NotPlain:
    """An object ``weights_only`` loading refuses."""


def test_what_is_not_a_model_file_is_one_line(tmp_path):
    (tmp_path / "knn").mkdir()
    (tmp_path / "knn" / "metrics.json").write_text(json.dumps({"protocol": "knn"}))
    with pytest.raises(SkelconError, match="kNN trains no classifier"):
        load_classifier(tmp_path / "knn")
    with pytest.raises(SkelconError, match="not found"):
        load_classifier(tmp_path / "nope")
    (tmp_path / "bad.pt").write_bytes(b"not a zip")
    with pytest.raises(SkelconError, match="truncated, corrupt or not a torch file"):
        load_classifier(tmp_path / "bad.pt")
    torch.save({"model": {}}, tmp_path / "ckpt.pt")
    with pytest.raises(SkelconError, match="not a skelcon classifier file"):
        load_classifier(tmp_path / "ckpt.pt")

    torch.save({"format": "skelcon-classifier", "x": NotPlain()}, tmp_path / "evil.pt")
    with pytest.raises(SkelconError, match="objects other than tensors"):
        load_classifier(tmp_path / "evil.pt")


@pytest.mark.parametrize(("keep", "ids"), [(None, ["0.5:0", "1:0"]), ("all", None), ("none", [])])
def test_keep_models_chooses_what_model_pt_keeps(evals, tmp_path, keep, ids):
    """``keep_models`` (default ``first``: the first repeat of every fraction) decides which
    fine-tuned models ``model.pt`` keeps; ``scores.npy`` keeps every model's scores."""
    out = tmp_path / "semi"
    argv = ["eval", "semi", "--checkpoint", str(evals / "run"), "--data", str(evals / "d")]
    argv += ["--representation", "seq", "--epochs", "1", "--fractions", "0.5,1", "--repeats", "2"]
    argv += ["--quiet", "--out", str(out)] + (
        [] if keep is None else ["--set", f"keep_models={keep}"]
    )
    assert main(argv) == 0
    assert np.load(out / "scores.npy").shape[0] == 4
    if ids == []:
        assert not (out / MODEL_FILE).exists()
        return
    kept = [m["id"] for m in torch.load(out / MODEL_FILE, weights_only=True)["models"]]
    assert kept == (ids or ["0.5:0", "0.5:1", "1:0", "1:1"])


@pytest.mark.parametrize(
    ("damage", "said"),
    [
        (lambda s: s.pop("classifier"), "classifier.kind is None"),
        (lambda s: s.__setitem__("classes", s["classes"][:-1]), "classifier.num_classes"),
        (lambda s: s["contract"].__setitem__("max_frames", -5), "contract.max_frames is -5"),
        (lambda s: s.__setitem__("models", []), "models is empty"),
        (lambda s: s.__setitem__("stream", "bogus"), "stream is 'bogus'"),
        (lambda s: s["models"][0].pop("encoder_state"), "has no encoder_state"),
        (lambda s: s.pop("representation"), "representation is None"),
        (lambda s: s["contract"].pop("num_persons"), "contract.num_persons is None"),
        (lambda s: s["contract"].__setitem__("num_persons", 0), "contract.num_persons is 0"),
        (lambda s: s["contract"].pop("layout"), "contract.layout is None"),
        (lambda s: s["classifier"].__setitem__("standardize", "yes"), "standardize is 'yes'"),
        (
            lambda s: next(iter(s["models"][0]["classifier_state"].values())).fill_(float("nan")),
            "NaN or infinite weights",
        ),
    ],
)
def test_a_damaged_model_file_is_one_line(evals, tmp_path, damage, said):
    state = torch.load(evals / "lin" / MODEL_FILE, weights_only=True)
    damage(state)
    torch.save(state, tmp_path / MODEL_FILE)
    with pytest.raises(SkelconError, match=rf"is damaged: .*{re.escape(said)}"):
        load_classifier(tmp_path)
