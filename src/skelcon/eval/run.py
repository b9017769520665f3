"""The ``skelcon eval linear|knn`` protocols: load, evaluate, write ``metrics.json``."""

from __future__ import annotations

import os
import time
from pathlib import Path

from ..config import KnnConfig, LinearEvalConfig, to_dict
from ..data.prepared import load_prepared
from ..engine.device import resolve_device
from ..utils.io import write_json
from .encoder import check_compatible, load_encoder
from .features import extract_features
from .knn import knn_accuracy
from .linear import linear_eval


def _common(checkpoint, representation, data, benchmark, random_init, seed):
    loaded = load_encoder(checkpoint, representation, random_init=random_init, seed=seed)
    train = load_prepared(data, benchmark, "train")
    test = load_prepared(data, benchmark, "test")
    check_compatible(loaded, train.meta)
    return loaded, train, test


def _record(protocol, loaded, data, benchmark, random_init, train, test, **extra) -> dict:
    return {
        "protocol": protocol,
        "representation": "+".join(loaded.representations),
        "top1": None,
        "num_train": len(train),
        "num_test": len(test),
        "dataset": train.meta.get("dataset"),
        "benchmark": benchmark,
        "data": str(data),
        "checkpoint": None if random_init else loaded.checkpoint,
        "random_init": bool(random_init),
        "preset": loaded.preset,
        **extra,
    }


def run_linear(
    checkpoint: str | os.PathLike,
    representation: str,
    data: str | os.PathLike,
    benchmark: str,
    out: str | os.PathLike,
    cfg: LinearEvalConfig,
    *,
    random_init: bool = False,
    progress: bool = True,
) -> dict:
    """Linear evaluation; writes and returns ``out/metrics.json``."""
    cfg.validate()
    device = resolve_device(cfg.device)
    loaded, train, test = _common(checkpoint, representation, data, benchmark, random_init, cfg.seed)
    t0 = time.time()
    res = linear_eval(loaded.encoder, train, test, cfg, device, out_len=loaded.num_frames, progress=progress)
    rec = _record("linear", loaded, data, benchmark, random_init, train, test)
    rec.update(
        top1=res["top1"],
        best_epoch_top1_for_comparison_only=res["best_epoch_top1"],
        best_epoch=res["best_epoch"],
        history=res["history"],
        config=to_dict(cfg),
        seconds=round(time.time() - t0, 2),
    )
    write_json(Path(out) / "metrics.json", rec)
    return rec


def run_knn(
    checkpoint: str | os.PathLike,
    representation: str,
    data: str | os.PathLike,
    benchmark: str,
    out: str | os.PathLike,
    cfg: KnnConfig,
    *,
    random_init: bool = False,
    seed: int = 0,
    progress: bool = True,
) -> dict:
    """Nearest-neighbour retrieval; writes and returns ``out/metrics.json``."""
    cfg.validate()
    device = resolve_device(cfg.device)
    loaded, train, test = _common(checkpoint, representation, data, benchmark, random_init, seed)
    t0 = time.time()
    enc = loaded.encoder.to(device)
    kw = dict(batch_size=cfg.batch_size, progress=progress)
    tr_f, tr_y = extract_features(enc, train, loaded.transform, device, desc="train features", **kw)
    te_f, te_y = extract_features(enc, test, loaded.transform, device, desc="test features", **kw)
    top1 = knn_accuracy(
        tr_f, tr_y, te_f, te_y, k=cfg.k, similarity=cfg.similarity, chunk_size=cfg.chunk_size,
        num_classes=int(train.meta["num_classes"]),
    )  # fmt: skip
    rec = _record("knn", loaded, data, benchmark, random_init, train, test)
    rec.update(top1=top1, k=cfg.k, similarity=cfg.similarity, config=to_dict(cfg),
               seconds=round(time.time() - t0, 2))  # fmt: skip
    write_json(Path(out) / "metrics.json", rec)
    return rec
