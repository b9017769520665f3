#!/usr/bin/env python
"""UTKinect-Action3D skeletons as a folder of clips that ``skelcon prepare folder`` reads.

UTKinect-Action3D (Xia, Chen and Aggarwal, "View invariant human action recognition
using histograms of 3D joints", CVPR Workshops 2012; research use, cite the paper):
10 subjects x 2 takes of 10 actions, Kinect v1, 20 joints in the Kinect SDK order
(skelcon's ``kinect20``), x, y, z in metres. Its files
``joints/joints_sXX_eYY.txt`` (a row per skeleton frame: frame id, then 20 x (x, y, z))
and ``joints/actionLabel.txt`` (per sequence, ``action: first last`` frame ids,
inclusive) are copied in public repositories, e.g. ``data/UTKinect/joints`` of
https://github.com/JeslieHCI/UTKinect_3 (commit 590aede).

A clip is every row whose frame id lies in the action's range, in file order (the files
hold some frame ids twice, with different coordinates: consecutive skeleton frames,
kept). Two label fixes: ``s10_e02 carry`` is ``NaN NaN`` (no such clip: 199 clips);
``s03_e01 push`` reads ``2556 3622`` in that copy, which would span throw to pull; other
public copies give ``3556 3622``, used here. Split: cross-subject, odd subjects train,
even subjects test (100 / 99 clips).

    git clone https://github.com/JeslieHCI/UTKinect_3
    python scripts/utkinect_to_folder.py UTKinect_3/data/UTKinect/joints --out runs/held/utk_raw
    skelcon prepare folder --raw runs/held/utk_raw --layout kinect20 --normalize \
        --dataset utkinect --out runs/held/utkinect
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np

FIXES = {("s03_e01", "push"): (3556, 3622)}


def parse_labels(text: str) -> dict[str, list[tuple[str, str, str]]]:
    """``{"sXX_eYY": [(action, first, last), ...]}`` from ``actionLabel.txt``."""
    seqs: dict[str, list[tuple[str, str, str]]] = {}
    cur = None
    for line in (raw.strip() for raw in text.splitlines()):
        if not line:
            continue
        if re.fullmatch(r"s\d\d_e\d\d", line):
            cur = seqs.setdefault(line, [])
        elif cur is not None and ":" in line:
            name, rest = line.split(":", 1)
            a, b = rest.split()
            cur.append((name.strip(), a, b))
    return seqs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("joints", help="the folder holding actionLabel.txt and joints_sXX_eYY.txt")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    src, out = Path(args.joints), Path(args.out)
    seqs = parse_labels((src / "actionLabel.txt").read_text())
    counts, skipped = {"train": 0, "test": 0}, []
    for seq, acts in sorted(seqs.items()):
        rows = np.loadtxt(src / f"joints_{seq}.txt", ndmin=2)
        if rows.shape[1] != 61:
            raise SystemExit(f"{src / f'joints_{seq}.txt'}: {rows.shape[1]} columns, expected 61")
        ids, xyz = rows[:, 0], rows[:, 1:].reshape(-1, 20, 3).astype(np.float32)
        split = "train" if int(seq[1:3]) % 2 else "test"
        for name, a, b in acts:
            if (seq, name) in FIXES:
                first, last = FIXES[(seq, name)]
            elif "nan" in (a.lower(), b.lower()):
                skipped.append(f"{seq} {name}: no frame range")
                continue
            else:
                first, last = int(a), int(b)
            clip = xyz[(ids >= first) & (ids <= last)]
            if len(clip) < 2:
                skipped.append(f"{seq} {name}: {len(clip)} frames")
                continue
            d = out / split / name
            d.mkdir(parents=True, exist_ok=True)
            np.save(d / f"{seq}_{name}.npy", clip)
            counts[split] += 1
    print(
        f"{counts['train']} train and {counts['test']} test clips under {out}; "
        f"skipped: {'; '.join(skipped) or 'none'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
