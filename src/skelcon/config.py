"""Typed configuration: dataclasses are the one source of defaults.

Configs load from YAML (:func:`load_config`) and take dotted ``key=value``
overrides (:func:`apply_overrides`); every value is checked against the field's
type, and an unknown key is reported with the valid ones. :func:`to_dict` gives the
plain form that is saved in every run directory and checkpoint.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import math
import os
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import yaml

from .errors import SkelconError, choices_message
from .utils.text import read_text, yaml_error_message

# Every choice list of a config, defined here once (the encoders, the augmentations,
# engine/precision.py and the command line take them from here)
REPRESENTATIONS = ("seq", "img", "stg")
STREAMS = ("joint", "bone", "motion")  # the encoders' input (skelcon.encoders.streams)
PRESETS = ("paper", "small")  # encoder sizes (skelcon.encoders.registry)
SEQ_INITS = ("default", "xavier")  # the SEQ encoder's GRU init; seq_init adds "preset"
# the SEQ encoder's GRU: a real bidirectional one, or the authors' one frame per call
SEQ_RECURRENCES = ("bidirectional", "stepwise")
SPATIAL_AUGS = ("random", "shear", "jitter", "none")
JITTER_MODES = ("paper", "reference")
LR_SCHEDULES = ("step", "cosine")
MOMENTUM_SCHEDULES = ("constant", "cosine")
PRECISIONS = ("fp32", "bf16", "fp16")
TRAIN_CROPS = ("random", "center")  # linear evaluation's training inputs
SIMILARITIES = ("cosine", "euclidean")  # kNN retrieval
EXPORT_FORMATS = ("torchscript", "onnx")  # skelcon export --format


def parse_representations(value: str | list[str] | tuple[str, ...]) -> list[str]:
    """The one parser of a representation set, used by every command and config.

    Accepts ``"seq"``, ``"seq+stg"``, ``"seq,stg"`` (spaces allowed) and YAML lists
    (``[seq, stg]``, whose items may themselves be joined with ``+`` or ``,``);
    returns ``["seq", "stg"]``. One to three distinct of :data:`REPRESENTATIONS`,
    otherwise a one-line :class:`SkelconError`.
    """
    items = [value] if isinstance(value, str) else list(value)
    reps: list[str] = []
    for item in items:
        if not isinstance(item, str):
            reps.append(repr(item))  # reported as invalid below
            continue
        reps += [r.strip() for r in item.replace(",", "+").split("+") if r.strip()]
    bad = [r for r in reps if r not in REPRESENTATIONS]
    if not reps or bad or len(set(reps)) != len(reps):
        text = value if isinstance(value, str) else "+".join(str(v) for v in items)
        why = f"unknown {', '.join(bad)}" if bad else "empty" if not reps else "repeated entries"
        raise SkelconError(
            f"representation {text!r} is not valid ({why}; valid: one to three distinct of "
            f"{', '.join(REPRESENTATIONS)} joined with '+' or ',', e.g. seq+stg)"
        )
    return reps


@dataclass
class OptimConfig:
    """SGD; lr schedule ``step`` (x ``gamma`` at each epoch in ``milestones``, paper Section 4.2) or
    ``cosine`` (to 0 at the last epoch, per step). Either starts with ``warmup_epochs`` of
    linear warm-up from 0 (per step; 0: none). See :mod:`skelcon.engine.schedules`."""

    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 1e-4
    schedule: str = "step"  # step | cosine
    milestones: list[int] = field(default_factory=lambda: [351])
    gamma: float = 0.1
    warmup_epochs: float = 0.0


@dataclass
class AugmentConfig:
    """The spatio-temporal view maker (paper Section 3.1)."""

    out_len: int = 64
    temporal: bool = (
        True  # random crop-resize; false: the centre crop (the "none" ablation with spatial none)
    )
    l_min: float = 0.1
    # 2D keypoints (x, y[, score]) get the random crop-resize even with temporal false
    # (not in the paper; docs/pretraining.md, section 6)
    temporal_2d: bool = False
    min_len: int = 1
    spatial: str = "random"  # random | shear | jitter | none
    shear_magnitude: float = 1.0  # shear off-diagonals ~ U[-a, a] (paper: 1)
    jitter_joints: int = 15
    jitter_mode: str = "paper"  # paper | reference
    # not in the paper (0: off): per-view Gaussian noise on present joints (std, in the
    # data's units) and the probability that a joint of a frame is marked missing
    noise: float = 0.0
    joint_drop: float = 0.0


@dataclass
class MocoConfig:
    """MoCo (paper Sections 3.3 and 4.2). The paper's values are the defaults; the other switches are the
    mechanics of MoCo v2/v3 reference code, off by default (see docs/pretraining.md)."""

    dim: int = 128
    queue_size: int = 16384  # capped below the keys of (training clips - a batch), with a note
    momentum: float = 0.999  # key-encoder EMA momentum (start value when scheduled)
    momentum_schedule: str = "constant"  # constant | cosine (to momentum_end at the last step)
    momentum_end: float = 1.0
    temperature: float = 0.07
    head_bn: bool = False  # BatchNorm in the projection head (not in the paper; see README)
    intra_weight: float = 0.0  # weight of added intra-skeleton terms (0: the paper's inter loss)
    symmetric: bool = False  # also contrast view 2's queries with view 1's keys (MoCo v3)
    shuffle_bn: int = 0  # key encoders see the batch shuffled and split in this many BN groups


@dataclass
class MonitorConfig:
    """Online monitors of a pre-training run (docs/pretraining.md).

    Every ``every`` epochs (0: never), before the first and after the last epoch: kNN
    top-1 of each query encoder's features (train split -> test split of the same
    benchmark, centre crop, eval mode, cosine, ``knn_k`` neighbours) when the data has
    labels and a test split. ``stats``: embedding-health statistics at every logged step.
    """

    every: int = 10
    knn_k: int = 1
    batch_size: int = 256
    stats: bool = True


@dataclass
class SeqConfig:
    """The SEQ encoder's options beyond its preset sizes (skelcon.encoders.seq).

    ``recurrence``: ``bidirectional`` (a real bidirectional GRU, the backward direction
    reading the frames in reverse) or ``stepwise`` (the authors' model: their code feeds
    one frame per call and carries the state, so both directions read forwards; what the
    weights of ``skelcon import-weights`` need)."""

    recurrence: str = "bidirectional"


@dataclass
class PretrainConfig:
    """Everything ``skelcon pretrain`` needs; saved in every run and checkpoint."""

    preset: str = "paper"  # encoder sizes: paper | small
    seq_init: str = (
        "preset"  # GRU weight init: preset (paper: xavier, small: default) | default | xavier
    )
    representations: list[str] = field(default_factory=lambda: ["seq", "stg"])
    # the encoders' input: joint | bone | motion, applied after augmentation on every view
    # and by every evaluation of the run (skelcon.encoders.streams; not in the paper)
    stream: str = "joint"
    epochs: int = 451
    # at least this many optimiser steps (0: off): a small training split runs more epochs,
    # with warm-up, milestones, monitor and save intervals stretched alike (engine/pretrain.py)
    min_steps: int = 0
    batch_size: int = 64
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    num_workers: int = 0
    save_every: int = 50  # keep epoch_NNNN.pt every this many epochs (0: never)
    log_every: int = 10  # steps between metric lines
    seq: SeqConfig = field(default_factory=SeqConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    moco: MocoConfig = field(default_factory=MocoConfig)
    monitor: MonitorConfig = field(default_factory=MonitorConfig)
    # speed (engine/precision.py, engine/distributed.py); none of them is in the paper
    precision: str = "fp32"  # fp32 | bf16 | fp16: autocast of the encoders (loss, queue fp32)
    compile: bool = False  # torch.compile every encoder
    tf32: bool = True  # CUDA only: fp32 matmuls and convolutions may use TF32
    sync_bn: bool = False  # under torchrun on GPUs: SyncBatchNorm in the query encoders

    def validate(self) -> None:
        if self.preset not in PRESETS:
            raise SkelconError(f"preset {self.preset!r} is not valid (valid: {', '.join(PRESETS)})")
        self.representations = parse_representations(self.representations)
        _choice("seq_init", self.seq_init, ("preset", *SEQ_INITS))
        _choice("seq.recurrence", self.seq.recurrence, SEQ_RECURRENCES)
        _choice("stream", self.stream, STREAMS)
        if self.augment.spatial not in SPATIAL_AUGS:
            raise SkelconError(
                f"augment.spatial {self.augment.spatial!r} is not valid (valid: {', '.join(SPATIAL_AUGS)})"
            )
        if self.augment.jitter_mode not in JITTER_MODES:
            raise SkelconError(
                f"augment.jitter_mode {self.augment.jitter_mode!r} is not valid (valid: "
                f"{', '.join(JITTER_MODES)})"
            )
        if not (math.isfinite(self.augment.noise) and self.augment.noise >= 0):
            raise SkelconError(f"augment.noise {self.augment.noise} must be a number >= 0 (0: off)")
        if not 0 <= self.augment.joint_drop < 1:
            raise SkelconError(
                f"augment.joint_drop {self.augment.joint_drop} must be in [0, 1) (0: off)"
            )
        if not 0 < self.augment.l_min <= 1:
            raise SkelconError(f"augment.l_min {self.augment.l_min} must be in (0, 1]")
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise SkelconError(f"{name} {getattr(self, name)} must be at least 1")
        if self.moco.queue_size < 1:
            raise SkelconError(f"moco.queue_size {self.moco.queue_size} must be at least 1")
        _choice("optim.schedule", self.optim.schedule, LR_SCHEDULES)
        _choice("moco.momentum_schedule", self.moco.momentum_schedule, MOMENTUM_SCHEDULES)
        o = self.optim
        if not (math.isfinite(o.lr) and o.lr > 0):
            raise SkelconError(f"optim.lr {o.lr} must be a positive number")
        if not 0 <= o.momentum < 1 or not 0 <= o.weight_decay < 1 or not 0 < o.gamma <= 1:
            raise SkelconError(
                f"optim.momentum {o.momentum} and optim.weight_decay {o.weight_decay} must be in "
                f"[0, 1), optim.gamma {o.gamma} in (0, 1]"
            )
        if o.warmup_epochs < 0:
            raise SkelconError(
                f"optim.warmup_epochs {o.warmup_epochs} must be >= 0 (it is capped at half the run)"
            )
        for name in ("num_workers", "log_every", "save_every", "min_steps"):
            if getattr(self, name) < 0:
                raise SkelconError(f"{name} {getattr(self, name)} must be >= 0 (0: off)")
        for name in ("momentum", "momentum_end"):
            value = getattr(self.moco, name)
            if not 0.0 <= value <= 1.0:
                raise SkelconError(f"moco.{name} {value} must be in [0, 1]")
        if self.moco.momentum_schedule == "cosine" and self.moco.momentum_end < self.moco.momentum:
            raise SkelconError(
                f"moco.momentum_end {self.moco.momentum_end} must be >= moco.momentum "
                f"{self.moco.momentum} (the cosine schedule raises the key momentum)"
            )
        if self.moco.temperature <= 0:
            raise SkelconError(f"moco.temperature {self.moco.temperature} must be > 0")
        if self.moco.shuffle_bn < 0:
            raise SkelconError(
                f"moco.shuffle_bn {self.moco.shuffle_bn} must be >= 0 (0 or 1: off; G: G groups)"
            )
        _choice("precision", self.precision, PRECISIONS)
        if self.monitor.every < 0 or self.monitor.knn_k < 1 or self.monitor.batch_size < 1:
            raise SkelconError(
                f"monitor.every {self.monitor.every} must be >= 0, monitor.knn_k "
                f"{self.monitor.knn_k} and monitor.batch_size {self.monitor.batch_size} >= 1"
            )


def _choice(key: str, value: str, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise SkelconError(choices_message(key, value, valid))


C = TypeVar("C")


def to_dict(cfg: Any) -> dict[str, Any]:
    """Plain nested dict of a config dataclass."""
    return dataclasses.asdict(cfg)


def from_dict(cls: type[C], data: Any, prefix: str = "") -> C:
    """Build ``cls`` from a nested dict, checking keys and value types."""
    if not isinstance(data, dict):
        raise SkelconError(f"config section {prefix or '<root>'!r} must be a mapping, got {data!r}")
    cfg = cls()
    for key, value in data.items():
        _set(cfg, f"{prefix}{key}", key, value)
    return cfg


def load_config(
    cls: type[C], path: str | os.PathLike[str] | None = None, overrides: Sequence[str] = ()
) -> C:
    """Defaults of ``cls``, then the YAML file ``path``, then ``key=value`` overrides."""
    data: dict[str, Any] = {}
    if path is not None:
        if not os.path.isfile(path):
            raise SkelconError(f"config file {str(path)!r} does not exist")
        try:
            data = yaml.safe_load(read_text(path, "config file")) or {}
        except (yaml.YAMLError, ValueError, RecursionError) as e:  # ValueError: long integers
            raise SkelconError(yaml_error_message("config file", path, e)) from None
    cfg = from_dict(cls, data)
    apply_overrides(cfg, overrides)
    return cfg


def apply_overrides(cfg: Any, overrides: Sequence[str]) -> None:
    """Apply ``a.b=value`` strings; values are parsed as YAML (``[1, 2]``, ``0.1``, ``seq``).

    An epoch count given here is honoured as given: unless ``min_steps`` is given too,
    it turns a recipe's ``min_steps`` off (``--epochs 4`` runs 4 epochs on any data).
    """
    keys = {item.split("=", 1)[0].strip() for item in overrides}
    if "epochs" in keys and "min_steps" not in keys and hasattr(cfg, "min_steps"):
        cfg.min_steps = 0
    for item in overrides:
        if "=" not in item:
            raise SkelconError(f"override {item!r} must look like key=value")
        key, raw = item.split("=", 1)
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except (yaml.YAMLError, ValueError, RecursionError):  # not YAML: the plain string
            value = raw
        obj = cfg
        parts = key.strip().split(".")
        for i, part in enumerate(parts[:-1]):
            sub = _field_map(obj).get(part)
            if sub is None or not dataclasses.is_dataclass(getattr(obj, part)):
                _unknown(obj, ".".join(parts[: i + 1]), part)
            obj = getattr(obj, part)
        _set(obj, key.strip(), parts[-1], value)


def _field_map(obj: Any) -> dict[str, dataclasses.Field[Any]]:
    return {f.name: f for f in dataclasses.fields(obj)}


def _unknown(obj: Any, full: str, name: str) -> typing.NoReturn:
    valid = ", ".join(_field_map(obj))
    raise SkelconError(f"unknown config key {full!r} (valid keys here: {valid})")


def _set(obj: Any, full: str, name: str, value: Any) -> None:
    fields = _field_map(obj)
    if name not in fields:
        _unknown(obj, full, name)
    hint = typing.get_type_hints(type(obj))[name]
    current = getattr(obj, name)
    if dataclasses.is_dataclass(current):
        setattr(obj, name, from_dict(type(current), value, prefix=f"{full}."))
        return
    setattr(obj, name, _coerce(full, hint, value))


def _coerce(key: str, hint: Any, value: Any) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for a in args:
            if a is type(None):
                continue
            try:
                return _coerce(key, a, value)
            except SkelconError:
                pass
        raise _type_error(key, hint, value)
    if origin is list:
        (inner,) = args
        if isinstance(value, str) and inner is str:  # "seq,stg" shorthand
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list | tuple):
            raise _type_error(key, hint, value)
        return [_coerce(f"{key}[{i}]", inner, v) for i, v in enumerate(value)]
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise _type_error(key, hint, value)
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise _type_error(key, hint, value)
    if hint is float:
        number: float | None = None
        if isinstance(value, int | float) and not isinstance(value, bool):
            with contextlib.suppress(OverflowError):
                number = float(value)
        elif isinstance(value, str):  # YAML 1.1 reads 1e-4 (no dot) as a string
            with contextlib.suppress(ValueError):
                number = float(value)
        if number is not None and math.isfinite(number):
            return number
        if number is not None:
            raise SkelconError(f"config key {key!r} must be a finite number, got {value!r:.80}")
        raise _type_error(key, hint, value)
    if hint is str:
        if isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        raise _type_error(key, hint, value)
    return value


def _type_error(key: str, hint: Any, value: Any) -> SkelconError:
    name = getattr(hint, "__name__", str(hint))
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return SkelconError(f"config key {key!r} expects {name}, got {shown}")


@dataclass
class LinearEvalConfig:
    """Linear evaluation (paper Appendix A.1): frozen encoder, SGD on a linear classifier."""

    epochs: int = 80
    batch_size: int = 64  # the authors' linear-evaluation script
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 0.0
    milestones: list[int] = field(default_factory=lambda: [50, 70])
    gamma: float = 0.1
    train_crop: str = (
        "random"  # random: crop-resize with ratio ~ U[crop_min, 1] each epoch; center: cached
    )
    crop_min: float = 0.5
    # 0: the exact protocol (a fresh random crop of every clip each epoch). K > 0: encode K
    # random crops per training clip once, then sample one of them per clip each epoch
    # (faster, not the exact protocol; see skelcon.eval.crop_bank). Bank: K x N x D float32.
    crop_bank: int = 0
    crop_bank_max_gib: float = 4.0  # refuse a bank larger than this
    standardize: bool = True  # per-dimension feature standardisation before the classifier
    seed: int = 0
    device: str = "auto"

    def validate(self) -> None:
        if self.train_crop not in TRAIN_CROPS:
            raise SkelconError(
                f"train_crop {self.train_crop!r} is not valid (valid: {', '.join(TRAIN_CROPS)})"
            )
        if self.crop_bank < 0:
            raise SkelconError(
                f"crop_bank {self.crop_bank} is not valid (valid: 0, the exact protocol, or "
                "K >= 1 cached random crops per clip, e.g. 8)"
            )
        if self.crop_bank and self.train_crop != "random":
            raise SkelconError(
                f"crop_bank {self.crop_bank} caches random crops: it needs train_crop random, "
                f"not {self.train_crop!r} (or crop_bank=0)"
            )
        if not self.crop_bank_max_gib > 0:
            raise SkelconError(
                f"crop_bank_max_gib {self.crop_bank_max_gib} must be a positive number of GiB"
            )
        if self.epochs < 1 or self.batch_size < 1:
            raise SkelconError("epochs and batch_size must be at least 1")
        if self.standardize and self.batch_size < 2:
            raise SkelconError(
                "linear batch_size 1 cannot train the standardising BatchNorm (it needs 2 "
                "clips a batch): use batch_size >= 2 or standardize false"
            )
        if not 0 < self.crop_min <= 1:
            raise SkelconError(f"crop_min {self.crop_min} must be in (0, 1]")


@dataclass
class KnnConfig:
    """Nearest-neighbour retrieval (paper Appendix A.1)."""

    k: int = 1
    similarity: str = "cosine"  # cosine | euclidean
    batch_size: int = 256
    chunk_size: int = 4096
    device: str = "auto"

    def validate(self) -> None:
        if self.k < 1:
            raise SkelconError(f"k {self.k} must be at least 1")
        if self.similarity not in SIMILARITIES:
            raise SkelconError(
                f"similarity {self.similarity!r} is not valid (valid: {', '.join(SIMILARITIES)})"
            )


KEEP_MODELS = ("first", "all", "none")  # FinetuneConfig.keep_models


@dataclass
class FinetuneConfig:
    """Fine-tuning encoder + linear classifier (paper Appendix A.1: semi-supervised, supervised, transfer).

    Adam, ``lr`` x ``gamma`` at each epoch in ``milestones``. Training views are random
    temporal crop-resizes (ratio ~ U[crop_min, 1]); the test uses the centre crop after
    the final epoch. ``fractions`` of the labelled training set, ``repeats`` random
    class-covering subsets each (drawn from ``seed``). ``keep_models``: which trained
    models ``model.pt`` keeps (each with its own fine-tuned encoder): ``first`` the first
    repeat of every fraction, ``all`` every one, ``none`` no file; every model's test
    scores are kept in ``scores.npy`` either way.
    """

    epochs: int = 50
    batch_size: int = 64
    lr: float = 1e-4
    weight_decay: float = 0.0
    milestones: list[int] = field(default_factory=lambda: [30, 40])
    gamma: float = 0.1
    crop_min: float = 0.5
    seed: int = 0
    device: str = "auto"
    fractions: list[float] = field(default_factory=lambda: [0.01, 0.05, 0.1, 0.2])
    repeats: int = 5
    eval_batch_size: int = 256
    keep_models: str = "first"

    def validate(self) -> None:
        for name in ("epochs", "batch_size", "eval_batch_size"):
            if getattr(self, name) < 1:
                raise SkelconError(f"{name} {getattr(self, name)} must be at least 1")
        if self.repeats < 1:
            raise SkelconError(f"repeats {self.repeats} must be at least 1")
        if self.keep_models not in KEEP_MODELS:
            raise SkelconError(
                f"keep_models {self.keep_models!r} is not valid (valid: {', '.join(KEEP_MODELS)})"
            )
        if not self.fractions:
            raise SkelconError("fractions is empty: give at least one fraction in (0, 1]")
        for f in self.fractions:
            if not 0 < f <= 1:
                raise SkelconError(f"fraction {f} is not valid: each fraction must be in (0, 1]")
        if len(set(self.fractions)) != len(self.fractions):
            raise SkelconError(f"fractions {self.fractions} contain duplicates")
        if not 0 < self.crop_min <= 1:
            raise SkelconError(f"crop_min {self.crop_min} must be in (0, 1]")
        if self.lr <= 0:
            raise SkelconError(f"lr {self.lr} must be positive")
        if any(m < 0 for m in self.milestones):
            raise SkelconError(f"milestones {self.milestones} must be non-negative epochs")


# Where a fine-tuning protocol's defaults differ from FinetuneConfig's: `eval finetune` and
# `eval transfer` train once on all the labels; `eval semi` and `eval supervised` keep
# FinetuneConfig's fractions x repeats. The one source of the commands, their --help and
# the line each prints at its start.
FINETUNE_PROTOCOL_DEFAULTS: dict[str, dict[str, Any]] = {
    "semi": {},
    "supervised": {},
    "finetune": {"fractions": [1.0], "repeats": 1},
    "transfer": {"fractions": [1.0], "repeats": 1},
}


def finetune_defaults(protocol: str) -> FinetuneConfig:
    """The default :class:`FinetuneConfig` of ``eval <protocol>`` (before a --config)."""
    if protocol not in FINETUNE_PROTOCOL_DEFAULTS:
        raise SkelconError(
            choices_message("fine-tuning protocol", protocol, FINETUNE_PROTOCOL_DEFAULTS)
        )
    return FinetuneConfig(**copy.deepcopy(FINETUNE_PROTOCOL_DEFAULTS[protocol]))
