"""kNN retrieval on hand-placed points."""

from __future__ import annotations

import pytest
import torch

from skelcon.errors import SkelconError
from skelcon.eval.knn import knn_accuracy, knn_predict


def test_nearest_by_cosine_not_distance():
    train = torch.tensor([[1.0, 0.0], [0.0, 1.0], [10.0, 10.5]])
    labels = torch.tensor([0, 1, 2])
    test = torch.tensor([[5.0, 0.1], [0.2, 3.0], [1.0, 1.0]])
    # cosine ignores the norm: [1,1] is closest in angle to [10,10.5]
    assert knn_predict(train, labels, test).tolist() == [0, 1, 2]
    # euclidean: [1,1] is nearer to [1,0] / [0,1] (tie) than to [10,10.5]
    pred = knn_predict(train, labels, test, similarity="euclidean")
    assert pred[0] == 0 and pred[1] == 1 and pred[2] in (0, 1)


def test_majority_vote_and_chunking():
    train = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.8, 0.3], [0.0, 1.0]])
    labels = torch.tensor([0, 1, 1, 2])
    test = torch.tensor([[1.0, 0.0]] * 5)
    assert knn_predict(train, labels, test, k=1).tolist() == [0] * 5
    assert knn_predict(train, labels, test, k=3, chunk_size=2).tolist() == [1] * 5
    assert knn_accuracy(train, labels, test, torch.tensor([1, 1, 1, 0, 0]), k=3) == pytest.approx(
        60.0
    )


def test_errors():
    with pytest.raises(SkelconError, match="similarity"):
        knn_predict(
            torch.ones(2, 2), torch.zeros(2, dtype=torch.long), torch.ones(1, 2), similarity="l1"
        )
    with pytest.raises(SkelconError, match="empty"):
        knn_accuracy(
            torch.ones(2, 2),
            torch.zeros(2, dtype=torch.long),
            torch.ones(0, 2),
            torch.zeros(0, dtype=torch.long),
        )
