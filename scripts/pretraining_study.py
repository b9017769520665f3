#!/usr/bin/env python
"""Pre-trained vs random-init encoders, several seeds: the README's real-data table.

For each seed: pre-train with a recipe (``--config``, default ``cpu_small``, plus any
``--set`` overrides) on the training split without labels, then evaluate each query
encoder by linear evaluation and kNN retrieval (k = 1), and the same architecture
with random weights drawn from the same seed. Each seed writes
``OUT/seed<s>/results.json`` (so seeds can run as separate processes); ``--table``
aggregates every seed found under ``OUT`` into ``OUT/table.md`` and
``OUT/summary.json`` (mean, sample std and per-seed values).

    python scripts/pretraining_study.py --data runs/pku1/data --benchmark xsub \
        --out runs/study/pku1 --seeds 0 1 2
    python scripts/pretraining_study.py --out runs/study/pku1 --table

Run ``scripts/real_data_table.sh`` for the whole README table from a clean clone.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path


def run_seed(args: argparse.Namespace, seed: int) -> dict:
    from skelcon.cli import resolve_config_path
    from skelcon.config import KnnConfig, LinearEvalConfig, PretrainConfig, load_config
    from skelcon.engine.pretrain import pretrain
    from skelcon.eval.run import run_knn, run_linear
    from skelcon.utils.machine import machine_line

    out = Path(args.out) / f"seed{seed}"
    if (out / "results.json").exists():  # done before: keep it (delete the file to redo)
        print(f"seed {seed}: {out / 'results.json'} exists, kept", flush=True)
        return json.loads((out / "results.json").read_text())
    overrides = [f"seed={seed}", f"device={args.device}", *args.set]
    cfg = load_config(PretrainConfig, resolve_config_path(args.config), overrides)
    run = out / "pretrain"
    t0 = time.time()
    pretrain(
        cfg,
        args.data,
        args.benchmark,
        run,
        resume=(run / "last.pt").exists(),
        progress=not args.quiet,
    )
    minutes = (time.time() - t0) / 60
    results: dict = {
        "seed": seed,
        "machine": machine_line(),
        "config": args.config,
        "overrides": args.set,
        "pretrain_minutes": round(minutes, 2),
        "epochs": cfg.epochs,
        "rows": {},
    }
    reps = [r for r in cfg.representations if not args.eval or r in args.eval]
    for rep in reps:
        for key, random_init in (("pretrained", False), ("random_init", True)):
            reuse = _random_rows(args.random_from, seed, cfg) if args.random_from else {}
            if random_init and all(
                reuse.get(f"{rep}/random_init", {}).get(p) is not None for p in args.protocols
            ):
                results["rows"][f"{rep}/random_init"] = reuse[f"{rep}/random_init"]
                print(f"seed {seed} {rep} random_init: reused from {args.random_from}", flush=True)
                continue
            row = {}
            if "linear" in args.protocols:
                row["linear"] = run_linear(
                    run,
                    rep,
                    args.data,
                    args.benchmark,
                    out / f"linear-{rep}-{key}",
                    LinearEvalConfig(device=args.device, seed=seed),
                    random_init=random_init,
                    progress=not args.quiet,
                )["top1"]
            row["knn"] = run_knn(
                run,
                rep,
                args.data,
                args.benchmark,
                out / f"knn-{rep}-{key}",
                KnnConfig(device=args.device),
                random_init=random_init,
                seed=seed,
                progress=not args.quiet,
            )["top1"]
            results["rows"][f"{rep}/{key}"] = row
            print(
                f"seed {seed} {rep} {key}: " + ", ".join(f"{k} {v:.2f}" for k, v in row.items()),
                flush=True,
            )
    (out / "results.json").write_text(json.dumps(results, indent=1))
    return results


def _random_rows(other: str, seed: int, cfg) -> dict:
    """Random-init rows of the same seed from another study, when they are comparable.

    Random-init results depend only on the seed, the architecture (preset, GRU init,
    input shape: checked through the saved configs) and the data, not on the
    pre-training recipe, so a study of another recipe on the same data can share them.
    """
    import yaml

    path = Path(other) / f"seed{seed}"
    if not (path / "results.json").exists():
        return {}
    theirs = yaml.safe_load((path / "pretrain" / "config.yaml").read_text())
    same = all(theirs.get(k) == getattr(cfg, k) for k in ("preset", "seq_init")) and (
        theirs["augment"]["out_len"] == cfg.augment.out_len
    )
    rows = json.loads((path / "results.json").read_text())["rows"]
    return {k: v for k, v in rows.items() if k.endswith("/random_init")} if same else {}


def _minutes(seed_dir: Path) -> float:
    """Pre-training wall minutes from the run's own metrics.jsonl (first to last record,
    so a resumed run counts its first part too, and the monitors are included)."""
    recs = [json.loads(line) for line in (seed_dir / "pretrain" / "metrics.jsonl").open()]
    return round((recs[-1]["time"] - recs[0]["time"]) / 60, 2)


def _fmt(values: list[float]) -> str:
    if any(v != v for v in values):  # NaN: protocol not run
        return "–"
    if len(values) == 1:
        return f"{values[0]:.1f}"
    return f"{statistics.mean(values):.1f} ± {statistics.stdev(values):.1f}"


def table(out: Path) -> str:
    runs = [json.loads(p.read_text()) for p in sorted(out.glob("seed*/results.json"))]
    if not runs:
        sys.exit(f"no seed*/results.json under {out}")
    seeds = [r["seed"] for r in runs]
    summary: dict = {
        "seeds": seeds,
        "config": runs[0]["config"],
        "overrides": runs[0]["overrides"],
        "pretrain_minutes": [_minutes(out / f"seed{s}") for s in seeds],
        "rows": {},
    }
    lines = [
        f"seeds {', '.join(map(str, seeds))}; pre-training {_fmt(summary['pretrain_minutes'])} min "
        f"({runs[0]['epochs']} epochs); mean ± std over seeds, top-1 %",
        "",
        "| encoder | weights | linear | kNN (k=1) |",
        "|---|---|---:|---:|",
    ]
    reps = sorted(
        {k.split("/")[0] for r in runs for k in r["rows"]}, key="seq img stg".split().index
    )
    for rep in reps:
        vals = {}
        for key in ("pretrained", "random_init"):
            vals[key] = {
                p: [r["rows"][f"{rep}/{key}"].get(p, float("nan")) for r in runs]
                for p in ("linear", "knn")
            }
            summary["rows"][f"{rep}/{key}"] = vals[key]
            name = "pre-trained" if key == "pretrained" else "random init"
            lines.append(
                f"| {rep.upper()} | {name} | {_fmt(vals[key]['linear'])} | "
                f"{_fmt(vals[key]['knn'])} |"
            )
        gain = {
            p: [a - b for a, b in zip(vals["pretrained"][p], vals["random_init"][p], strict=True)]
            for p in ("linear", "knn")
        }
        summary["rows"][f"{rep}/gain"] = gain
        lines.append(
            f"| {rep.upper()} | **gain** | **{_fmt(gain['linear'])}** | **{_fmt(gain['knn'])}** |"
        )
    text = "\n".join(lines) + "\n"
    (out / "table.md").write_text(text)
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    return text


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", help="prepared dataset directory")
    p.add_argument("--benchmark", default="xsub")
    p.add_argument("--out", required=True)
    p.add_argument("--config", default="cpu_small")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--device", default="cpu")
    p.add_argument(
        "--eval",
        nargs="+",
        choices=["seq", "img", "stg"],
        help="encoders to evaluate (default: every pre-trained one)",
    )
    p.add_argument("--protocols", nargs="+", default=["linear", "knn"], choices=["linear", "knn"])
    p.add_argument(
        "--random-from",
        metavar="DIR",
        help="reuse the random-init rows of the same seeds from another study on "
        "the same data (same preset, GRU init and view length)",
    )
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--table", action="store_true", help="only aggregate the seeds under --out")
    args = p.parse_args()
    from skelcon.utils import threads

    threads.configure()  # SKELCON_THREADS / OMP_NUM_THREADS, as every skelcon command
    if not args.table:
        if not args.data:
            p.error("--data is required unless --table")
        for seed in args.seeds:
            run_seed(args, seed)
    print(table(Path(args.out)))
    return 0


if __name__ == "__main__":
    from skelcon.utils.machine import machine_line

    print(machine_line(), flush=True)  # the machine every figure below was measured on
    from skelcon.errors import SkelconError

    try:
        raise SystemExit(main())
    except SkelconError as e:
        print(f"pretraining_study: error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
