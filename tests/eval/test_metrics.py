"""Evaluation metrics on a tiny prediction set whose values are checked by hand."""

from __future__ import annotations

import math

import pytest
import torch

from skelcon.eval.knn import knn_predict, knn_scores
from skelcon.eval.metrics import class_names, classification_metrics, pool_runs

NAMES = ["a", "b", "c", "d", "e", "f"]
# 6 classes, 5 samples; scores rank the classes, the first of each row is the prediction
RANKS = [
    [0, 1, 2, 3, 4, 5],  # true 0: top-1 hit
    [1, 0, 2, 3, 4, 5],  # true 0: predicted b, 0 second -> top-5 hit
    [2, 3, 4, 5, 0, 1],  # true 1: 1 ranked last -> top-5 miss
    [2, 1, 0, 3, 4, 5],  # true 2: top-1 hit
    [0, 1, 2, 3, 4, 5],  # true 2: predicted a, 2 third -> top-5 hit
]
LABELS = torch.tensor([0, 0, 1, 2, 2])


def _scores() -> torch.Tensor:
    s = torch.zeros(len(RANKS), len(NAMES))
    for i, order in enumerate(RANKS):
        for rank, cls in enumerate(order):
            s[i, cls] = 10.0 - rank
    return s


def test_hand_checked_values():
    m = classification_metrics(_scores(), LABELS, NAMES)
    assert m["top1"] == pytest.approx(40.0)  # samples 0 and 3
    assert m["top5"] == pytest.approx(80.0)  # all but sample 2
    assert m["classes"] == NAMES
    assert m["per_class_count"] == [2, 1, 2, 0, 0, 0]
    assert m["per_class_accuracy"] == [50.0, 0.0, 50.0, None, None, None]
    assert m["mean_class_accuracy"] == pytest.approx(100 / 3)  # mean over a, b, c
    assert m["confusion_matrix"] == [
        [1, 1, 0, 0, 0, 0],
        [0, 0, 1, 0, 0, 0],
        [1, 0, 1, 0, 0, 0],
        [0, 0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0],
    ]
    assert "rows: true" in m["confusion_matrix_axes"]


def test_fewer_than_five_classes_top5_is_everything():
    m = classification_metrics(torch.tensor([[0.1, 0.9], [0.8, 0.2]]), torch.tensor([0, 0]), "xy")
    assert m["top1"] == 50.0 and m["top5"] == 100.0 and m["confusion_matrix"] == [[1, 1], [0, 0]]


def test_pool_runs_sums_confusion_and_averages():
    one = classification_metrics(_scores(), LABELS, NAMES)
    perfect = classification_metrics(torch.eye(6)[LABELS], LABELS, NAMES)
    pooled = pool_runs([one, perfect])
    assert pooled["top5_runs"] == [80.0, 100.0] and pooled["top5_mean"] == pytest.approx(90.0)
    assert pooled["top5_std"] == pytest.approx(10.0)
    assert pooled["confusion_matrix"][0][:2] == [3, 1]
    assert pooled["per_class_accuracy"][:3] == [75.0, 50.0, 75.0]


def test_knn_scores_rank_the_prediction_first_then_nearest_classes():
    train = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [-1.0, 0.1]])
    labels = torch.tensor([0, 0, 1, 2])
    test = torch.tensor([[0.2, 1.0], [1.0, 0.05]])
    for k in (1, 3):
        s = knn_scores(train, labels, test, k=k, num_classes=4)
        assert s.shape == (2, 4)
        assert torch.equal(s.argmax(1), knn_predict(train, labels, test, k=k, num_classes=4))
    s = knn_scores(train, labels, test, k=1, num_classes=4)
    assert s[0].argsort(descending=True)[:2].tolist() == [1, 0]  # nearest: class 1, then 0
    assert math.isinf(s[0, 3]) and s[0, 3] < 0  # class 3 has no training sample


def test_class_names_from_meta():
    assert class_names({"num_classes": 2, "classes": ["x", "y"]}) == ["x", "y"]
    assert class_names({"num_classes": 2}) == ["class_0", "class_1"]
