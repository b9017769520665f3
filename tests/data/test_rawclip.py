"""``skelcon.read_clip`` reads a raw clip exactly as ``prepare`` stored it for a dataset,
a run trained on it, or a loaded encoder (the README's own-data trap: ``read_folder``
without options returned raw pixels, and an encoder fed them gave other features)."""

from __future__ import annotations

import numpy as np
import pytest
from tinydata import TINY_PRETRAIN

import skelcon
from skelcon.cli import main
from skelcon.data.clips import ClipNorm
from skelcon.data.rawclip import contract_norm
from skelcon.errors import DataFormatError, SkelconError


def _clips(root, shape, scale, seed=0):
    rng = np.random.default_rng(seed)
    for cls in ("wave", "clap"):
        (root / cls).mkdir(parents=True)
        for i in range(5):
            kp = rng.uniform(1, scale, size=shape).astype(np.float32)
            if shape[-1] == 3 and scale > 10:  # x, y, score
                kp[..., 2] = rng.uniform(0.05, 1, size=shape[:-1])
            np.save(root / cls / f"c{i}.npy", kp)
    return root


def _prepare(raw, out, flags: str):
    """``skelcon prepare folder --raw RAW --out OUT FLAGS``, which must succeed."""
    assert main(["prepare", "folder", "--raw", str(raw), "--out", str(out), *flags.split()]) == 0


def _pretrain(data, run):
    """A 1-epoch tiny run on ``data`` (batches of 4)."""
    sets = [a for it in TINY_PRETRAIN for a in ("--set", it)]
    small = ["--set", "batch_size=4", "--set", "moco.queue_size=8"]
    argv = ["pretrain", "--data", str(data), "--out", str(run), "--epochs", "1", "--quiet"]
    assert main([*argv, *sets, *small]) == 0


def _stored(data, name):
    names = list(np.load(data / "names.npy"))
    return np.load(data / "data.npy")[names.index(name)]


@pytest.mark.parametrize(
    ("shape", "scale", "flags"),
    [
        ((40, 17, 3), 720, ["--layout", "coco17", "--channels", "x,y,score", "--normalize"]),
        (
            (40, 17, 3),
            720,
            [
                "--layout",
                "coco17",
                "--channels",
                "x,y,score",
                "--normalize",
                "--image-size",
                "1280x720",
                "--score-threshold",
                "0.3",
            ],
        ),
        ((2, 40, 17, 2), 720, ["--layout", "coco17", "--normalize"]),
        ((40, 25, 3), 2, ["--layout", "ntu25", "--normalize"]),  # 3D metres
        ((40, 17, 3), 720, ["--layout", "coco17", "--channels", "x,y,score"]),  # as read
    ],
)
def test_read_clip_equals_the_prepared_sample(tmp_path, shape, scale, flags):
    raw = _clips(tmp_path / "raw", shape, scale)
    assert main(["prepare", "folder", "--raw", str(raw), "--out", str(tmp_path / "d"), *flags]) == 0
    for name in ("wave/c0", "clap/c3"):
        s = skelcon.read_clip(raw / f"{name}.npy", tmp_path / "d")
        np.testing.assert_array_equal(s.x, _stored(tmp_path / "d", name))
        assert s.num_frames == shape[-3]


def test_read_clip_like_a_run_or_an_encoder_and_other_file_channels(tmp_path):
    raw = _clips(tmp_path / "raw", (30, 17, 3), 720)
    data = tmp_path / "d"
    _prepare(str(raw), str(data), "--layout coco17 --channels x,y,score --normalize")
    _pretrain(data, tmp_path / "run")
    want = _stored(data, "wave/c1")
    model = skelcon.load_encoder(tmp_path / "run", "seq")
    for like in (tmp_path / "run", tmp_path / "run" / "last.pt", model):
        s = skelcon.read_clip(raw / "wave" / "c1.npy", like)
        np.testing.assert_array_equal(s.x, want)
    feats = model(s.x[None], np.array([s.num_frames]))
    ref = model(want[None], np.array([30]))
    assert float((feats - ref).abs().max()) == 0.0


def test_file_channels_other_than_the_datasets(tmp_path):
    """A dataset of x, y read from an estimator's x, y, score file: the score marks the
    missing joints (score 0: every channel 0), then it is dropped."""
    raw = _clips(tmp_path / "raw", (30, 17, 3), 720)
    xy = tmp_path / "xy_raw" / "wave"
    xy.mkdir(parents=True)
    kp = np.load(raw / "wave" / "c0.npy")
    kp[5, 3] = [0.0, 0.0, 0.0]  # a joint the estimator missed, stored as (0, 0)
    np.save(xy / "c0.npy", kp[..., :2])
    np.save(xy / "c1.npy", np.load(raw / "wave" / "c1.npy")[..., :2])
    _prepare(str(xy.parent), str(tmp_path / "d"), "--layout coco17 --normalize")
    kp[5, 3] = [17.0, 40.0, 0.0]  # the same miss as another estimator writes it: score 0
    np.save(tmp_path / "scored.npy", kp)
    s = skelcon.read_clip(tmp_path / "scored.npy", tmp_path / "d", channels=["x", "y", "score"])
    np.testing.assert_array_equal(s.x, _stored(tmp_path / "d", "wave/c0"))
    with pytest.raises(DataFormatError, match="scored.npy"):  # 3 channels, the dataset's 2
        skelcon.read_clip(tmp_path / "scored.npy", tmp_path / "d")


def test_what_does_not_fit_is_one_line(tmp_path):
    raw = _clips(tmp_path / "raw", (30, 17, 3), 720)
    _prepare(str(raw), str(tmp_path / "d"), "--layout coco17 --channels x,y,score --normalize")
    bad = tmp_path / "bad.npy"
    np.save(bad, np.ones((30, 25, 3), np.float32))  # 25 joints for a 17-joint layout
    with pytest.raises(DataFormatError, match="bad.npy"):
        skelcon.read_clip(bad, tmp_path / "d")
    with pytest.raises(SkelconError, match="neither a prepared dataset"):
        skelcon.read_clip(raw / "wave" / "c0.npy", tmp_path)
    with pytest.raises(SkelconError, match="does not exist"):
        skelcon.read_clip(tmp_path / "nope.npy", tmp_path / "d")


def test_contract_norm_reads_every_note():
    two = {"shape": [1, 2, 9, 17, 1]}
    assert contract_norm({**two, "normalization": "none: coordinates as read"}) == ClipNorm()
    note = ClipNorm(True, 0.3, (1920.0, 1080.0)).describe(["x", "y", "score"])
    got = contract_norm(
        {"shape": [1, 3, 9, 17, 1], "channels": ["x", "y", "score"], "normalization": note}
    )
    assert got == ClipNorm(True, 0.3, (1920.0, 1080.0))
    assert contract_norm({"shape": [1, 3, 9, 25, 2]}) == ClipNorm(True)  # NTU, PKU: 3D standard
    with pytest.raises(SkelconError, match="records no normalisation"):
        contract_norm(two)


def test_raw_pixels_fed_to_a_2d_encoder_warn_once(tmp_path):
    import warnings

    raw = _clips(tmp_path / "raw", (30, 17, 3), 720)
    data = tmp_path / "d"
    _prepare(str(raw), str(data), "--layout coco17 --channels x,y,score --normalize")
    _pretrain(data, tmp_path / "run")
    from skelcon.data.folder import read_folder

    pixels = read_folder(raw, "coco17", channels=["x", "y", "score"]).load(0)
    model = skelcon.load_encoder(tmp_path / "run", "seq")
    with pytest.warns(
        UserWarning, match=r"input coordinates reach \d+\.\d.*skelcon.read_clip"
    ) as w:
        model(pixels.x[None], [pixels.num_frames])
    assert w[0].filename == __file__  # the user's line, not torch's wrappers
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model(pixels.x[None], [pixels.num_frames])  # once per model
        good = skelcon.read_clip(raw / "wave" / "c0.npy", data)
        skelcon.load_encoder(tmp_path / "run", "seq")(good.x[None], [good.num_frames])


def test_openpose_videos_by_their_clip_name(tmp_path):
    """``prepare`` names a video of a folder of several ``<class>/<video>``: read_clip takes
    that name; one frame file or a folder of several videos is refused in one line."""
    import json

    raw = tmp_path / "raw" / "clap"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for video in ("a", "b"):
        for t in range(6):
            kp = np.c_[rng.uniform(10, 600, (25, 2)), rng.uniform(0.2, 1, (25, 1))]
            doc = {"people": [{"pose_keypoints_2d": kp.ravel().tolist()}]}
            (raw / f"{video}_{t:012d}_keypoints.json").write_text(json.dumps(doc))
    data = tmp_path / "d"
    _prepare(str(raw.parent), str(data), "--layout openpose25 --normalize")
    for name in ("clap/a", "clap/b"):
        s = skelcon.read_clip(tmp_path / "raw" / name, data)
        np.testing.assert_array_equal(s.x, _stored(data, name))
    with pytest.raises(SkelconError, match="holds 2 OpenPose videos"):
        skelcon.read_clip(raw, data)
    with pytest.raises(SkelconError, match="is one frame of the OpenPose video 'a'"):
        skelcon.read_clip(raw / "a_000000000000_keypoints.json", data)


def test_a_run_knows_its_datas_padded_length(tmp_path):
    raw = _clips(tmp_path / "raw", (50, 17, 3), 720)
    data = tmp_path / "d"
    _prepare(
        str(raw),
        str(data),
        "--layout coco17 --channels x,y,score --normalize --max-frames 30 --max-persons 1",
    )
    _pretrain(data, tmp_path / "run")
    want = _stored(data, "wave/c2")
    for like in (tmp_path / "run", skelcon.load_encoder(tmp_path / "run", "seq")):
        s = skelcon.read_clip(raw / "wave" / "c2.npy", like)
        np.testing.assert_array_equal(s.x, want)
        assert s.num_frames == 30
