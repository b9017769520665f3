#!/usr/bin/env python
r"""The three-stream study: pre-train and evaluate each input stream, then their ensemble.

For each seed and each stream (default joint, bone, motion): ``skelcon pretrain --stream``
with a recipe (``--config``, default ``cpu_small``, plus any ``--set``), then ``skelcon
eval linear`` and ``skelcon eval knn`` of every representation (default the recipe's,
each alone, and their concatenation, e.g. seq, stg, seq+stg), each writing its per-sample
``scores.npy``; then ``skelcon ensemble`` of the streams' scores per representation and
protocol (AimCLR's weights 0.6 / 0.6 / 0.4 for joint / bone / motion, the command's
default; ``--weights`` to give others). Every step is skipped when its result exists, so an
interrupted study resumes where it stopped (a pre-training resumes from its last.pt).

    python scripts/stream_study.py --data data/pku1 --benchmark xsub --seeds 0 1 2 \
        --out runs/streams/pku1
    python scripts/stream_study.py --out runs/streams/pku1 --table      # the table again

``OUT/study.json`` records the data and settings; a later call with others stops (give a
new ``--out``). Layout: ``OUT/seed<s>/<stream>/pretrain`` (the run), ``OUT/seed<s>/<stream>/<protocol>-<rep>``
and ``OUT/seed<s>/ensemble/<protocol>-<rep>`` (metrics.json, scores.npy); the table (mean ±
sample std over the seeds found) goes to ``OUT/table.md`` and ``OUT/summary.json``.

The linear probe here trains on cached centre-crop features (``--set train_crop=center``
of ``eval linear``, as AimCLR's linear evaluation trains without augmentation): about 25 s
per representation on 1,510 clips instead of ~10 min for the paper protocol's fresh random
crop every epoch on a loaded 2-core CPU. Its figures are therefore not comparable with the
README tables of the paper protocol; pass ``--linear-set train_crop=random`` for that.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

PROTOCOLS = ("linear", "knn")
REP_ORDER = {"seq": 0, "img": 1, "stg": 2}


def _run(argv: list[str]) -> None:
    from skelcon.cli import main

    print("+ skelcon " + " ".join(argv), flush=True)
    rc = main(argv)
    if rc != 0:
        sys.exit(f"stream_study: `skelcon {' '.join(argv)}` failed (exit {rc})")


def _reps(args: argparse.Namespace) -> list[str]:
    if args.reps:
        return [r.strip() for r in args.reps.split(",") if r.strip()]
    from skelcon.config import PretrainConfig, load_config
    from skelcon.recipes import resolve_config_path

    cfg = load_config(PretrainConfig, resolve_config_path(args.config), args.set)
    reps = list(cfg.representations)
    return reps + (["+".join(reps)] if len(reps) > 1 else [])


def check_settings(args: argparse.Namespace, streams: list[str], reps: list[str]) -> None:
    """A study directory holds one study: ``OUT/study.json`` records its data and settings
    on the first call; a later call with others stops in one line (results would mix)."""
    out = Path(args.out)
    now = {
        "data": str(Path(args.data).resolve()),
        "benchmark": args.benchmark,
        "config": args.config,
        "set": list(args.set),
        "linear_set": list(args.linear_set),
        "weights": args.weights,
        "streams": streams,
        "reps": reps,
    }
    path = out / "study.json"
    if path.exists():
        was = json.loads(path.read_text())
        diff = [k for k in now if was.get(k) != now[k]]
        if diff:
            k = diff[0]
            sys.exit(
                f"stream_study: {out} holds a study with {k} {was.get(k)!r}, not {now[k]!r}; "
                "give a new --out (or delete it)"
            )
        return
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(now, indent=1))


def run_seed(args: argparse.Namespace, seed: int, streams: list[str], reps: list[str]) -> None:
    """Pre-train, evaluate and ensemble one seed (each step only when its result is missing)."""
    root = Path(args.out) / f"seed{seed}"
    quiet = ["--quiet"] if args.quiet else []
    bench = ["--benchmark", args.benchmark] if args.benchmark else []
    common = ["--data", args.data, *bench, *quiet]
    for stream in streams:
        run = root / stream / "pretrain"
        done = run / "done.json"
        if not done.exists():
            t0 = time.time()
            resume = ["--resume"] if (run / "last.pt").exists() else []
            sets = [a for s in [f"seed={seed}", *args.set] for a in ("--set", s)]
            cfg = ["--config", args.config] if not resume else []
            _run(["pretrain", *cfg, "--stream", stream, "--out", str(run), *common, *resume, *sets])
            minutes = round((time.time() - t0) / 60, 2)
            done.write_text(json.dumps({"minutes_this_call": minutes, "resumed": bool(resume)}))
        for rep in reps:
            for protocol in PROTOCOLS:
                out = root / stream / f"{protocol}-{rep}"
                if (out / "metrics.json").exists():
                    continue
                extra = (
                    [a for s in args.linear_set for a in ("--set", s)]
                    if protocol == "linear"
                    else []
                )
                _run(
                    [
                        "eval",
                        protocol,
                        "--checkpoint",
                        str(run),
                        "--representation",
                        rep,
                        "--stream",
                        stream,
                        "--out",
                        str(out),
                        *common,
                        *extra,
                    ]
                )
    if len(streams) < 2:
        return
    weights = ["--weights", args.weights] if args.weights else []
    for rep in reps:
        for protocol in PROTOCOLS:
            out = root / "ensemble" / f"{protocol}-{rep}"
            if (out / "metrics.json").exists():
                continue
            members = [str(root / s / f"{protocol}-{rep}") for s in streams]
            _run(["ensemble", *members, "--out", str(out), *weights])


# --------------------------------------------------------------------------- the table


def _top1(path: Path) -> float | None:
    f = path / "metrics.json"
    return float(json.loads(f.read_text())["top1"]) if f.exists() else None


def _fmt(values: list[float]) -> str:
    if not values:
        return "–"
    if len(values) == 1:
        return f"{values[0]:.1f}"
    return f"{statistics.mean(values):.1f} ± {statistics.stdev(values):.1f}"


def collect(out: Path) -> dict:
    """Every seed's top-1 per (row, representation, protocol), and the ensemble's gain over
    the joint stream per seed; rows are the streams found and ``ensemble``."""
    seeds = sorted(out.glob("seed*"), key=lambda p: int(p.name[4:]))
    rows: dict[str, dict[str, list[float]]] = {}
    gain: dict[str, list[float]] = {}
    weights = None
    for sd in seeds:
        for row_dir in sorted(p for p in sd.iterdir() if p.is_dir()):
            for ev in sorted(p for p in row_dir.iterdir() if (p / "metrics.json").exists()):
                top1 = _top1(ev)
                rows.setdefault(row_dir.name, {}).setdefault(ev.name, []).append(top1)
                if row_dir.name == "ensemble":
                    joint = _top1(sd / "joint" / ev.name)
                    if joint is not None:
                        gain.setdefault(ev.name, []).append(top1 - joint)
                    rec = json.loads((ev / "metrics.json").read_text())
                    members = rec.get("members") or []
                    weights = weights or [
                        f"{m.get('stream')} {m.get('weight'):g}" for m in members if "weight" in m
                    ]
    return {
        "seeds": [int(p.name[4:]) for p in seeds],
        "rows": rows,
        "gain": gain,
        "weights": weights,
    }


def table(out: Path) -> str:
    """The markdown table of :func:`collect` (also written to OUT/table.md, OUT/summary.json)."""
    from skelcon.utils.machine import machine_line

    s = collect(out)
    found = {e.split("-", 1)[1] for r in s["rows"].values() for e in r}
    reps = sorted(found, key=lambda r: (r.count("+"), REP_ORDER.get(r, 9), r))  # seq, stg, seq+stg
    label = {"linear": "linear", "knn": "kNN"}
    head = "| input | " + " | ".join(f"{r.upper()} {label[p]}" for r in reps for p in PROTOCOLS)
    head += " |"
    lines = [head, "|" + "---|" * (1 + len(reps) * len(PROTOCOLS))]
    order = ["joint", "bone", "motion", "ensemble"]
    for row in sorted(s["rows"], key=lambda r: order.index(r) if r in order else 9):
        name = row if row != "ensemble" else f"ensemble ({', '.join(s['weights'] or [])})"
        cells = [_fmt(s["rows"][row].get(f"{p}-{r}", [])) for r in reps for p in PROTOCOLS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    if s["gain"]:
        cells = []
        for r in reps:
            for p in PROTOCOLS:
                g = s["gain"].get(f"{p}-{r}", [])
                cells.append("–" if not g else ("+" if statistics.mean(g) >= 0 else "") + _fmt(g))
        lines.append("| ensemble − joint | " + " | ".join(cells) + " |")
    settings = json.loads((out / "study.json").read_text()) if (out / "study.json").exists() else {}
    lin = settings.get("linear_set", ["train_crop=center"])
    probe = (
        "probe on cached centre-crop features"
        if lin == ["train_crop=center"]
        else "eval linear --set " + " --set ".join(lin)
    )
    text = (
        f"Top-1 % on the test split, mean ± sample std over seeds {s['seeds']}; linear: "
        f"{probe}; kNN: k = 1, cosine.\n\n" + "\n".join(lines) + "\n"
    )
    (out / "table.md").write_text(text)
    (out / "summary.json").write_text(json.dumps({**s, "machine": machine_line()}, indent=1))
    return text


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data", help="prepared dataset")
    ap.add_argument("--benchmark", help="benchmark of --data (default: its only one)")
    ap.add_argument("--out", required=True, help="study directory")
    ap.add_argument(
        "--seeds", type=int, nargs="+", default=[0], help="pre-training seeds (default 0)"
    )
    ap.add_argument(
        "--streams", default="joint,bone,motion", help="comma-separated (default all three)"
    )
    ap.add_argument("--config", default="cpu_small", help="pre-training recipe (default cpu_small)")
    ap.add_argument("--set", action="append", default=[], help="pre-training override (repeatable)")
    ap.add_argument(
        "--reps",
        help="representations to evaluate, e.g. seq,stg,seq+stg (default: the recipe's, alone and joined)",
    )
    ap.add_argument(
        "--linear-set",
        action="append",
        default=["train_crop=center"],
        help="eval linear override (default train_crop=center)",
    )
    ap.add_argument(
        "--weights",
        help="ensemble weights, one per stream in --streams order (default: skelcon ensemble's)",
    )
    ap.add_argument("--table", action="store_true", help="only print the table of what exists")
    ap.add_argument("--quiet", action="store_true", help="no progress bars")
    args = ap.parse_args()
    from skelcon.utils.machine import machine_line

    print(machine_line(), flush=True)
    out = Path(args.out)
    if not args.table:
        if not args.data:
            ap.error("--data is needed to run the study (or --table to print it)")
        streams = [s.strip() for s in args.streams.split(",") if s.strip()]
        reps = _reps(args)
        check_settings(args, streams, reps)
        for seed in args.seeds:
            run_seed(args, seed, streams, reps)
    print(table(out))


if __name__ == "__main__":
    main()
