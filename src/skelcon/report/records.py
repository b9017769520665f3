"""What a report is made of: :class:`PretrainInfo` (the pre-training behind a
checkpoint) and :class:`Result` (one reported accuracy), and the display names of
datasets, benchmarks and representations."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..paper_numbers import (
    BENCHMARK_NAMES,
    DATASET_NAMES,
    DEFAULT_AUG,
    PAPER_RECIPES,
    Augmentation,
    PaperNumber,
)
from .recipes import ABLATION_FIELDS, _fmt, packaged_recipes, recipe_diff, stretched_recipe

DASH = "–"


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
    stream: str = "joint"  # the encoders' input stream (joint, bone, motion)
    # the weights' source in words when ``skelcon import-weights`` made the run (not a
    # skelcon pre-training: its config holds the architecture only)
    imported: str | None = None
    config: dict[str, Any] | None = field(default=None, compare=False, hash=False, repr=False)

    @property
    def inter(self) -> bool:
        return len(self.representations) > 1

    def label(self) -> str:
        """The loss terms trained: ``inter SEQ↔STG``, ``inter SEQ↔STG + intra``, ``intra SEQ``;
        ``, bone stream`` / ``, motion stream`` for those inputs; an imported run is
        ``imported: the authors' weights (...), inter SEQ↔STG``."""
        reps = "↔".join(r.upper() for r in self.representations)
        if self.imported is not None:
            return f"imported: {self.imported}, {'inter' if self.inter else 'intra'} {reps}"
        stream = "" if self.stream == "joint" else f", {self.stream} stream"
        if not self.inter:
            return f"intra {reps}{stream}"
        text = f"inter {reps}"
        if self.intra_weight > 0:
            text += " + intra" + (f" ×{self.intra_weight:g}" if self.intra_weight != 1 else "")
        return text + (" (symmetric)" if self.symmetric else "") + stream

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
        if self.imported is not None:
            return "imported"
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
    stream: str | None = None  # the encoders' input stream, as metrics.json records it
    imported: str | None = None  # the weights' source when imported (metrics.json says)
    # ensemble: its members (dir, protocol, representation, stream, top1, weight)
    members: list[dict[str, Any]] | None = field(default=None, repr=False)

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
        """The pre-training cell: the loss terms (:meth:`PretrainInfo.label`), ``none
        (random init)`` or ``unknown``; a stream other than joints is named in each."""
        stream = "" if self.stream in (None, "joint") else f", {self.stream} stream"
        if self.no_pretraining:
            return "none (random init)" + stream
        if self.pretrain is None and self.imported is not None:
            return f"imported: {self.imported}" + stream
        if self.pretrain is None:
            return "unknown (no config.yaml)" + stream
        return self.pretrain.label()

    def recipe_text(self) -> str:
        if self.no_pretraining:
            return DASH
        return self.pretrain.recipe() if self.pretrain is not None else "unknown"

    def pretrain_epochs_text(self) -> str:
        if self.no_pretraining:
            return DASH
        return self.pretrain.epochs_text() if self.pretrain is not None else "?"

    def streams_text(self) -> str:
        """An ensemble's member streams, ``joint+bone+motion`` (empty for other rows)."""
        return "+".join(str(m.get("stream", "?")) for m in self.members or [])

    def members_text(self) -> str:
        """An ensemble's members in words: ``linear joint ×0.6 (80.10) + linear bone ×0.6
        (81.20)``, each with its protocol, stream, weight and top-1 (empty for other rows)."""
        parts = []
        for m in self.members or []:
            top1 = m.get("top1")
            top = f" ({top1:.2f})" if isinstance(top1, int | float) else ""
            weight = m.get("weight")
            w = f" ×{weight:g}" if isinstance(weight, int | float) else ""
            parts.append(f"{m.get('protocol', '?')} {m.get('stream', '?')}{w}{top}")
        return " + ".join(parts)

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


def _rep_list(text: str | Iterable[str]) -> list[str]:
    if isinstance(text, str):
        return [r.strip() for r in text.replace(",", "+").split("+") if r.strip()]
    return list(text)


def _reps_text(reps: str | Iterable[str]) -> str:
    return "+".join(r.upper() for r in _rep_list(reps))


def _int(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _ds(name: str) -> str:
    return DATASET_NAMES.get(name, name)


def _bench(name: str) -> str:
    return BENCHMARK_NAMES.get(name, name)
