#!/usr/bin/env python
"""A 2D pose-estimator-like copy of a PKU-MMD I subset, as a folder of clips.

The Kinect v2 joints of each labelled instance (camera space, metres: x right, y up,
z away from the camera) are projected onto the 1920x1080 colour image with a pinhole
model (focal length 1081.37 px, principal point (959.5, 539.5): the Kinect v2 colour
camera's usual calibration), then degraded the way a 2D pose estimator's output is:

- per-frame, per-joint Gaussian noise with a standard deviation of ``--noise`` (default
  2 %) of the person's height in the image (the median over frames of the box height),
  twice that on hands, wrists, feet and ankles;
- each joint is missing in a frame with probability ``--drop-joint`` (default 0.05) and
  a whole person with probability ``--drop-person`` (default 0.02): written as (0, 0),
  which ``prepare folder`` reads as missing;
- x, y only, in pixels (no score, no depth).

It writes ``OUT/train/<class>/<clip>.npy`` and ``OUT/test/...`` with arrays
``(M, T, V, 2)``, the split of the prepared 3D subset's benchmark (cross-subject by
default), so that ``skelcon prepare folder --raw OUT --layout ntu25 --normalize`` reads it as
any user's 2D keypoints. The same clips in 3D are the set that chose ``cpu_small``:
this 2D copy is *not* held out from that choice (docs/pretraining.md, section 6).

    python scripts/project_2d.py --pku ../shared/data/pku_mmd/v1 \
        --prepared runs/held/pku1 --out runs/held/pku1_2d_raw
    skelcon prepare folder --raw runs/held/pku1_2d_raw --layout ntu25 --channels x,y \
        --normalize --out runs/held/pku1_2d
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

FOCAL, CX, CY = 1081.37, 959.5, 539.5  # Kinect v2 colour camera, pixels
# ntu25 joints an estimator localises worst: wrists, hands, ankles, feet, hand tips, thumbs
EXTREMITIES = [6, 7, 10, 11, 14, 15, 18, 19, 21, 22, 23, 24]


def project(xyz: np.ndarray) -> np.ndarray:
    """``xyz (M, T, V, 3)`` camera-space metres -> ``(M, T, V, 2)`` pixels, image y down;
    joints at the origin (absent) stay (0, 0)."""
    absent = ~np.any(xyz != 0, axis=-1)
    z = np.where(absent, 1.0, np.maximum(xyz[..., 2], 1e-3))
    uv = np.stack([FOCAL * xyz[..., 0] / z + CX, CY - FOCAL * xyz[..., 1] / z], axis=-1)
    uv[absent] = 0
    return uv


def degrade(
    uv: np.ndarray, rng: np.random.Generator, noise: float, drop_joint: float, drop_person: float
) -> np.ndarray:
    """Pose-estimator-like noise and dropouts on ``uv (M, T, V, 2)`` pixels (module doc)."""
    uv = uv.copy()
    m, t, v, _ = uv.shape
    present = np.any(uv != 0, axis=-1)  # (M, T, V)
    for p in range(m):
        if not present[p].any():
            continue
        ys = np.where(present[p], uv[p, ..., 1], np.nan)[present[p].any(axis=1)]  # seen frames
        height = np.median(np.nanmax(ys, axis=1) - np.nanmin(ys, axis=1))
        sigma = np.full(v, noise * max(float(height), 1.0))
        sigma[EXTREMITIES] *= 2
        uv[p] += rng.normal(size=(t, v, 2)) * sigma[None, :, None]
    keep = present & (rng.random((m, t, v)) >= drop_joint)
    keep &= rng.random((m, t, 1)) >= drop_person
    uv[~keep] = 0
    return uv.astype(np.float32)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pku", required=True, help="PKU-MMD v1 folder (PKU_Skeleton_Renew, ...)")
    ap.add_argument("--prepared", required=True, help="the prepared 3D subset (names, split)")
    ap.add_argument("--benchmark", default="xsub", help="whose split to keep (default xsub)")
    ap.add_argument("--out", required=True, help="the folder of clips to write")
    ap.add_argument(
        "--noise",
        type=float,
        default=0.02,
        help="noise std as a share of the person's image height (default 0.02)",
    )
    ap.add_argument(
        "--drop-joint",
        type=float,
        default=0.05,
        help="probability a joint is missing in a frame (default 0.05)",
    )
    ap.add_argument(
        "--drop-person",
        type=float,
        default=0.02,
        help="probability a person is missing in a frame (default 0.02)",
    )
    ap.add_argument("--seed", type=int, default=0, help="of the noise (default 0)")
    args = ap.parse_args()

    from skelcon.data.pku import LabelLine, parse_label_line, read_skeleton, to_ctvm
    from skelcon.utils.text import read_text, text_lines

    prep = Path(args.prepared)
    meta = json.loads((prep / "meta.json").read_text())
    names = np.load(prep / "names.npy")
    labels = np.load(prep / "labels.npy")
    classes = [c.replace("/", "-") for c in meta["classes"]]
    split_of = {}
    for s in ("train", "test"):
        for i in np.load(prep / "splits" / args.benchmark / f"{s}.npy"):
            split_of[int(i)] = s
    by_stem: dict[str, list[int]] = {}
    for i, n in enumerate(names):
        by_stem.setdefault(str(n).rsplit("_", 1)[0], []).append(i)
    rng = np.random.default_rng(args.seed)
    pku, out, written = Path(args.pku), Path(args.out), 0
    for stem in sorted(by_stem):
        seq = to_ctvm(read_skeleton(next((pku / "PKU_Skeleton_Renew").glob(f"{stem}.txt*"))))
        label_path = pku / "Train_Label_PKU_final" / f"{stem}.txt"
        lines: dict[int, LabelLine] = {}
        for lineno, line in text_lines(read_text(label_path)):
            lines[lineno] = parse_label_line(line, lineno, str(label_path), 51)
        for i in by_stem[stem]:
            if i not in split_of:
                continue
            inst = lines[int(str(names[i]).rsplit("_", 1)[1])]
            end = min(inst.end, seq.shape[1] - 1)
            xyz = seq[:, inst.start : end + 1].transpose(3, 1, 2, 0)  # (M, T, V, 3)
            uv = degrade(project(xyz), rng, args.noise, args.drop_joint, args.drop_person)
            d = out / split_of[i] / classes[int(labels[i])]
            d.mkdir(parents=True, exist_ok=True)
            np.save(d / f"{names[i]}.npy", uv)
            written += 1
    print(f"{written} clips written under {out} ({args.benchmark} split of {prep})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
