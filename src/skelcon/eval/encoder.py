"""Rebuild a pre-trained query encoder (or a random one) for downstream use."""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ..config import parse_representations
from ..data.rawclip import unnormalised_note
from ..engine.build import build_encoders
from ..engine.checkpoint import load_checkpoint, load_weights, strip_ddp_prefix
from ..errors import SkelconError, choices_message


class ConcatEncoder(nn.Module):
    """Concatenates the features of several encoders: ``(N, sum(feature_dim))``."""

    def __init__(self, encoders: dict[str, nn.Module]):
        super().__init__()
        self.encoders = nn.ModuleDict(encoders)
        self.feature_dim = sum(e.feature_dim for e in encoders.values())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([e(x) for e in self.encoders.values()], dim=1)


ArrayLike = torch.Tensor | np.ndarray | Sequence[int] | int


def check_num_frames(nf: torch.Tensor, n: int) -> torch.Tensor:
    """``nf`` flattened, after checking it holds integers (``[]`` of any type for no
    clip) and each of the ``n`` clips'
    count is >= 1 (SkelconError otherwise; a count that is not ``n`` is left to the
    input transform, which names both)."""
    if nf.numel() and (nf.dtype.is_floating_point or nf.dtype == torch.bool):
        raise SkelconError(f"num_frames must hold integers, got {nf.dtype}")
    nf = nf.reshape(-1)
    if nf.numel() == n and nf.numel() and int(nf.min()) < 1:
        raise SkelconError(f"num_frames must be >= 1, got {int(nf.min())}")
    return nf


def _as_tensor(value: torch.Tensor | ArrayLike) -> torch.Tensor:
    """``value`` as a tensor; a read-only array (a slice of a prepared split's memmap,
    ``load_prepared(...).data[:8]``) is copied first, which torch would otherwise share
    with a "non-writable array" warning."""
    if torch.is_tensor(value):
        return value
    arr = np.asarray(value)
    if not arr.flags.writeable:
        arr = np.array(arr)  # a writable copy (the batch is copied to float32 anyway)
    return torch.as_tensor(arr)


class LoadedEncoder(nn.Module):
    """A (pre-trained or random) encoder ready for feature extraction.

    Calling it, ``model(x, num_frames)``, maps a batch as stored in a prepared dataset
    to features: ``x (N, C, T, V, M)`` float (any ``T``: the raw padded clips) and
    ``num_frames (N,)`` int (valid frames per clip) give ``(N, D)`` float32 features,
    ``D = model.feature_dim``, on the model's device, computed under ``no_grad`` on the
    evaluation input (:meth:`transform`: centre crop of 95 % of the valid frames,
    resized to :attr:`num_frames` frames), exactly what linear/kNN evaluation and
    ``skelcon embed`` compute. Tensors or numpy arrays are accepted; a shape the
    encoder was not built for raises :class:`~skelcon.errors.SkelconError`.

    Attributes: ``encoder`` (the bare ``nn.Module``; it expects the *transformed*
    input ``(N, C, num_frames, V, M)``, e.g. for fine-tuning), ``spec`` (layout, sizes
    and frames the encoder was built for), ``representations``, ``preset``,
    ``checkpoint`` (``None`` for random weights), ``epoch`` (the checkpoint's
    finished pre-training epochs; ``None`` for random weights) and ``imported`` (the
    checkpoint's ``imported`` entry when its weights were imported by ``skelcon
    import-weights`` rather than pre-trained by skelcon: source, file, SHA-256; else
    ``None``).
    """

    def __init__(
        self,
        encoder: nn.Module,
        spec: dict[str, Any],
        representations: list[str],
        preset: str,
        checkpoint: str | None,
        epoch: int | None = None,
        imported: dict[str, Any] | None = None,
    ):
        super().__init__()
        self.encoder = encoder
        self.spec = dict(spec)
        self.representations = list(representations)
        self.preset = preset
        self.checkpoint = checkpoint
        self.epoch = epoch
        self.imported = dict(imported) if imported else None
        self._scale_checked = False  # the first batch's coordinates are checked once

    @property
    def stream(self) -> str:
        """The input stream the encoder applies to the joints it is given: ``joint``,
        ``bone`` or ``motion`` (:mod:`skelcon.encoders.streams`)."""
        return str(self.spec.get("stream") or "joint")

    @property
    def num_frames(self) -> int:
        """Frames per clip the encoder takes (the pre-training view length)."""
        return int(self.spec["num_frames"])

    @property
    def feature_dim(self) -> int:
        """``D``, the width of the features."""
        return int(self.encoder.feature_dim)

    @property
    def device(self) -> torch.device:
        """Where the weights are (inputs are moved there)."""
        p = next(self.encoder.parameters(), None)
        return p.device if p is not None else torch.device("cpu")

    def transform(self, x: torch.Tensor, num_frames: torch.Tensor) -> torch.Tensor:
        """The evaluation input transform: ``x (N, C, T, V, M)``, ``num_frames (N,)`` ->
        ``(N, C, self.num_frames, V, M)``, the centre crop of 95 % of the valid frames
        resized to :attr:`num_frames` (SkelconError for a malformed batch)."""
        from ..augment import center_crop_resize

        return center_crop_resize(x, num_frames, out_len=self.num_frames)

    def _check_shape(self, shape: tuple[int, ...]) -> None:
        spec = self.spec
        if len(shape) == 4:
            raise SkelconError(
                f"got one clip of shape {shape} (C, T, V, M); the encoder takes a batch "
                "(N, C, T, V, M): pass x[None] and num_frames [n]"
            )
        if len(shape) != 5:
            raise SkelconError(f"expected a skeleton batch (N, C, T, V, M), got shape {shape}")
        want = (spec["in_channels"], spec["num_joints"], spec["num_persons"])
        if (shape[1], shape[3], shape[4]) != tuple(want):
            raise SkelconError(
                f"batch of shape {shape} does not fit the encoder: it expects "
                f"(N, {want[0]}, T, {want[1]}, {want[2]}) (C, V, M of {spec.get('layout')} data)"
            )

    @torch.no_grad()
    def forward(self, x: torch.Tensor | np.ndarray, num_frames: ArrayLike) -> torch.Tensor:
        """``x (N, C, T, V, M)``, ``num_frames (N,)`` (or one int for all) -> ``(N, D)``
        float32 features on :attr:`device` (see the class doc); ``N = 0`` gives ``(0, D)``.
        The first batch of a model trained on normalised 2D keypoints that holds
        coordinates far beyond body lengths (raw pixels) gets a ``UserWarning`` naming
        :func:`skelcon.read_clip`."""
        shape = tuple(int(s) for s in np.shape(x))
        self._check_shape(shape)
        dev = self.device
        x = _as_tensor(x).to(device=dev, dtype=torch.float32)
        if isinstance(num_frames, (int, np.integer)):
            num_frames = [int(num_frames)] * shape[0]
        nf = _as_tensor(num_frames).to(device=dev)
        nf = check_num_frames(nf, shape[0])
        if shape[0] == 0:  # no clip: no features (the encoders cannot reshape 0 rows)
            return torch.zeros((0, self.feature_dim), device=dev)
        if not self._scale_checked:  # raw pixels fed to a 2D-normalised encoder: say so once
            self._scale_checked = True
            note = unnormalised_note(self.spec, x)
            if note:
                warnings.warn(note, UserWarning, stacklevel=_user_stacklevel())
        return self.encoder(self.transform(x, nf)).float()

    def extra_repr(self) -> str:
        return (
            f"representations={'+'.join(self.representations)}, preset={self.preset}, "
            f"frames={self.num_frames}, feature_dim={self.feature_dim}, "
            f"checkpoint={self.checkpoint!r}"
        )


def check_stream(spec: dict[str, Any], stream: str | None, checkpoint: object) -> None:
    """Refuse ``stream`` (when given) if the checkpoint's encoders were built for another
    input stream; one-line :class:`SkelconError`."""
    from ..config import STREAMS

    have = str(spec.get("stream") or "joint")
    if stream is None or stream == have:
        return
    if stream not in STREAMS:
        raise SkelconError(choices_message("stream", stream, STREAMS), param="stream")
    raise SkelconError(
        f"stream {stream} does not match checkpoint {str(checkpoint)!r}, pre-trained on the "
        f"{have} stream (its encoders take joints and compute the {have} stream themselves; "
        f"give {have} or a run pre-trained on {stream})",
        param="stream",
    )


def _user_stacklevel() -> int:
    """The ``stacklevel`` of :func:`warnings.warn` called in :meth:`LoadedEncoder.forward`
    that names the user's line: the first frame outside skelcon and torch (``nn.Module``
    and ``no_grad`` wrap ``forward``)."""
    level, frame = 1, sys._getframe(1)
    while frame is not None and str(frame.f_globals.get("__name__", "")).startswith(
        ("skelcon.", "torch")
    ):
        frame, level = frame.f_back, level + 1
    return level


def load_encoder(
    checkpoint: str | os.PathLike,
    representation: str | list[str],
    *,
    device: str | torch.device = "cpu",
    random_init: bool = False,
    seed: int | None = None,
    stream: str | None = None,
) -> LoadedEncoder:
    """The query encoder(s) of ``checkpoint`` for ``representation`` as a ready model.

    ``checkpoint``: a run directory (its ``last.pt``) or a ``.pt`` file;
    ``representation``: ``"seq"``, ``"img"``, ``"stg"`` or a combination like
    ``"seq+stg"`` (features concatenated). The model is in eval mode (BatchNorm uses
    its running statistics), its parameters do not require gradients, and it is on
    ``device`` (``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"auto"`` or a
    :class:`torch.device`). ``model(x (N, C, T, V, M), num_frames (N,))`` returns
    ``(N, D)`` features (see :class:`LoadedEncoder`).

    ``random_init`` builds the same architecture with fresh weights, the baseline for
    every report: with ``seed`` None (the default) exactly the run's own query encoders
    before its first step (built as pre-training builds them: every representation of
    the run in its order, after seeding with the run's seed), so ``eval knn
    --random-init`` reproduces the run's epoch-0 kNN monitor figure; another ``seed`` draws
    other weights the same way. Projection heads are not included.

    The encoders apply the run's input stream (``joint``, ``bone`` or ``motion``,
    recorded in the checkpoint) to the joints they are given; ``stream``, when given,
    must be that stream.

    Raises SkelconError for a missing or unreadable checkpoint, a representation it
    does not hold, a ``stream`` other than the run's, or an unusable device.
    """
    from ..engine.device import resolve_device

    dev = resolve_device(str(device))
    ckpt = load_checkpoint(checkpoint)
    have = list(ckpt["representations"])
    try:
        reps = parse_representations(representation)
    except SkelconError as e:
        raise SkelconError(
            f"{e}; checkpoint {str(checkpoint)!r} holds: {', '.join(have)}"
        ) from None
    missing = [r for r in reps if r not in have]
    if missing:
        raise SkelconError(
            f"representation {'+'.join(missing)!r} is not in checkpoint {str(checkpoint)!r} "
            f"(it holds: {', '.join(have)})"
        )
    preset = ckpt["config"]["preset"]
    spec = dict(ckpt["data"])
    check_stream(spec, stream, checkpoint)
    if random_init:  # the run's own query encoders before its first step (module doc)
        torch.manual_seed(int(ckpt["config"].get("seed", 0)) if seed is None else int(seed))
        built = build_encoders(have, preset, spec)  # all of them, in the run's order
        encoders = {r: built[r] for r in reps}
    else:
        encoders = build_encoders(reps, preset, spec)
    if not random_init:
        state = strip_ddp_prefix(ckpt["model"])
        for r, enc in encoders.items():
            prefix = f"query_encoders.{r}."
            sub = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
            load_weights(enc, sub, checkpoint=checkpoint, what=f"{r} encoder (preset {preset!r})")
    enc = encoders[reps[0]] if len(reps) == 1 else ConcatEncoder(encoders)
    epoch = None if random_init or ckpt.get("epoch") is None else int(ckpt["epoch"])
    imported = ckpt.get("imported") if isinstance(ckpt.get("imported"), dict) else None
    model = LoadedEncoder(
        enc,
        spec,
        reps,
        preset,
        None if random_init else str(checkpoint),
        epoch,
        None if random_init else imported,
    )
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model.to(dev)
