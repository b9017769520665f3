"""Judging comparability: the paper's number for a result's setting, and the reasons
(data, protocol settings, pre-training recipe) it is not comparable, if any."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..paper_numbers import (
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
from .recipes import _fmt, _same, packaged_recipes, recipe_diff
from .records import Result, _bench, _ds


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
        protocol,
        r.dataset_key,
        r.benchmark,
        r.representation,
        pretrain=pre,
        augment=aug,
        fraction=r.fraction,
        k=r.k,
        source=r.source_dataset,
    )


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
    if (p is not None and p.imported is not None) or (p is None and r.imported is not None):
        return ["imported weights, not a skelcon pre-training"]
    if p is None or p.config is None:
        return ["pre-training recipe unknown"]
    src = p.dataset or r.source_dataset or r.dataset_key or ""
    name = PAPER_RECIPES.get(src)
    if name is None:
        return [f"no paper recipe for pre-training on {_ds(src)}"]
    recipe = packaged_recipes()[name]
    out = [] if p.stream == "joint" else [f"{p.stream} stream (paper: joints)"]
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


def judge(r: Result) -> None:
    """Attach the paper's number for ``r``'s setting and the reasons it is not comparable."""
    r.paper, own = _paper_for(r)
    if r.paper is None:
        r.paper_reasons = []
        return
    reasons = _data_reasons(r) + _eval_reasons(r)
    if not r.no_pretraining:
        reasons += _pretrain_reasons(r, own)
    r.paper_reasons = reasons
