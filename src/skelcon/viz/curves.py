"""Training curves of a pre-training run from its ``metrics.jsonl``.

Panels: the contrastive loss (every logged step, per representation pair when
inter-skeleton, and the epoch mean), the per-pair contrast accuracy (top-1 of the
positive key among the queue) when logged, and the learning rate.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import yaml

from ..errors import DataFormatError, SkelconError
from .common import new_figure, save_png

PANEL_W, PANEL_H = 4.6, 3.8  # inches per panel


def figure_size(panels: int) -> tuple[float, float]:
    """``(width, height)`` in inches of a figure with ``panels`` panels."""
    return PANEL_W * panels, PANEL_H


def read_metrics(run: str | os.PathLike) -> tuple[Path, list[dict]]:
    """``(metrics.jsonl path, records)`` of a run directory (or the file itself)."""
    p = Path(run)
    path = p / "metrics.jsonl" if p.is_dir() else p
    if not p.exists():
        raise SkelconError(f"run {str(run)!r} does not exist (give a pre-training run directory)")
    if not path.is_file():
        raise SkelconError(f"{str(p)!r} has no metrics.jsonl (is it a pre-training run directory?)")
    records = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataFormatError(f"not a JSON line ({e.msg})", str(path), n) from None
            if not isinstance(rec, dict) or not isinstance(rec.get("step"), int):
                raise DataFormatError(
                    "each line must be an object with an integer 'step'", str(path), n
                )
            records.append(rec)
    if not records:
        raise SkelconError(f"{str(path)!r} holds no metrics yet")
    return path, records


def _series(records: list[dict], key: str) -> tuple[list[int], list[float]]:
    pts = [(r["step"], float(r[key])) for r in records
           if isinstance(r.get(key), int | float) and math.isfinite(float(r[key]))]  # fmt: skip
    return [s for s, _ in pts], [v for _, v in pts]


def plot_curves(run: str | os.PathLike, out: str | os.PathLike) -> Path:
    """Draw the loss, contrast accuracy and learning-rate curves of ``run`` to ``out`` (PNG)."""
    path, records = read_metrics(run)
    keys = sorted({k for r in records for k in r})
    pair_losses = [k for k in keys if k.startswith("loss/")]
    pair_accs = [k for k in keys if k.startswith("acc/")]
    panels = 2 + bool(pair_accs)
    w, h = figure_size(panels)
    fig = new_figure(w, h)
    axes = fig.subplots(1, panels, squeeze=False)[0]
    fig.subplots_adjust(
        left=0.07 if panels == 3 else 0.1, right=0.98, top=0.82, bottom=0.15, wspace=0.3
    )

    ax = axes[0]
    s, v = _series(records, "loss")
    if s:
        ax.plot(s, v, color="#1f77b4", linewidth=1.0, alpha=0.55, label="loss (step)")
    for k in pair_losses:
        ps, pv = _series(records, k)
        ax.plot(ps, pv, linewidth=0.8, linestyle="--", alpha=0.8, label=k.replace("loss/", "pair "))
    es, ev = _series(records, "epoch_loss")
    if es:
        ax.plot(es, ev, "o-", color="#d62728", markersize=3.5, linewidth=1.4, label="epoch mean")
    ax.set_title("contrastive loss (InfoNCE)", fontsize=10)
    _finish(ax, "loss")

    if pair_accs:
        ax = axes[1]
        for k in pair_accs:
            ps, pv = _series(records, k)
            ax.plot(ps, pv, linewidth=1.0, label=k.replace("acc/", ""))
        ax.set_ylim(-2, 102)
        ax.set_title("contrast accuracy (positive ranked first)", fontsize=10)
        _finish(ax, "top-1 %")

    ax = axes[-1]
    # the lr the steps used (an epoch line logs the lr of the next epoch)
    step_records = [r for r in records if "loss" in r]
    s, v = _series(step_records or records, "lr")
    if s:
        ax.step(s, v, where="post", color="#2ca02c", linewidth=1.4)
        if min(v) > 0 and max(v) / min(v) >= 10:
            ax.set_yscale("log")
    ax.set_title("learning rate", fontsize=10)
    _finish(ax, "lr", legend=False)

    run_dir = path.parent
    fig.suptitle(f"pre-training run {run_dir.name}: {_describe(run_dir)}", fontsize=11)
    return save_png(fig, out)


def _finish(ax, ylabel: str, legend: bool = True) -> None:
    ax.set_xlabel("step", fontsize=9)
    ax.set_ylabel(ylabel, fontsize=9)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.3)
    if legend and ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7.5, frameon=False)


def _describe(run_dir: Path) -> str:
    cfg_path = run_dir / "config.yaml"
    try:
        cfg = yaml.safe_load(cfg_path.read_text()) if cfg_path.is_file() else None
    except yaml.YAMLError:
        cfg = None
    if not isinstance(cfg, dict):
        return "no config.yaml"
    reps = cfg.get("representations") or []
    mode = "inter" if len(reps) > 1 else "intra"
    aug = cfg.get("augment") or {}
    return (
        f"{mode} {'+'.join(str(r).upper() for r in reps)}, preset {cfg.get('preset')}, "
        f"{cfg.get('epochs')} epochs, batch {cfg.get('batch_size')}, spatial aug {aug.get('spatial')}"
    )
