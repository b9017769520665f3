"""Linear evaluation: the exact protocol against a cached bank of K crops (``crop_bank``).

For each linear-evaluation seed, runs the exact protocol (a fresh random crop of every
training clip each epoch, ``crop_bank=0``) and then ``crop_bank=K`` for each ``--banks``
value, on the same frozen encoder and data, in the same process, and prints the wall
time of each (test features, bank extraction and the classifier's epochs), the speed-up
over the exact protocol, the final-epoch top-1 and its difference to the exact protocol
of the same seed. With several seeds it also prints the mean ± std (population) over
them; the exact protocol's own spread over seeds is the yardstick for the differences.

    OMP_NUM_THREADS=1 python bench/linear_cache.py --checkpoint RUN --representation stg \\
        --data data/pku1 --benchmark xsub [--banks 4 8 16] [--seeds 0 1 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch

from skelcon.config import LinearEvalConfig, load_config
from skelcon.data.prepared import load_prepared
from skelcon.engine.data import batch_loader
from skelcon.engine.device import resolve_device
from skelcon.eval.compat import check_data_fits
from skelcon.eval.encoder import load_encoder
from skelcon.eval.linear import linear_eval


def run_one(loaded, train, test, device, seed: int, k: int, overrides: list[str]) -> dict:
    cfg = load_config(LinearEvalConfig, None, [*overrides, f"seed={seed}", f"crop_bank={k}"])
    t0 = time.perf_counter()
    res = linear_eval(
        loaded.encoder, train, test, cfg, device, out_len=loaded.num_frames, progress=False
    )
    bank = res.crop_bank or {}
    return {
        "seed": seed,
        "crop_bank": k,
        "seconds": time.perf_counter() - t0,
        "bank_seconds": bank.get("seconds"),
        "bank_bytes": bank.get("bytes"),
        "top1": res.top1,
        "epochs": cfg.epochs,
    }


def _mean_std(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.fmean(values):.2f} ± {statistics.pstdev(values):.2f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", required=True, help="pre-training run directory or .pt")
    ap.add_argument("--representation", required=True, help="seq, stg, img or a combination")
    ap.add_argument("--data", required=True, help="prepared dataset directory")
    ap.add_argument("--benchmark", required=True)
    ap.add_argument("--banks", type=int, nargs="+", default=[8], help="K values (default 8)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0], help="linear-evaluation seeds")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--random-init", action="store_true", help="random weights, same architecture")
    ap.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="LinearEvalConfig override for every run, e.g. epochs=20",
    )
    ap.add_argument("--json", help="also write the rows to this file")
    args = ap.parse_args()

    device = resolve_device(args.device)
    overrides = [*args.overrides, f"device={args.device}"]
    loaded = load_encoder(
        args.checkpoint, args.representation, device=device, random_init=args.random_init
    )
    train = load_prepared(args.data, args.benchmark, "train")
    test = load_prepared(args.data, args.benchmark, "test")
    check_data_fits(loaded.spec, train.meta, checkpoint=args.checkpoint, data=args.data)
    print(
        f"{args.representation} ({loaded.preset}, D={loaded.feature_dim}) on "
        f"{train.meta.get('dataset')}/{args.benchmark}: {len(train)} train, {len(test)} test "
        f"clips; device {device}, torch {torch.__version__}, {torch.get_num_threads()} "
        f"thread(s), {platform.processor() or platform.machine()}"
    )
    for split in (train, test):  # page the data in once, so the first run is not charged for it
        for _ in batch_loader(split, 256):
            pass
    rows = []
    print(
        f"{'seed':>4} {'crop_bank':>9} {'seconds':>8} {'bank s':>7} {'speed-up':>8} "
        f"{'top-1 %':>8} {'Δ top-1':>8}"
    )
    for seed in args.seeds:
        exact = None
        for k in [0, *args.banks]:
            row = run_one(loaded, train, test, device, seed, k, overrides)
            exact = exact or row
            row["speedup"] = exact["seconds"] / row["seconds"]
            row["delta_top1"] = row["top1"] - exact["top1"]
            rows.append(row)
            bank_s = f"{row['bank_seconds']:.1f}" if row["bank_seconds"] is not None else "-"
            print(
                f"{seed:>4} {k or 'exact':>9} {row['seconds']:>8.1f} {bank_s:>7} "
                f"{row['speedup']:>7.1f}x {row['top1']:>8.2f} {row['delta_top1']:>+8.2f}",
                flush=True,
            )
    if len(args.seeds) > 1:
        print(f"over seeds {' '.join(map(str, args.seeds))} (mean ± population std):")
        for k in [0, *args.banks]:
            sel = [r for r in rows if r["crop_bank"] == k]
            print(
                f"  {('crop_bank ' + str(k)) if k else 'exact':>12}: "
                f"{_mean_std([r['seconds'] for r in sel])} s, "
                f"top-1 {_mean_std([r['top1'] for r in sel])} %, "
                f"Δ {_mean_std([r['delta_top1'] for r in sel])}"
            )
    if args.json:
        from pathlib import Path

        from skelcon.utils.io import write_json

        write_json(Path(args.json), {"args": vars(args), "rows": rows})


if __name__ == "__main__":
    main()
