"""``skelcon predict`` (and ``embed --input``) on videos: each video is extracted first, in
the model's layout (converted from the backend's by a shipped table), then read as its
clip is; what cannot be converted is one line naming both layouts and the conversions
there are. The backend here is a fake (fixed keypoints); the real MediaPipe run on the
shared video is the slow test at the end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tinydata import make_classifier

import skelcon
from skelcon.cli import main
from skelcon.data.rawinputs import read_inputs
from skelcon.errors import SkelconError
from skelcon.eval.inputs import predict_inputs
from skelcon.examples import write_folder
from skelcon.extract import extract_videos
from skelcon.extract.backend import backend_layout
from skelcon.extract.clipfile import VideoKeypoints
from skelcon.extract.formodel import VideosForModel


class FakeBackend:
    """An extractor answering one person's fixed MediaPipe keypoints (a standing figure
    waving, 16 frames, 640x480); a video whose name holds "bad" cannot be read."""

    name = "mediapipe"

    def __init__(self) -> None:
        self.layout = backend_layout("mediapipe")
        self.seen: list[Path] = []
        rng = np.random.default_rng(0)
        base = np.c_[rng.uniform(250, 390, 33), np.linspace(60, 440, 33)]
        frames = []
        for t in range(16):
            xy = base + [3 * np.sin(t / 2), 0]
            frames.append(np.c_[xy, np.full(33, 0.9)][None].astype(np.float32))
        self.kp = VideoKeypoints(frames, 640, 480, 25.0)

    def extract(self, video, progress):
        self.seen.append(Path(video))
        if "bad" in Path(video).name:
            raise SkelconError(f"video {str(video)!r} cannot be read")
        progress.start(len(self.kp.frames))
        progress.advance(len(self.kp.frames))
        return self.kp


def _prepare(*argv) -> None:
    assert main(["prepare", *[str(a) for a in argv]]) == 0


@pytest.fixture(scope="module")
def ntu2d_data(tmp_path_factory):
    """A prepared dataset of ntu25 x, y, score clips (as a converted video gives)."""
    tmp = tmp_path_factory.mktemp("ntu2d")
    raw = write_folder(tmp / "raw", layout="ntu25", num_classes=2, per_class=4, formats=(".npy",))
    _prepare(
        "folder",
        "--raw",
        raw,
        "--out",
        tmp / "d",
        "--layout",
        "ntu25",
        "--normalize",
        "--channels",
        "x,y,score",
        "--max-frames",
        "40",
    )
    return tmp / "d"


@pytest.fixture(scope="module")
def ntu2d(ntu2d_data):
    """A classifier on :func:`ntu2d_data`'s contract."""
    return make_classifier(ntu2d_data, ntu2d_data.parent / "m")


def _videos(root: Path, *names: str) -> list[Path]:
    out = []
    for n in names:
        (root / n).parent.mkdir(parents=True, exist_ok=True)
        (root / n).write_bytes(b"\0")
        out.append(root / n)
    return out


def test_a_video_gives_the_logits_of_its_extracted_clip(ntu2d, tmp_path):
    clf = skelcon.load_classifier(ntu2d)
    (video,) = _videos(tmp_path, "wave.mp4")
    fake = FakeBackend()
    with VideosForModel(clf.contract, extractor=fake, keypoints=tmp_path / "kp") as step:
        preds = predict_inputs(clf, [video], progress=False, videos=step)
    assert preds.names == ["wave"] and preds.paths == [str(video)] and not preds.skipped
    kept = tmp_path / "kp" / "wave.json"
    doc = json.loads(kept.read_text())
    assert doc["layout"] == "ntu25" and doc["converted_from"] == "mediapipe33"
    # the same as `skelcon extract --layout ntu25` then predict on the clip
    (r,) = extract_videos(
        [video], tmp_path / "clips", extractor=fake, layout="ntu25", progress=False
    )
    again = clf.predict_files([r.clip])
    np.testing.assert_allclose(preds.logits, again.logits, atol=1e-6)
    assert int(preds.num_frames[0]) == 16
    # without a conversion (the clip of the backend's own layout) the model refuses it
    (own,) = extract_videos([video], tmp_path / "own", extractor=fake, progress=False)
    bad = clf.predict_files([own.clip, r.clip])
    assert bad.names == ["wave"] and "--layout ntu25" in bad.skipped[0][1]


def test_folders_of_videos_and_clips_and_kept_keypoints(ntu2d, tmp_path, monkeypatch, capsys):
    fake = FakeBackend()
    monkeypatch.setattr("skelcon.extract.run.make_extractor", lambda *a, **k: fake)
    raw = tmp_path / "raw"
    _videos(raw, "wave/a.mp4", "wave/deep/b.MOV", "clap/bad.mp4")
    extract_videos([raw / "wave" / "a.mp4"], raw / "clap", extractor=fake, progress=False)
    (raw / "clap" / "a.json").rename(raw / "clap" / "c.json")  # a clip already extracted ...
    assert (raw / "clap" / "mediapipe33.yaml").is_file()  # ... with its layout file
    kp, out = tmp_path / "kp", tmp_path / "preds"
    argv = [
        "predict",
        "--model",
        str(ntu2d),
        "--input",
        str(raw),
        "--keypoints",
        str(kp),
        "--out",
        str(out),
        "--quiet",
    ]
    assert main(argv) == 0
    text = capsys.readouterr()
    names = [ln.split(":")[0] for ln in text.out.splitlines() if ln.startswith(("wave", "clap"))]
    assert names == ["wave/a", "wave/deep/b"]  # videos named as clips in their place
    assert f"skipped {raw / 'clap' / 'bad.mp4'}: video " in text.err
    assert "converted mediapipe33 -> ntu25" in text.err  # extract's lines: stderr, not stdout
    assert sorted(str(p.relative_to(kp)) for p in kp.rglob("*.json")) == [
        "wave/a.json",
        "wave/deep/b.json",
    ]
    doc = json.loads((out / "predictions.json").read_text())
    skipped = {s["path"]: s["reason"] for s in doc["skipped"]}
    assert "holds mediapipe33 keypoints" in skipped[str(raw / "clap" / "c.json")]
    assert "cannot be read" in skipped[str(raw / "clap" / "bad.mp4")]
    assert doc["not_read"] == []  # the layout file beside c.json is passed over
    assert [c["path"] for c in doc["clips"]] == [
        str(raw / "wave" / "a.mp4"),
        str(raw / "wave" / "deep" / "b.MOV"),
    ]
    # the kept keypoints are not overwritten: one line, and how to use them instead
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--keypoints folder" in err and "wave/a.json" in err
    assert "pass" in err and "as an input" in err
    # and given as inputs, they predict the same without extracting
    seen = len(fake.seen)
    clf = skelcon.load_classifier(ntu2d)
    again = clf.predict_files([kp])
    np.testing.assert_allclose(
        again.logits, np.array([c["logits"] for c in doc["clips"]], np.float32), atol=1e-5
    )
    assert len(fake.seen) == seen


def test_what_cannot_take_a_video_is_one_line(tiny_data, tmp_path, monkeypatch, capsys):
    fake = FakeBackend()
    monkeypatch.setattr("skelcon.extract.run.make_extractor", lambda *a, **k: fake)
    (video,) = _videos(tmp_path, "v.mp4")

    def one_line(model) -> str:
        assert main(["predict", "--model", str(model), "--input", str(video), "--quiet"]) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0, err
        return err

    # a 3D model: a video gives 2D keypoints
    err = one_line(make_classifier(tiny_data, tmp_path / "m3d"))
    assert err == (
        "skelcon: error: a video gives 2D keypoints (x, y, score); the model takes ntu25 "
        "clips (V=25 joints; C=3: x, y, z; up to M=2 persons)"
    )
    # a layout no table reaches from the backend's
    raw = write_folder(
        tmp_path / "raw", layout="kinect20", num_classes=2, per_class=2, formats=(".npy",)
    )
    _prepare(
        "folder",
        "--raw",
        raw,
        "--out",
        tmp_path / "k",
        "--layout",
        "kinect20",
        "--normalize",
        "--channels",
        "x,y,score",
    )
    capsys.readouterr()
    err = one_line(make_classifier(tmp_path / "k", tmp_path / "mk"))
    assert err == (
        "skelcon: error: the mediapipe backend writes mediapipe33 keypoints and the model "
        "takes kinect20 clips (V=20 joints; C=3: x, y, score; up to M=2 persons): no "
        "conversion from mediapipe33 to kinect20 (from mediapipe33: coco17, ntu25, "
        "openpose18, openpose25)"
    )
    assert fake.seen == []  # refused before any video was read


def test_no_video_needs_no_backend(ntu2d, tmp_path, monkeypatch):
    """Clips alone never start (or look for) a backend; a video among clips without one
    is skipped with the reason, and the clips predicted."""
    monkeypatch.setenv("SKELCON_EXTRACT_PYTHON", str(tmp_path / "none"))
    clip = write_folder(
        tmp_path / "raw", layout="ntu25", num_classes=1, per_class=1, formats=(".npy",)
    )
    clf = skelcon.load_classifier(ntu2d)
    with VideosForModel(clf.contract) as step:
        assert len(predict_inputs(clf, [clip], progress=False, videos=step).names) == 1
        (video,) = _videos(tmp_path, "v.mp4")
        preds = predict_inputs(clf, [clip, video], progress=False, videos=step)
        assert len(preds.names) == 1 and "SKELCON_EXTRACT_PYTHON" in preds.skipped[0][1]
        with pytest.raises(SkelconError, match="SKELCON_EXTRACT_PYTHON"):  # alone: the error
            read_inputs([video], clf.contract, videos=step)
    with pytest.raises(SkelconError, match=r"v.mp4 is a video: turn it into keypoints"):
        read_inputs([video], clf.contract)  # the library without a video step


@pytest.mark.slow
def test_embed_input_a_video(ntu2d_data, tmp_path, monkeypatch, capsys):
    """`skelcon embed --input video.mp4` extracts it into the run's layout first: the
    features of its clip."""
    from tinydata import TINY_PRETRAIN

    fake = FakeBackend()
    monkeypatch.setattr("skelcon.extract.run.make_extractor", lambda *a, **k: fake)
    run = tmp_path / "run"
    sets = [a for item in TINY_PRETRAIN for a in ("--set", item)]
    assert (
        main(
            [
                "pretrain",
                "--data",
                str(ntu2d_data),
                "--config",
                "cpu_small",
                "--epochs",
                "1",
                "--out",
                str(run),
                "--quiet",
                *sets,
            ]
        )
        == 0
    )
    (video,) = _videos(tmp_path, "v.mp4")
    (r,) = extract_videos(
        [video], tmp_path / "clips", extractor=fake, layout="ntu25", progress=False
    )
    base = ["embed", "--checkpoint", str(run), "--representation", "seq", "--quiet", "--input"]
    assert main([*base, str(video), "--out", str(tmp_path / "v.npy")]) == 0
    assert main([*base, str(r.clip), "--out", str(tmp_path / "c.npy")]) == 0
    v, c = np.load(tmp_path / "v.npy"), np.load(tmp_path / "c.npy")
    assert v.shape == c.shape == (1, v.shape[1]) and v.shape[1] > 0
    np.testing.assert_allclose(v, c, atol=1e-5)
    side = json.loads((tmp_path / "v.json").read_text())
    assert side["names"] == ["v"] and side["paths"] == [str(video)]
    assert (
        main(
            [
                "embed",
                "--checkpoint",
                str(run),
                "--representation",
                "seq",
                "--data",
                str(ntu2d_data),
                "--keypoints",
                "kp",
                "--out",
                str(tmp_path / "x.npy"),
            ]
        )
        == 2
    )
    assert "--keypoints and --mirror are for raw clips (--input)" in capsys.readouterr().err


# ---------------------------------------------------------------- the real backend


@pytest.fixture(scope="module")
def demo_video(shared_data):
    from skelcon.extract.mediapipe import MAKE_HINT, find_extract_python

    path = shared_data / "video" / "demo_skeleton.mp4"
    if not path.is_file():
        pytest.skip("video/demo_skeleton.mp4 is not in the shared data")
    try:
        find_extract_python()
    except SkelconError:
        pytest.skip(f"no extract environment for the mediapipe backend (make it: `{MAKE_HINT}`)")
    return path


@pytest.mark.slow
def test_the_shared_video_through_mediapipe(demo_video, ntu2d, tmp_path, capsys):
    """`predict --input video.mp4` gives the logits of `extract --layout ntu25` followed
    by `predict` on the clip (MediaPipe is deterministic on one video)."""
    clips = tmp_path / "clips"
    assert (
        main(["extract", str(demo_video), "--out", str(clips), "--layout", "ntu25", "--quiet"]) == 0
    )
    clip = clips / "demo_skeleton.json"
    doc = json.loads(clip.read_text())
    assert doc["layout"] == "ntu25" and doc["converted_from"] == "mediapipe33"
    base = ["predict", "--model", str(ntu2d), "--quiet", "--out"]
    assert main([*base, str(tmp_path / "a"), "--input", str(clip)]) == 0
    assert main([*base, str(tmp_path / "b"), "--input", str(demo_video)]) == 0
    a, b = (json.loads((tmp_path / d / "predictions.json").read_text()) for d in "ab")
    assert a["clips"][0]["num_frames"] == b["clips"][0]["num_frames"] == 40  # 72, resampled
    np.testing.assert_allclose(a["clips"][0]["logits"], b["clips"][0]["logits"], atol=1e-5)
    out = capsys.readouterr().out
    assert out.count("demo_skeleton: ") == 2
