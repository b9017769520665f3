"""The ``mediapipe`` backend: MediaPipe Pose run in its own environment.

MediaPipe 0.10.21 (the last release with the legacy ``mp.solutions.pose``, whose
weights ship inside the wheel) pins NumPy 1 and protobuf 4; skelcon's environment has
NumPy 2. The pose estimation therefore runs in a second environment, made once with
``make extract-env`` (``.venv-extract``: ``python3.11 -m venv`` and ``pip install
mediapipe==0.10.21``), as a worker process: :mod:`skelcon.extract.mediapipe_worker`, a
script that imports no skelcon, run by that environment's Python. It decodes the video,
writes its keypoints to a temporary ``.npy`` and reports progress as JSON lines on
stdout, which this module turns into the progress bar.

The extract environment's Python is, in this order: ``$SKELCON_EXTRACT_PYTHON``;
``.venv-extract/bin/python`` in the working directory; the same in the skelcon
checkout this package runs from. Without one, :func:`find_extract_python` says in one
line how to make it.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import SkelconError
from .backend import Progress, backend_layout
from .clipfile import VideoKeypoints
from .video import check_video_file

__all__ = [
    "ENV_VAR",
    "MAKE_HINT",
    "WORKER",
    "MediaPipeExtractor",
    "find_extract_python",
    "run_worker",
]

ENV_VAR = "SKELCON_EXTRACT_PYTHON"
VENV = ".venv-extract"
MAKE_HINT = "make extract-env"
WORKER = Path(__file__).with_name("mediapipe_worker.py")
# kept out of the worker's environment: paths into skelcon's environment (NumPy 2) would
# shadow the extract environment's own packages
DROPPED_ENV = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")
QUIET_ENV = {"GLOG_minloglevel": "2", "TF_CPP_MIN_LOG_LEVEL": "3"}  # TFLite/absl chatter


def checkout_root() -> Path | None:
    """The skelcon source checkout this package runs from (``src/skelcon`` inside a
    folder with ``pyproject.toml``), or None for an installed wheel."""
    root = Path(__file__).resolve().parents[3]
    return (
        root
        if (root / "pyproject.toml").is_file() and (root / "src" / "skelcon").is_dir()
        else None
    )


def find_extract_python(
    env: Mapping[str, str] | None = None, cwd: str | os.PathLike[str] | None = None
) -> Path:
    """The extract environment's Python (module doc). Raises a one-line
    :class:`SkelconError` naming the places looked in and the command that makes it."""
    env = os.environ if env is None else env
    given = env.get(ENV_VAR, "").strip()
    if given:
        p = Path(given).expanduser()
        if not (p.is_file() and os.access(p, os.X_OK)):
            raise SkelconError(
                f"{ENV_VAR}={given!r} is not an executable file (valid: the Python of an "
                f"environment with mediapipe==0.10.21, e.g. {VENV}/bin/python made by "
                f"`{MAKE_HINT}`)"
            )
        return p
    places = [Path(cwd) if cwd is not None else Path.cwd()]
    root = checkout_root()
    if root is not None and root.resolve() != places[0].resolve():
        places.append(root)
    for place in places:
        p = place / VENV / "bin" / "python"
        if p.is_file():
            return p
    where = " or ".join(str(place / VENV) for place in places)
    raise SkelconError(
        f"the mediapipe backend needs its own environment and none was found ({ENV_VAR} "
        f"is not set, no {where}): make it with `{MAKE_HINT}` in the skelcon checkout "
        f"(or set {ENV_VAR} to a Python with mediapipe==0.10.21)"
    )


def _worker_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in DROPPED_ENV}
    return {**env, **QUIET_ENV}


def run_worker(
    python: str | os.PathLike[str],
    args: list[str],
    progress: Progress,
    script: str | os.PathLike[str] = WORKER,
) -> dict[str, Any]:
    """Run ``python -I script *args`` (isolated: neither the script's folder, which
    holds this module named ``mediapipe``, nor ``PYTHONPATH`` on its path) and follow its protocol (see
    :mod:`~skelcon.extract.mediapipe_worker`): ``progress.start(frames)`` on its start
    line, ``progress.advance(n)`` on each progress line. Returns the start line's fields
    updated with the done line's. Raises :class:`SkelconError` with the worker's error
    line, or, when it stops without one, its exit status and last stderr line. Ctrl-C
    stops the worker too."""
    info: dict[str, Any] = {}
    error = ""
    with tempfile.TemporaryFile("w+") as err_file:
        proc = subprocess.Popen(
            [str(python), "-I", str(script), *args],
            stdout=subprocess.PIPE,
            stderr=err_file,
            stdin=subprocess.DEVNULL,
            env=_worker_env(),
            text=True,
        )
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                msg = _parse(line)
                if msg is None:
                    continue
                event = msg.pop("event")
                if event == "start":
                    info.update(msg)
                    progress.start(int(msg.get("frames") or 0))
                elif event == "progress":
                    progress.advance(int(msg.get("frames", 1)))
                elif event == "done":
                    info.update(msg)
                elif event == "error":
                    error = str(msg.get("message", "")).replace("\n", " ")
            status = proc.wait()
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        err_file.seek(0)
        stderr_tail = _tail(err_file.read())
    if error:
        raise SkelconError(error)
    if status != 0 or "empty" not in info:
        raise SkelconError(
            f"the mediapipe worker ({python}) stopped with exit status {status} before "
            f"finishing" + (f": {stderr_tail}" if stderr_tail else "")
        )
    return info


def _tail(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1][:300] if lines else ""


def _parse(line: str) -> dict[str, Any] | None:
    """A protocol line as a dict, None for any other output."""
    line = line.strip()
    if not line.startswith("{"):
        return None
    with contextlib.suppress(ValueError):
        msg = json.loads(line)
        if isinstance(msg, dict) and isinstance(msg.get("event"), str):
            return msg
    return None


class MediaPipeExtractor:
    """The ``mediapipe`` :class:`~skelcon.extract.backend.Extractor`: one person, 33
    landmarks (layout ``mediapipe33``), through :func:`run_worker`.

    ``python``: the extract environment's Python (default :func:`find_extract_python`,
    looked up here, so a missing environment is reported before any video is read);
    ``complexity``: MediaPipe's ``model_complexity``, 0 (lite) or 1 (full, default)."""

    name = "mediapipe"

    def __init__(self, python: str | os.PathLike[str] | None = None, complexity: int = 1):
        if complexity not in (0, 1):
            raise SkelconError(
                f"complexity must be 0 or 1 (the models inside the wheel), got {complexity}",
                param="complexity",
            )
        self.python = Path(python) if python is not None else find_extract_python()
        self.complexity = complexity
        self.layout = backend_layout("mediapipe")

    def extract(self, video: Path, progress: Progress) -> VideoKeypoints:
        """MediaPipe Pose on every frame of ``video`` (its worker decodes it)."""
        video = check_video_file(video)
        with tempfile.TemporaryDirectory(prefix="skelcon-extract-") as tmp:
            out = Path(tmp) / "keypoints.npy"
            args = ["--video", str(video), "--out", str(out), "--complexity", str(self.complexity)]
            info = run_worker(self.python, args, progress)
            kp = np.load(out, allow_pickle=False)
        v = self.layout.num_joints
        if kp.ndim != 3 or kp.shape[1:] != (v, 3):
            raise SkelconError(
                f"the mediapipe worker wrote keypoints of shape {list(kp.shape)}, not (T, {v}, 3)"
            )
        found = (kp[..., 2] > 0).any(axis=1)  # (T,): one person, or nobody
        nobody = np.zeros((0, v, 3), dtype=np.float32)
        frames = [kp[t : t + 1] if found[t] else nobody for t in range(len(kp))]
        return VideoKeypoints(
            frames, int(info["width"]), int(info["height"]), float(info.get("fps") or 0.0)
        )
