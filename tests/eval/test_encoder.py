"""``load_encoder`` returns a ready model: eval mode, frozen, on the device asked for,
callable on prepared batches with the evaluation transform applied inside."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from tinydata import TINY_PRETRAIN

import skelcon
from skelcon.config import PretrainConfig, load_config
from skelcon.data.prepared import load_prepared
from skelcon.engine.pretrain import pretrain
from skelcon.errors import SkelconError
from skelcon.eval import LoadedEncoder, extract_features, load_encoder


@pytest.fixture(scope="module")
def run_dir(tiny_data, tmp_path_factory):
    cfg = load_config(PretrainConfig, None, [*TINY_PRETRAIN, "epochs=1"])
    return pretrain(cfg, tiny_data, "default", tmp_path_factory.mktemp("enc") / "r", progress=False)


@pytest.fixture(scope="module")
def test_split(tiny_data):
    return load_prepared(tiny_data, "default", "test")


def _state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in module.state_dict().items()}


@pytest.mark.parametrize("rep", ["seq", "stg", "seq+stg"])
def test_ready_model_eval_frozen_and_stateless(run_dir, test_split, rep):
    model = skelcon.load_encoder(run_dir, rep)  # the public entry point
    assert isinstance(model, LoadedEncoder) and isinstance(model, torch.nn.Module)
    assert not any(m.training for m in model.modules())
    assert not any(p.requires_grad for p in model.parameters())
    assert model.device == torch.device("cpu")
    before = _state(model)
    x, nf = test_split.data[:6], test_split.num_frames[:6]
    a = model(x, nf)  # numpy straight from the prepared split
    b = model(torch.from_numpy(x), torch.from_numpy(nf))
    assert a.shape == (6, model.feature_dim) and a.dtype == torch.float32
    assert not a.requires_grad
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    for k, v in model.state_dict().items():  # BatchNorm running stats did not move
        assert torch.equal(v, before[k]), k
    # the same numbers as the evaluation path: bare encoder in eval mode on the centre crop
    with torch.no_grad():
        ref = model.encoder.eval()(model.transform(torch.from_numpy(x), torch.from_numpy(nf)))
    torch.testing.assert_close(a, ref)


def test_memmap_views_go_in_without_a_warning(run_dir, test_split, tiny_data):
    """The README's Python API on read-only memmap views: a clip of ``test[0]`` (a row of
    the prepared split's memmap), a slice of ``np.load(..., mmap_mode="r")`` and
    ``test.data[:8]``; no "non-writable array" warning (warnings are errors here)."""
    model = load_encoder(run_dir, "seq")
    x, _, n, _ = test_split[0]
    raw = np.load(tiny_data / "data.npy", mmap_mode="r")[:8]
    assert not x.flags.writeable and not raw.flags.writeable  # what torch warns about
    nf = test_split.num_frames[:8]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        one = model(x[None], [n])
        eight = model(raw, np.load(tiny_data / "num_frames.npy", mmap_mode="r")[:8])
        batch = model(test_split.data[:8], nf)
    assert one.shape == (1, model.feature_dim) and eight.shape == batch.shape == (8, one.shape[1])
    torch.testing.assert_close(one, model(np.array(x[None]), [n]), rtol=0, atol=0)
    torch.testing.assert_close(
        eight, model(np.array(raw), np.load(tiny_data / "num_frames.npy")[:8])
    )


def test_raw_padded_clips_are_cropped(run_dir, test_split):
    """Padding a clip to 300 frames (as NTU data is stored) leaves its features alone."""
    model = load_encoder(run_dir, "seq+stg")
    x, nf = test_split.data[:4], test_split.num_frames[:4]
    padded = np.zeros((*x.shape[:2], 300, *x.shape[3:]), np.float32)
    padded[:, :, : x.shape[2]] = x
    torch.testing.assert_close(model(padded, nf), model(x, nf))
    assert model.encoder(model.transform(torch.from_numpy(x), torch.from_numpy(nf))).shape[0] == 4


def test_extract_features_takes_the_model(run_dir, test_split):
    model = load_encoder(run_dir, "stg")
    feats, labels = extract_features(model, test_split, batch_size=5, progress=False)
    assert feats.shape == (len(test_split), model.feature_dim)
    assert labels.tolist() == test_split.labels.tolist()
    torch.testing.assert_close(feats, model(test_split.data[:], test_split.num_frames))
    old, _ = extract_features(model.encoder, test_split, model.transform, "cpu", progress=False)
    torch.testing.assert_close(feats, old)
    assert not model.training  # mode restored


def test_one_int_num_frames_for_the_batch(run_dir, test_split):
    model = load_encoder(run_dir, "seq")
    x = test_split.data[:3]
    torch.testing.assert_close(model(x, 10), model(x, [10, 10, 10]))


def test_random_init_and_fine_tuning_still_possible(run_dir):
    rnd = load_encoder(run_dir, "seq", random_init=True, seed=3)
    assert rnd.checkpoint is None and not rnd.training
    enc = rnd.encoder.train().requires_grad_(True)
    x = torch.randn(2, 3, rnd.num_frames, 25, 2)
    enc(x).sum().backward()
    assert all(p.grad is not None for p in enc.parameters())


@pytest.mark.parametrize(
    ("x_shape", "nf", "needles"),
    [
        ((3, 24, 25, 2), [10], ("one clip", "x[None]")),
        ((2, 3, 24, 20, 2), [10, 10], ("does not fit", "25")),
        ((2, 2, 24, 25, 2), [10, 10], ("does not fit",)),
        ((2, 3, 24, 25, 1), [10, 10], ("does not fit",)),
        ((2, 3, 24), [10, 10], ("expected a skeleton batch",)),
        ((2, 3, 24, 25, 2), [10], ("1 entries", "2 samples")),
        ((2, 3, 24, 25, 2), [10.0, 12.0], ("integers",)),
        ((2, 3, 24, 25, 2), [0, 12], (">= 1",)),
    ],
)
def test_bad_batches_are_one_line_errors(run_dir, x_shape, nf, needles):
    model = load_encoder(run_dir, "stg")
    with pytest.raises(SkelconError) as e:
        model(np.zeros(x_shape, np.float32), np.asarray(nf))
    msg = str(e.value)
    assert "\n" not in msg and all(n in msg for n in needles), msg


def test_device_argument(run_dir):
    assert load_encoder(run_dir, "seq", device=torch.device("cpu")).device.type == "cpu"
    with pytest.raises(SkelconError, match="not valid"):
        load_encoder(run_dir, "seq", device="gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(SkelconError, match="CUDA is not available"):
            load_encoder(run_dir, "seq", device="cuda")
    else:  # on a GPU machine: the model and its outputs live there
        model = load_encoder(run_dir, "seq", device="cuda")
        assert model.device.type == "cuda"
        assert model(torch.zeros(1, 3, 24, 25, 2), [5]).device.type == "cuda"
