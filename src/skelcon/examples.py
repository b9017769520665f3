"""Small synthetic inputs in the formats pose pipelines write, for tests and examples.

:func:`synth_clips` makes 2D (or 3D) keypoint clips for any
:class:`~skelcon.data.layouts.JointLayout`: a stick figure grown along the layout's
bones from its centre joint, placed and sized at random in a 1280x720 image, whose
class decides which joints swing and how fast; scores in (0.3, 1], a few joints
undetected ((0, 0) with score 0). The writers lay such clips out as

* :func:`write_pyskl`: a PYSKL / mmaction2 annotation pickle (``keypoint`` (M, T, V, 2),
  ``keypoint_score`` (M, T, V), split ``xsub_train``/``xsub_val``);
* :func:`write_kinetics`: ST-GCN's Kinetics-skeleton folder (``kinetics_train/``,
  ``kinetics_val/``, ``kinetics_*_label.json``; coordinates in [0, 1]);
* :func:`write_folder`: the plain folder of ``skelcon prepare folder``
  (``<class>/<clip>.npy|.csv|.json``).

``python -m skelcon.examples --out DIR`` writes all three, says what it wrote
and prints the ``skelcon prepare`` lines for each (:func:`try_commands`; the README's
examples run on them).
"""

from __future__ import annotations

import argparse
import json
import pickle
import shlex
from collections import deque
from pathlib import Path

import numpy as np

from .data.layouts import JointLayout, get_layout

IMAGE = (1280.0, 720.0)


def _rest_pose(layout: JointLayout, rng: np.random.Generator) -> np.ndarray:
    """``(V, 2)`` joint offsets from the centre: each joint a bone away from its
    neighbour towards the centre, limbs pointing down, head up."""
    nbr: dict[int, list[int]] = {j: [] for j in range(layout.num_joints)}
    for a, b in layout.bones:
        nbr[a].append(b)
        nbr[b].append(a)
    pos = np.zeros((layout.num_joints, 2))
    seen = {layout.center}
    queue = deque([layout.center])
    while queue:
        j = queue.popleft()
        for k in nbr[j]:
            if k not in seen:
                seen.add(k)
                name = layout.joints[k]
                up = any(s in name for s in ("head", "nose", "eye", "ear", "neck"))
                side = -1.0 if "left" in name else 1.0 if "right" in name else 0.0
                step = np.array([0.35 * side, -1.0 if up else 1.0]) + rng.normal(0, 0.15, 2)
                pos[k] = pos[j] + step
                queue.append(k)
    return pos


def synth_clips(
    layout: JointLayout,
    labels: list[int],
    *,
    frames: tuple[int, int] = (24, 40),
    persons: int = 1,
    dims: int = 2,
    seed: int = 0,
) -> list[np.ndarray]:
    """One keypoint clip ``(M, T, V, dims + 1)`` (coordinates, then a score) per label.

    2D coordinates are pixels of a 1280x720 image; ``dims=3`` adds a depth in metres.
    """
    rng = np.random.default_rng(seed)
    base = _rest_pose(layout, np.random.default_rng(1234))
    v = layout.num_joints
    out = []
    for label in labels:
        t = int(rng.integers(frames[0], frames[1] + 1))
        cls = np.random.default_rng(100 + label)
        moving = cls.random(v) < 0.35
        freq = 0.5 + 2.0 * cls.random()
        amp = 0.3 + 0.5 * cls.random()
        clip = np.zeros((persons, t, v, dims + 1), dtype=np.float32)
        for m in range(persons):
            size = rng.uniform(25, 60)
            origin = np.array([rng.uniform(300, 980), rng.uniform(250, 450)])
            phase = np.linspace(0, 2 * np.pi * freq, t)[:, None] + rng.uniform(0, 6)
            swing = amp * np.stack([np.sin(phase), np.cos(phase)], -1) * moving[None, :, None]
            pts = (base[None] + swing + rng.normal(0, 0.03, (t, v, 2))) * size + origin
            clip[m, :, :, :2] = pts
            if dims == 3:
                clip[m, :, :, 2] = rng.uniform(2.5, 4.0) + rng.normal(0, 0.01, (t, v))
            clip[m, :, :, dims] = rng.uniform(0.3, 1.0, (t, v))
            lost = rng.random((t, v)) < 0.03
            clip[m][lost] = 0.0
        out.append(clip)
    return out


def _labels(num_classes: int, per_class: int) -> list[int]:
    return [c for c in range(num_classes) for _ in range(per_class)]


def write_pyskl(
    path: str | Path, *, num_classes: int = 4, per_class: int = 6, seed: int = 0
) -> Path:
    """A COCO-17 PYSKL pickle; every third clip of a class is in ``xsub_val``."""
    labels = _labels(num_classes, per_class)
    clips = synth_clips(get_layout("coco17"), labels, seed=seed)
    anns, train, val = [], [], []
    for i, (kp, label) in enumerate(zip(clips, labels, strict=True)):
        name = f"clip{i:04d}"
        anns.append(
            {
                "frame_dir": name,
                "label": label,
                "img_shape": (720, 1280),
                "original_shape": (720, 1280),
                "total_frames": kp.shape[1],
                "keypoint": kp[..., :2].copy(),
                "keypoint_score": kp[..., 2].copy(),
            }
        )
        (val if i % 3 == 2 else train).append(name)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        pickle.dump({"split": {"xsub_train": train, "xsub_val": val}, "annotations": anns}, f)
    return path


def write_kinetics(
    root: str | Path, *, num_classes: int = 4, per_class: int = 6, seed: int = 0
) -> Path:
    """A Kinetics-skeleton folder (OpenPose 18 joints, coordinates in [0, 1])."""
    root = Path(root)
    labels = _labels(num_classes, per_class)
    clips = synth_clips(get_layout("openpose18"), labels, persons=2, seed=seed)
    names = [f"class {c}" for c in range(num_classes)]
    tables: dict[str, dict] = {"kinetics_train": {}, "kinetics_val": {}}
    for i, (kp, label) in enumerate(zip(clips, labels, strict=True)):
        folder = "kinetics_val" if i % 3 == 2 else "kinetics_train"
        vid = f"vid{i:05d}"
        data = []
        for t in range(kp.shape[1]):
            skel = []
            for m in range(kp.shape[0]):
                xy = kp[m, t, :, :2] / np.array(IMAGE)
                pose = np.round(xy, 3).reshape(-1).tolist()
                skel.append({"pose": pose, "score": np.round(kp[m, t, :, 2], 3).tolist()})
            data.append({"frame_index": t + 1, "skeleton": skel})
        doc = {"data": data, "label": names[label], "label_index": label}
        (root / folder).mkdir(parents=True, exist_ok=True)
        (root / folder / f"{vid}.json").write_text(json.dumps(doc))
        tables[folder][vid] = {"has_skeleton": True, "label": names[label], "label_index": label}
    for folder, table in tables.items():
        (root / f"{folder}_label.json").write_text(json.dumps(table))
    return root


def write_folder(
    root: str | Path,
    *,
    layout: str | JointLayout = "coco17",
    num_classes: int = 3,
    per_class: int = 8,
    seed: int = 0,
    formats: tuple[str, ...] = (".npy", ".csv", ".json"),
) -> Path:
    """A plain folder ``<class>/<clip>.<ext>`` of ``(T, V, 3)`` x, y, score clips, the
    formats taken in turn."""
    root = Path(root)
    lay = get_layout(layout) if isinstance(layout, str) else layout
    labels = _labels(num_classes, per_class)
    clips = synth_clips(lay, labels, seed=seed)
    for i, (kp, label) in enumerate(zip(clips, labels, strict=True)):
        d = root / f"action_{label}"
        d.mkdir(parents=True, exist_ok=True)
        ext = formats[i % len(formats)]
        one = kp[0]  # (T, V, 3)
        if ext == ".npy":
            np.save(d / f"clip{i:03d}.npy", one)
        elif ext == ".json":
            (d / f"clip{i:03d}.json").write_text(json.dumps({"keypoints": one.tolist()}))
        else:
            head = ",".join(f"{j}_{c}" for j in lay.joints for c in ("x", "y", "score"))
            rows = [",".join(f"{v:.3f}" for v in frame.reshape(-1)) for frame in one]
            (d / f"clip{i:03d}.csv").write_text("\n".join([head, *rows]) + "\n")
    return root


def try_commands(out: str | Path, data: str | Path = "data") -> list[str]:
    """The ``skelcon`` lines that prepare what :func:`main` wrote to ``out`` (into
    ``data/...``), then pre-train and evaluate on one of them (the README's own-data
    section; ``tests/test_owndata.py`` runs the prepare lines)."""
    out, data = Path(out), Path(data)

    def cmd(*args: str | Path) -> str:
        return shlex.join(["skelcon", *(str(a) for a in args)])

    clips = data / "my_clips"
    return [
        cmd(
            "prepare",
            "import-pyskl",
            "--raw",
            out / "coco17_pyskl.pkl",
            "--layout",
            "coco17",
            "--normalize",
            "--out",
            data / "coco17_pyskl",
        ),
        cmd(
            "prepare",
            "kinetics-skeleton",
            "--raw",
            out / "kinetics-skeleton",
            "--out",
            data / "kinetics-skeleton",
        ),
        cmd(
            "prepare",
            "folder",
            "--raw",
            out / "my_clips",
            "--layout",
            "coco17",
            "--channels",
            "x,y,score",
            "--normalize",
            "--out",
            clips,
        ),
        cmd("pretrain", "--data", clips, "--config", "cpu_small", "--out", "runs/my_clips"),
        cmd(
            "eval",
            "knn",
            "--checkpoint",
            "runs/my_clips",
            "--representation",
            "seq+stg",
            "--data",
            clips,
            "--out",
            "evals/my_knn",
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m skelcon.examples",
        description="write small synthetic pose-pipeline inputs (a PYSKL pickle, a "
        "Kinetics-skeleton folder, a plain folder of clips) and say how to prepare them",
    )
    p.add_argument("--out", required=True, help="directory to write them to, e.g. examples")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    a = p.parse_args(argv)
    out = Path(a.out)
    classes, per_class = 4, 6
    pkl = write_pyskl(
        out / "coco17_pyskl.pkl", num_classes=classes, per_class=per_class, seed=a.seed
    )
    print(
        f"wrote {pkl}: a PYSKL / mmaction2 pickle, COCO-17 2D keypoints + scores, "
        f"{classes * per_class} clips of {classes} classes (splits xsub_train, xsub_val)"
    )
    kin = write_kinetics(
        out / "kinetics-skeleton", num_classes=classes, per_class=per_class, seed=a.seed
    )
    print(
        f"wrote {kin}/: a Kinetics-skeleton folder (kinetics_train/, kinetics_val/, their "
        f"_label.json), OpenPose-18, 2 persons, {classes * per_class} clips of {classes} classes"
    )
    classes, per_class = 3, 8
    folder = write_folder(out / "my_clips", num_classes=classes, per_class=per_class, seed=a.seed)
    print(
        f"wrote {folder}/: a plain folder <class>/<clip>.npy|.csv|.json, COCO-17 (T, V, 3) "
        f"x, y, score, {classes * per_class} clips of {classes} classes"
    )
    print("try them (the README's 'Your own data'):")
    for line in try_commands(out):
        print(f"  {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
