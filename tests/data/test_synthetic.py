"""The procedural synthetic dataset: format, determinism, physical consistency, and that
its classes are learnable from motion but not from per-sample statistics."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from skelcon.cli import main
from skelcon.data.layouts import NTU25
from skelcon.data.normalize import normalize
from skelcon.data.prepared import load_prepared, read_meta
from skelcon.data.synthetic import (
    CLASSES,
    TWO_PERSON,
    euler_to_matrix,
    forward_kinematics,
    generate_synthetic,
    prepare_batch,
    stratified_split,
    synthesize,
)
from skelcon.errors import SkelconError

PER_CLASS = 30
FRAMES = 64


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synthetic") / "syn"
    return generate_synthetic(out, per_class=PER_CLASS, max_frames=FRAMES, seed=0)


@pytest.fixture(scope="module")
def splits(dataset: Path):
    return load_prepared(dataset, "default", "train"), load_prepared(dataset, "default", "test")


def _valid(num_frames: np.ndarray, t: int) -> np.ndarray:
    return np.arange(t)[None, :] < num_frames[:, None]  # (N, T)


# ----------------------------------------------------------------------------- format
def test_enough_distinct_classes_with_two_person_ones():
    assert len(CLASSES) >= 10 and len(set(CLASSES)) == len(CLASSES)
    assert {"handshake", "push"} <= TWO_PERSON < set(CLASSES)


def test_shapes_dtype_labels_and_meta(dataset: Path, splits):
    meta = read_meta(dataset)
    n = PER_CLASS * len(CLASSES)
    assert meta["dataset"] == "synthetic" and meta["layout"] == "ntu25"
    assert meta["classes"] == list(CLASSES) and meta["num_classes"] == len(CLASSES)
    assert meta["shape"] == [n, 3, FRAMES, 25, 2]
    assert meta["counts"]["per_class"] == [PER_CLASS] * len(CLASSES)
    gen = meta["generator"]
    assert (gen["per_class"], gen["max_frames"], gen["seed"]) == (PER_CLASS, FRAMES, 0)
    train, test = splits
    assert len(train) + len(test) == n
    assert not set(train.indices) & set(test.indices)
    for sp in splits:
        x = sp.data[:]
        assert x.shape == (len(sp), 3, FRAMES, 25, 2) and x.dtype == np.float32
        assert np.isfinite(x).all()
        assert sp.labels.dtype == np.int64
        assert sp.labels.min() >= 0 and sp.labels.max() < len(CLASSES)
        assert len(set(sp.names)) == len(sp)


def test_every_class_in_both_splits_stratified(splits):
    train, test = splits
    k = round(0.3 * PER_CLASS)
    np.testing.assert_array_equal(np.bincount(test.labels, minlength=len(CLASSES)), k)
    np.testing.assert_array_equal(np.bincount(train.labels, minlength=len(CLASSES)), PER_CLASS - k)


def test_num_frames_bounds_and_zeros_after(splits):
    lo = math.ceil(0.4 * FRAMES)
    for sp in splits:
        x, nf = sp.data[:], sp.num_frames
        assert nf.min() >= lo and nf.max() <= FRAMES
        assert len(np.unique(nf)) > 10  # lengths really vary
        after = ~_valid(nf, FRAMES)[:, None, :, None, None]
        assert not np.any(x * after)
        # the last valid frame of person 1 holds a skeleton
        last = x[np.arange(len(x)), :, nf - 1, :, 0]  # (N, 3, V)
        assert (np.abs(last).sum(axis=(1, 2)) > 0).all()


def test_person_two_only_in_two_person_classes(splits):
    for sp in splits:
        x = sp.data[:]
        two = np.array([CLASSES[y] in TWO_PERSON for y in sp.labels])
        valid = _valid(sp.num_frames, FRAMES)
        p2_present = np.abs(x[..., 1]).sum(axis=(1, 3)) > 0  # (N, T)
        assert not p2_present[~two].any()
        # in two-person classes person 2 is there in (almost) every valid frame
        frac = (p2_present & valid)[two].sum(axis=1) / valid[two].sum(axis=1)
        assert frac.min() == 1.0


def test_normalised_like_the_real_datasets(splits):
    """Centred on joint 1 of person 1 per frame; spine and shoulders aligned at frame 0."""
    sp = splits[0]
    x = sp.data[:200]
    valid = _valid(sp.num_frames[:200], FRAMES)
    assert np.abs(x[:, :, :, NTU25.center, 0]).max() < 1e-6
    # ... while the neck (never dropped) sits ~0.3 m above it in every valid frame
    neck = np.linalg.norm(x[:, :, :, 2, 0], axis=1)  # (N, T)
    assert (neck[valid] > 0.15).all() and not neck[~valid].any()
    shoulders = x[:, :, 0, 8, 0] - x[:, :, 0, 4, 0]  # (N, 3) right - left, frame 0
    np.testing.assert_allclose(shoulders[:, 1:], 0.0, atol=1e-5)
    assert (shoulders[:, 0] > 0.2).all()  # about shoulder width, along +x
    spine = x[:, :, 0, 1, 0] - x[:, :, 0, 0, 0]
    assert (spine[:, 2] > 0.8 * np.linalg.norm(spine, axis=1)).all()  # spine roughly along +z


def test_prepare_batch_equals_normalize_on_valid_frames():
    rng = np.random.default_rng(5)
    for label in (CLASSES.index("handshake"), CLASSES.index("jump")):
        raw, n = synthesize(label, rng, max_frames=48, normalise=False)
        ours = prepare_batch(raw[None])[0]
        ref = normalize(raw[:, :n], n, NTU25)
        np.testing.assert_allclose(ours[:, :n], ref, atol=1e-6)
        assert not ours[:, n:].any()


# ----------------------------------------------------------------------------- determinism
def test_reproducible_bytes_and_seed_dependent(tmp_path: Path):
    kw = dict(per_class=3, max_frames=32, classes=["clap", "push", "sit_down"])
    a = generate_synthetic(tmp_path / "a", seed=7, **kw)
    b = generate_synthetic(tmp_path / "b", seed=7, **kw)
    c = generate_synthetic(tmp_path / "c", seed=8, **kw)
    for f in ("data.npy", "labels.npy", "num_frames.npy", "names.npy", "splits/default/test.npy"):
        assert (a / f).read_bytes() == (b / f).read_bytes(), f
    assert (a / "data.npy").read_bytes() != (c / "data.npy").read_bytes()


def test_samples_do_not_depend_on_the_class_subset(tmp_path: Path):
    full = generate_synthetic(tmp_path / "full", per_class=2, max_frames=32, seed=3)
    sub = generate_synthetic(tmp_path / "sub", per_class=2, max_frames=32, seed=3, classes=["kick"])
    x_full = np.load(full / "data.npy")
    names_full = list(np.load(full / "names.npy"))
    x_sub, names_sub = np.load(sub / "data.npy"), list(np.load(sub / "names.npy"))
    assert read_meta(sub)["classes"] == ["kick"]
    for i, name in enumerate(names_sub):
        np.testing.assert_array_equal(x_sub[i], x_full[names_full.index(name)])


# ----------------------------------------------------------------------------- physics
def test_euler_to_matrix_composition():
    e = np.random.default_rng(0).normal(size=(4, 3))

    def rx(a):
        return np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])

    def ry(a):
        return np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])

    def rz(a):
        return np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])

    m = euler_to_matrix(e)
    for i in range(4):
        np.testing.assert_allclose(m[i], ry(e[i, 1]) @ rz(e[i, 2]) @ rx(e[i, 0]), atol=1e-12)


def test_forward_kinematics_hand_computed():
    """Rest pose: positions are sums of offsets; a 90 deg forward flexion of the right
    upper arm (bone ending at the right elbow, joint 9) points it along -z."""
    off = np.zeros((25, 3))
    off[1] = (0, 0.3, 0)  # spine mid
    off[20] = (0, 0.2, 0)  # spine shoulder
    off[8] = (0.15, 0, 0)  # right shoulder
    off[9] = (0, -0.25, 0)  # right elbow
    off[10] = (0, -0.25, 0)  # right wrist
    angles = np.zeros((2, 25, 3))
    angles[1, 9, 0] = np.pi / 2
    pos = forward_kinematics(angles, off)
    np.testing.assert_allclose(pos[0, 10], (0.15, 0.5 - 0.5, 0), atol=1e-12)
    np.testing.assert_allclose(pos[1, 9], (0.15, 0.5, -0.25), atol=1e-12)
    np.testing.assert_allclose(pos[1, 10], (0.15, 0.5, -0.5), atol=1e-12)


def _bone_lengths(x: np.ndarray, n: int, person: int) -> np.ndarray:
    """(n, num_bones) lengths of the layout's bones."""
    child, parent = np.array(NTU25.bones).T
    d = x[:, :n, child, person] - x[:, :n, parent, person]
    return np.linalg.norm(d, axis=0)


@pytest.mark.parametrize("name", CLASSES)
def test_bone_lengths_constant_without_noise(name: str):
    label = CLASSES.index(name)
    rng = np.random.default_rng([11, label])
    x, n = synthesize(label, rng, max_frames=60, noise=False, dropout=False)
    for m in range(2 if name in TWO_PERSON else 1):
        lengths = _bone_lengths(x, n, m)
        assert np.ptp(lengths, axis=0).max() < 1e-5
        assert 0.015 < lengths.min() and lengths.max() < 0.55  # human sized, metres
    # with sensor noise the same bones do change length
    x_noisy, n_noisy = synthesize(label, np.random.default_rng([11, label]), max_frames=60)
    assert n_noisy == n
    assert np.ptp(_bone_lengths(x_noisy, n, 0), axis=0).max() > 1e-3


def test_raw_coordinates_are_kinect_like():
    rng = np.random.default_rng(2)
    for _ in range(10):
        x, n = synthesize(CLASSES.index("clap"), rng, max_frames=40, normalise=False)
        p = x[:, :n, :, 0]
        depth = p[2][p[2] != 0]
        assert 1.5 < depth.min() and depth.max() < 5.0
        assert 2.5 < np.median(p[2, :, 0]) < 3.9  # spine base 2.6-3.8 m from the camera
        # y is up: the head is well above the ankles in the first frame
        assert p[1, 0, 3] - p[1, 0, [14, 18]].mean() > 1.0


# ----------------------------------------------------------------------------- learnability
def _valid_mean(x: np.ndarray, nf: np.ndarray) -> np.ndarray:
    w = _valid(nf, x.shape[2])[:, None, :, None, None]
    return (x * w).sum(axis=2) / w.sum(axis=2)  # (N, C, V, M)


def _global_stats(x: np.ndarray, nf: np.ndarray) -> np.ndarray:
    w = _valid(nf, x.shape[2])[:, None, :, None, None]
    mean = _valid_mean(x, nf).mean(axis=(2, 3))  # (N, C)
    cnt = w.sum(axis=(2, 3, 4)) * x.shape[3] * x.shape[4]
    var = (((x - mean[:, :, None, None, None]) ** 2) * w).sum(axis=(2, 3, 4)) / cnt
    return np.concatenate([mean, np.sqrt(var)], axis=1)  # 6 features


def _trajectories(x: np.ndarray, nf: np.ndarray, length: int = 8) -> np.ndarray:
    """Centre 95 % of the valid frames, linearly resampled to ``length``, flattened."""
    k = np.maximum((nf * 0.95).astype(int), 1)
    s = (nf - k) // 2
    src = s[:, None] + np.linspace(0, 1, length)[None, :] * (k - 1)[:, None]
    lo = np.floor(src).astype(int)
    hi = np.minimum(lo + 1, (s + k - 1)[:, None])
    w = (src - lo)[:, :, None, None, None]
    xt = x.transpose(0, 2, 1, 3, 4)  # (N, T, C, V, M)
    rows = np.arange(len(x))[:, None]
    return ((1 - w) * xt[rows, lo] + w * xt[rows, hi]).reshape(len(x), -1)


def _linear_accuracy(train_f, train_y, test_f, test_y) -> float:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):  # tiny problem; thread start-up would dominate
        clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=200))
        clf.fit(train_f, train_y)
        return float(clf.score(test_f, test_y))


@pytest.mark.slow
def test_learnable_from_motion_but_not_from_statistics(splits):
    import warnings

    train, test = splits
    xtr, xte = train.data[:], test.data[:]
    chance = 1.0 / len(CLASSES)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lbfgs may stop at max_iter: fine here
        acc_global = _linear_accuracy(
            _global_stats(xtr, train.num_frames),
            train.labels,
            _global_stats(xte, test.num_frames),
            test.labels,
        )
        acc_joint_mean = _linear_accuracy(
            _valid_mean(xtr, train.num_frames)[..., 0].reshape(len(xtr), -1),
            train.labels,
            _valid_mean(xte, test.num_frames)[..., 0].reshape(len(xte), -1),
            test.labels,
        )
        acc_motion = _linear_accuracy(
            _trajectories(xtr, train.num_frames),
            train.labels,
            _trajectories(xte, test.num_frames),
            test.labels,
        )
    print(
        f"\nglobal stats {acc_global:.3f}, per-joint means {acc_joint_mean:.3f}, "
        f"trajectories {acc_motion:.3f}, chance {chance:.3f}"
    )
    assert acc_global < 0.6
    assert acc_joint_mean < 0.8
    assert acc_motion > 10 * chance
    assert acc_motion > acc_joint_mean + 0.08


def test_time_reversed_pairs_have_the_same_statistics(splits):
    """Classes that are time reversals of each other are confused by per-joint means."""
    train, _ = splits
    x = train.data[:]
    means = _valid_mean(x, train.num_frames)[..., 0].reshape(len(x), -1)
    for a, b, other in (("sit_down", "stand_up", "squat"), ("pick_up", "put_down", "bow")):
        ma, mb, mo = (means[train.labels == CLASSES.index(k)].mean(0) for k in (a, b, other))
        assert np.linalg.norm(ma - mb) < 0.5 * np.linalg.norm(ma - mo)


# ----------------------------------------------------------------------------- API / CLI
def test_stratified_split_rounding_and_minimum():
    labels = np.repeat([0, 1, 2], [10, 2, 5])
    tr, te = stratified_split(labels, 0.3, np.random.default_rng(0))
    assert np.bincount(labels[te]).tolist() == [3, 1, 2]
    assert np.bincount(labels[tr]).tolist() == [7, 1, 3]
    assert sorted(np.concatenate([tr, te]).tolist()) == list(range(len(labels)))


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        (dict(per_class=1), "^per_class must"),  # the parameter; the CLI says the flag
        (dict(max_frames=8), "^max_frames must"),
        (dict(test_fraction=1.0), "^test_fraction must"),
        (dict(classes=["clap", "moonwalk"]), "moonwalk"),
    ],
)
def test_bad_arguments_raise_skelcon_error(tmp_path: Path, kwargs, fragment):
    with pytest.raises(SkelconError, match=fragment):
        generate_synthetic(tmp_path / "x", **kwargs)
    assert not (tmp_path / "x").exists()


def test_cli_writes_a_loadable_dataset(tmp_path: Path, capsys):
    out = tmp_path / "syn"
    argv = [
        "prepare",
        "synthetic",
        "--out",
        str(out),
        "--per-class",
        "4",
        "--frames",
        "24",
        "--seed",
        "1",
        "--test-fraction",
        "0.25",
        "--classes",
        "wave,handshake",
    ]
    assert main(argv) == 0
    assert "8 samples" in capsys.readouterr().out
    test = load_prepared(out, "default", "test")
    train = load_prepared(out, "default", "train")
    assert test.meta["classes"] == ["wave", "handshake"]
    assert test.meta["generator"]["test_fraction"] == 0.25
    assert len(test) == 2 and len(train) == 6
    assert train.data[:].shape == (6, 3, 24, 25, 2)


def test_cli_bad_class_exits_2(tmp_path: Path, capsys):
    assert main(["prepare", "synthetic", "--out", str(tmp_path / "o"), "--classes", "fly"]) == 2
    err = capsys.readouterr().err
    assert "fly" in err and "wave" in err and len(err.strip().splitlines()) == 1


def test_the_command_line_names_the_flags_of_those_parameters(tmp_path, capsys):
    from skelcon.cli import main

    for flags, said in (
        (["--per-class", "1"], "--per-class must"),
        (["--frames", "8"], "--frames must"),
        (["--test-fraction", "1"], "--test-fraction must"),
    ):
        assert main(["prepare", "synthetic", "--out", str(tmp_path / "x"), *flags]) == 2
        assert capsys.readouterr().err.startswith(f"skelcon: error: {said}")
