"""``skelcon predict``: classify raw clips with the classifier an evaluation kept.

``skelcon predict --model EVAL_DIR --input PATH... [--out DIR]`` loads ``EVAL_DIR/model.pt``
(:func:`~skelcon.eval.classifier.load_classifier`), reads every clip of the inputs as the
evaluation data were prepared (:mod:`skelcon.data.rawinputs`: the model's layout,
channels, persons, padded length and normalisation), runs them through the model in
batches (it applies the evaluation's centre crop itself) and gives per clip the
softmax of the logits, its top-k classes first. With ``--out`` it writes
``predictions.json`` (every clip's name, path, valid frames, top-k classes and
probabilities, and its logits; the clips skipped and the files not read, each with its
reason; the model and the contract) and ``predictions.csv`` (one row per clip: name,
path, frames, then class and probability of ranks 1..k), both atomically.

A video (given, or in a folder given) is first turned into a clip by ``skelcon
extract`` in the model's joint layout (:class:`~skelcon.extract.formodel.VideosForModel`:
``backend``, a conversion table from the backend's layout when the model's is another,
the clip files in a temporary folder or kept in ``keypoints``), then read as any clip.

A clip that cannot be read or does not fit the model (joints, channels, layout) is
skipped and listed, on screen and in ``predictions.json``, as ``prepare folder`` skips
a bad clip; ``strict`` refuses at the first instead. When no clip is left, the first
reason is the one-line error.

The batching (:func:`~skelcon.eval.inputs.encode_inputs`) is shared with ``skelcon embed
--input``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import SkelconError
from ..utils.io import atomic_write, write_json
from .inputs import Predictions, check_batch_size, predict_inputs

if TYPE_CHECKING:
    from .classifier import SavedClassifier

PREDICTIONS_JSON = "predictions.json"
PREDICTIONS_CSV = "predictions.csv"
PREDICTIONS_FORMAT = 1


def write_predictions(
    out_dir: str | os.PathLike[str], preds: Predictions, *, top_k: int, model: SavedClassifier
) -> tuple[Path, Path]:
    """``out_dir/predictions.json`` and ``predictions.csv`` (module doc), atomically."""
    import csv
    import io

    from ..version import package_version

    out = Path(out_dir)
    rows = preds.rows(top_k)
    k = len(rows[0]["top"]) if rows else min(top_k, len(preds.classes))
    doc = {
        "format": PREDICTIONS_FORMAT,
        "model": preds.info.get("file"),
        "model_id": model.model_id,
        "protocol": preds.info.get("protocol"),
        "representation": preds.info.get("representation"),
        "stream": preds.info.get("stream"),
        "classes": preds.classes,
        "top_k": k,
        "probabilities": "softmax of the logits over the classes",
        "contract": model.contract,
        "skelcon_version": package_version(),
        "num_clips": len(rows),
        "clips": rows,
        "skipped": [{"path": p, "reason": r} for p, r in preds.skipped],
        "not_read": [{"path": p, "reason": r} for p, r in preds.unused],
    }
    json_path, csv_path = out / PREDICTIONS_JSON, out / PREDICTIONS_CSV
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(
        ["name", "path", "num_frames"] + [h for r in range(1, k + 1) for h in (f"top{r}", f"p{r}")]
    )
    for row in rows:
        w.writerow(
            [row["name"], row["path"], row["num_frames"]]
            + [v for t in row["top"] for v in (t["class"], f"{t['probability']:.6f}")]
        )
    text = buf.getvalue()
    atomic_write(csv_path, lambda p: p.write_text(text, encoding="utf-8"))
    write_json(json_path, doc)
    return json_path, csv_path


def predict(
    model: str | os.PathLike[str],
    inputs: Sequence[str | os.PathLike[str]],
    *,
    out: str | os.PathLike[str] | None = None,
    top_k: int = 5,
    batch_size: int = 64,
    which: str | None = None,
    channels: Sequence[str] | None = None,
    strict: bool = False,
    device: str = "auto",
    progress: bool = True,
    backend: str = "mediapipe",
    keypoints: str | os.PathLike[str] | None = None,
    det_model: str | os.PathLike[str] | None = None,
    pose_model: str | os.PathLike[str] | None = None,
    mirror: bool = False,
) -> tuple[SavedClassifier, Predictions]:
    """``skelcon predict``: load the classifier of ``model`` (an evaluation directory or
    its ``model.pt``; ``which``: the model of a file of several), classify the clips of
    ``inputs`` (videos first extracted with ``backend``, ``det_model``, ``pose_model``
    into the model's layout, mirrored with ``mirror``; the clip files kept in ``keypoints``
    when given) and, with
    ``out``, write ``predictions.json`` and ``predictions.csv`` there. Returns the model
    and its :class:`Predictions`. Every option is checked before any clip is read."""
    from ..extract.formodel import VideosForModel
    from .classifier import load_classifier

    if int(top_k) < 1:
        raise SkelconError(f"top_k must be at least 1, got {top_k}", param="top_k")
    check_batch_size(batch_size)
    if out is not None and Path(out).exists() and not Path(out).is_dir():
        raise SkelconError(f"out {str(out)!r} is a file, not a directory", param="out")
    clf = load_classifier(model, device=device, model=which)
    with VideosForModel(
        clf.contract,
        backend=backend,
        keypoints=keypoints,
        det_model=det_model,
        pose_model=pose_model,
        mirror=mirror,
        progress=progress,
    ) as videos:
        preds = predict_inputs(
            clf,
            inputs,
            batch_size=batch_size,
            channels=channels,
            strict=strict,
            progress=progress,
            videos=videos,
        )
    if out is not None:
        write_predictions(out, preds, top_k=top_k, model=clf)
    return clf, preds
