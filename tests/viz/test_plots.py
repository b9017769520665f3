"""Figures: each plot command on the tiny data, stick-figure geometry, one-line errors."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib import image as mpimg
from mpl_toolkits.mplot3d.art3d import Line3DCollection
from tinydata import TINY_PRETRAIN, make_tiny_prepared

from skelcon.cli import main
from skelcon.config import AugmentConfig, PretrainConfig, load_config
from skelcon.data.layouts import KINECT20, NTU25
from skelcon.data.prepared import load_prepared
from skelcon.engine.pretrain import pretrain
from skelcon.errors import SkelconError
from skelcon.viz import augment, curves, retrieval, tsne
from skelcon.viz.common import DPI, new_figure
from skelcon.viz.skeleton import draw_frame, view_rotation


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """Tiny tensors: one intra-op thread is many times faster on a busy 2-core machine."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def run(tiny_data, tmp_path_factory):
    cfg = load_config(PretrainConfig, None, [*TINY_PRETRAIN, "epochs=1", "representations=[seq]"])
    return pretrain(
        cfg, tiny_data, "default", tmp_path_factory.mktemp("viz") / "run", progress=False
    )


def _check_png(path, size_in):
    img = mpimg.imread(path)
    w, h = size_in
    assert img.shape[:2] == (round(h * DPI), round(w * DPI))
    assert img[..., :3].std() > 0.01  # something was drawn


def test_tsne(run, tiny_data, tmp_path):
    out = tsne.plot_tsne(
        run,
        "seq",
        tiny_data,
        "default",
        tmp_path / "t.png",
        classes=2,
        subsets=2,
        per_class=4,
        perplexity=5,
        device="cpu",
    )
    # 2 of the 3 classes per panel: two distinct subsets, one-line names, a one-line title
    _check_png(out, tsne.figure_size(2, tsne.legend_height(["c0", "c1"])))


def test_retrieval(run, tiny_data, tmp_path):
    out = retrieval.plot_retrieval(
        run,
        "seq",
        tiny_data,
        "default",
        tmp_path / "r.png",
        query=2,
        neighbours=3,
        frames=2,
        device="cpu",
    )
    _check_png(out, retrieval.figure_size(3, 2))


def test_augment_and_curves_via_cli(run, tiny_data, tmp_path, capsys):
    a, c = tmp_path / "a.png", tmp_path / "c.png"
    argv = [
        "plot",
        "augment",
        "--data",
        str(tiny_data),
        "--benchmark",
        "default",
        "--index",
        "1",
        "--frames",
        "3",
        "--out",
        str(a),
        "--set",
        "augment.out_len=16",
    ]
    assert main(argv) == 0
    _check_png(a, augment.figure_size(3))
    assert main(["plot", "curves", str(run), "--out", str(c)]) == 0
    _check_png(c, curves.figure_size())  # 2 x 4 panels: curves and monitors
    assert "written to" in capsys.readouterr().out


def test_nearest_is_cosine():
    import torch

    train = torch.tensor([[10.0, 0.0], [1.0, 1.0], [0.0, 3.0]])
    idx, sims = retrieval.nearest(train, torch.tensor([2.0, 2.1]), 2)
    assert idx.tolist() == [1, 2]  # by angle, not by distance
    assert sims[0] == pytest.approx((2.0 + 2.1) / (2**0.5 * (2.0**2 + 2.1**2) ** 0.5), abs=1e-6)


@pytest.mark.parametrize("layout", [NTU25, KINECT20])
def test_one_segment_per_bone_per_drawn_person(layout):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 4, layout.num_joints, 2)).astype(np.float32)
    x[:, 1, :, 1] = 0  # frame 1: second person absent
    fig = new_figure(3, 3)
    ax = fig.add_subplot(projection="3d")
    draw_frame(ax, x, layout, 0)
    draw_frame(ax, x, layout, 1)
    fig.canvas.draw()
    colls = [c for c in ax.collections if isinstance(c, Line3DCollection)]
    assert [len(c.get_segments()) for c in colls] == [len(layout.bones)] * 3


def test_view_rotation_stands_the_person_up():
    # a y-up skeleton facing -z with its shoulders (left -> right) along -x
    x = np.zeros((3, 2, NTU25.num_joints, 1), np.float32)
    base, top = NTU25.spine
    left, right = NTU25.shoulders
    x[:, :, top, 0] = np.array([0, 0.5, 0])[:, None]
    x[:, :, left, 0] = np.array([0.2, 0.6, 0])[:, None]
    x[:, :, right, 0] = np.array([-0.2, 0.6, 0])[:, None]
    r = view_rotation(x, NTU25)
    np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-6)
    assert np.linalg.det(r) == pytest.approx(1.0)
    np.testing.assert_allclose(r @ np.array([0, 1.0, 0]), [0, 0, 1], atol=1e-6)  # spine -> up (+z)
    np.testing.assert_allclose(r @ np.array([-1.0, 0, 0]), [1, 0, 0], atol=1e-6)  # shoulders -> +x


def test_augmented_views_crop_times_are_the_interpolation_sources(tmp_path):
    data = make_tiny_prepared(tmp_path / "d", n=4, frames=30)
    from skelcon.data.prepared import load_prepared

    s = load_prepared(data, "default", "train")
    x, n = np.asarray(s.data[0]), int(s.num_frames[0])
    cfg = AugmentConfig(out_len=12, l_min=0.3, jitter_joints=7)
    v = augment.augmented_views(x, n, cfg, seed=5)
    t = v["crop_time"]
    assert 0 <= t[0] <= t[-1] <= n - 1 and np.all(np.diff(t) >= 0)
    lo = np.floor(t).astype(int)
    hi = np.minimum(lo + 1, n - 1)
    w = (t - lo)[None, :, None, None]
    expect = x[:, lo] * (1 - w) + x[:, hi] * w
    np.testing.assert_allclose(v["crop"], expect, atol=1e-4)
    assert v["jittered"].sum() == 7  # every joint of this sample is non-zero
    assert v["shear"].shape == x.shape and not np.allclose(v["shear"], x)


def test_errors_are_one_line(run, tiny_data, tmp_path, capsys):
    cases = [
        lambda: tsne.plot_tsne(
            tmp_path / "missing", "seq", tiny_data, "default", tmp_path / "x.png"
        ),
        lambda: tsne.plot_tsne(run, "foo", tiny_data, "default", tmp_path / "x.png"),
        lambda: retrieval.plot_retrieval(run, "img", tiny_data, "default", tmp_path / "x.png"),
        lambda: retrieval.plot_retrieval(
            run, "seq", tiny_data, "default", tmp_path / "x.png", query=999
        ),
        lambda: augment.plot_augment(tiny_data, "nope", tmp_path / "x.png"),
        lambda: curves.plot_curves(tmp_path / "missing", tmp_path / "x.png"),
    ]
    for case in cases:
        with pytest.raises(SkelconError) as e:
            case()
        assert "\n" not in str(e.value)
    assert not (tmp_path / "x.png").exists()
    assert main(["plot", "curves", str(tmp_path), "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "metrics.jsonl" in err


def test_curves_of_older_runs_and_wrong_paths(run, tmp_path, capsys):
    # a run from before the monitors: only loss and lr per step
    old = tmp_path / "old"
    old.mkdir()
    (old / "metrics.jsonl").write_text(
        '{"step": 1, "loss": 5.0, "lr": 0.1}\n{"step": 2, "loss": 4.0, "lr": 0.1}\n'
    )
    (old / "config.yaml").write_text("moco: [1, 2]\naugment: 3\n")  # malformed, still drawn
    out = curves.plot_curves(old, tmp_path / "old.png")
    _check_png(out, curves.figure_size())
    assert main(["plot", "curves", str(run / "last.pt"), "--out", str(tmp_path / "x.png")]) == 2
    assert "not a pre-training run directory" in capsys.readouterr().err


def test_curves_draw_the_monitors(run, tmp_path):
    import json

    recs = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in recs if "knn/seq" in r] == [0, 1]  # baseline and last epoch
    keys, steps = curves._series(recs, "knn/seq")
    assert keys == [0, 4] and all(0 <= v <= 100 for v in steps)


@pytest.fixture(scope="module")
def data_2d(tmp_path_factory):
    """A tiny x, y, score COCO-17 dataset from the plain-folder reader."""
    from skelcon.data.clips import ClipNorm
    from skelcon.data.folder import prepare_folder
    from skelcon.examples import write_folder

    root = tmp_path_factory.mktemp("viz2d")
    raw = write_folder(root / "clips", num_classes=2, per_class=3)
    return prepare_folder(
        raw,
        root / "data",
        layout="coco17",
        channels=["x", "y", "score"],
        norm=ClipNorm(True),
        test_fraction=0.0,
        progress=False,
    )


def test_2d_poses_are_drawn_flat_with_present_bones_only():
    from matplotlib.collections import LineCollection

    from skelcon.data.layouts import get_layout
    from skelcon.viz.poses import draw_pose_axes, frame_limits, pose_view

    coco = get_layout("coco17")
    x = np.random.default_rng(0).uniform(1, 2, size=(2, 3, 17, 1)).astype(np.float32)
    x[:, 0, 9, 0] = 0  # left wrist undetected in frame 0: its bone is not drawn
    x = pose_view(x, coco, ["x", "y"], 3, centred=False)  # missing joints -> NaN
    fig = new_figure(3, 3)
    lim = frame_limits(x, [0, 1])
    ax = draw_pose_axes(fig, (0, 0, 1, 1), x, coco, 0, lim, caption="t")
    colls = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert [len(c.get_segments()) for c in colls] == [len(coco.bones) - 1]
    assert ax.get_ylim()[0] > ax.get_ylim()[1]  # image y axis points down
    assert lim.shape == (2, 2) and (lim[:, 0] <= 1).all() and (lim[:, 1] >= 2).all()


def test_skeleton_and_augment_plots_of_2d_data(data_2d, tmp_path, capsys):
    out = tmp_path / "s.png"
    assert (
        main(
            [
                "plot",
                "skeleton",
                "--data",
                str(data_2d),
                "--index",
                "2",
                "--frames",
                "3",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    _check_png(out, (3 * 2.2, 2.8))
    a = tmp_path / "a.png"
    assert (
        main(
            [
                "plot",
                "augment",
                "--data",
                str(data_2d),
                "--frames",
                "2",
                "--out",
                str(a),
                "--set",
                "augment.out_len=16",
                "--set",
                "augment.jitter_joints=5",
            ]
        )
        == 0
    )
    _check_png(a, augment.figure_size(2))
    x = np.asarray(load_prepared(data_2d, "default", "train").data[0])
    v = augment.augmented_views(x, 10, AugmentConfig(out_len=8, jitter_joints=5), coords=2)
    assert np.array_equal(v["shear"][2], x[2]) and np.array_equal(v["jitter"][2], x[2])
    assert (
        main(["plot", "skeleton", "--data", str(data_2d), "--index", "99", "--out", str(out)]) == 2
    )
    assert "--index 99 outside the" in capsys.readouterr().err
