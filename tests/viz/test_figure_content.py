"""What the figures draw): the centre joint of centred data, an index into the
whole dataset, t-SNE panels and legends with few classes, and the curves' kNN, momentum
and legends. Checked on the matplotlib artists, not on pixels."""

from __future__ import annotations

import json

import numpy as np
import pytest
from matplotlib.collections import LineCollection, PathCollection
from tinydata import TINY_PRETRAIN, make_tiny_prepared

from skelcon.cli import main
from skelcon.config import PretrainConfig, load_config
from skelcon.data.layouts import NTU25, get_layout
from skelcon.data.normalize import is_centred
from skelcon.data.normalize2d import normalize_2d
from skelcon.data.prepared import PreparedWriter
from skelcon.engine.pretrain import pretrain
from skelcon.viz import clip, curves, tsne
from skelcon.viz.common import new_figure
from skelcon.viz.poses import draw_pose_axes, frame_limits, pose_view, present_joints


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def figures(monkeypatch):
    """The figures the plot functions save, by module (save_png still writes the PNG)."""
    from skelcon.viz import common

    seen = []

    def keep(fig, out):
        seen.append(fig)
        return common.save_png(fig, out)

    for mod in (clip, curves, tsne):
        monkeypatch.setattr(mod, "save_png", keep)
    return seen


def _segments(ax) -> int:
    return sum(len(c.get_segments()) for c in ax.collections if isinstance(c, LineCollection))


def _bones_without(layout, joint: int) -> int:
    return sum(joint not in b for b in layout.bones)


def _centred_2d(frames: int = 3, persons: int = 2) -> np.ndarray:
    rng = np.random.default_rng(1)
    x = rng.uniform(100, 900, size=(2, frames, NTU25.num_joints, persons)).astype(np.float32)
    return normalize_2d(x, NTU25, ("x", "y"))


# ---------------------------------------------------------------- 1. missing joints


def test_normalised_2d_centre_joint_and_its_bones_are_drawn():
    x = _centred_2d()
    assert np.all(x[:, :, NTU25.center, 0] == 0)  # the normalisation puts it at the origin
    seq = pose_view(x, NTU25, ["x", "y"], 3)
    assert np.isfinite(seq).all()
    fig = new_figure(3, 3)
    ax = draw_pose_axes(fig, (0, 0, 1, 1), seq, NTU25, 0, frame_limits(seq, [0]))
    assert _segments(ax) == 2 * len(NTU25.bones)  # both persons, every bone
    lim = frame_limits(seq, [0])
    assert (lim[:, 0] < 0).all() and (lim[:, 1] > 0).all()  # the origin is inside the box


def test_missing_joints_are_decided_by_the_data_format():
    x = _centred_2d(persons=1)
    wrist = NTU25.joints.index("wrist_left")
    x[:, 1, wrist, 0] = 0  # undetected in frame 1
    seq = pose_view(x, NTU25, ["x", "y"], 3)
    fig = new_figure(3, 3)
    ax = draw_pose_axes(fig, (0, 0, 1, 1), seq, NTU25, 1, frame_limits(seq, [1]))
    assert _segments(ax) == _bones_without(NTU25, wrist)
    # not centred (coordinates as read): a centre joint at exactly (0, 0) is missing
    raw = np.full((2, 2, NTU25.num_joints, 1), 5.0, np.float32)
    raw[:, 0, NTU25.center, 0] = 0
    assert not present_joints(raw, NTU25, ["x", "y"], centred=False)[0, NTU25.center, 0]
    assert present_joints(raw, NTU25, ["x", "y"], centred=True)[0, NTU25.center, 0]
    # a score channel says it: (0, 0) scored 0.8 is present, all channels 0 is missing
    scored = np.concatenate([raw, np.full_like(raw[:1], 0.8)])
    scored[2, 1, 3, 0] = 0
    scored[:2, 1, 3, 0] = 0
    p = present_joints(scored, NTU25, ["x", "y", "score"], centred=True)
    assert p[0, NTU25.center, 0] and not p[1, 3, 0]
    # the centre joint of an absent person stays missing
    empty = np.zeros((2, 1, NTU25.num_joints, 1), np.float32)
    assert not present_joints(empty, NTU25, ["x", "y"], centred=True).any()


def test_3d_poses_leave_out_missing_joints_but_keep_the_centre():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 2, NTU25.num_joints, 1)).astype(np.float32)
    x[:, :, :, 0] -= x[:, :, NTU25.center : NTU25.center + 1, 0]  # centred: centre at 0
    foot = NTU25.joints.index("foot_right")
    x[:, 0, foot, 0] = 0
    seq = pose_view(x, NTU25, ["x", "y", "z"], 2)
    fig = new_figure(3, 3)
    ax = draw_pose_axes(fig, (0, 0, 1, 1), seq, NTU25, 0, frame_limits(seq, [0, 1]))
    fig.canvas.draw()
    assert _segments(ax) == _bones_without(NTU25, foot)


@pytest.mark.parametrize(
    ("meta", "centred"),
    [
        ({"normalization": "2D: centred on spine_mid (person 1) per frame"}, True),
        ({"normalization": "none: coordinates as read"}, False),
        ({"normalisation": "skelcon.data.normalize: centre on joint 1 of person 1"}, True),
        ({"normalized": False}, False),
        ({}, True),  # NTU / PKU-MMD / NW-UCLA 3D preparations centre without saying so
    ],
)
def test_is_centred(meta, centred):
    assert is_centred(meta) is centred


def _two_benchmark_2d(out, n=6):
    """x, y data centred on the layout centre (as prepare ntu --coords color2d) with two
    benchmarks."""
    w = PreparedWriter(
        out,
        dataset="two",
        layout="ntu25",
        classes=["a", "b"],
        capacity=n,
        max_frames=4,
        num_persons=1,
        channels=2,
        channel_names=["x", "y"],
    )
    rng = np.random.default_rng(0)
    for i in range(n):
        x = rng.uniform(100, 900, size=(2, 4, 25, 1)).astype(np.float32)
        w.add(normalize_2d(x, NTU25, ("x", "y")), i % 2, 4, f"clip{i}")
    idx = np.arange(n)
    w.finalize(
        {"one": {"train": idx[:4], "test": idx[4:]}, "two": {"train": idx[2:], "test": idx[:2]}},
        normalization="2D: centred on the layout centre joint per frame",
    )
    return out


def test_plot_skeleton_of_2d_data_draws_every_bone(tmp_path, figures):
    data = _two_benchmark_2d(tmp_path / "d")
    clip.plot_skeleton(data, "one", tmp_path / "s.png", split="train", index=1, frames=2)
    axes = [ax for ax in figures[-1].axes if ax.collections]
    assert len(axes) == 2 and all(_segments(ax) == len(NTU25.bones) for ax in axes)


def test_plot_skeleton_of_scored_2d_data_draws_the_centre(data_2d, tmp_path, figures):
    clip.plot_skeleton(data_2d, "default", tmp_path / "s.png", split="train", index=0, frames=2)
    coco = get_layout("coco17")
    x = np.load(data_2d / "data.npy", mmap_mode="r")
    assert np.any(np.all(x[:, :2, :, coco.center, 0] == 0, axis=1))  # centre at (0, 0)
    for ax in [ax for ax in figures[-1].axes if ax.collections]:
        segs = np.concatenate(
            [c.get_segments() for c in ax.collections if isinstance(c, LineCollection)]
        )
        assert np.any(np.all(np.isclose(segs, 0.0), axis=-1))  # a bone ends at the centre


@pytest.fixture(scope="module")
def data_2d(tmp_path_factory):
    """A tiny x, y, score COCO-17 dataset from the plain-folder reader, normalised."""
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


# ---------------------------------------------------------------- 2. --index, no benchmark


def test_plot_skeleton_index_needs_no_benchmark(tmp_path, figures, capsys):
    data = _two_benchmark_2d(tmp_path / "d")
    out = str(tmp_path / "s.png")
    assert main(["plot", "skeleton", "--data", str(data), "--index", "5", "--out", out]) == 0
    assert figures[-1].texts[0].get_text().startswith("clip5:")  # row 5 of the whole dataset
    argv = [
        "plot",
        "skeleton",
        "--data",
        str(data),
        "--benchmark",
        "two",
        "--split",
        "test",
        "--index",
        "1",
        "--out",
        out,
    ]
    assert main(argv) == 0
    assert figures[-1].texts[0].get_text().startswith("clip1:")  # within two/test, as before
    assert main(["plot", "skeleton", "--data", str(data), "--benchmark", "one", "--out", out]) == 0
    assert figures[-1].texts[0].get_text().startswith("clip0:")  # one/train by default
    capsys.readouterr()
    for argv, said in [
        (["--index", "6"], "--index 6 outside the 6 clips of the dataset"),
        (["--split", "test"], "--benchmark is required"),
        (
            ["--benchmark", "one", "--split", "test", "--index", "2"],
            "outside the 2 clips of one/test",
        ),
    ]:
        assert main(["plot", "skeleton", "--data", str(data), *argv, "--out", out]) == 2
        err = capsys.readouterr().err
        assert said in err and err.count("\n") == 1


# ---------------------------------------------------------------- 3. t-SNE with few classes


def test_choose_subsets_never_repeats_a_subset():
    labels = np.repeat(np.arange(3), 5)
    draws = tsne.choose_subsets(labels, classes=10, subsets=3, per_class=100, seed=0)
    assert len(draws) == 1 and draws[0][0].tolist() == [0, 1, 2]
    labels = np.repeat(np.arange(4), 2)
    draws = tsne.choose_subsets(labels, classes=3, subsets=9, per_class=100, seed=0)
    assert len(draws) == 4  # comb(4, 3) distinct subsets, no more
    assert len({tuple(c.tolist()) for c, _ in draws}) == 4


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    data = make_tiny_prepared(tmp_path_factory.mktemp("tsne") / "d", n=24)
    cfg = load_config(PretrainConfig, None, [*TINY_PRETRAIN, "epochs=1", "representations=[seq]"])
    return pretrain(cfg, data, "default", data.parent / "run", progress=False), data


LONG = [
    "put something inside pocket / take out something from pocket",
    "standing up (from sitting position)",
    "c2",
]


def test_tsne_with_fewer_classes_than_asked(run, tmp_path, figures, monkeypatch):
    ckpt, data = run
    monkeypatch.setattr(tsne, "class_names", lambda meta: list(LONG))
    tsne.plot_tsne(
        ckpt,
        "seq",
        data,
        "default",
        tmp_path / "t.png",
        classes=10,
        subsets=3,
        per_class=4,
        perplexity=5,
        device="cpu",
    )
    fig = figures[-1]
    panels = [ax for ax in fig.axes if any(isinstance(c, PathCollection) for c in ax.collections)]
    assert len(panels) == 1  # not three copies of the same 3 classes
    assert "3 classes" in fig._suptitle.get_text() and "3 classes" in panels[0].get_title()
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    leg = panels[0].get_legend()
    assert [t.get_text().replace("\n", " ") for t in leg.get_texts()] == LONG  # whole names
    box, area = leg.get_window_extent(r), panels[0].get_window_extent(r)
    assert not box.overlaps(area)  # outside the scatter
    fig_box = fig.bbox
    assert fig_box.x0 <= box.x0 and box.x1 <= fig_box.x1 and fig_box.y0 <= box.y0  # not cut
    for t in leg.get_texts():
        tb = t.get_window_extent(r)
        assert fig_box.x0 <= tb.x0 and tb.x1 <= fig_box.x1 and fig_box.y0 <= tb.y0


# ---------------------------------------------------------------- 4. curves


def _run_dir(tmp_path, n_test=136, momentum=(0.99, 0.999)):
    run = tmp_path / "run"
    run.mkdir()
    recs = [{"step": 0, "epoch": 0, "knn/seq": 100 * 13 / n_test, "knn/stg": 100 * 14 / n_test}]
    for s in range(1, 41):
        m = momentum[0] + (momentum[1] - momentum[0]) * s / 40
        recs.append(
            {
                "step": s,
                "loss": 5.0 - s / 20,
                "lr": 0.1,
                "key_momentum": m,
                "loss/seq->seq": 4.0,
                "loss/stg->stg": 4.1,
                "acc/seq->seq": 50.0,
                "std/seq": 0.9,
                "pos_cos/seq": 0.5,
                "neg_cos/seq": 0.0,
                "align/seq": 1.0,
                "uniformity/seq": -2.0,
                "queue_age/seq": 3.0,
            }
        )
    recs.append(
        {"step": 40, "epoch": 1, "knn/seq": 100 * 16 / n_test, "knn/stg": 100 * 19 / n_test}
    )
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    (run / "verdict.json").write_text(json.dumps({"steps": 40, "n_test": n_test, "encoders": {}}))
    return run


def test_curves_knn_panel_says_what_a_clip_is_worth(tmp_path, figures):
    curves.plot_curves(_run_dir(tmp_path), tmp_path / "c.png")
    fig = figures[-1]
    knn = next(ax for ax in fig.axes if ax.get_title().startswith("kNN"))
    assert "1 test clip = 0.74 points (136 clips)" in knn.get_title()
    lo, hi = knn.get_ylim()
    assert hi - lo >= curves.MIN_CLIPS * 100 / 136  # at least 10 clips wide
    assert lo <= 100 * 13 / 136 and hi >= 100 * 19 / 136


def test_curves_knn_range_without_verdict(tmp_path, figures):
    run = _run_dir(tmp_path)
    (run / "verdict.json").unlink()
    curves.plot_curves(run, tmp_path / "c.png")
    knn = next(ax for ax in figures[-1].axes if ax.get_title().startswith("kNN"))
    assert "test clips unknown" in knn.get_title()
    assert curves.knn_limits([99.0, 100.0], 50) == pytest.approx((79.0, 101.0))
    assert curves.knn_limits([0.0, 1.0], 50)[0] >= -2.0


@pytest.mark.parametrize("momentum", [(0.99, 0.99), (0.99, 1.0), (0.9, 0.999)])
def test_curves_key_momentum_axis_ends_at_one(tmp_path, figures, momentum):
    curves.plot_curves(_run_dir(tmp_path, momentum=momentum), tmp_path / "c.png")
    twin = next(ax for ax in figures[-1].axes if "momentum" in ax.get_ylabel())
    lo, hi = twin.get_ylim()
    assert hi == 1.0 and lo < min(momentum) and lo >= 0.0


def test_curves_legends_cover_no_panel(tmp_path, figures):
    curves.plot_curves(_run_dir(tmp_path), tmp_path / "c.png")
    fig = figures[-1]
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    assert len(legends) >= 6
    areas = [ax.get_window_extent(r) for ax in fig.axes]
    for leg in legends:
        box = leg.get_window_extent(r)
        assert not any(box.overlaps(a) for a in areas)  # no panel's data area under it
        assert fig.bbox.y0 <= box.y0 and box.y1 <= fig.bbox.y1
    boxes = [leg.get_window_extent(r) for leg in legends]
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])
