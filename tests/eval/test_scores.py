"""Per-sample scores: every classifying protocol writes scores.npy + scores.json, row-aligned
with the prepared test split, and their arg-max is what the metrics counted."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from tinydata import TINY_PRETRAIN

from skelcon.config import FinetuneConfig, KnnConfig, LinearEvalConfig, PretrainConfig, load_config
from skelcon.data.prepared import load_prepared
from skelcon.engine.knn import knn_predict, knn_scores
from skelcon.engine.pretrain import pretrain
from skelcon.errors import SkelconError
from skelcon.eval.run import run_finetune, run_knn, run_linear
from skelcon.eval.scores import read_scores, write_scores


@pytest.fixture(scope="module")
def run_dir(tiny_data, tmp_path_factory):
    cfg = load_config(PretrainConfig, None, [*TINY_PRETRAIN, "epochs=1"])
    return pretrain(cfg, tiny_data, "default", tmp_path_factory.mktemp("sc") / "r", progress=False)


def _confusion(pred: np.ndarray, labels: np.ndarray, c: int) -> list[list[int]]:
    m = np.zeros((c, c), dtype=int)
    np.add.at(m, (labels, pred), 1)
    return m.tolist()


def _check_aligned(out, tiny_data, protocol):
    """scores.npy is float32 (..., N_test, C), names/labels are the test split's; returns it."""
    test = load_prepared(tiny_data, "default", "test")
    s = read_scores(out)
    assert s.scores.dtype == np.float32 and s.scores.shape[1:] == (len(test), 3)
    assert np.load(out / "scores.npy").dtype == np.float32
    side = json.loads((out / "scores.json").read_text())
    assert side["names"] == test.names.tolist() and side["labels"] == test.labels.tolist()
    assert side["protocol"] == protocol and side["stream"] == "joint"
    assert side["dataset"] == "tiny" and side["benchmark"] == "default"
    assert side["classes"] == ["c0", "c1", "c2"] and side["num_classes"] == 3
    assert np.isfinite(s.scores).all()
    return s, test


def _argmax_matches(scores, labels, top1, confusion):
    pred = scores.argmax(1)
    assert (pred == labels).mean() * 100 == pytest.approx(top1, abs=1e-4)
    assert _confusion(pred, labels, scores.shape[1]) == confusion


def test_linear_scores_are_the_metrics_logits(run_dir, tiny_data, tmp_path):
    out = tmp_path / "lin"
    cfg = LinearEvalConfig(epochs=3, device="cpu", batch_size=8, train_crop="center")
    rec = run_linear(run_dir, "seq", tiny_data, "default", out, cfg, progress=False)
    s, test = _check_aligned(out, tiny_data, "linear")
    names = sorted(p.name for p in out.iterdir())  # and the classifier (test_classifier.py)
    assert names == ["metrics.json", "model.pt", "scores.json", "scores.npy"]
    assert s.scores.ndim == 3 and s.num_models == 1 and s.info["layout"] == "(N, C)"
    assert s.info["kind"] == "logits" and s.info["checkpoint"] == rec["checkpoint"]
    on_disk = json.loads((out / "metrics.json").read_text())
    _argmax_matches(s.single, test.labels, on_disk["top1"], on_disk["confusion_matrix"])
    # logits, not probabilities: rows do not sum to 1
    assert not np.allclose(s.single.sum(1), 1.0)


def test_knn_scores_are_finite_and_their_argmax_is_the_prediction(run_dir, tiny_data, tmp_path):
    out = tmp_path / "knn"
    rec = run_knn(
        run_dir, "seq", tiny_data, "default", out, KnnConfig(device="cpu"), progress=False
    )
    s, test = _check_aligned(out, tiny_data, "knn")
    assert s.info["kind"] == "knn similarity" and s.info["k"] == 1
    assert (s.single <= 1 + 1e-5).all()  # cosine similarities of the nearest clip per class
    _argmax_matches(s.single, test.labels, rec["top1"], rec["confusion_matrix"])


@pytest.mark.parametrize("k", [1, 3])
def test_finite_knn_scores_keep_the_order_and_prediction(k):
    g = torch.Generator().manual_seed(k)
    train = torch.randn(30, 8, generator=g)
    labels = torch.arange(30) % 4  # class 4 has no training clip
    test = torch.randn(20, 8, generator=g)
    test[0] = train[3]  # an exact nearest neighbour
    kw = dict(k=k, num_classes=5, chunk_size=7)
    finite = knn_scores(train, labels, test, finite=True, **kw)
    inf = knn_scores(train, labels, test, **kw)
    pred = knn_predict(train, labels, test, **kw)
    assert torch.isfinite(finite).all()
    assert torch.equal(finite.argmax(1), pred)
    # the empty class is strictly below every other class of its row
    assert (finite[:, 4:] < finite[:, :4].amin(1, keepdim=True)).all()
    # the other classes keep their nearest similarity; the ranking is the same
    rows = torch.arange(20)
    keep = torch.isfinite(inf)
    assert torch.equal(finite[keep], inf[keep])
    assert torch.equal(finite.argsort(1, descending=True), inf.argsort(1, descending=True))
    if k == 1:  # the 1-NN class scores its own nearest similarity, nothing added
        sims = (
            torch.nn.functional.normalize(test, dim=1)
            @ torch.nn.functional.normalize(train, dim=1).T
        )
        assert torch.allclose(finite[rows, pred], sims.amax(1))


def test_fine_tuning_scores_one_model_and_several(run_dir, tiny_data, tmp_path):
    one = tmp_path / "ft"
    cfg = FinetuneConfig(epochs=1, batch_size=12, device="cpu", fractions=[1.0], repeats=1)
    rec = run_finetune("finetune", run_dir, "seq", tiny_data, "default", one, cfg, progress=False)
    s, test = _check_aligned(one, tiny_data, "finetune")
    assert s.info["layout"] == "(N, C)" and s.info["models"][0]["fraction"] == 1.0
    res = rec["results"][0]
    _argmax_matches(s.single, test.labels, res["runs"][0], res["confusion_matrix"])

    several = tmp_path / "semi"
    cfg = FinetuneConfig(epochs=1, batch_size=12, device="cpu", fractions=[0.5, 1.0], repeats=1)
    rec = run_finetune("semi", run_dir, "seq", tiny_data, "default", several, cfg, progress=False)
    s, test = _check_aligned(several, tiny_data, "semi")
    assert s.info["layout"] == "(M, N, C)" and np.load(several / "scores.npy").shape == (2, 12, 3)
    assert [(m["fraction"], m["repeat"]) for m in s.info["models"]] == [(0.5, 0), (1.0, 0)]
    for model, res in zip(s.scores, rec["results"], strict=True):
        _argmax_matches(model, test.labels, res["runs"][0], res["confusion_matrix"])


def _written(tmp_path, scores=None):
    scores = np.arange(6, dtype=np.float32).reshape(2, 3) if scores is None else scores
    write_scores(tmp_path, scores, ["a", "b"], [0, 2], kind="logits", protocol="linear")
    return tmp_path


def test_read_scores_one_line_errors(tmp_path):
    with pytest.raises(SkelconError, match="scores.json: missing .*not an evaluation directory"):
        read_scores(tmp_path)
    (tmp_path / "metrics.json").write_text("{}")
    with pytest.raises(SkelconError, match="scores.json: missing .*rerun"):
        read_scores(tmp_path)
    (tmp_path / "metrics.json").unlink()
    d = _written(tmp_path / "ok")
    s = read_scores(d)
    assert s.single.tolist() == [[0, 1, 2], [3, 4, 5]] and s.labels.tolist() == [0, 2]
    np.save(d / "scores.npy", np.zeros((2, 4), np.float32))
    with pytest.raises(
        SkelconError, match=r"float32 \(2, 4\) is not the \(N, C\) float32 \(2, 3\)"
    ):
        read_scores(d)
    np.save(d / "scores.npy", np.zeros((2, 3), np.float32))
    with pytest.raises(SkelconError, match="checksum"):
        read_scores(d)
    (d / "scores.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(SkelconError, match="scores.npy: not a readable .npy"):
        read_scores(d)
    (d / "scores.json").write_text("{")
    with pytest.raises(SkelconError, match="scores.json: not valid JSON"):
        read_scores(d)
    d = _written(tmp_path / "nan")
    side = json.loads((d / "scores.json").read_text())
    bad = np.array([[0, np.nan, 1], [1, 2, 3]], np.float32)
    np.save(d / "scores.npy", bad)
    side["sha256"] = None
    (d / "scores.json").write_text(json.dumps(side))
    with pytest.raises(SkelconError, match="NaN"):
        read_scores(d)
    d = _written(tmp_path / "classes")
    side = json.loads((d / "scores.json").read_text())
    (d / "scores.json").write_text(json.dumps({**side, "classes": ["c0", "c1"]}))
    with pytest.raises(
        SkelconError, match="scores.json: 'classes' must be null or a list of the 3"
    ):
        read_scores(d)


def test_write_scores_refuses_non_finite(tmp_path):
    with pytest.raises(SkelconError, match="1 of 2 test clips are not finite"):
        _written(tmp_path, np.array([[0, 1, np.inf], [1, 2, 3]], np.float32))
    assert not (tmp_path / "scores.npy").exists()
