#!/usr/bin/env python
"""What pre-training did to the features: spread, rank and separability, vs random init.

For a pre-training run and each of its query encoders, and for the same architecture
with random weights (same seed), on centre-crop features of the train and test split
(eval mode, as every protocol extracts them):

- ``std``: per-dimension standard deviation of the raw features over the training clips:
  median, and the share of dimensions below 1 % of the largest (dead dimensions);
- ``erank``: effective rank (Roy and Vetterli 2007): exp of the entropy of the
  normalised singular values of the centred training features, out of D;
- ``top10``: the share of variance in the 10 largest principal components;
- ``knn``: kNN top-1 (k = 1, cosine), the monitor's measure;
- ``lin_c``: a linear classifier on standardised centre-crop features (scikit-learn's
  L2 logistic regression, C = 1, lbfgs), a closed-form stand-in for the probe;
- ``between``: the share of the standardised features' variance that lies between class
  means (Fisher: trace of the between-class scatter over the total scatter);
- ``crop``: how invariant the features are to the linear protocol's training input, a
  random temporal crop-resize with ratio ~ U[0.5, 1]: the mean cosine between a clip's
  centre-crop and random-crop features, rescaled so that 0 is the mean cosine between
  different clips and 1 identical features (test split, one crop per clip, seeded).

    python scripts/feature_diagnostics.py RUN --data DATA --benchmark B [--json OUT.json]
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np


def stats(tr: np.ndarray, ytr: np.ndarray, te: np.ndarray, yte: np.ndarray) -> dict:
    """The module doc's measures of train features ``tr (N, D)`` and test ``te (M, D)``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    std = tr.std(0)
    c = tr - tr.mean(0)
    s = np.linalg.svd(c, compute_uv=False)
    p = s / max(s.sum(), 1e-12)
    erank = float(np.exp(-(p[p > 0] * np.log(p[p > 0])).sum()))
    var = s**2
    scaler = StandardScaler().fit(tr)
    ztr, zte = scaler.transform(tr), scaler.transform(te)
    clf = LogisticRegression(C=1.0, max_iter=2000).fit(ztr, ytr)
    mu = ztr.mean(0)
    between = sum(
        (ytr == k).sum() * np.sum((ztr[ytr == k].mean(0) - mu) ** 2) for k in np.unique(ytr)
    )
    total = np.sum((ztr - mu) ** 2)
    import torch

    from skelcon.eval.knn import knn_accuracy  # the monitor's and `eval knn`'s measure

    knn = knn_accuracy(
        torch.from_numpy(tr),
        torch.from_numpy(ytr),
        torch.from_numpy(te),
        torch.from_numpy(yte),
        k=1,
        num_classes=int(ytr.max()) + 1,
    )
    return {
        "dim": int(tr.shape[1]),
        "std_median": float(np.median(std)),
        "dead_dims": float((std < 0.01 * std.max()).mean()),
        "erank": erank,
        "top10": float(var[:10].sum() / max(var.sum(), 1e-12)),
        "knn": knn,
        "lin_c": float(clf.score(zte, yte) * 100),
        "between": float(between / max(total, 1e-12)),
    }


def crop_invariance(enc, split, seed: int) -> float:
    """The module doc's ``crop`` measure of a loaded encoder on ``split``."""
    import torch

    from skelcon.augment import temporal_crop_resize
    from skelcon.engine.data import batch_loader

    gen = torch.Generator().manual_seed(seed)
    centre, crops = [], []
    with torch.no_grad():
        for x, nf, _ in batch_loader(split, 256, shuffle=False):
            centre.append(enc(x, nf))
            view = temporal_crop_resize(x, nf, out_len=enc.num_frames, l_min=0.5, generator=gen)
            crops.append(enc.encoder(view).float())
    a = torch.nn.functional.normalize(torch.cat(centre), dim=1)
    b = torch.nn.functional.normalize(torch.cat(crops), dim=1)
    same = float((a * b).sum(1).mean())
    sim = a @ b.T
    n = len(a)
    other = float((sim.sum() - sim.diagonal().sum()) / max(n * (n - 1), 1))
    return (same - other) / max(1 - other, 1e-12)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run", help="a pre-training run directory (its last.pt)")
    ap.add_argument("--data", required=True, help="the prepared dataset")
    ap.add_argument("--benchmark", required=True, help="whose train and test splits to use")
    ap.add_argument("--seed", type=int, default=0, help="of the random-init encoder and crops")
    ap.add_argument("--json", help="write the figures here too")
    args = ap.parse_args()

    import torch

    from skelcon.data.prepared import load_prepared
    from skelcon.eval.encoder import load_encoder
    from skelcon.eval.features import extract_features

    torch.manual_seed(args.seed)
    train = load_prepared(args.data, args.benchmark, "train")
    test = load_prepared(args.data, args.benchmark, "test")
    ck = torch.load(f"{args.run}/last.pt", map_location="cpu", weights_only=True)
    out = {}
    print(
        "| encoder | weights | std median | dead dims | erank / D | top-10 var | kNN | "
        "linear (centre, LR) | between-class var | crop invariance |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for rep in ck["representations"]:
        for name, rand in (("pre-trained", False), ("random init", True)):
            enc = load_encoder(args.run, rep, random_init=rand, seed=args.seed)
            tr, ytr = extract_features(enc, train, device="cpu", progress=False)
            te, yte = extract_features(enc, test, device="cpu", progress=False)
            s = stats(tr.numpy(), ytr.numpy(), te.numpy(), yte.numpy())
            s["crop"] = crop_invariance(enc, test, args.seed)
            out[f"{rep}/{name}"] = s
            print(
                f"| {rep.upper()} | {name} | {s['std_median']:.3g} | {s['dead_dims']:.0%} | "
                f"{s['erank']:.1f} / {s['dim']} | {s['top10']:.2f} | {s['knn']:.1f} | "
                f"{s['lin_c']:.1f} | {s['between']:.3f} | {s['crop']:.2f} |",
                flush=True,
            )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    from skelcon.utils.machine import machine_line

    print(machine_line(), flush=True)  # the machine every figure below was measured on
    sys.exit(main())
