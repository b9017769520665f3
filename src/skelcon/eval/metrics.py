"""Classification metrics of every evaluation protocol, on whole tensors.

:func:`classification_metrics` turns class scores ``(N, C)`` (logits, or any score
whose arg-max is the prediction) and true labels ``(N,)`` into the entries every
``metrics.json`` carries beside ``top1``:

* ``top5``: % of samples whose true class is among the 5 highest scores (all ``C``
  when there are fewer than 5 classes, so it is then 100);
* ``classes``: the class names of the dataset (``meta.json``), index order;
* ``per_class_accuracy``: % correct per true class (``None`` for a class without test
  samples), ``per_class_count``: test samples per class;
* ``mean_class_accuracy``: the mean of ``per_class_accuracy`` over the classes that
  have test samples (balanced accuracy);
* ``confusion_matrix``: counts, rows = true class, columns = predicted class.

:func:`pool_runs` combines the runs of one label fraction of the fine-tuning
protocols (confusion matrices summed over the repeats).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from ..errors import SkelconError

TOP_K = 5
CONFUSION_AXES = "rows: true class, columns: predicted class (counts)"


def class_names(meta: dict, num_classes: int | None = None) -> list[str]:
    """The class names of a prepared dataset's ``meta.json`` (``class_<i>`` when absent or
    when their count is not ``num_classes``, default the meta's ``num_classes``)."""
    n = int(meta["num_classes"] if num_classes is None else num_classes)
    names = [str(c) for c in meta.get("classes") or []]
    return names if len(names) == n else [f"class_{i}" for i in range(n)]


def confusion_matrix(pred: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """``(C, C)`` int64 counts; entry ``[t, p]`` is the number of class-``t`` samples
    predicted as ``p``."""
    pred = pred.reshape(-1).long().cpu()
    labels = labels.reshape(-1).long().cpu()
    flat = torch.bincount(labels * num_classes + pred, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes)


def per_class_accuracy(confusion: torch.Tensor) -> list[float | None]:
    """% correct per true class (the row-normalised diagonal); ``None`` for empty rows."""
    counts = confusion.sum(1)
    acc = confusion.diagonal().double() / counts.clamp_min(1).double() * 100
    return [float(a) if n > 0 else None for a, n in zip(acc.tolist(), counts.tolist(), strict=True)]


def mean_of_present(values: Sequence[float | None]) -> float:
    """Mean of the non-``None`` values (``nan`` when there are none)."""
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else math.nan


def classification_metrics(
    scores: torch.Tensor, labels: torch.Tensor, class_names: Sequence[str]
) -> dict:
    """``top1``, ``top5``, per-class and mean class accuracy (%) and the confusion matrix
    of ``scores (N, C)`` (higher: more likely; arg-max is the prediction) against
    ``labels (N,)``. ``class_names`` gives ``C`` and the names stored with the numbers."""
    num_classes = len(class_names)
    if scores.ndim != 2 or scores.shape[1] != num_classes:
        raise ValueError(f"scores {tuple(scores.shape)} do not have {num_classes} class columns")
    if scores.shape[0] == 0 or scores.shape[0] != labels.shape[0]:
        raise SkelconError(
            f"metrics need one label per scored sample (got {scores.shape[0]} scores, "
            f"{labels.shape[0]} labels)"
        )
    scores = scores.detach().float().cpu()
    labels = labels.detach().long().cpu()
    k = min(TOP_K, num_classes)
    top = scores.topk(k, dim=1).indices
    hit = top == labels[:, None]
    pred = top[:, 0]
    confusion = confusion_matrix(pred, labels, num_classes)
    per_class = per_class_accuracy(confusion)
    return {
        "top1": float(hit[:, 0].double().mean() * 100),
        "top5": float(hit.any(1).double().mean() * 100),
        "mean_class_accuracy": mean_of_present(per_class),
        "classes": [str(c) for c in class_names],
        "per_class_accuracy": per_class,
        "per_class_count": confusion.sum(1).tolist(),
        "confusion_matrix": confusion.tolist(),
        "confusion_matrix_axes": CONFUSION_AXES,
    }


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and population standard deviation (ddof = 0) of ``values``."""
    n = len(values)
    mean = sum(values) / n
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / n)


def pool_runs(runs: Sequence[dict]) -> dict:
    """One label fraction's entries from its runs' :func:`classification_metrics`:
    mean / population std / per-run lists of ``top5`` and ``mean_class_accuracy``, the
    confusion matrix summed over the runs and the per-class accuracy it gives."""
    out: dict = {}
    for key in ("top5", "mean_class_accuracy"):
        values = [float(r[key]) for r in runs]
        mean, std = mean_std(values)
        out.update({f"{key}_mean": mean, f"{key}_std": std, f"{key}_runs": values})
    total = torch.stack([torch.tensor(r["confusion_matrix"], dtype=torch.long) for r in runs])
    total = total.sum(0)
    out.update(
        per_class_accuracy=per_class_accuracy(total),
        per_class_count=runs[0]["per_class_count"],
        confusion_matrix=total.tolist(),
        confusion_matrix_axes=CONFUSION_AXES + ", summed over the runs",
    )
    return out
