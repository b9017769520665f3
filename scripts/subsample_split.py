#!/usr/bin/env python
"""A prepared dataset with a smaller training split: N clips drawn from a benchmark's
training split (stratified by class when ``--stratified``), the same test split.

The arrays are hard-linked (copied where links are not possible), ``meta.json`` and the
split files are new, so the source is left as it was. The new benchmark is named
``--name``. Used for the small-data rows of docs/pretraining.md (section 6).

    python scripts/subsample_split.py runs/held/pku1 --benchmark xsub --n 100 \
        --stratified --name small100 --out runs/held/pku100
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path

import numpy as np

ARRAYS = ("data.npy", "labels.npy", "names.npy", "num_frames.npy")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("src", help="a prepared dataset directory")
    ap.add_argument(
        "--benchmark", required=True, help="the benchmark whose training split to draw from"
    )
    ap.add_argument("--n", type=int, required=True, help="training clips to keep")
    ap.add_argument("--name", required=True, help="name of the new benchmark")
    ap.add_argument("--out", required=True, help="the new prepared dataset directory")
    ap.add_argument("--stratified", action="store_true", help="the same share of every class")
    ap.add_argument("--seed", type=int, default=0, help="of the draw (default 0)")
    args = ap.parse_args()
    src, out = Path(args.src), Path(args.out)
    split = src / "splits" / args.benchmark
    train, test = np.load(split / "train.npy"), np.load(split / "test.npy")
    if not 0 < args.n <= len(train):
        raise SystemExit(f"--n {args.n}: the training split of {args.benchmark} has {len(train)}")
    rng = np.random.default_rng(args.seed)
    if args.stratified:
        labels = np.load(src / "labels.npy")[train]
        classes, counts = np.unique(labels, return_counts=True)
        share = counts / counts.sum() * args.n
        take = np.floor(share).astype(int)
        take[np.argsort(share - take)[::-1][: args.n - take.sum()]] += 1  # largest remainders
        pick = np.concatenate(
            [
                rng.choice(train[labels == c], k, replace=False)
                for c, k in zip(classes, take, strict=True)
            ]
        )
    else:
        pick = rng.choice(train, args.n, replace=False)
    out.mkdir(parents=True, exist_ok=False)
    for name in ARRAYS:
        try:
            os.link(src / name, out / name)
        except OSError:
            shutil.copy2(src / name, out / name)
    meta = json.loads((src / "meta.json").read_text())
    meta["benchmarks"] = {args.name: {"train": int(args.n), "test": int(len(test))}}
    meta["subsampled_from"] = {
        "data": str(src),
        "benchmark": args.benchmark,
        "stratified": args.stratified,
        "seed": args.seed,
    }
    (out / "splits" / args.name).mkdir(parents=True)
    np.save(out / "splits" / args.name / "train.npy", np.sort(pick))
    np.save(out / "splits" / args.name / "test.npy", test)
    (out / "meta.json").write_text(json.dumps(meta, indent=1))
    print(
        f"{out}: benchmark {args.name}, {args.n} of {len(train)} training clips, "
        f"{len(test)} test clips"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
