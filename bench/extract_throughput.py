"""Extraction throughput (frames/s) of ``skelcon extract`` on one video, with decoding
alone measured in the same run as the baseline.

    PYTHONPATH=src python bench/extract_throughput.py [--video PATH] [--repeats 3]
        [--pose-model F.onnx [--det-model F.onnx]]

Rows (the best of ``--repeats`` runs each; the video defaults to the shared sample
``video/demo_skeleton.mp4``):

* ``decode, extract env``: OpenCV decoding every frame to RGB in the extract environment
  (``make extract-env``), as the mediapipe worker does before estimating;
* ``decode + mediapipe``: ``extract_videos(backend="mediapipe")`` end to end: the worker's
  start (importing MediaPipe, loading its model), decoding, MediaPipe Pose on every
  frame, the clip file;
* ``decode + mediapipe (after start)``: the same from the worker's start line (MediaPipe
  imported, the video open) on: model loading, decoding and pose estimation;
* ``decode, skelcon env``: OpenCV decoding in this environment (``skelcon[video]``), the
  rtmpose backend's decoder, when installed;
* ``decode + rtmpose``: ``extract_videos(backend="rtmpose")`` with the given ONNX files.

The load average before the run is printed with the figures (the 2-core development
machine is shared).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DECODE = """
import sys, time, cv2
cap = cv2.VideoCapture(sys.argv[1])
t0, n = time.perf_counter(), 0
while True:
    ok, bgr = cap.read()
    if not ok:
        break
    cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    n += 1
print(n, time.perf_counter() - t0)
"""


def decode_in(python: str, video: Path, isolated: bool = True) -> tuple[int, float]:
    """Frames decoded and seconds, by ``python`` (a fresh process; its start not timed;
    ``isolated``: without this environment's PYTHONPATH, as the worker runs)."""
    flags = ["-I"] if isolated else []
    out = subprocess.run(
        [python, *flags, "-c", DECODE, str(video)], capture_output=True, text=True, check=True
    ).stdout.split()
    return int(out[0]), float(out[1])


def extract_once(video: Path, **kw: object) -> tuple[int, float]:
    from skelcon.extract import extract_videos

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        (r,) = extract_videos([video], tmp, progress=False, **kw)  # type: ignore[arg-type]
        return r.frames, time.perf_counter() - t0


class _Clock:
    """A Progress that notes when the worker said it started."""

    started = 0.0

    def start(self, total: int) -> None:
        self.started = time.perf_counter()

    def advance(self, frames: int) -> None:
        pass


def mediapipe_after_start(video: Path) -> tuple[int, float]:
    """Frames and seconds of the mediapipe worker from its start line (MediaPipe imported,
    the video open) to its keypoints read back: decoding and pose estimation only."""
    from skelcon.extract.mediapipe import MediaPipeExtractor

    clock = _Clock()
    kp = MediaPipeExtractor().extract(video, clock)
    return len(kp.frames), time.perf_counter() - clock.started


def best(fn, repeats: int) -> tuple[int, float]:
    runs = [fn() for _ in range(repeats)]
    return min(runs, key=lambda r: r[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--video", type=Path, help="default: the shared sample video")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--pose-model", help="an RTMPose ONNX: also time the rtmpose backend")
    ap.add_argument("--det-model", help="its person detector ONNX")
    args = ap.parse_args()
    os.environ.setdefault("SKELCON_THREADS", "1")
    from skelcon.extract.mediapipe import find_extract_python
    from skelcon.utils import threads

    threads.configure()
    video = args.video
    if video is None:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        from shareddirs import shared_data_dir

        root = shared_data_dir()
        if root is None:
            raise SystemExit("no shared data: give --video")
        video = root / "video" / "demo_skeleton.mp4"
    load = os.getloadavg()
    print(f"video {video}; {os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f}")
    rows: list[tuple[str, int, float]] = []
    python = str(find_extract_python())
    rows.append(
        ("decode, extract env (OpenCV)", *best(lambda: decode_in(python, video), args.repeats))
    )
    rows.append(
        ("decode + mediapipe (end to end)", *best(lambda: extract_once(video), args.repeats))
    )
    rows.append(
        (
            "decode + mediapipe (after start)",
            *best(lambda: mediapipe_after_start(video), args.repeats),
        )
    )
    try:
        import cv2  # noqa: F401

        rows.append(
            (
                "decode, skelcon env (OpenCV)",
                *best(lambda: decode_in(sys.executable, video, isolated=False), args.repeats),
            )
        )
    except ImportError:
        print("(no OpenCV in this environment: pip install 'skelcon[video]' for its decode row)")
    if args.pose_model:
        kw = {"backend": "rtmpose", "pose_model": args.pose_model, "det_model": args.det_model}
        rows.append(
            (
                "decode + rtmpose (end to end)",
                *best(lambda: extract_once(video, **kw), args.repeats),
            )
        )
    print(f"{'':34s} {'frames':>6s} {'seconds':>8s} {'frames/s':>9s}")
    for name, n, s in rows:
        print(f"{name:34s} {n:6d} {s:8.2f} {n / s:9.1f}")


if __name__ == "__main__":
    main()
