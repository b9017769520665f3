"""Throughput and peak memory of ``skelcon prepare ntu120`` against a plain baseline.

Replicates the shared real NTU samples (``shared/data/ntu``, the 266 complete ones)
into a temporary folder of ``--files`` ``.skeleton`` files (distinct names: the
replication field is renumbered), then runs, each in a fresh process:

* ``skelcon --workers K`` for each K of ``--workers``: the vectorised parser and
  normalisation, samples streamed into the memory-mapped prepared directory;
* ``baseline``: written here in the style of the authors' preparation: a line-by-line
  parser that builds a dict per body and per joint, per-joint loops to fill the
  array, all samples held in one in-RAM array, then the normalisation with Python
  loops over samples, persons, frames and joints. It runs on the first
  ``--baseline-files`` files only (it is slow) and its output is checked against
  skelcon's.

Memory is sampled every 20 ms over the whole process tree (main process plus pool
workers): ``peak RSS`` is the largest sum of VmRSS, ``peak anon`` the largest sum of
RssAnon (heap; file-backed pages of the output memory map excluded).

    .venv/bin/python bench/prepare_throughput.py --files 2400 --workers 1 2
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
ZIPS = ("nturgbd_skeletons_s001_to_s017.zip", "nturgbd_skeletons_s018_to_s032.zip")
BAD = {"S005C002P013R002A056", "S012C001P008R002A030"}  # cut-off files in the samples


# --------------------------------------------------------------------------- data


def shared_dir(arg: str | None) -> Path:
    """The folder holding ``ntu/``: ``--shared`` or ``$SKELCON_SHARED_DATA`` (either may
    name that folder or the shared root above it), else ``<repo>/../shared/data``."""
    for c in (arg, os.environ.get("SKELCON_SHARED_DATA"), REPO.parent / "shared"):
        for d in (Path(c), Path(c) / "data") if c else ():
            if (d / "ntu" / ZIPS[0]).is_file():
                return d
    sys.exit("shared NTU samples not found: pass --shared DIR (the shared root or its data/)")


def replicate(shared: Path, folder: Path, n: int) -> list[Path]:
    """Write ``n`` files cycling over the complete shared samples; returns their paths."""
    blobs: list[tuple[str, bytes]] = []
    for z in ZIPS:
        with zipfile.ZipFile(shared / "ntu" / z) as zf:
            for m in sorted(zf.namelist()):
                name = Path(m).stem
                if m.endswith(".skeleton") and name not in BAD:
                    blobs.append((name, zf.read(m)))
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        k, j = divmod(i, len(blobs))
        name, data = blobs[j]
        rep = 100 + 3 * k + int(name[13:16])  # unique SsssCcccPpppRrrrAaaa names
        p = folder / f"{name[:13]}{rep:03d}{name[16:]}.skeleton"
        p.write_bytes(data)
        paths.append(p)
    return sorted(paths)


# --------------------------------------------------------------------------- baseline


def _read_skeleton_dicts(path: Path) -> dict:
    body_keys = [
        "bodyID",
        "clipedEdges",
        "handLeftConfidence",
        "handLeftState",
        "handRightConfidence",
        "handRightState",
        "isResticted",
        "leanX",
        "leanY",
        "trackingState",
    ]
    joint_keys = [
        "x",
        "y",
        "z",
        "depthX",
        "depthY",
        "colorX",
        "colorY",
        "orientationW",
        "orientationX",
        "orientationY",
        "orientationZ",
        "trackingState",
    ]
    with open(path) as f:
        seq = {"numFrame": int(f.readline()), "frameInfo": []}
        for _ in range(seq["numFrame"]):
            frame = {"numBody": int(f.readline()), "bodyInfo": []}
            for _ in range(frame["numBody"]):
                body = {k: float(v) for k, v in zip(body_keys, f.readline().split(), strict=False)}
                body["numJoint"] = int(f.readline())
                body["jointInfo"] = []
                for _ in range(body["numJoint"]):
                    vals = f.readline().split()
                    body["jointInfo"].append(
                        {k: float(v) for k, v in zip(joint_keys, vals, strict=False)}
                    )
                frame["bodyInfo"].append(body)
            seq["frameInfo"].append(frame)
    return seq


def _energy(s: np.ndarray) -> float:  # s: (T, V, C)
    s = s[s.sum(-1).sum(-1) != 0]
    return float(sum(s[:, :, c].std() for c in range(3))) if len(s) else 0.0


def _read_xyz(path: Path, max_body: int = 4, num_joint: int = 25) -> np.ndarray:
    seq = _read_skeleton_dicts(path)
    data = np.zeros((max_body, seq["numFrame"], num_joint, 3))
    for n, frame in enumerate(seq["frameInfo"]):
        for m, body in enumerate(frame["bodyInfo"]):
            for j, v in enumerate(body["jointInfo"]):
                if m < max_body and j < num_joint:
                    data[m, n, j, :] = [v["x"], v["y"], v["z"]]
    energy = np.array([_energy(b) for b in data])
    data = data[energy.argsort()[::-1][:2]]
    return data.transpose(3, 1, 2, 0)  # (C, T, V, M)


def _rot(axis: np.ndarray, theta: float) -> np.ndarray:
    if np.abs(axis).sum() < 1e-6 or abs(theta) < 1e-6:
        return np.eye(3)
    axis = axis / math.sqrt(np.dot(axis, axis))
    a = math.cos(theta / 2.0)
    b, c, d = -axis * math.sin(theta / 2.0)
    return np.array(
        [
            [a * a + b * b - c * c - d * d, 2 * (b * c + a * d), 2 * (b * d - a * c)],
            [2 * (b * c - a * d), a * a + c * c - b * b - d * d, 2 * (c * d + a * b)],
            [2 * (b * d + a * c), 2 * (c * d - a * b), a * a + d * d - b * b - c * c],
        ]
    )


def _angle(v1: np.ndarray, v2: np.ndarray) -> float:
    if np.abs(v1).sum() < 1e-6 or np.abs(v2).sum() < 1e-6:
        return 0.0
    u1, u2 = v1 / np.linalg.norm(v1), v2 / np.linalg.norm(v2)
    return float(np.arccos(np.clip(np.dot(u1, u2), -1.0, 1.0)))


def _loop_normalize(fp: np.ndarray) -> np.ndarray:
    """Steps 3-5 with loops over samples, persons, frames and joints."""
    s = np.transpose(fp, [0, 4, 2, 3, 1])  # N, M, T, V, C (a view: edits go to fp)
    for i_s, sk in enumerate(s):
        for i_p, person in enumerate(sk):
            if person.sum() == 0:
                continue
            if person[0].sum() == 0:
                keep = person.sum(-1).sum(-1) != 0
                tmp = person[keep].copy()
                person *= 0
                person[: len(tmp)] = tmp
            for i_f, frame in enumerate(person):
                if frame.sum() == 0 and person[i_f:].sum() == 0:
                    rest = len(person) - i_f
                    reps = int(np.ceil(rest / i_f))
                    s[i_s, i_p, i_f:] = np.concatenate([person[:i_f]] * reps, 0)[:rest]
                    break
    for i_s, sk in enumerate(s):
        if sk.sum() == 0:
            continue
        ref = sk[0][:, 1:2, :].copy()
        for i_p, person in enumerate(sk):
            if person.sum() == 0:
                continue
            mask = (person.sum(-1) != 0).reshape(person.shape[0], person.shape[1], 1)
            s[i_s, i_p] = (s[i_s, i_p] - ref) * mask
    for (j0, j1), target in (((0, 1), [0, 0, 1]), ((4, 8), [1, 0, 0])):
        for i_s, sk in enumerate(s):
            if sk.sum() == 0:
                continue
            v = sk[0, 0, j1] - sk[0, 0, j0]
            r = _rot(np.cross(v, target), _angle(v, np.array(target, dtype=np.float64)))
            for i_p, person in enumerate(sk):
                if person.sum() == 0:
                    continue
                for i_f, frame in enumerate(person):
                    if frame.sum() == 0:
                        continue
                    for i_j, joint in enumerate(frame):
                        s[i_s, i_p, i_f, i_j] = np.dot(r, joint)
    return fp


def run_baseline(paths: list[Path], out: Path, max_frames: int = 300) -> None:
    fp = np.zeros((len(paths), 3, max_frames, 25, 2), dtype=np.float32)
    frames = np.zeros(len(paths), dtype=np.int64)
    for i, p in enumerate(paths):
        x = _read_xyz(p)
        fp[i, :, : x.shape[1]] = x
        frames[i] = x.shape[1]
    fp = _loop_normalize(fp)
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "data.npy", fp)
    np.save(out / "num_frames.npy", frames)


# --------------------------------------------------------------------------- measurement


def _tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of ``pid`` so far (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def _mem_kb(pid: int) -> tuple[int, int]:
    rss = anon = 0
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("RssAnon:"):
                    anon = int(line.split()[1])
    except OSError:
        pass
    return rss, anon


def measure(cmd: list[str]) -> dict:
    """Run ``cmd``; its last stdout line is JSON with ``files`` and ``seconds``."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=REPO)
    peak = {"rss": 0, "anon": 0, "procs": 0}
    cpu: dict[int, float] = {}  # last CPU time seen per process of the tree
    done = threading.Event()

    def poll() -> None:
        while not done.is_set():
            pids = _tree(proc.pid)
            for p in pids:
                cpu[p] = max(cpu.get(p, 0.0), _cpu_s(p))
            mem = [_mem_kb(p) for p in pids]
            peak["rss"] = max(peak["rss"], sum(m[0] for m in mem))
            peak["anon"] = max(peak["anon"], sum(m[1] for m in mem))
            peak["procs"] = max(peak["procs"], len(pids))
            time.sleep(0.02)

    t = threading.Thread(target=poll, daemon=True)
    t.start()
    stdout, _ = proc.communicate()
    done.set()
    t.join()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed with exit {proc.returncode}")
    res = json.loads(stdout.strip().splitlines()[-1])
    return {
        **res,
        "peak_rss_mb": peak["rss"] / 1024,
        "peak_anon_mb": peak["anon"] / 1024,
        "procs": peak["procs"],
        "cpu_s": sum(cpu.values()),
    }


def _child(args: argparse.Namespace) -> None:
    """One measured run, in its own process."""
    folder, out = Path(args.folder), Path(args.out)
    if args.mode == "baseline":
        paths = sorted(folder.glob("*.skeleton"))[: args.limit]
        t0 = time.perf_counter()
        run_baseline(paths, out)
        n = len(paths)
    else:
        sys.path.insert(0, str(REPO / "src"))
        from skelcon.data.ntu import prepare_ntu

        t0 = time.perf_counter()
        prepare_ntu("ntu120", [folder], out, workers=int(args.mode), progress=False)
        n = len(np.load(out / "labels.npy"))
    print(json.dumps({"files": n, "seconds": time.perf_counter() - t0}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=2400)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--baseline-files", type=int, default=300)
    ap.add_argument(
        "--shared", default=None, help="shared root or its data/ folder (default: ../shared)"
    )
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    ap.add_argument(
        "--_child", nargs=4, metavar=("MODE", "FOLDER", "OUT", "LIMIT"), help=argparse.SUPPRESS
    )
    args = ap.parse_args()
    if args._child:
        mode, folder, out, limit = args._child
        _child(argparse.Namespace(mode=mode, folder=folder, out=out, limit=int(limit)))
        return

    shared = shared_dir(args.shared)
    tmp = Path(tempfile.mkdtemp(prefix="skelcon-bench-"))
    try:
        t0 = time.perf_counter()
        paths = replicate(shared, tmp / "raw", args.files)
        size = sum(p.stat().st_size for p in paths) / 2**20
        print(
            f"{len(paths)} files ({size:.0f} MiB) written in {time.perf_counter() - t0:.1f} s; "
            f"cpus {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}"
        )
        rows = []
        runs = [(str(w), args.files) for w in args.workers] + [("baseline", args.baseline_files)]
        for mode, limit in runs:
            out = tmp / f"out-{mode}"
            cmd = [
                sys.executable,
                __file__,
                "--_child",
                mode,
                str(tmp / "raw"),
                str(out),
                str(limit),
            ]
            r = measure(cmd)
            label = (
                "baseline (dicts + loops)" if mode == "baseline" else f"skelcon --workers {mode}"
            )
            rows.append((label, r))
            print(f"  {label}: {r['files']} files in {r['seconds']:.1f} s", flush=True)
        # the baseline must produce what skelcon produces on the same files
        nb = rows[-1][1]["files"]
        ref = np.load(tmp / f"out-{args.workers[0]}" / "data.npy", mmap_mode="r")[:nb]
        base = np.load(tmp / "out-baseline" / "data.npy", mmap_mode="r")
        err = float(np.abs(np.asarray(ref) - base).max())
        print()
        print(
            f"{'run':<26}{'files':>7}{'seconds':>9}{'files/s':>9}{'CPU ms/file':>13}"
            f"{'peak RSS MiB':>14}{'peak anon MiB':>15}{'procs':>7}"
        )
        for label, r in rows:
            print(
                f"{label:<26}{r['files']:>7}{r['seconds']:>9.1f}{r['files'] / r['seconds']:>9.1f}"
                f"{1e3 * r['cpu_s'] / r['files']:>13.1f}"
                f"{r['peak_rss_mb']:>14.0f}{r['peak_anon_mb']:>15.0f}{r['procs']:>7}"
            )
        print(
            "(CPU: whole process tree including interpreter start and imports; peak RSS "
            "includes the output memory map's file-backed pages, peak anon does not)"
        )
        base_rate = rows[-1][1]["files"] / rows[-1][1]["seconds"]
        for label, r in rows[:-1]:
            print(f"{label}: {r['files'] / r['seconds'] / base_rate:.1f}x the baseline's files/s")
        print(f"max |skelcon - baseline| over the baseline's {nb} samples: {err:.2e}")
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    from skelcon.utils.machine import machine_line

    print(machine_line(), flush=True)  # the machine every figure below was measured on
    main()
