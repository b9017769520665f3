"""Training curves and monitors of a pre-training run from its ``metrics.jsonl``.

One figure, two rows of four panels, read at a glance (docs/pretraining.md):
top: the contrastive loss (per pair and epoch mean, with the chance level
``ln(1 + K)`` per term), the contrast accuracy, the online kNN top-1 of each query
encoder (epoch 0 is this run's random-init baseline, drawn dashed) and the lr with
the key momentum; bottom: embedding health: per-dimension std x sqrt(d) (1 healthy,
0 collapsed), mean positive vs negative cosine, alignment and uniformity (Wang and
Isola 2020), and the mean age of the queued keys in steps. A panel whose metric the
run did not log says so.

The kNN panel says what one test clip is worth in points (``100 / n`` for ``n`` test
clips, from the run's verdict.json, :mod:`skelcon.engine.verdict`) and spans at least
``MIN_CLIPS`` clips, so a few clips' difference does not fill the panel; the key
momentum's axis ends at 1 (its largest possible value). Legends sit under their
panel's x label, never over a curve.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import yaml
from matplotlib.transforms import ScaledTranslation

from ..errors import DataFormatError, SkelconError
from ..utils.io import read_json
from .common import new_figure, save_png

PANEL_W, PANEL_H = 4.4, 3.9  # inches per panel (its legend under the x label included)
ROWS, COLS = 2, 4
TOP_IN, BOTTOM_IN, GAP_IN = 0.85, 0.8, 1.3  # title; under the last row; between rows
LEGEND_DROP = 0.36  # inches from the axes' bottom edge to the legend's top (x label between)
MIN_CLIPS = 10  # the kNN panel spans at least this many test clips
NO_STATS = "monitor.stats false, fewer steps\nthan log_every, or an older run"


def figure_size() -> tuple[float, float]:
    """``(width, height)`` in inches of the curves figure (2 x 4 panels + title)."""
    return PANEL_W * COLS, PANEL_H * ROWS + 0.5


def n_test_clips(run_dir: Path, records: list[dict]) -> int | None:
    """How many test clips the run's kNN monitor classified, or None when unknown: the
    ``n_test`` of ``run_dir/verdict.json`` (written when a monitored run finishes), else
    a ``knn_test_clips`` entry of a monitor record of ``records``."""
    try:
        n = read_json(run_dir / "verdict.json").get("n_test")
    except (OSError, ValueError, AttributeError, RecursionError):
        n = None
    if not (isinstance(n, int) and not isinstance(n, bool) and n > 0):
        n = next(
            (
                r["knn_test_clips"]
                for r in reversed(records)
                if isinstance(r.get("knn_test_clips"), int) and r["knn_test_clips"] > 0
            ),
            None,
        )
    return n


def knn_limits(values: list[float], n_test: int | None) -> tuple[float, float] | None:
    """y limits (top-1 %) of the kNN panel holding ``values``: at least ``MIN_CLIPS``
    test clips (``100 / n_test`` points each) wide and inside [0, 100], with a margin;
    None (matplotlib's own) when ``n_test`` is unknown or there are no values."""
    if not values or not n_test:
        return None
    lo, hi = min(values), max(values)
    span = max(hi - lo, MIN_CLIPS * 100.0 / n_test)
    mid = (lo + hi) / 2
    lo, hi = mid - span / 2, mid + span / 2
    if lo < 0:
        lo, hi = 0.0, min(span, 100.0)
    if hi > 100:
        lo, hi = max(100.0 - span, 0.0), 100.0
    pad = 0.05 * (hi - lo)
    return max(lo - pad, -2.0), min(hi + pad, 102.0)


def momentum_limits(values: list[float]) -> tuple[float, float]:
    """y limits of the key momentum's axis: top exactly 1 (momentum is in [0, 1]), the
    bottom a small margin under the smallest value."""
    lo = min(values)
    span = max(1.0 - lo, 0.01)
    return max(lo - 0.15 * span, 0.0), 1.0


def read_metrics(run: str | os.PathLike) -> tuple[Path, list[dict]]:
    """``(metrics.jsonl path, records)`` of a run directory (or the file itself)."""
    p = Path(run)
    path = p / "metrics.jsonl" if p.is_dir() else p
    if not p.exists():
        raise SkelconError(f"run {str(run)!r} does not exist (give a pre-training run directory)")
    if not path.is_file() or path.suffix != ".jsonl":
        raise SkelconError(
            f"{str(p)!r} is not a pre-training run directory (with metrics.jsonl) or a "
            "metrics.jsonl file"
        )
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
    pts = [
        (r["step"], float(r[key]))
        for r in records
        if isinstance(r.get(key), int | float) and math.isfinite(float(r[key]))
    ]
    return [s for s, _ in pts], [v for _, v in pts]


def _lines(ax, records: list[dict], keys: list[str], prefix: str, **kw) -> bool:
    drawn = False
    for k in keys:
        ps, pv = _series(records, k)
        if ps:
            ax.plot(ps, pv, label=k.replace(prefix, ""), **kw)
            drawn = True
    return drawn


def _empty(ax, what: str) -> None:
    ax.text(
        0.5,
        0.5,
        f"not logged\n({what})",
        ha="center",
        va="center",
        fontsize=9,
        color="#777777",
        transform=ax.transAxes,
    )


def plot_curves(run: str | os.PathLike, out: str | os.PathLike) -> Path:
    """Draw the curves and monitors of pre-training run ``run`` to ``out`` (PNG).

    Raises :class:`SkelconError` when ``run`` has no readable ``metrics.jsonl``.
    """
    path, records = read_metrics(run)
    keys = sorted({k for r in records for k in r})
    starts = [k for k in keys if "/" in k]
    group = {
        p: [k for k in starts if k.startswith(p + "/")]
        for p in (
            "loss",
            "acc",
            "knn",
            "std",
            "pos_cos",
            "neg_cos",
            "align",
            "uniformity",
            "queue_age",
        )
    }
    step_records = [r for r in records if "loss" in r]
    w, h = figure_size()
    fig = new_figure(w, h)
    axes = fig.subplots(ROWS, COLS, squeeze=False)
    axes_h = (h - TOP_IN - BOTTOM_IN - GAP_IN * (ROWS - 1)) / ROWS
    fig.subplots_adjust(
        left=0.05,
        right=0.965,
        top=1 - TOP_IN / h,
        bottom=BOTTOM_IN / h,
        wspace=0.32,
        hspace=GAP_IN / axes_h,
    )
    cfg = _config(path.parent)
    n_test = n_test_clips(path.parent, records)

    ax = axes[0, 0]  # per-term losses against chance; the total (a sum of terms) is in TB
    if not _lines(ax, records, group["loss"], "loss/", linewidth=1.0):
        s, v = _series(records, "loss")
        if s:
            ax.plot(s, v, color="#1f77b4", linewidth=1.0, label="loss (step)")
        else:
            _empty(ax, "no step was logged")
    moco = cfg.get("moco") if cfg else None
    queue = moco.get("queue_size") if isinstance(moco, dict) else None
    if isinstance(queue, int) and queue > 0:
        ax.axhline(
            math.log(1 + queue),
            color="#555555",
            linestyle=":",
            linewidth=1.0,
            label=f"chance, ln(1+{queue})",
        )
    ax.set_title("InfoNCE loss per contrasted pair", fontsize=10)
    _finish(ax, "loss")

    ax = axes[0, 1]
    if not _lines(ax, records, group["acc"], "acc/", linewidth=1.0):
        _empty(ax, "acc/*")
    ax.set_ylim(-2, 102)
    ax.set_title("contrast accuracy (positive ranked first)", fontsize=10)
    _finish(ax, "top-1 %")

    ax = axes[0, 2]
    values = []
    for k in group["knn"]:
        ks, kv = _series(records, k)
        values += kv
        line = ax.plot(ks, kv, "o-", markersize=3.5, linewidth=1.4, label=k.replace("knn/", ""))
        if ks and ks[0] == 0:  # the random-init baseline of this run
            ax.axhline(kv[0], color=line[0].get_color(), linestyle="--", linewidth=0.9, alpha=0.7)
    if not group["knn"]:
        _empty(ax, "no labelled test split, monitor.every 0, or an older run")
    lim = knn_limits(values, n_test)
    if lim is not None:
        ax.set_ylim(*lim)
    clip = (
        f"1 test clip = {100 / n_test:.2f} points ({n_test} clips)"
        if n_test
        else "test clips unknown (no verdict.json yet)"
    )
    ax.set_title(f"kNN top-1 on the test split (dashed: random init)\n{clip}", fontsize=9)
    _finish(ax, "top-1 %")

    ax = axes[0, 3]
    s, v = _series(step_records or records, "lr")
    if s:
        ax.plot(s, v, color="#2ca02c", linewidth=1.4, label="lr")
    else:
        _empty(ax, "no step was logged")
    ms, mv = _series(step_records, "key_momentum")
    if ms:
        twin = ax.twinx()
        twin.plot(ms, mv, color="#9467bd", linewidth=1.0, linestyle="--")
        twin.set_ylim(*momentum_limits(mv))
        twin.set_ylabel("key momentum (dashed)", fontsize=8, color="#9467bd")
        twin.tick_params(labelsize=7)
    ax.set_title("learning rate and key momentum", fontsize=10)
    _finish(ax, "lr", legend=False)

    ax = axes[1, 0]
    if _lines(ax, step_records, group["std"], "std/", linewidth=1.0):
        ax.axhline(1.0, color="#555555", linestyle=":", linewidth=1.0)
        ax.set_ylim(bottom=0)
    else:
        _empty(ax, NO_STATS)
    ax.set_title("embedding std x sqrt(d): 1 spread, 0 collapsed", fontsize=10)
    _finish(ax, "std")

    ax = axes[1, 1]
    drawn = _lines(ax, step_records, group["pos_cos"], "pos_cos/", linewidth=1.0)
    drawn |= _lines(ax, step_records, group["neg_cos"], "neg_cos/", linewidth=0.8, linestyle="--")
    if not drawn:
        _empty(ax, NO_STATS)
    ax.set_title("cosine: positives (solid) vs negatives (dashed)", fontsize=10)
    _finish(ax, "cosine")

    ax = axes[1, 2]
    drawn = _lines(ax, step_records, group["align"], "align/", linewidth=1.0)
    drawn |= _lines(
        ax, step_records, group["uniformity"], "uniformity/", linewidth=1.0, linestyle="--"
    )
    if not drawn:
        _empty(ax, NO_STATS)
    ax.set_title(
        "alignment (solid, lower: closer positives)\nuniformity (dashed, lower: spread)", fontsize=9
    )
    _finish(ax, "value")

    ax = axes[1, 3]
    if not _lines(ax, step_records, group["queue_age"], "queue_age/", linewidth=1.0):
        _empty(ax, NO_STATS)
    ax.set_title("mean age of queued keys (steps)", fontsize=10)
    _finish(ax, "steps")

    run_dir = path.parent
    fig.suptitle(f"pre-training run {run_dir.name}: {_describe(cfg)}", fontsize=11)
    return save_png(fig, out)


def _finish(ax, ylabel: str, legend: bool = True) -> None:
    ax.set_xlabel("step", fontsize=9)
    ax.set_ylabel(ylabel, fontsize=9)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.3)
    handles = ax.get_legend_handles_labels()[0]
    if legend and handles:
        # under the x label, outside the axes: never over a curve
        under = ax.transAxes + ScaledTranslation(0, -LEGEND_DROP, ax.figure.dpi_scale_trans)
        ax.legend(
            fontsize=7.5,
            frameon=False,
            loc="upper center",
            bbox_to_anchor=(0.5, 0.0),
            bbox_transform=under,
            ncol=min(len(handles), 4),
            borderaxespad=0.0,
            handlelength=1.6,
            columnspacing=1.0,
        )


def _config(run_dir: Path) -> dict | None:
    cfg_path = run_dir / "config.yaml"
    try:
        cfg = yaml.safe_load(cfg_path.read_text()) if cfg_path.is_file() else None
    except yaml.YAMLError:
        cfg = None
    return cfg if isinstance(cfg, dict) else None


def _describe(cfg: dict | None) -> str:
    if cfg is None:
        return "no config.yaml"
    if not isinstance(cfg.get("augment", {}), dict):
        return "config.yaml not readable"
    reps = cfg.get("representations") or []
    mode = "inter" if len(reps) > 1 else "intra"
    aug = cfg.get("augment") or {}
    return (
        f"{mode} {'+'.join(str(r).upper() for r in reps)}, preset {cfg.get('preset')}, "
        f"{cfg.get('epochs')} epochs, batch {cfg.get('batch_size')}, spatial aug {aug.get('spatial')}"
    )
