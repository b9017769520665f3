"""MediaPipe Pose over one video, run in the extract environment (not skelcon's).

MediaPipe 0.10.21 needs NumPy 1 and protobuf 4, skelcon's environment has NumPy 2, so
``skelcon extract --backend mediapipe`` runs this file with the Python of its own
environment (``make extract-env``; :mod:`skelcon.extract.mediapipe` finds it)::

    <extract python> -I mediapipe_worker.py --video VIDEO --out KEYPOINTS.npy [--complexity 0|1]

It imports only the standard library, NumPy, OpenCV and MediaPipe (never skelcon or
torch). It decodes ``VIDEO`` with OpenCV, runs the legacy ``mp.solutions.pose`` solution
(33 landmarks, one person, tracked from frame to frame; its weights ship inside the
wheel, nothing is downloaded for complexity 0 and 1) on every frame and saves
``KEYPOINTS.npy``: ``(T, 33, 3)`` float32, ``x, y`` in pixels of the decoded frame and
the landmark's visibility as the score, all 0 in a frame where nobody was found.

Protocol: one JSON object per line on stdout (other lines are to be ignored)::

    {"event": "start", "width": W, "height": H, "fps": F, "frames": N}   (N: the container's count)
    {"event": "progress", "frames": n}                                  (n frames more done)
    {"event": "done", "frames": T, "empty": E}                          (E: frames without anybody)
    {"event": "error", "message": "..."}                                (one line; exit status 2)
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

# this file's folder holds skelcon modules named like what it imports (mediapipe.py):
# never import from it, however the script was started (skelcon runs it with -I)
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

PROGRESS_EVERY = 5  # frames between progress lines
USAGE = "usage: mediapipe_worker.py --video VIDEO --out KEYPOINTS.npy [--complexity 0|1]"


def emit(event: str, **fields: Any) -> None:
    """One protocol line on stdout, flushed."""
    sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
    sys.stdout.flush()


def parse_args(argv: list[str]) -> dict[str, str]:
    """``--video``, ``--out`` (required) and ``--complexity`` (default 1) from ``argv``;
    raises ValueError with the usage line on anything else."""
    opts = {"--complexity": "1"}
    it = iter(argv)
    for flag in it:
        if flag not in ("--video", "--out", "--complexity"):
            raise ValueError(f"unknown argument {flag!r}; {USAGE}")
        value = next(it, None)
        if value is None:
            raise ValueError(f"{flag} needs a value; {USAGE}")
        opts[flag] = value
    if "--video" not in opts or "--out" not in opts:
        raise ValueError(USAGE)
    if opts["--complexity"] not in ("0", "1"):
        raise ValueError(
            f"--complexity {opts['--complexity']!r} (valid: 0, 1; 2 would download weights)"
        )
    return {k[2:]: v for k, v in opts.items()}


def landmarks_array(landmarks: Any, width: int, height: int, np: Any) -> Any:
    """MediaPipe's ``pose_landmarks`` of one frame (or None) -> ``(33, 3)`` float32:
    ``x * width, y * height`` (pixels) and the visibility; all 0 for None."""
    if landmarks is None:
        return np.zeros((33, 3), dtype=np.float32)
    a = np.array([(p.x, p.y, p.visibility) for p in landmarks.landmark], dtype=np.float64)
    a[:, 0] *= width
    a[:, 1] *= height
    return a.astype(np.float32)


def run(video: str, out: str, complexity: int) -> int:
    """Estimate every frame of ``video`` into ``out`` (module doc); the exit status."""
    try:
        import cv2
        import mediapipe as mp
        import numpy as np
    except ImportError as e:
        emit(
            "error",
            message=f"{sys.executable} cannot import {e.name}: it is not the extract "
            "environment (make it with `make extract-env`)",
        )
        return 2
    cap = cv2.VideoCapture(video)
    ok, bgr = cap.read() if cap.isOpened() else (False, None)
    if not ok or bgr is None:
        what = "holds no frame that can be decoded" if cap.isOpened() else "cannot be read"
        cap.release()
        emit(
            "error",
            message=f"video {video!r} {what}: not a video file, or one whose format or codec "
            "OpenCV's FFmpeg cannot decode",
        )
        return 2
    height, width = bgr.shape[:2]
    fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
    emit(
        "start",
        width=int(width),
        height=int(height),
        fps=fps if fps == fps else 0.0,
        frames=int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0),
    )
    rows = []
    pending = 0
    with mp.solutions.pose.Pose(
        static_image_mode=False, model_complexity=complexity, enable_segmentation=False
    ) as pose:
        while ok:
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            rgb.flags.writeable = False
            result = pose.process(rgb)
            rows.append(landmarks_array(result.pose_landmarks, width, height, np))
            pending += 1
            if pending == PROGRESS_EVERY:
                emit("progress", frames=pending)
                pending = 0
            ok, bgr = cap.read()
    cap.release()
    if pending:
        emit("progress", frames=pending)
    kp = np.stack(rows)
    tmp = out + ".partial.npy"
    np.save(tmp, kp)
    os.replace(tmp, out)
    emit("done", frames=len(rows), empty=int((kp[..., 2] <= 0).all(axis=1).sum()))
    return 0


def main(argv: list[str]) -> int:
    try:
        args = parse_args(argv)
    except ValueError as e:
        emit("error", message=str(e))
        return 2
    try:
        return run(args["video"], args["out"], int(args["complexity"]))
    except Exception as e:  # one line for the main process, never a silent death
        emit(
            "error",
            message=f"mediapipe worker failed on {args['video']!r}: {type(e).__name__}: {e}",
        )
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
