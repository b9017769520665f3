"""The ``skelcon eval linear|knn`` protocols: load, evaluate, write ``metrics.json``."""

from __future__ import annotations

import os
import time
from pathlib import Path

from ..config import KnnConfig, LinearEvalConfig, to_dict
from ..data.coverage import reachable
from ..data.prepared import load_prepared
from ..engine.device import resolve_device
from ..engine.distributed import current
from ..errors import SkelconError
from ..utils.io import write_json
from .classifier import finetune_id, model_entry, save_classifier
from .compat import check_data_fits
from .encoder import load_encoder
from .features import extract_features
from .knn import knn_scores
from .linear import linear_eval
from .metrics import class_names, classification_metrics
from .record import EvalRecord, FractionResult
from .scores import write_scores


def _common(checkpoint, representation, data, benchmark, random_init, seed, stream=None):
    loaded = load_encoder(
        checkpoint, representation, random_init=random_init, seed=seed, stream=stream
    )
    train = load_prepared(data, benchmark, "train")
    check_data_fits(loaded.spec, train.meta, checkpoint=checkpoint, data=data)
    test = load_prepared(data, benchmark, "test")
    return loaded, train, test


def _record(
    protocol,
    loaded,
    data,
    benchmark,
    random_init,
    train,
    test,
    *,
    top1,
    metrics,
    cfg,
    seconds,
    k=None,
    similarity=None,
    **extra,
) -> dict:
    """The ``metrics.json`` of a frozen-encoder protocol (an :class:`EvalRecord`)."""
    return EvalRecord(
        protocol=protocol,
        representation="+".join(loaded.representations),
        dataset=train.meta.get("dataset"),
        benchmark=benchmark,
        num_train=len(train),
        num_test=len(test),
        reachable_test=reachable(train.labels, test.labels)[0],
        data=str(data),
        checkpoint=None if random_init else loaded.checkpoint,
        random_init=bool(random_init),
        preset=loaded.preset,
        top1=top1,
        k=k,
        similarity=similarity,
        config=to_dict(cfg),
        seconds=seconds,
        extra={**_beside_top1(metrics), "stream": loaded.stream, **_imported(loaded), **extra},
    ).to_dict()


def _score_info(protocol, loaded, split, random_init, classes) -> dict:
    """The sidecar entries of ``scores.json`` that say whose scores they are."""
    return {
        "protocol": protocol,
        "representation": "+".join(loaded.representations),
        "stream": loaded.stream,
        "dataset": split.meta.get("dataset"),
        "benchmark": split.benchmark,
        "checkpoint": None if random_init else loaded.checkpoint,
        "random_init": bool(random_init),
        "classes": list(classes),
    }


def _source(loaded, data, benchmark, random_init) -> dict:
    """Where a kept classifier's encoder came from (the ``source`` of ``model.pt``)."""
    return {
        "checkpoint": None if random_init else loaded.checkpoint,
        "checkpoint_epoch": None if random_init else loaded.epoch,
        "random_init": bool(random_init),
        "data": str(data),
        "benchmark": benchmark,
        **({} if random_init else _imported(loaded)),
    }


def _imported(loaded) -> dict:
    """``{"imported": {...}}`` when the encoder's weights were imported (``skelcon
    import-weights``: source, file, SHA-256), so results do not pass for a skelcon
    pre-training; else ``{}``."""
    return {"imported": loaded.imported} if getattr(loaded, "imported", None) else {}


def _beside_top1(metrics: dict) -> dict:
    """The :func:`classification_metrics` entries stored beside a protocol's ``top1``."""
    return {k: v for k, v in metrics.items() if k != "top1"}


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
    stream: str | None = None,
) -> dict:
    """Linear evaluation; writes ``out/scores.npy`` (the final classifier's logits on the
    centre-crop test input, ``(N_test, num_classes)`` float32 in test-split order) with
    its sidecar ``scores.json`` (:mod:`skelcon.eval.scores`), the classifier with its
    encoder ``out/model.pt`` (:mod:`skelcon.eval.classifier`), then ``out/metrics.json``
    (computed from those logits), and returns the metrics dict. Under torchrun only
    rank 0 writes."""
    cfg.validate()
    device = resolve_device(cfg.device)
    loaded, train, test = _common(
        checkpoint, representation, data, benchmark, random_init, None, stream
    )
    t0 = time.time()
    res = linear_eval(
        loaded.encoder, train, test, cfg, device, out_len=loaded.num_frames, progress=progress
    )
    rec = _record(
        "linear",
        loaded,
        data,
        benchmark,
        random_init,
        train,
        test,
        top1=res.top1,
        metrics=res.metrics,
        cfg=cfg,
        seconds=round(time.time() - t0, 2),
        best_epoch_top1_for_comparison_only=res.best_epoch_top1,
        best_epoch=res.best_epoch,
        train_input=res.train_input,
        crop_bank=res.crop_bank,
        history=res.history,
    )
    if current().is_main:  # under torchrun every rank has the same result; rank 0 writes
        write_scores(
            out,
            res.scores,
            test.names,
            test.labels,
            kind="logits",
            **_score_info("linear", loaded, test, random_init, res.metrics["classes"]),
        )
        save_classifier(
            out,
            protocol="linear",
            loaded=loaded,
            meta=test.meta,
            classes=res.metrics["classes"],
            standardize=cfg.standardize,
            models=[model_entry(loaded.encoder, res.classifier, model_id="linear", top1=res.top1)],
            source=_source(loaded, data, benchmark, random_init),
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
    seed: int | None = None,
    progress: bool = True,
    stream: str | None = None,
) -> dict:
    """Nearest-neighbour retrieval; writes ``out/scores.npy`` (finite class scores
    ``(N_test, num_classes)`` float32 in test-split order whose arg-max is the kNN
    prediction: each class's nearest training similarity, see
    :func:`~skelcon.engine.knn.knn_scores` with ``finite``) with its sidecar
    ``scores.json``, then ``out/metrics.json`` (computed from those scores), and returns
    the metrics dict. Under torchrun only rank 0 writes."""
    cfg.validate()
    device = resolve_device(cfg.device)
    loaded, train, test = _common(
        checkpoint, representation, data, benchmark, random_init, seed, stream
    )
    t0 = time.time()
    enc = loaded.encoder.to(device)
    kw = dict(batch_size=cfg.batch_size, progress=progress)
    tr_f, tr_y = extract_features(enc, train, loaded.transform, device, desc="train features", **kw)
    te_f, te_y = extract_features(enc, test, loaded.transform, device, desc="test features", **kw)
    if len(te_y) == 0:
        raise SkelconError("kNN needs a non-empty test split")
    scores = knn_scores(
        tr_f,
        tr_y,
        te_f,
        k=cfg.k,
        similarity=cfg.similarity,
        chunk_size=cfg.chunk_size,
        num_classes=int(train.meta["num_classes"]),
        finite=True,
    )
    metrics = classification_metrics(scores, te_y, class_names(train.meta))
    rec = _record(
        "knn",
        loaded,
        data,
        benchmark,
        random_init,
        train,
        test,
        top1=metrics["top1"],
        metrics=metrics,
        cfg=cfg,
        seconds=round(time.time() - t0, 2),
        k=cfg.k,
        similarity=cfg.similarity,
    )
    if current().is_main:
        write_scores(
            out,
            scores.cpu(),
            test.names,
            test.labels,
            kind="knn similarity",
            k=cfg.k,
            similarity=cfg.similarity,
            **_score_info("knn", loaded, test, random_init, metrics["classes"]),
        )
        write_json(Path(out) / "metrics.json", rec)
    return rec


# ---------------------------------------------------------------------------
# Fine-tuning protocols: semi, supervised, finetune, transfer (paper Appendix A.1)

FINETUNE_PROTOCOLS = ("semi", "supervised", "finetune", "transfer")
STD_KIND = "population (ddof=0) over the repeats"


def _splits(data, benchmark):
    from ..errors import SkelconError

    train = load_prepared(data, benchmark, "train")
    test = load_prepared(data, benchmark, "test")
    for split in (train, test):
        if len(split) == 0:
            raise SkelconError(
                f"split {split.split!r} of benchmark {benchmark!r} in {data} is empty"
            )
    return train, test


def _check_num_classes(num_classes: int | None, train) -> int:
    from ..errors import SkelconError

    have = int(train.meta["num_classes"])
    if num_classes is not None and int(num_classes) != have:
        raise SkelconError(
            f"num_classes {num_classes} disagrees with the {have} classes of dataset "
            f"{train.meta.get('dataset')!r} ({train.root})",
            param="num_classes",
        )
    return have


def _run_finetune_protocol(protocol, loaded, train, test, cfg, out, *, progress, extra) -> dict:
    """Fine-tune one fresh copy of ``loaded.encoder`` per (fraction, repeat); write
    ``subsets.json``, the test logits of every model (``scores.npy``: ``(N_test, C)`` for
    one model, ``(M, N_test, C)`` for ``M`` = fractions x repeats, fraction-major, with
    ``models`` in ``scores.json`` naming each one's fraction and repeat), every trained
    model (``model.pt``, same order: :mod:`skelcon.eval.classifier`) and
    ``metrics.json``."""
    from tqdm import tqdm

    from .finetune import finetune, run_seed
    from .metrics import mean_std, pool_runs
    from .subsets import draw_subsets, subset_split

    cfg.validate()
    device = resolve_device(cfg.device)
    num_classes = int(train.meta["num_classes"])
    out = Path(out)
    subsets = draw_subsets(train.labels, cfg.fractions, cfg.repeats, cfg.seed)
    write_json(
        out / "subsets.json",
        {
            "split": "train",
            "benchmark": train.benchmark,
            "dataset": train.meta.get("dataset"),
            "num_train": len(train),
            "seed": cfg.seed,
            "rule": "per class max(1, floor(fraction * n_c + 0.5)) samples, without replacement",
            "indices_are": "positions within the benchmark's train split",
            "fractions": [
                {
                    "fraction": f,
                    "subsets": [
                        {
                            "repeat": r,
                            "indices": idx.tolist(),
                            "names": [str(n) for n in train.names[idx]],
                        }
                        for r, idx in enumerate(runs)
                    ],
                }
                for f, runs in subsets.items()
            ],
        },
    )
    enc = loaded.encoder
    init_state = {k: v.detach().clone() for k, v in enc.state_dict().items()}
    t0 = time.time()
    results = []
    all_scores, models, kept = [], [], []
    for f, runs in subsets.items():
        top1s, sizes, losses, run_metrics = [], [], [], []
        for r, idx in enumerate(runs):
            enc.load_state_dict(init_state)
            res = finetune(
                enc,
                subset_split(train, idx),
                test,
                cfg,
                device,
                out_len=loaded.num_frames,
                num_classes=num_classes,
                seed=run_seed(cfg.seed, f, r),
                progress=progress,
                desc=f"{protocol} {f:g} #{r + 1}",
                representation="+".join(loaded.representations),
            )
            top1s.append(res.top1)
            all_scores.append(res.scores)
            models.append({"fraction": f, "repeat": r, "top1": res.top1})
            if cfg.keep_models == "all" or (cfg.keep_models == "first" and r == 0):
                kept.append(  # the fine-tuned encoder and its head, before the next run resets it
                    model_entry(
                        enc,
                        res.head,
                        model_id=finetune_id(f, r),
                        top1=res.top1,
                        fraction=f,
                        repeat=r,
                    )
                )
            run_metrics.append(res.metrics)
            sizes.append(int(len(idx)))
            losses.append(res.train_loss[-1])
            if progress:
                tqdm.write(
                    f"{protocol} fraction {f:g} run {r + 1}/{len(runs)}: top-1 {res['top1']:.2f} % "
                    f"({len(idx)} labelled)"
                )
        mean, std = mean_std(top1s)
        results.append(
            FractionResult(
                fraction=f,
                mean=mean,
                std=std,
                runs=tuple(top1s),
                num_labelled=tuple(sizes),
                extra={"final_train_loss": losses, **pool_runs(run_metrics)},
            )
        )
    enc.load_state_dict(init_state)
    extra = dict(extra)
    source_dataset = extra.pop("source_dataset", None)
    rec = EvalRecord(
        protocol=protocol,
        representation="+".join(loaded.representations),
        dataset=train.meta.get("dataset"),
        benchmark=train.benchmark,
        num_train=len(train),
        num_test=len(test),
        reachable_test=reachable(train.labels, test.labels)[0],
        data=str(train.root),
        checkpoint=loaded.checkpoint,
        random_init=loaded.checkpoint is None,
        preset=loaded.preset,
        results=tuple(results),
        num_classes=num_classes,
        source_dataset=source_dataset,
        config=to_dict(cfg),
        seconds=round(time.time() - t0, 2),
        extra={
            "std": STD_KIND,
            "classes": class_names(train.meta, num_classes),
            "frames": loaded.num_frames,
            "test_input": "centre crop 95 %, final epoch (no model selection on the test set)",
            "stream": loaded.stream,
            **_imported(loaded),
            **extra,
        },
    ).to_dict()
    classes = class_names(train.meta, num_classes)
    write_scores(
        out,
        all_scores[0] if len(all_scores) == 1 else all_scores,
        test.names,
        test.labels,
        kind="logits",
        models=models,
        **_score_info(protocol, loaded, test, loaded.checkpoint is None, classes),
    )
    if kept:  # (keep_models: none keeps no model file)
        save_classifier(
            out,
            protocol=protocol,
            loaded=loaded,
            meta=test.meta,
            classes=classes,
            standardize=False,
            models=kept,
            source=_source(loaded, train.root, train.benchmark, loaded.checkpoint is None),
        )
    write_json(out / "metrics.json", rec)
    return rec


def run_finetune(
    protocol: str,
    checkpoint: str | os.PathLike | None,
    representation: str,
    data: str | os.PathLike,
    benchmark: str,
    out: str | os.PathLike,
    cfg,
    *,
    random_init: bool = False,
    preset: str | None = None,
    frames: int = 64,
    num_classes: int | None = None,
    progress: bool = True,
    stream: str | None = None,
) -> dict:
    """``semi`` / ``finetune`` (pre-trained, or ``random_init``) and ``supervised`` (always
    random weights; architecture from ``checkpoint`` or from ``preset`` + the data's shape).

    Writes ``out/subsets.json``, ``out/scores.npy`` + ``scores.json`` (every model's test
    logits: ``(N_test, C)`` for one model, ``(M, N_test, C)`` for several, see
    :mod:`skelcon.eval.scores`) and ``out/metrics.json``; returns the metrics dict.
    ``stream``: with a checkpoint, checked against the run's; with ``preset``, the input
    stream of the new encoders (default ``joint``).
    """
    import torch

    from ..config import PRESETS
    from ..engine.build import build_encoders, data_spec
    from ..errors import SkelconError, choices_message
    from .encoder import ConcatEncoder, LoadedEncoder, parse_representations

    if protocol not in ("semi", "supervised", "finetune"):
        raise SkelconError(
            choices_message("fine-tuning protocol", protocol, ("semi", "supervised", "finetune"))
        )
    cfg.validate()
    train, test = _splits(data, benchmark)
    _check_num_classes(num_classes, train)
    extra: dict = {}
    if protocol == "supervised":
        random_init = True
        if (checkpoint is None) == (preset is None):
            raise SkelconError(
                "supervised needs exactly one of --checkpoint (its architecture) or --preset"
            )
    elif checkpoint is None:
        raise SkelconError(f"{protocol} needs --checkpoint")
    if checkpoint is not None:
        loaded = load_encoder(  # random init: the run's seed
            checkpoint, representation, random_init=random_init, stream=stream
        )
        check_data_fits(loaded.spec, train.meta, checkpoint=checkpoint, data=data)
        extra["architecture"] = str(checkpoint)
    else:
        if preset not in PRESETS:
            raise SkelconError(choices_message("preset", preset, PRESETS))
        reps = parse_representations(representation)
        spec = data_spec(train.meta, int(frames), stream=stream or "joint")
        torch.manual_seed(cfg.seed)
        encs = build_encoders(reps, preset, spec)
        enc = encs[reps[0]] if len(reps) == 1 else ConcatEncoder(encs)
        loaded = LoadedEncoder(enc, spec, reps, preset, None)
        extra["architecture"] = f"preset {preset}"
    return _run_finetune_protocol(
        protocol, loaded, train, test, cfg, out, progress=progress, extra=extra
    )


def run_transfer(
    checkpoint: str | os.PathLike,
    representation: str,
    data: str | os.PathLike,
    benchmark: str,
    out: str | os.PathLike,
    cfg,
    *,
    num_classes: int | None = None,
    progress: bool = True,
    stream: str | None = None,
) -> dict:
    """Fine-tune a checkpoint pre-trained on one dataset on another (new head; see
    :mod:`skelcon.eval.finetune` for what transfers across layouts). Writes the files
    :func:`run_finetune` writes (``scores.npy`` included)."""
    from .finetune import transfer_encoder

    cfg.validate()
    train, test = _splits(data, benchmark)
    _check_num_classes(num_classes, train)
    loaded, reinit, s = transfer_encoder(
        checkpoint, representation, train.meta, seed=cfg.seed, stream=stream
    )
    extra = {
        "source_dataset": s.get("dataset"),
        "source_layout": s["layout"],
        "source_shape": {"C": s["in_channels"], "V": s["num_joints"], "M": s["num_persons"]},
        "target_layout": train.meta["layout"],
        "reinitialised": reinit,
    }
    return _run_finetune_protocol(
        "transfer", loaded, train, test, cfg, out, progress=progress, extra=extra
    )
