"""``skelcon report``: gather ``metrics.json`` files into the paper's tables.

Every ``metrics.json`` under the given directories becomes one row (one per label
fraction for semi-supervised results). The pre-training of a row is read from the
``config.yaml`` of the run its ``checkpoint`` names (or from the checkpoint itself):
the loss terms trained (``inter SEQ↔STG + intra``), the recipe (the packaged config it
equals, else ``custom``) and the epochs trained; the evaluation epochs come from the
``metrics.json``.

The paper's number (:mod:`skelcon.paper_numbers`) for the row's setting stands beside
ours only when the result is comparable: (a) the full official dataset (classes and
train/test sizes, up to the official missing-skeleton lists), (b) the protocol's
settings as in the paper (epochs, learning rate and schedule, k, label subsets), and
(c) the paper's packaged recipe for the pre-training dataset, trained for at least its
epochs. Otherwise the paper column says which table has a figure for the setting and
why ours is not comparable; "–" where the paper reports none. Output: Markdown tables,
CSV (one row per result) or JSON, written atomically.
"""

from __future__ import annotations

import argparse
import csv
import functools
import importlib.resources
import io
import json
import math
import os
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .config import PretrainConfig, from_dict, to_dict
from .errors import DataFormatError, SkelconError, choices_message
from .paper_numbers import (
    BENCHMARK_NAMES,
    DATASET_NAMES,
    DEFAULT_AUG,
    FULL_CLASSES,
    OFFICIAL_SEQUENCES,
    OFFICIAL_SPLITS,
    PAPER_PROTOCOLS,
    PAPER_RECIPES,
    PAPER_SUBSETS,
    Augmentation,
    PaperNumber,
    lookup,
)
from .utils.io import atomic_write

__all__ = [
    "FORMATS",
    "PretrainInfo",
    "packaged_recipes",
    "recipe_diff",
    "Result",
    "collect",
    "render",
    "write_report",
]

FORMATS = ("md", "csv", "json")
PROTOCOLS = ("linear", "knn", "semi", "supervised", "finetune", "transfer")
DASH = "–"
REP_ORDER = ("seq", "img", "stg")
BENCH_ORDER = ("xview", "xsetup", "xsub")


@dataclass(frozen=True)
class PretrainInfo:
    """The pre-training behind a checkpoint: its saved config, epochs and data.

    Read from the ``config.yaml`` of the run a checkpoint belongs to (or from the
    checkpoint itself); the epochs trained from the checkpoint, its ``epoch_NNNN.pt``
    name or the run's ``metrics.jsonl``.
    """

    representations: tuple[str, ...]
    augment: Augmentation
    jitter_mode: str = "paper"
    min_len: int = 1
    dataset: str | None = None  # the pre-training dataset, when the checkpoint says
    intra_weight: float = 0.0
    symmetric: bool = False
    epochs: int | None = None  # epochs trained (None: unknown)
    planned_epochs: int | None = None  # ``epochs`` of the config
    num_clips: int | None = None  # pre-training clips, when the checkpoint says
    benchmark: str | None = None  # pre-training benchmark, when the checkpoint says
    config: dict[str, Any] | None = field(default=None, compare=False, hash=False, repr=False)

    @property
    def inter(self) -> bool:
        return len(self.representations) > 1

    def label(self) -> str:
        """The loss terms trained: ``inter SEQ↔STG``, ``inter SEQ↔STG + intra``, ``intra SEQ``."""
        reps = "↔".join(r.upper() for r in self.representations)
        if not self.inter:
            return f"intra {reps}"
        text = f"inter {reps}"
        if self.intra_weight > 0:
            text += " + intra" + (f" ×{self.intra_weight:g}" if self.intra_weight != 1 else "")
        return text + (" (symmetric)" if self.symmetric else "")

    def setting(self, downstream: str) -> str:
        """``SEQ, inter with STG`` / ``SEQ, intra`` / ``SEQ+STG, inter``."""
        down = _rep_list(downstream)
        if not self.inter:
            return f"{_reps_text(down)}, intra"
        others = [r for r in self.representations if r not in down]
        text = f"{_reps_text(down)}, inter" + (f" with {_reps_text(others)}" if others else "")
        return text + (" + intra" if self.intra_weight > 0 else "")

    def is_default_augment(self) -> bool:
        """The paper's augmentation (crop-resize, then shear or jitter)."""
        return (
            self.augment.normalized() == DEFAULT_AUG.normalized()
            and self.jitter_mode == "paper"
            and self.min_len == 1
        )

    def augment_text(self) -> str:
        """The augmentation in words, e.g. ``crop-resize (l_min 0.1) + shear``."""
        a = self.augment.normalized()
        parts = []
        if a.temporal:
            extra = f", min_len {self.min_len}" if self.min_len > 1 else ""
            parts.append(f"crop-resize (l_min {a.l_min:g}{extra})")
        ref = ", reference" if self.jitter_mode != "paper" else ""
        if a.spatial == "random":
            parts.append(f"shear or jitter (|j| {a.jitter_joints}{ref})")
        elif a.spatial == "shear":
            parts.append("shear")
        elif a.spatial == "jitter":
            parts.append(f"jitter (|j| {a.jitter_joints}{ref})")
        return " + ".join(parts) if parts else "none"

    def epochs_text(self) -> str:
        """``451``, ``2 (of 50)`` when the run stopped early, ``?`` when unknown."""
        if self.epochs is None:
            return "?"
        if self.planned_epochs is not None and self.planned_epochs > self.epochs:
            return f"{self.epochs} (of {self.planned_epochs})"
        return str(self.epochs)

    def recipe(self) -> str:
        """The packaged recipe the config equals (``ntu60``, ``cpu_small``), ``ntu60
        (representations varied)`` for one of the paper's ablations of it, else ``custom``."""
        if self.config is None:
            return "unknown"
        recipes = packaged_recipes()
        preferred = PAPER_RECIPES.get(self.dataset or "")
        order = sorted(recipes, key=lambda n: (n != preferred, n))
        for name in order:
            if not recipe_diff(self.config, recipes[name]):
                return name
            stretched = stretched_recipe(name, self.planned_epochs)  # a min_steps run
            if stretched is not None and not recipe_diff(self.config, stretched):
                return name
        for name in order:
            diff = recipe_diff(self.config, recipes[name], ablation=True)
            if name in PAPER_RECIPES.values() and not diff:
                varied = [
                    k for k in recipe_diff(self.config, recipes[name]) if k in ABLATION_FIELDS
                ]
                return f"{name} ({', '.join(varied)} varied)"
        return "custom"


@dataclass
class Result:
    """One reported accuracy of ours (a semi-supervised file gives one per fraction)."""

    source: str
    protocol: str
    dataset: str  # display name: a class subset is ``pku-mmd1 (8 of 51 classes)``
    benchmark: str
    representation: str
    top1: float | None
    random_init: bool = False
    preset: str | None = None
    std: float | None = None
    fraction: float | None = None  # percent of labelled training samples
    runs: int | None = None
    k: int | None = None
    source_dataset: str | None = None
    pretrain: PretrainInfo | None = None
    pretrain_known: bool = False
    dataset_key: str | None = None  # the dataset's id (``pku-mmd1``) without the subset note
    num_classes: int | None = None
    num_train: int | None = None
    num_test: int | None = None
    sequences: int | None = None  # untrimmed sequences the prepared data was cut from
    eval_config: dict[str, Any] | None = field(default=None, repr=False)
    paper: PaperNumber | None = field(default=None, repr=False)
    paper_reasons: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.dataset_key is None:
            self.dataset_key = self.dataset

    @property
    def no_pretraining(self) -> bool:
        return self.random_init or self.protocol == "supervised"

    @property
    def comparable(self) -> bool:
        """A paper figure exists for this setting and every comparability check passed."""
        return self.paper is not None and not self.paper_reasons

    def pretraining_text(self) -> str:
        if self.no_pretraining:
            return "none (random init)"
        if self.pretrain is None:
            return "unknown (no config.yaml)"
        return self.pretrain.label()

    def recipe_text(self) -> str:
        if self.no_pretraining:
            return DASH
        return self.pretrain.recipe() if self.pretrain is not None else "unknown"

    def pretrain_epochs_text(self) -> str:
        if self.no_pretraining:
            return DASH
        return self.pretrain.epochs_text() if self.pretrain is not None else "?"

    def eval_epochs(self) -> int | None:
        v = (self.eval_config or {}).get("epochs")
        return v if isinstance(v, int) and not isinstance(v, bool) else None

    def eval_epochs_text(self) -> str:
        if self.protocol == "knn":
            return DASH  # no training
        n = self.eval_epochs()
        text = str(n) if n is not None else "?"
        bank = (self.eval_config or {}).get("crop_bank") if self.protocol == "linear" else None
        return f"{text} (crop bank {_fmt(bank)})" if bank else text


# ---------------------------------------------------------------- recipes

# Config fields that shape the pre-trained weights. ``epochs`` is checked on its own (at
# least the recipe's); seed, device, workers, saving, logging and monitors are left out.
WEIGHT_FIELDS = ("preset", "seq_init", "representations", "batch_size", "optim", "augment", "moco")
# The fields the paper's ablation tables vary (Tables 5, 6, 8, 9, 10). A paper number of
# such a row is matched on them by :func:`~skelcon.paper_numbers.lookup`, so the recipe
# check leaves them out there.
ABLATION_FIELDS = (
    "representations", "augment.temporal", "augment.spatial", "augment.l_min",
    "augment.jitter_joints",
)  # fmt: skip


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"moco": {"dim": 128}}`` -> ``{"moco.dim": 128}`` (lists stay values)."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _full_config(cfg: dict[str, Any]) -> dict[str, Any]:
    """A saved pre-training config, flattened, with today's defaults for absent keys."""
    return {**_flatten(to_dict(PretrainConfig())), **_flatten(cfg)}


@functools.cache
def packaged_recipes() -> dict[str, dict[str, Any]]:
    """Every packaged recipe (``skelcon configs``), resolved and flattened, by name."""
    root = importlib.resources.files("skelcon") / "configs"
    out = {}
    for f in sorted(root.iterdir(), key=lambda p: p.name):
        if f.name.endswith(".yaml"):
            data = yaml.safe_load(f.read_text(encoding="utf-8")) or {}
            out[f.name.removesuffix(".yaml")] = _flatten(to_dict(from_dict(PretrainConfig, data)))
    return out


def stretched_recipe(name: str, epochs: int | None) -> dict[str, Any] | None:
    """Packaged recipe ``name`` as a run on a small split ran it: stretched to ``epochs``
    by its ``min_steps`` (:func:`~skelcon.engine.pretrain.stretch_epochs`), flattened;
    None when the recipe has no ``min_steps`` or ``epochs`` is not more than its own."""
    from .engine.pretrain import stretch_epochs

    f = importlib.resources.files("skelcon") / "configs" / f"{name}.yaml"
    cfg = from_dict(PretrainConfig, yaml.safe_load(f.read_text(encoding="utf-8")) or {})
    if not cfg.min_steps or epochs is None or epochs <= cfg.epochs:
        return None
    stretch_epochs(cfg, epochs)
    return _flatten(to_dict(cfg))


def _same(a: Any, b: Any) -> bool:
    """Config values equal, numbers up to float rounding (``1e-4`` == ``0.0001``)."""
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    numbers = [x for x in (a, b) if isinstance(x, int | float | str) and not isinstance(x, bool)]
    if len(numbers) == 2 and not (isinstance(a, str) and isinstance(b, str)):
        try:
            return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
        except ValueError:
            return False
    return a == b


def recipe_diff(
    config: dict[str, Any], recipe: dict[str, Any], *, ablation: bool = False
) -> list[str]:
    """The weight-shaping keys (:data:`WEIGHT_FIELDS`) where ``config`` differs from
    ``recipe`` (both flattened); ``ablation`` leaves out :data:`ABLATION_FIELDS`."""
    keys = [k for k in recipe if k.split(".")[0] in WEIGHT_FIELDS]
    if ablation:
        keys = [k for k in keys if k not in ABLATION_FIELDS]
    return [k for k in keys if not _same(config.get(k), recipe[k])]


def _fmt(v: Any) -> str:
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


# ---------------------------------------------------------------- gathering


def _rep_list(text: str | Iterable[str]) -> list[str]:
    if isinstance(text, str):
        return [r.strip() for r in text.replace(",", "+").split("+") if r.strip()]
    return list(text)


def _reps_text(reps: str | Iterable[str]) -> str:
    return "+".join(r.upper() for r in _rep_list(reps))


def _ancestors(start: Path) -> list[Path]:
    return [start, *start.parents]


def _int(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _logged_epochs(path: Path) -> int | None:
    """The last completed epoch in a run's ``metrics.jsonl`` (records with ``epoch_loss``)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    done = None
    for line in lines:
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict) and "epoch_loss" in rec and _int(rec.get("epoch")) is not None:
            done = max(done or 0, rec["epoch"])
    return done


class _PretrainReader:
    """Finds and reads the run behind a checkpoint path (cached per path)."""

    def __init__(self) -> None:
        self._cache: dict[Path, PretrainInfo | None] = {}

    def find(self, checkpoint: str, metrics: Path) -> PretrainInfo | None:
        p = Path(checkpoint)
        candidates = [p] if p.is_absolute() else [Path.cwd() / p]
        if not p.is_absolute():
            candidates += [d / p for d in _ancestors(metrics.parent)]
        for c in candidates:
            if c.exists():
                c = c.resolve()
                if c not in self._cache:
                    self._cache[c] = self._read(c)
                return self._cache[c]
        return None

    @staticmethod
    def _read(path: Path) -> PretrainInfo | None:
        run = path if path.is_dir() else path.parent
        pt = path / "last.pt" if path.is_dir() else path
        cfg = None
        cfg_path = run / "config.yaml"
        if cfg_path.is_file():
            try:
                cfg = yaml.safe_load(cfg_path.read_text())
            except yaml.YAMLError as e:
                raise DataFormatError(
                    f"not valid YAML ({str(e).splitlines()[0]})", str(cfg_path)
                ) from None
            if not isinstance(cfg, dict):
                raise DataFormatError("a run config must be a mapping", str(cfg_path))
        state = _checkpoint_state(pt) if pt.is_file() else {}
        if cfg is None:
            cfg = state.get("config") if isinstance(state.get("config"), dict) else None
        if cfg is None:
            return None
        if isinstance(cfg.get("representations"), str):
            cfg = {**cfg, "representations": _rep_list(cfg["representations"])}
        flat = _full_config(cfg)
        epochs = _int(state.get("epoch"))
        if epochs is None and (m := re.fullmatch(r"epoch_(\d+)\.pt", pt.name)):
            epochs = int(m.group(1))
        if epochs is None and pt.name == "last.pt":
            epochs = _logged_epochs(run / "metrics.jsonl")
        data = state.get("data") if isinstance(state.get("data"), dict) else {}
        d = DEFAULT_AUG
        return PretrainInfo(
            representations=tuple(str(r) for r in flat.get("representations") or ["seq", "stg"]),
            augment=Augmentation(
                temporal=bool(flat.get("augment.temporal", d.temporal)),
                spatial=str(flat.get("augment.spatial", d.spatial)),
                l_min=float(flat.get("augment.l_min", d.l_min)),
                jitter_joints=int(flat.get("augment.jitter_joints", d.jitter_joints)),
            ),
            jitter_mode=str(flat.get("augment.jitter_mode", "paper")),
            min_len=int(flat.get("augment.min_len", 1)),
            dataset=data.get("dataset"),
            intra_weight=float(flat.get("moco.intra_weight") or 0.0),
            symmetric=bool(flat.get("moco.symmetric", False)),
            epochs=epochs,
            planned_epochs=_int(flat.get("epochs")),
            num_clips=_int(state.get("num_clips")),
            benchmark=state.get("benchmark") if isinstance(state.get("benchmark"), str) else None,
            config=flat,
        )


def _checkpoint_state(pt: Path) -> dict[str, Any]:
    """The small entries of a checkpoint (config, epoch, data, benchmark, clips),
    memory-mapped; ``{}`` if it cannot be read."""
    try:
        import torch

        state = torch.load(pt, map_location="cpu", weights_only=True, mmap=True)
    except Exception:  # noqa: BLE001 - an unreadable checkpoint only means "setting unknown"
        return {}
    if not isinstance(state, dict):
        return {}
    return {k: state.get(k) for k in ("config", "epoch", "data", "benchmark", "num_clips")}


def _num(rec: dict, key: str, path: Path, *, required: bool = True) -> float | None:
    v = rec.get(key)
    if v is None and not required:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise DataFormatError(f"{key!r} must be a finite number, got {v!r}", str(path))
    return float(v)


def _percent(fraction: float) -> float:
    """Label fraction as percent: ``0.01`` -> 1.0 (values above 1 are taken as percent)."""
    return round(fraction * 100.0 if fraction <= 1.0 else fraction, 6)


def _display_source(path: Path, root: Path, several: bool, root_text: str) -> str:
    rel = path.parent.relative_to(root).as_posix() if path.parent != root else "."
    if several:
        rel = f"{root_text.rstrip('/')}/{rel}" if rel != "." else root_text.rstrip("/")
    return rel


def _metrics_files(paths: Sequence[str | os.PathLike]) -> list[tuple[Path, Path, str]]:
    """``(metrics.json, root, root as given)`` for every file under ``paths``, sorted per root."""
    out = []
    for given in paths:
        root = Path(given)
        if not root.exists():
            raise SkelconError(
                f"{str(given)!r} does not exist (give run or evaluation directories)"
            )
        if root.is_file():
            out.append((root.resolve(), root.resolve().parent, str(given)))
            continue
        root = root.resolve()
        found = sorted(root.rglob("metrics.json"), key=lambda p: p.relative_to(root).as_posix())
        out += [(f, root, str(given)) for f in found]
    if not out:
        raise SkelconError(f"no metrics.json found under {', '.join(map(str, paths))}")
    return out


def collect(paths: Sequence[str | os.PathLike], warnings: list[str] | None = None) -> list[Result]:
    """All results of the ``metrics.json`` files under ``paths``, each with the paper's
    number for its setting and the reasons (if any) why it is not comparable."""
    files = _metrics_files(paths)
    several = len(paths) > 1
    reader = _PretrainReader()
    results: list[Result] = []
    for path, root, given in files:
        try:
            rec = json.loads(path.read_text())
        except json.JSONDecodeError as e:
            raise DataFormatError(f"not valid JSON ({e.msg})", str(path), e.lineno) from None
        if not isinstance(rec, dict):
            raise DataFormatError("a metrics.json must hold an object", str(path))
        protocol = rec.get("protocol")
        if protocol not in PROTOCOLS:
            if warnings is not None:
                warnings.append(
                    f"{path}: {choices_message('protocol', protocol, PROTOCOLS)}; skipped"
                )
            continue
        for key in ("dataset", "benchmark", "representation"):
            if not isinstance(rec.get(key), str):
                raise DataFormatError(f"{key!r} must be a string, got {rec.get(key)!r}", str(path))
        random_init = bool(rec.get("random_init", False))
        pretrain = None
        if not random_init and protocol != "supervised" and rec.get("checkpoint"):
            pretrain = reader.find(str(rec["checkpoint"]), path)
        name, num_classes, sequences = _data_info(rec, path)
        eval_config = rec.get("config") if isinstance(rec.get("config"), dict) else None
        if eval_config is None and protocol == "knn" and isinstance(rec.get("similarity"), str):
            eval_config = {"k": rec.get("k", 1), "similarity": rec["similarity"]}
        base = dict(
            source=_display_source(path, root, several, given),
            protocol=protocol,
            dataset=name,
            dataset_key=rec["dataset"],
            benchmark=rec["benchmark"],
            representation="+".join(_rep_list(rec["representation"])),
            random_init=random_init,
            preset=rec.get("preset"),
            pretrain=pretrain,
            pretrain_known=pretrain is not None,
            num_classes=num_classes,
            num_train=_int(rec.get("num_train")),
            num_test=_int(rec.get("num_test")),
            sequences=sequences,
            eval_config=eval_config,
        )
        src = rec.get("source_dataset") or rec.get("pretrain_dataset")
        if src is None and pretrain is not None:
            src = pretrain.dataset
        if protocol in ("semi", "supervised") or "results" in rec:
            # fine-tuning protocols: one entry per label fraction (mean ± std over subsets)
            entries = rec.get("results")
            if not isinstance(entries, list) or not entries:
                raise DataFormatError("'results' must be a non-empty list of fractions", str(path))
            for e in entries:
                if not isinstance(e, dict):
                    raise DataFormatError("every entry of 'results' must be an object", str(path))
                runs = e.get("runs")
                results.append(Result(
                    **base,
                    top1=_num(e, "mean", path),
                    std=_num(e, "std", path, required=False),
                    fraction=_percent(_num(e, "fraction", path)),
                    runs=len(runs) if isinstance(runs, list) else None,
                    source_dataset=src if protocol in ("finetune", "transfer") else None,
                ))  # fmt: skip
            continue
        k = rec.get("k", 1) if protocol == "knn" else None
        src = src if protocol in ("finetune", "transfer") else None
        results.append(Result(**base, top1=_num(rec, "top1", path), k=k, source_dataset=src))
    for r in results:
        _judge(r)
    return results


def _data_info(rec: dict, path: Path) -> tuple[str, int | None, int | None]:
    """``(display name, classes, source sequences)`` of a result's dataset.

    A class subset (``--min-instances``) gets its own display name, ``pku-mmd1 (8 of 51
    classes)``. Classes and sequences come from ``metrics.json`` or the prepared data's
    ``meta.json`` (its path as given, else relative to the metrics file)."""
    name = rec["dataset"]
    n = _int(rec.get("num_classes"))
    meta: dict = {}
    if isinstance(rec.get("data"), str):
        meta_path = Path(rec["data"]) / "meta.json"
        if not meta_path.is_absolute() and not meta_path.exists():
            meta_path = path.parent / meta_path
        try:
            loaded = json.loads(meta_path.read_text())
            meta = loaded if isinstance(loaded, dict) else {}
        except (OSError, ValueError):
            meta = {}
    if n is None:
        n = _int(meta.get("num_classes"))
    full = FULL_CLASSES.get(name)
    display = f"{name} ({n} of {full} classes)" if full and n is not None and n != full else name
    return display, n, _int(meta.get("sequences"))


def _lookup_for(
    r: Result, pre: Iterable[str] | None, aug: Augmentation | None
) -> PaperNumber | None:
    protocol = r.protocol
    if protocol == "finetune" and r.source_dataset and r.source_dataset != r.dataset_key:
        protocol = "transfer"
    if protocol == "semi" and r.random_init:
        protocol = "supervised"
    if r.protocol == "knn" and r.k != 1:
        return None
    if protocol in ("finetune", "transfer") and r.fraction not in (None, 100.0):
        return None  # the paper fine-tunes with all labels
    return lookup(
        protocol, r.dataset_key, r.benchmark, r.representation, pretrain=pre, augment=aug,
        fraction=r.fraction, k=r.k, source=r.source_dataset,
    )  # fmt: skip


def _paper_for(r: Result) -> tuple[PaperNumber | None, bool]:
    """The paper's number for ``r``'s setting, and whether it is the row's own pre-training
    setting (``False``: the headline number the row could be taken for, SEQ+STG with the
    paper's augmentations, because its own setting is unknown or not in the paper)."""
    if r.no_pretraining:
        return _lookup_for(r, None, None), True
    if r.pretrain is not None:
        p = _lookup_for(r, r.pretrain.representations, r.pretrain.augment)
        if p is not None:
            return p, True
    return _lookup_for(r, ("seq", "stg"), DEFAULT_AUG), False


def _data_reasons(r: Result) -> list[str]:
    """Rule (a): the full official dataset (classes, split sizes up to the missing lists)."""
    out = []
    full_classes = FULL_CLASSES.get(r.dataset_key or "")
    if full_classes and r.num_classes is not None and r.num_classes != full_classes:
        out.append(f"{r.num_classes}/{full_classes} classes")
    off = OFFICIAL_SPLITS.get((r.dataset_key or "", r.benchmark))
    if off is None:
        return out + [f"no official size for {_ds(r.dataset_key or '')} {_bench(r.benchmark)}"]
    if r.num_train is None or r.num_test is None:
        return out + ["split sizes unknown"]
    bad = []
    if not off.accepts("train", r.num_train):
        bad.append(f"{r.num_train:,}/{off.train:,} train")
    if not off.accepts("test", r.num_test):
        bad.append(f"{r.num_test:,}/{off.test:,} test")
    if not bad:
        return out
    full_seqs = OFFICIAL_SEQUENCES.get(r.dataset_key or "")
    if full_seqs and r.sequences is not None and r.sequences != full_seqs:
        return out + [f"{r.sequences:,}/{full_seqs:,} sequences"]
    return out + [", ".join(bad) + " clips"]


def _eval_reasons(r: Result) -> list[str]:
    """Rule (b): the protocol's settings as in the paper (Appendix A.1, Table 2)."""
    want = PAPER_PROTOCOLS.get(r.protocol, {})
    if not want:
        return []
    cfg = r.eval_config
    if cfg is None:
        return ["evaluation settings unknown"]
    out = []
    for key, value in want.items():
        have = cfg.get(key)
        if _same(have, value):
            continue
        if key == "epochs":
            out.append(f"{r.protocol} {_fmt(have)}/{value} epochs")
        else:
            out.append(f"{r.protocol} {key} {_fmt(have)} (paper {_fmt(value)})")
    if r.protocol in ("semi", "supervised") and r.runs is not None and r.runs != PAPER_SUBSETS:
        out.append(f"{r.runs}/{PAPER_SUBSETS} label subsets")
    if r.protocol == "linear":
        out += _train_input_reasons(cfg)
    return out


def _train_input_reasons(cfg: dict[str, Any]) -> list[str]:
    """Linear evaluation trains on a fresh random crop of every clip each epoch (paper
    Appendix A.1); a cached centre crop or a cached bank of crops is not that protocol.
    Files written before these options existed lack the keys: they ran the protocol."""
    out = []
    crop = cfg.get("train_crop", "random")
    if crop != "random":
        out.append(f"linear train_crop {_fmt(crop)} (paper: a random crop each epoch)")
    bank = cfg.get("crop_bank", 0)
    if bank:
        out.append(f"linear crop bank {_fmt(bank)} (paper: a fresh random crop each epoch)")
    return out


def _pretrain_reasons(r: Result, own_setting: bool) -> list[str]:
    """Rule (c): the paper's recipe for the pre-training dataset, for at least its epochs,
    on that dataset's full training split (when the checkpoint says how many clips)."""
    p = r.pretrain
    if p is None or p.config is None:
        return ["pre-training recipe unknown"]
    src = p.dataset or r.source_dataset or r.dataset_key or ""
    name = PAPER_RECIPES.get(src)
    if name is None:
        return [f"no paper recipe for pre-training on {_ds(src)}"]
    recipe = packaged_recipes()[name]
    out = []
    diff = recipe_diff(p.config, recipe, ablation=own_setting)
    if diff:
        ours = p.recipe()
        if ours in packaged_recipes():
            out.append(f"recipe {ours}, not {name}")
        else:
            shown = ", ".join(f"{k} {_fmt(p.config.get(k))}" for k in diff[:2])
            more = f" +{len(diff) - 2} more" if len(diff) > 2 else ""
            out.append(f"recipe differs from {name}: {shown}{more}")
    need = int(recipe["epochs"])
    if p.epochs is None:
        out.append("pre-training epochs unknown")
    elif p.epochs < need:
        out.append(f"pre-trained {p.epochs}/{need} epochs")
    if p.num_clips is not None and p.benchmark is not None:
        same_data = src == r.dataset_key and p.num_clips == r.num_train
        off = OFFICIAL_SPLITS.get((src, p.benchmark))
        if off is not None and not off.accepts("train", p.num_clips) and not same_data:
            out.append(f"pre-trained on {p.num_clips:,}/{off.train:,} clips")
    return out


def _judge(r: Result) -> None:
    """Attach the paper's number for ``r``'s setting and the reasons it is not comparable."""
    r.paper, own = _paper_for(r)
    if r.paper is None:
        r.paper_reasons = []
        return
    reasons = _data_reasons(r) + _eval_reasons(r)
    if not r.no_pretraining:
        reasons += _pretrain_reasons(r, own)
    r.paper_reasons = reasons


# ---------------------------------------------------------------- tables


def _order(value: str, order: Sequence[str]) -> tuple[int, str]:
    return (order.index(value), "") if value in order else (len(order), value)


def _row_key(r: Result) -> tuple:
    reps = _rep_list(r.representation)
    return (
        _order(r.dataset, tuple(DATASET_NAMES)),
        _order(r.benchmark, BENCH_ORDER),
        len(reps),
        tuple(_order(x, REP_ORDER) for x in reps),
        r.no_pretraining,
        r.pretraining_text(),
        r.source,
        r.fraction or 0.0,
    )


def _ds(name: str) -> str:
    return DATASET_NAMES.get(name, name)


def _bench(name: str) -> str:
    return BENCHMARK_NAMES.get(name, name)


def _pct(v: float | None, std: float | None = None, digits: int = 2) -> str:
    if v is None:
        return DASH
    return f"{v:.{digits}f}" + (f" ± {std:.{digits}f}" if std is not None else "")


def _table_ref(p: PaperNumber) -> str:
    return p.table.replace("Tables ", "T").replace("Table ", "T").replace(", ", ", T")


def _paper_cell(r: Result) -> str:
    """The paper's figure when comparable; else which table has one and why not."""
    p = r.paper
    if p is None:
        return DASH
    if r.paper_reasons:
        return f"not comparable ({_table_ref(p)}): " + "; ".join(r.paper_reasons)
    return f"{_pct(p.top1, p.std, 1)} ({_table_ref(p)})"


def _pretraining_cell(r: Result, *, with_source: bool = True) -> str:
    text = r.pretraining_text()
    if r.no_pretraining:
        return f"**{text}**"
    p = r.pretrain
    if p is not None and not p.is_default_augment():
        text += f"; aug: {p.augment_text()}"
    if with_source and p is not None and p.dataset and p.dataset != r.dataset_key:
        text += f"; pre-trained on {_ds(p.dataset)}"
    return text


RUN_COLUMNS = ["recipe", "pre-train epochs", "eval epochs"]


def _run_cells(r: Result) -> list[str]:
    """Recipe, pre-training epochs and evaluation epochs of a row."""
    return [r.recipe_text(), r.pretrain_epochs_text(), r.eval_epochs_text()]


@dataclass
class _Table:
    title: str
    columns: list[str]
    right: set[int]
    rows: list[list[str]]
    notes: list[str] = field(default_factory=list)


def _right(cols: list[str], *names: str) -> set[int]:
    return {cols.index(n) for n in names if n in cols}


def _simple_table(title: str, results: list[Result], note: str, *, k: bool = False) -> _Table:
    cols = ["dataset", "benchmark", "representation", "pre-training", *RUN_COLUMNS, "preset"]
    cols += ["k", "top-1", "paper", "path"] if k else ["top-1", "paper", "path"]
    rows = []
    for r in sorted(results, key=_row_key):
        row = [_ds(r.dataset), _bench(r.benchmark), _reps_text(r.representation),
               _pretraining_cell(r), *_run_cells(r), r.preset or DASH]  # fmt: skip
        if k:
            row.append(str(r.k))
        rows.append(row + [_pct(r.top1), _paper_cell(r), r.source])
    right = _right(cols, "pre-train epochs", "eval epochs", "k", "top-1")
    return _Table(title, cols, right, rows, [note])


def _semi_table(results: list[Result]) -> _Table:
    fractions = sorted({r.fraction for r in results})
    groups: dict[tuple, dict[float, Result]] = {}
    for r in sorted(results, key=_row_key):
        key = (r.source, r.dataset, r.benchmark, r.representation, r.protocol, r.random_init)
        groups.setdefault(key, {})[r.fraction] = r
    cols = ["dataset", "benchmark", "representation", "pre-training", *RUN_COLUMNS, "preset"]
    first = len(cols)
    for f in fractions:
        cols += [f"{f:g} %", "paper"]
    cols.append("path")
    rows = []
    for by_f in groups.values():
        r0 = next(iter(by_f.values()))
        row = [_ds(r0.dataset), _bench(r0.benchmark), _reps_text(r0.representation),
               _pretraining_cell(r0), *_run_cells(r0), r0.preset or DASH]  # fmt: skip
        for f in fractions:
            r = by_f.get(f)
            row += [_pct(r.top1, r.std) if r else DASH, _paper_cell(r) if r else DASH]
        rows.append(row + [r0.source])
    right = _right(cols, "pre-train epochs", "eval epochs") | set(
        range(first, first + 2 * len(fractions), 2)
    )
    note = (
        "Mean ± std over the label subsets (paper: 5 subsets). Random-init rows are the "
        'paper\'s "supervised only" baseline: the same fine-tuning from random weights.'
    )
    return _Table("Semi-supervised (paper Table 2)", cols, right, rows, [note])


def _transfer_table(results: list[Result]) -> _Table:
    cols = ["dataset", "benchmark", "source dataset", "protocol", "representation", "pre-training",
            *RUN_COLUMNS, "preset", "labels", "top-1", "paper", "path"]  # fmt: skip
    rows = []
    for r in sorted(results, key=_row_key):
        src = _ds(r.source_dataset) if r.source_dataset and not r.random_init else DASH
        labels = f"{r.fraction:g} %" if r.fraction is not None else "100 %"
        std = r.std if r.runs is not None and r.runs > 1 else None
        rows.append([_ds(r.dataset), _bench(r.benchmark), src, r.protocol, _reps_text(r.representation),
                     _pretraining_cell(r, with_source=False), *_run_cells(r), r.preset or DASH,
                     labels, _pct(r.top1, std), _paper_cell(r), r.source])  # fmt: skip
    note = (
        "Encoder and classifier fine-tuned on the labelled training set of the target dataset; "
        "the source dataset is the one the encoder was pre-trained on (paper Table 4: transfer "
        "to PKU-MMD II; Table 7: fine-tuning on NTU; both with all labels)."
    )
    right = _right(cols, "pre-train epochs", "eval epochs", "labels", "top-1")
    return _Table("Fine-tuning and transfer (paper Tables 4, 7)", cols, right, rows, [note])


def _check(on: bool) -> str:
    return "✓" if on else DASH


def _ablation_tables(linear: list[Result]) -> list[_Table]:
    known = [r for r in linear if r.pretrain is not None and not r.random_init]
    tables = []
    augs = {
        (r.pretrain.augment.normalized(), r.pretrain.jitter_mode, r.pretrain.min_len) for r in known
    }
    if len(augs) > 1:
        cols = ["dataset", "benchmark", "setting", "crop-resize (l_min)", "shear", "jitter (|j|)",
                *RUN_COLUMNS, "preset", "top-1", "paper", "path"]  # fmt: skip
        rows = []
        key = lambda r: (_row_key(r)[:2], not r.pretrain.augment.normalized().temporal,  # noqa: E731
                         r.pretrain.augment_text(), _row_key(r)[2:])  # fmt: skip
        for r in sorted(known, key=key):
            a = r.pretrain.augment.normalized()
            crop = DASH  # l_min and jitter_joints are None where they play no part
            if a.temporal:
                crop = f"✓ ({a.l_min:g}" + (
                    f", min_len {r.pretrain.min_len})" if r.pretrain.min_len > 1 else ")"
                )
            jit = DASH
            if a.spatial in ("random", "jitter"):
                jit = f"✓ ({a.jitter_joints}" + (
                    ", reference)" if r.pretrain.jitter_mode != "paper" else ")"
                )
            rows.append([
                _ds(r.dataset), _bench(r.benchmark), r.pretrain.setting(r.representation),
                crop, _check(a.spatial in ("random", "shear")), jit, *_run_cells(r),
                r.preset or DASH, _pct(r.top1), _paper_cell(r), r.source,
            ])  # fmt: skip
        notes = [
            "Linear evaluation grouped by the pre-training augmentation. Shear and jitter both "
            '✓: each view gets one of them, chosen at random (the paper\'s "all three").',
        ]
        right = _right(cols, "pre-train epochs", "eval epochs", "top-1")
        tables.append(
            _Table("Ablation: augmentations (paper Tables 5, 8, 9)", cols, right, rows, notes)
        )
    rep_sets = {frozenset(r.pretrain.representations) for r in known}
    if len(rep_sets) > 1:
        cols = ["dataset", "benchmark", "setting", "augmentation", *RUN_COLUMNS, "preset",
                "top-1", "paper", "path"]  # fmt: skip
        rows = []
        key = lambda r: (_row_key(r)[:4], r.pretrain.inter, len(r.pretrain.representations),  # noqa: E731
                         r.pretrain.setting(r.representation), r.source)  # fmt: skip
        for r in sorted(known, key=key):
            aug = "default" if r.pretrain.is_default_augment() else r.pretrain.augment_text()
            rows.append([_ds(r.dataset), _bench(r.benchmark), r.pretrain.setting(r.representation),
                         aug, *_run_cells(r), r.preset or DASH, _pct(r.top1), _paper_cell(r),
                         r.source])  # fmt: skip
        notes = [
            "Linear evaluation of each downstream representation after intra-skeleton (alone) or "
            "inter-skeleton (with the named others) pre-training.",
        ]
        right = _right(cols, "pre-train epochs", "eval epochs", "top-1")
        tables.append(_Table("Ablation: intra- vs inter-skeleton (paper Tables 6, 10)", cols, right,
                             rows, notes))  # fmt: skip
    return tables


def _tables(results: list[Result]) -> list[_Table]:
    by = lambda *ps: [r for r in results if r.protocol in ps]  # noqa: E731
    tables = []
    if linear := by("linear"):
        tables.append(_simple_table(
            "Linear evaluation (paper Table 1)", linear,
            "Frozen encoder, linear classifier; top-1 of the final epoch. Paper: SEQ encoder "
            "pre-trained inter-skeleton with STG.",
        ))  # fmt: skip
    if knn := by("knn"):
        tables.append(_simple_table(
            "Retrieval, nearest neighbour (paper Table 3)", knn,
            "Each test sample takes the label of its nearest training sample (cosine); "
            "the paper uses k = 1.", k=True,
        ))  # fmt: skip
    if semi := by("semi", "supervised"):
        tables.append(_semi_table(semi))
    if ft := by("finetune", "transfer"):
        tables.append(_transfer_table(ft))
    tables += _ablation_tables(linear)
    return tables


# ---------------------------------------------------------------- rendering


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


PAPER_CITATION = (
    'Thoker, Doughty and Snoek, "Skeleton-Contrastive 3D Action Representation Learning", '
    "ACM MM 2021"
)


def to_markdown(results: list[Result], num_files: int) -> str:
    """The report as Markdown: one table per protocol, then the ablations."""
    shown = sum(r.comparable for r in results)
    lines = [
        "# skelcon report",
        "",
        f"Top-1 accuracy (%) of {len(results)} result{'s' * (len(results) != 1)} from "
        f'{num_files} metrics.json file{"s" * (num_files != 1)}. "paper" is the number '
        f"reported by {PAPER_CITATION} (Tn = its Table n) for the same protocol, dataset, "
        "benchmark and pre-training setting, shown only for a comparable result: the full "
        "official dataset (the paper's train/test sizes, less at most the samples of the "
        "official missing-skeleton lists), the paper's protocol settings (epochs, learning "
        "rate and schedule, k = 1, 5 label subsets) and the paper's packaged recipe for the "
        "pre-training dataset, trained for at least its epochs. Otherwise it says which "
        f'table has a figure and why ours is not comparable; "{DASH}" where the paper '
        f"reports none. {shown} of {len(results)} result{'s' * (len(results) != 1)} "
        f"{'are' if shown != 1 else 'is'} comparable. Rows marked **none (random init)** "
        "evaluate the same architecture without pre-training. recipe: the packaged config "
        "(`skelcon configs`) the run's config equals in the fields that shape the weights, "
        '"custom" if none; pre-train epochs: epochs trained (of those planned).',
    ]
    for t in _tables(results):
        lines += ["", f"## {t.title}", ""]
        lines += [n for n in t.notes] + [""]
        lines.append("| " + " | ".join(_md_escape(c) for c in t.columns) + " |")
        lines.append(
            "|" + "|".join("---:" if i in t.right else "---" for i in range(len(t.columns))) + "|"
        )
        for row in t.rows:
            lines.append("| " + " | ".join(_md_escape(c) for c in row) + " |")
    return "\n".join(lines) + "\n"


RECORD_FIELDS = (
    "path", "protocol", "dataset", "benchmark", "representation", "random_init", "preset",
    "pretraining", "pretrain_representations", "augmentation", "recipe", "pretrain_epochs",
    "pretrain_epochs_planned", "eval_epochs", "num_train", "num_test", "fraction", "top1", "std",
    "runs", "k", "source_dataset", "paper_top1", "paper_std", "paper_table", "paper_comparable",
    "paper_not_comparable",
)  # fmt: skip


def to_records(results: list[Result]) -> list[dict[str, Any]]:
    """One flat dict per result (the CSV rows / JSON ``results``), in table order.

    ``paper_top1`` / ``paper_std`` are set only for a comparable result; ``paper_table``
    names the table with a figure for the setting, ``paper_not_comparable`` why not."""
    out = []
    for r in sorted(results, key=lambda r: (r.protocol, *_row_key(r))):
        p = r.pretrain if not r.no_pretraining else None
        shown = r.paper if r.comparable else None
        out.append({
            "path": r.source,
            "protocol": r.protocol,
            "dataset": r.dataset,
            "benchmark": r.benchmark,
            "representation": r.representation,
            "random_init": r.random_init,
            "preset": r.preset,
            "pretraining": r.pretraining_text(),
            "pretrain_representations": "+".join(p.representations) if p else None,
            "augmentation": p.augment_text() if p else None,
            "recipe": None if r.no_pretraining else r.recipe_text(),
            "pretrain_epochs": p.epochs if p else None,
            "pretrain_epochs_planned": p.planned_epochs if p else None,
            "eval_epochs": r.eval_epochs(),
            "num_train": r.num_train,
            "num_test": r.num_test,
            "fraction": r.fraction,
            "top1": r.top1,
            "std": r.std,
            "runs": r.runs,
            "k": r.k,
            "source_dataset": r.source_dataset,
            "paper_top1": shown.top1 if shown else None,
            "paper_std": shown.std if shown else None,
            "paper_table": r.paper.table if r.paper else None,
            "paper_comparable": r.comparable,
            "paper_not_comparable": "; ".join(r.paper_reasons) or None,
        })  # fmt: skip
    return out


def to_csv(results: list[Result]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=RECORD_FIELDS, lineterminator="\n")
    w.writeheader()
    for rec in to_records(results):
        w.writerow({k: "" if v is None else v for k, v in rec.items()})
    return buf.getvalue()


def to_json(results: list[Result]) -> str:
    return json.dumps({"results": to_records(results)}, indent=2, ensure_ascii=False) + "\n"


def render(results: list[Result], fmt: str, num_files: int) -> str:
    if fmt == "md":
        return to_markdown(results, num_files)
    if fmt == "csv":
        return to_csv(results)
    if fmt == "json":
        return to_json(results)
    raise SkelconError(choices_message("report format", fmt, FORMATS))


def write_report(
    paths: Sequence[str | os.PathLike],
    out: str | os.PathLike,
    fmt: str | None = None,
    warnings: list[str] | None = None,
) -> list[Result]:
    """Gather ``paths`` and write the report to ``out`` (format from ``fmt`` or the suffix)."""
    if fmt is None:
        suffix = Path(out).suffix.lstrip(".").lower()
        fmt = suffix if suffix in FORMATS else "md"
    if fmt not in FORMATS:
        raise SkelconError(choices_message("report format", fmt, FORMATS))
    results = collect(paths, warnings)
    text = render(results, fmt, len({r.source for r in results}))
    atomic_write(out, lambda p: p.write_text(text, encoding="utf-8"))
    return results


def _cli(args: argparse.Namespace) -> int:
    warnings: list[str] = []
    results = write_report(args.paths, args.out, args.format, warnings)
    for w in warnings:
        print(f"skelcon: warning: {w}", file=sys.stderr)
    print(f"report of {len(results)} results written to {args.out}")
    return 0


def add_cli(sub) -> None:
    p = sub.add_parser(
        "report",
        help="gather metrics.json files into the paper's tables",
        description="Gather the metrics.json files under the given run or evaluation directories "
        "into the paper's tables, with the paper's numbers beside ours where the result is "
        "comparable (full official dataset, the paper's protocol settings, the paper's recipe "
        "for at least its epochs) and the reason where it is not.",
    )
    p.add_argument(
        "paths", nargs="+", metavar="RUN_OR_EVAL_DIR", help="directories (searched recursively)"
    )
    p.add_argument("--out", required=True, help="report file (written atomically)")
    p.add_argument(
        "--format", choices=FORMATS, help="md, csv or json (default: from --out's suffix, else md)"
    )
    p.set_defaults(func=_cli)
