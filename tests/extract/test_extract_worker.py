"""The mediapipe backend's worker process: how its environment is found, the protocol
between it and skelcon, and its one-line errors. Fake workers (scripts run by this
Python) stand in for MediaPipe; the real one runs in test_extract_real.py."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from skelcon.errors import SkelconError
from skelcon.extract import mediapipe as mpb
from skelcon.extract import mediapipe_worker as worker


class Recorder:
    """A :class:`~skelcon.extract.backend.Progress` that remembers its calls."""

    def __init__(self):
        self.total, self.done = None, []

    def start(self, total):
        self.total = total

    def advance(self, frames):
        self.done.append(frames)


def _script(tmp_path: Path, body: str, name: str = "fake_worker.py") -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(body))
    return p


def test_the_protocol_drives_the_progress_and_ignores_other_output(tmp_path):
    script = _script(
        tmp_path,
        """
        import json, sys
        print("INFO: Created TensorFlow Lite XNNPACK delegate for CPU.")
        print(json.dumps({"event": "start", "width": 64, "height": 48, "fps": 25.0, "frames": 12}))
        print("{not json")
        for _ in range(2):
            print(json.dumps({"event": "progress", "frames": 5}))
        print(json.dumps({"event": "progress", "frames": 2}))
        print("chatter", file=sys.stderr)
        print(json.dumps({"event": "done", "frames": 12, "empty": 3}))
        """,
    )
    rec = Recorder()
    info = mpb.run_worker(sys.executable, [], rec, script=script)
    assert rec.total == 12 and rec.done == [5, 5, 2]
    assert info == {"width": 64, "height": 48, "fps": 25.0, "frames": 12, "empty": 3}


def test_worker_errors_are_one_line(tmp_path):
    said = _script(
        tmp_path,
        """
        import json
        print(json.dumps({"event": "error", "message": "video 'x.mp4' cannot be read:\\nnot a video"}))
        raise SystemExit(2)
        """,
        "said.py",
    )
    with pytest.raises(SkelconError) as e:
        mpb.run_worker(sys.executable, [], Recorder(), script=said)
    assert str(e.value) == "video 'x.mp4' cannot be read: not a video"
    crashed = _script(
        tmp_path,
        """
        import sys
        print("Traceback (most recent call last):", file=sys.stderr)
        print("RuntimeError: boom", file=sys.stderr)
        raise SystemExit(3)
        """,
        "crashed.py",
    )
    with pytest.raises(SkelconError, match="exit status 3 before finishing: RuntimeError: boom$"):
        mpb.run_worker(sys.executable, [], Recorder(), script=crashed)
    silent = _script(tmp_path, "print('no protocol at all')\n", "silent.py")
    with pytest.raises(SkelconError, match="exit status 0 before finishing"):
        mpb.run_worker(sys.executable, [], Recorder(), script=silent)


def test_the_worker_runs_isolated_from_skelcons_environment(tmp_path, monkeypatch):
    """``-I``: neither PYTHONPATH (skelcon's NumPy 2) nor the script's own folder (which
    holds skelcon's module named ``mediapipe``) is on the worker's path."""
    script = _script(
        tmp_path,
        """
        import json, os, sys
        here = os.path.dirname(os.path.abspath(__file__))
        print(json.dumps({"event": "start", "frames": 0, "path": sys.path,
                          "here": here, "env": os.environ.get("PYTHONPATH")}))
        print(json.dumps({"event": "done", "empty": 0}))
        """,
    )
    (tmp_path / "mediapipe.py").write_text("raise ImportError('the wrong mediapipe')\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "numpy2"))
    info = mpb.run_worker(sys.executable, [], Recorder(), script=script)
    assert info["env"] is None
    assert info["here"] not in info["path"] and str(tmp_path / "numpy2") not in info["path"]


def test_the_extract_environment_is_found_or_named_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(mpb, "checkout_root", lambda: None)
    with pytest.raises(SkelconError) as e:
        mpb.find_extract_python(env={}, cwd=tmp_path)
    msg = str(e.value)
    assert "make extract-env" in msg and "SKELCON_EXTRACT_PYTHON" in msg and "\n" not in msg
    assert str(tmp_path / ".venv-extract") in msg
    venv_py = tmp_path / ".venv-extract" / "bin" / "python"
    venv_py.parent.mkdir(parents=True)
    venv_py.write_text("")
    assert mpb.find_extract_python(env={}, cwd=tmp_path) == venv_py
    # the variable comes first, and must name an executable
    with pytest.raises(SkelconError, match="SKELCON_EXTRACT_PYTHON='/nowhere/python' is not"):
        mpb.find_extract_python(env={"SKELCON_EXTRACT_PYTHON": "/nowhere/python"}, cwd=tmp_path)
    assert mpb.find_extract_python(env={"SKELCON_EXTRACT_PYTHON": sys.executable}) == Path(
        sys.executable
    )


def test_a_python_without_mediapipe_says_which_environment_to_make(tmp_path):
    """The real worker run by skelcon's own Python (no MediaPipe there)."""
    if all(_importable(m) for m in ("mediapipe", "cv2")):
        pytest.skip("this Python has MediaPipe and OpenCV")
    with pytest.raises(SkelconError, match=r"cannot import \w+: it is not the extract environment"):
        mpb.run_worker(sys.executable, ["--video", "v.mp4", "--out", "k.npy"], Recorder())


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def test_worker_arguments_and_landmarks():
    assert worker.parse_args(["--out", "k.npy", "--video", "v.mp4"]) == {
        "video": "v.mp4",
        "out": "k.npy",
        "complexity": "1",
    }
    for bad, why in (
        (["--video", "v.mp4"], "usage"),
        (["--video", "v", "--out", "o", "--complexity", "2"], "would download"),
        (["--frames", "3"], "unknown argument"),
        (["--video"], "needs a value"),
    ):
        with pytest.raises(ValueError, match=why):
            worker.parse_args(bad)
    marks = SimpleNamespace(
        landmark=[SimpleNamespace(x=0.5, y=0.25, visibility=0.9)] * 33
    )  # normalised to the frame, as MediaPipe gives them
    a = worker.landmarks_array(marks, 640, 480, np)
    assert a.shape == (33, 3) and a.dtype == np.float32
    np.testing.assert_allclose(a[0], [320, 120, 0.9], rtol=1e-6)
    assert not worker.landmarks_array(None, 640, 480, np).any()  # nobody: all 0


def test_the_extractor_turns_the_workers_array_into_frames(tmp_path):
    """MediaPipeExtractor with a stand-in "python" that writes what the worker writes:
    (T, 33, 3), a frame without anybody all 0."""
    fake_python = tmp_path / "python"
    fake_python.write_text(
        f"#!{sys.executable}\n"
        + textwrap.dedent(
            """
            import json, sys
            import numpy as np
            args = sys.argv[1:]
            assert args[0] == "-I" and args[1].endswith("mediapipe_worker.py"), args
            out = args[args.index("--out") + 1]
            kp = np.ones((4, 33, 3), np.float32)
            kp[2] = 0
            print(json.dumps({"event": "start", "width": 64, "height": 48, "fps": 30.0, "frames": 4}))
            np.save(out, kp)
            print(json.dumps({"event": "progress", "frames": 4}))
            print(json.dumps({"event": "done", "frames": 4, "empty": 1}))
            """
        )
    )
    fake_python.chmod(0o755)
    video = tmp_path / "v.mp4"
    video.write_bytes(b"")
    ex = mpb.MediaPipeExtractor(python=fake_python)
    rec = Recorder()
    kp = ex.extract(video, rec)
    assert (kp.width, kp.height, kp.fps) == (64, 48, 30.0)
    assert [len(f) for f in kp.frames] == [1, 1, 0, 1] and kp.empty_frames == 1
    assert rec.total == 4 and sum(rec.done) == 4
    with pytest.raises(SkelconError, match="complexity must be 0 or 1"):
        mpb.MediaPipeExtractor(python=fake_python, complexity=2)
