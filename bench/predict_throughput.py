"""Clips per second of ``skelcon predict`` on a folder of real raw clips, against reading
and normalising alone, and against batches of one clip, in the same run.

The raw clips are the shared real NTU RGB+D samples (``shared/data/ntu``, both zips): each
``.skeleton`` file is parsed by skelcon's NTU reader, its two most active bodies kept and
saved as a plain ``(M, T, V, C)`` = ``(2, T, 25, 3)`` ``.npy`` clip in metres under
``<action>/`` (``--copies`` writes each that many times). The folder is prepared with
``skelcon prepare folder --layout ntu25 --normalize`` (the 3D normalisation) and a
classifier file is made for it as ``eval linear`` keeps one (``--model EVAL_DIR`` uses a
real one instead; its contract must be ntu25 3D): small encoders of
``--representation``, random weights (speed does not depend on them). Then, each timed
after one untimed warm-up pass:

* ``read+normalise``: every clip read as predict reads it (the folder walk, the file,
  the person selection, resampling and normalisation), no model;
* ``predict, batch B``: the whole of ``predict`` (read, batch, model, softmax, top-k),
  for each B of ``--batch-sizes`` (default 1 and 64); their logits must agree.

    PYTHONPATH=src python bench/predict_throughput.py --copies 2 --representation seq
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
ZIPS = ("nturgbd_skeletons_s001_to_s017.zip", "nturgbd_skeletons_s018_to_s032.zip")


def shared_dir(arg: str | None) -> Path:
    """The folder holding ``ntu/``: ``--shared``, ``$SKELCON_SHARED_DATA`` (that folder or
    the shared root above it), else ``<repo>/../shared/data``."""
    for c in (arg, os.environ.get("SKELCON_SHARED_DATA"), REPO.parent / "shared"):
        for d in (Path(c), Path(c) / "data") if c else ():
            if (d / "ntu" / ZIPS[0]).is_file():
                return d
    sys.exit("shared NTU samples not found: pass --shared DIR (the shared root or its data/)")


def write_raw_clips(shared: Path, root: Path, copies: int) -> int:
    """Every readable shared NTU sample as ``root/A<action>/<name>[_k].npy``
    ``(2, T, 25, 3)`` metres; returns the number of files written."""
    from skelcon.data.normalize import select_bodies
    from skelcon.data.ntu import parse_skeleton
    from skelcon.errors import DataFormatError

    n = 0
    for z in ZIPS:
        with zipfile.ZipFile(shared / "ntu" / z) as zf:
            for m in sorted(zf.namelist()):
                if not m.endswith(".skeleton"):
                    continue
                name = Path(m).stem
                try:
                    bodies, _ = parse_skeleton(zf.read(m), m)
                except DataFormatError:
                    continue  # the cut-off samples
                if not bodies[:3].any():
                    continue
                kp = select_bodies(bodies, 2, energy_channels=3)[:3].transpose(3, 1, 2, 0)
                folder = root / name[16:20]
                folder.mkdir(parents=True, exist_ok=True)
                for k in range(copies):
                    np.save(folder / f"{name}_{k}.npy", kp.astype(np.float32))
                    n += 1
    return n


def make_model(data: Path, out: Path, reps: list[str]) -> Path:
    """A ``model.pt`` for ``data`` as ``eval linear`` keeps one (random small encoders)."""
    import torch

    from skelcon.data.prepared import read_meta
    from skelcon.engine.build import build_encoders, data_spec
    from skelcon.eval.classifier import model_entry, save_classifier
    from skelcon.eval.encoder import ConcatEncoder, LoadedEncoder
    from skelcon.eval.linear import linear_probe

    meta = read_meta(data)
    torch.manual_seed(0)
    spec = data_spec(meta, 64)
    built = build_encoders(reps, "small", spec)
    enc = built[reps[0]] if len(reps) == 1 else ConcatEncoder(built)
    loaded = LoadedEncoder(enc, spec, reps, "small", None)
    head = linear_probe(loaded.feature_dim, int(meta["num_classes"]), True)
    save_classifier(
        out,
        protocol="linear",
        loaded=loaded,
        meta=meta,
        classes=meta["classes"],
        standardize=True,
        models=[model_entry(enc.eval(), head.eval(), model_id="linear", top1=0.0)],
        source={"checkpoint": None, "random_init": True, "data": str(data)},
    )
    return out


def timed(fn, repeats: int) -> tuple[float, object]:
    """Best wall time of ``repeats`` calls after one warm-up call, and the last result."""
    result = fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", help="the shared data root or its data/ folder")
    ap.add_argument("--copies", type=int, default=1, help="copies of each real clip (default 1)")
    ap.add_argument("--representation", default="seq", help="encoders of the model (default seq)")
    ap.add_argument("--model", help="an evaluation directory (ntu25 3D) instead of a random model")
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 64])
    ap.add_argument("--repeats", type=int, default=2, help="timed passes, best kept (default 2)")
    args = ap.parse_args()

    import torch

    import skelcon
    from skelcon.cli import main as cli
    from skelcon.data.rawinputs import read_inputs
    from skelcon.utils.machine import machine_line
    from skelcon.utils.threads import configure

    configure()
    print(machine_line(), f"; torch threads {torch.get_num_threads()}", flush=True)
    shared = shared_dir(args.shared)
    with tempfile.TemporaryDirectory(prefix="predict_bench_") as tmp:
        raw, data = Path(tmp) / "raw", Path(tmp) / "data"
        n = write_raw_clips(shared, raw, args.copies)
        flags = ["--layout", "ntu25", "--normalize"]  # the 3D normalisation
        rc = cli(["prepare", "folder", "--raw", str(raw), "--out", str(data), *flags])
        if rc:
            return rc
        reps = args.representation.replace(",", "+").split("+")
        model = Path(args.model) if args.model else make_model(data, Path(tmp) / "m", reps)
        clf = skelcon.load_classifier(model)
        print(
            f"{n} raw clips (.npy, 2 persons, 25 joints, 3D, {len(os.listdir(raw))} actions); "
            f"model: {clf.info['protocol']} {clf.info['representation']} "
            f"({'given' if args.model else 'small, random weights'}), "
            f"{clf.encoder.num_frames}-frame crops, padded length {clf.contract['max_frames']}",
            flush=True,
        )

        def read_only() -> int:
            inputs = read_inputs([raw], clf.contract)
            for c in inputs.clips:
                inputs.load(c)
            return len(inputs.clips)

        sec, count = timed(read_only, args.repeats)
        rows = [("read+normalise (no model)", sec, count)]
        print(f"  {rows[-1][0]:<28} {count / sec:8.1f} clips/s ({sec:.2f} s)", flush=True)
        logits = {}
        for b in args.batch_sizes:
            sec, preds = timed(lambda b=b: clf.predict_files([raw], batch_size=b), args.repeats)
            logits[b] = preds.logits
            rows.append((f"predict, batch {b}", sec, len(preds.names)))
            print(
                f"  {rows[-1][0]:<28} {len(preds.names) / sec:8.1f} clips/s ({sec:.2f} s)",
                flush=True,
            )
        first = logits[args.batch_sizes[0]]
        diff = max(float(np.abs(v - first).max()) for v in logits.values())
        print(f"  logits agree across batch sizes within {diff:.2e}")
        base = rows[0][1]
        for name, sec, _ in rows[1:]:
            print(
                f"  {name}: {sec / base:.2f}x the reading time; the model {max(sec - base, 0):.2f} s"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
