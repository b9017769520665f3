"""What every evaluation protocol writes to ``metrics.json``, and reads back.

:class:`EvalRecord` is the one schema: the frozen-encoder protocols (``linear``,
``knn``) fill ``top1``; the fine-tuning protocols (``semi``, ``supervised``,
``finetune``, ``transfer``) fill ``results``, one :class:`FractionResult` per label
fraction; ``ensemble`` (:mod:`skelcon.eval.ensemble`) fills ``top1`` and lists its
members under ``extra["members"]``. What a protocol adds beyond the shared fields (per-class metrics, the linear
classifier's history, the subsets' sizes...) stays in ``extra``, written beside them.
:meth:`EvalRecord.to_dict` is the file; :meth:`EvalRecord.from_dict` reads today's
files and older ones (no ``schema``, no ``reachable_test``, ``pretrain_dataset`` for
``source_dataset``), and says in one line what a malformed one gets wrong.

Imports nothing heavy: ``skelcon report`` reads records without torch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import DataFormatError

SCHEMA_VERSION = 1  # files without "schema" are version 0 (skelcon 0.2.0 and older)

FROZEN_PROTOCOLS = ("linear", "knn")
FINETUNE_PROTOCOLS = ("semi", "supervised", "finetune", "transfer")
DERIVED_PROTOCOLS = ("ensemble",)  # fused from other evaluations' saved scores: top1
PROTOCOLS = FROZEN_PROTOCOLS + FINETUNE_PROTOCOLS + DERIVED_PROTOCOLS


def imported_words(imported: Any) -> str | None:
    """``the authors' weights (skeleton-contrast, checkpoint_0450.pth.tar)`` for the
    ``imported`` entry of a run made by ``skelcon import-weights`` (kept in its checkpoint
    and in the records of its evaluations); ``None`` for anything else."""
    if not isinstance(imported, Mapping) or not isinstance(imported.get("from"), str):
        return None
    name = imported.get("file")
    return f"the authors' weights ({imported['from']}" + (f", {name})" if name else ")")


def _number(d: Mapping, key: str, path: str | None, *, required: bool = True) -> float | None:
    v = d.get(key)
    if v is None and not required:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise DataFormatError(f"{key!r} must be a finite number, got {v!r}", path)
    return float(v)


def _int(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _str(v: Any) -> str | None:
    return v if isinstance(v, str) else None


@dataclass(frozen=True)
class FractionResult:
    """One label fraction of a fine-tuning protocol: top-1 mean ± population std (%)
    over its runs (one per random label subset)."""

    fraction: float  # of the labelled training clips, 0 < fraction <= 1
    mean: float
    std: float | None = None
    runs: tuple[float, ...] | None = None  # top-1 of each run
    num_labelled: tuple[int, ...] | None = None  # labelled clips of each run
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"fraction": self.fraction, "mean": self.mean}
        if self.std is not None:
            out["std"] = self.std
        if self.runs is not None:
            out["runs"] = list(self.runs)
        if self.num_labelled is not None:
            out["num_labelled"] = list(self.num_labelled)
        return {**out, **self.extra}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], path: str | None = None) -> FractionResult:
        if not isinstance(d, Mapping):
            raise DataFormatError("every entry of 'results' must be an object", path)
        runs, labelled = d.get("runs"), d.get("num_labelled")
        known = ("fraction", "mean", "std", "runs", "num_labelled")
        return cls(
            fraction=_number(d, "fraction", path),
            mean=_number(d, "mean", path),
            std=_number(d, "std", path, required=False),
            runs=tuple(runs) if isinstance(runs, list) else None,
            num_labelled=tuple(labelled) if isinstance(labelled, list) else None,
            extra={k: v for k, v in d.items() if k not in known},
        )


# the fields every writer writes, null or not (the rest are left out when None)
_ALWAYS = (
    "protocol",
    "representation",
    "dataset",
    "benchmark",
    "num_train",
    "num_test",
    "reachable_test",
    "data",
    "checkpoint",
    "random_init",
    "preset",
)


@dataclass(frozen=True)
class EvalRecord:
    """One evaluation's ``metrics.json``."""

    protocol: str  # one of PROTOCOLS
    representation: str  # ``seq``, ``seq+stg``...
    dataset: str | None  # the prepared dataset's name (meta.json)
    benchmark: str
    num_train: int | None = None  # clips of the benchmark's train / test split
    num_test: int | None = None
    reachable_test: int | None = None  # test clips whose class occurs in training
    data: str | None = None  # the prepared dataset directory
    checkpoint: str | None = None  # None: random initialisation
    random_init: bool = False
    preset: str | None = None
    top1: float | None = None  # frozen-encoder protocols, %
    results: tuple[FractionResult, ...] | None = None  # fine-tuning protocols
    k: int | None = None  # knn
    similarity: str | None = None  # knn
    num_classes: int | None = None
    source_dataset: str | None = None  # transfer (and finetune): pre-training dataset
    config: Mapping[str, Any] | None = field(default=None, hash=False)  # the protocol's
    seconds: float | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False)
    schema: int = SCHEMA_VERSION

    @property
    def fine_tuning(self) -> bool:
        return self.results is not None

    def to_dict(self) -> dict[str, Any]:
        """The ``metrics.json`` object: ``schema``, the fields, then ``extra``."""
        out: dict[str, Any] = {"schema": self.schema}
        for name in self.__dataclass_fields__:
            if name in ("schema", "extra"):
                continue
            v = getattr(self, name)
            if name == "results" and v is not None:
                v = [r.to_dict() for r in v]
            elif name == "config" and v is not None:
                v = dict(v)
            if v is not None or name in _ALWAYS:
                out[name] = v
        return {**out, **self.extra}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], path: str | None = None) -> EvalRecord:
        """The record of a ``metrics.json`` object (``path`` names it in errors).

        One :class:`~skelcon.errors.DataFormatError` for what a reader cannot use: a
        non-string protocol, benchmark or representation, a dataset neither a string nor
        None, a schema newer than :data:`SCHEMA_VERSION`; a fine-tuning record
        without a non-empty ``results`` list; any other without a finite ``top1``."""
        if not isinstance(d, Mapping):
            raise DataFormatError("a metrics.json must hold an object", path)
        for key in ("protocol", "benchmark", "representation"):
            if not isinstance(d.get(key), str):
                raise DataFormatError(f"{key!r} must be a string, got {d.get(key)!r}", path)
        if not isinstance(d.get("dataset"), str | None):  # a meta.json without a name: None
            raise DataFormatError(f"'dataset' must be a string, got {d.get('dataset')!r}", path)
        schema = _int(d.get("schema")) or 0
        if schema > SCHEMA_VERSION:
            raise DataFormatError(
                f"schema {schema} is newer than this skelcon reads ({SCHEMA_VERSION}): "
                "upgrade skelcon to read it",
                path,
            )
        results = top1 = None
        if d["protocol"] in ("semi", "supervised") or "results" in d:
            entries = d.get("results")
            if not isinstance(entries, list) or not entries:
                raise DataFormatError("'results' must be a non-empty list of fractions", path)
            results = tuple(FractionResult.from_dict(e, path) for e in entries)
        else:
            top1 = _number(d, "top1", path)
        config = d.get("config")
        known = set(cls.__dataclass_fields__) | {"pretrain_dataset"}
        return cls(
            protocol=d["protocol"],
            representation=d["representation"],
            dataset=d["dataset"],
            benchmark=d["benchmark"],
            num_train=_int(d.get("num_train")),
            num_test=_int(d.get("num_test")),
            reachable_test=_int(d.get("reachable_test")),
            data=_str(d.get("data")),
            checkpoint=str(d["checkpoint"]) if d.get("checkpoint") else None,
            random_init=bool(d.get("random_init", False)),
            preset=_str(d.get("preset")),
            top1=top1,
            results=results,
            k=_int(d.get("k")),
            similarity=_str(d.get("similarity")),
            num_classes=_int(d.get("num_classes")),
            source_dataset=_str(d.get("source_dataset") or d.get("pretrain_dataset")),
            config=dict(config) if isinstance(config, Mapping) else None,
            seconds=d.get("seconds") if isinstance(d.get("seconds"), int | float) else None,
            extra={k: v for k, v in d.items() if k not in known},
            schema=_int(d.get("schema")) or 0,
        )
