"""Every channel set that ``prepare`` accepts can be pre-trained, evaluated and
exported (x, y, z, score data once prepared fine but ``pretrain`` refused it, "must
name them")."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from skelcon.cli import main
from skelcon.data.channels import VALID_CHANNELS
from skelcon.data.prepared import PreparedWriter

FAST = [
    "--set",
    "preset=small",
    "--set",
    "moco.queue_size=8",
    "--set",
    "augment.out_len=16",
    "--set",
    "device=cpu",
    "--set",
    "representations=[seq, img, stg]",
]


def _data(out: Path, channels: tuple[str, ...]) -> Path:
    """12 clips of 10 frames, coco17, one person, 2 classes, channels ``channels``."""
    rng = np.random.default_rng(0)
    c = len(channels)
    w = PreparedWriter(
        out,
        dataset="tiny",
        layout="coco17",
        classes=["a", "b"],
        capacity=12,
        max_frames=10,
        num_persons=1,
        channels=c,
        channel_names=list(channels),
    )
    for i in range(12):
        x = rng.normal(size=(c, 10, 17, 1)).astype(np.float32) + i % 2
        if channels[-1] == "score":
            x[-1] = rng.uniform(0.5, 1, size=(10, 17, 1))
        w.add(x, i % 2, 10, f"s{i}")
    w.finalize({"default": {"train": np.arange(8), "test": np.arange(8, 12)}})
    return out


@pytest.mark.slow
@pytest.mark.parametrize("channels", VALID_CHANNELS, ids=[",".join(c) for c in VALID_CHANNELS])
def test_every_channel_set_pretrains_evaluates_exports(tmp_path, channels, capsys):
    data = _data(tmp_path / "data", channels)
    run = tmp_path / "run"
    assert (
        main(
            [
                "pretrain",
                "--data",
                str(data),
                "--out",
                str(run),
                "--epochs",
                "1",
                "--batch-size",
                "4",
                "--quiet",
                *FAST,
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "eval",
                "knn",
                "--checkpoint",
                str(run),
                "--representation",
                "seq+img+stg",
                "--data",
                str(data),
                "--out",
                str(tmp_path / "knn"),
                "--quiet",
            ]
        )
        == 0
    )
    assert json.loads((tmp_path / "knn" / "metrics.json").read_text())["num_test"] == 4
    out = tmp_path / "stg.pt"
    assert (
        main(
            [
                "export",
                "--checkpoint",
                str(run),
                "--representation",
                "stg",
                "--format",
                "torchscript",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    contract = json.loads((tmp_path / "stg.pt.json").read_text())
    assert contract["channels"] == list(channels) and contract["C"] == len(channels)
