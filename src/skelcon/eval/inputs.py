"""Raw clips through a model in batches: what ``skelcon predict`` and ``skelcon embed
--input`` share.

:func:`encode_inputs` reads the clips :func:`~skelcon.data.rawinputs.read_inputs` found
(each as the model's training data were prepared) and runs a model on batches of them;
a clip that cannot be read is skipped and listed, as ``prepare folder`` skips a bad
clip (``strict``: refused). :func:`predict_inputs` does so with a kept classifier and
returns :class:`Predictions` (logits, softmax probabilities, top-k classes).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ..data.rawinputs import RawClip, RawInputs, VideoStep, read_inputs
from ..errors import SkelconError

if TYPE_CHECKING:
    from .classifier import SavedClassifier


@dataclass
class Encoded:
    """What :func:`encode_inputs` computed: the ``clips`` read, in input order, their
    valid ``num_frames`` ``(N,)`` int64, the model's ``outputs`` ``(N, K)`` float32 (CPU)
    and ``skipped`` ``(where, reason)`` of the clips left out."""

    clips: list[RawClip]
    num_frames: np.ndarray
    outputs: torch.Tensor
    skipped: list[tuple[str, str]] = field(default_factory=list)


def check_batch_size(batch_size: int) -> None:
    """One line for a batch size below 1."""
    if int(batch_size) < 1:
        raise SkelconError(f"batch_size must be at least 1, got {batch_size}", param="batch_size")


def encode_inputs(
    fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    inputs: RawInputs,
    *,
    batch_size: int = 64,
    strict: bool = False,
    progress: bool = True,
    desc: str = "predict",
    width: int = 0,
) -> Encoded:
    """Read every clip of ``inputs`` and run ``fn(x (B, C, T, V, M) float32,
    num_frames (B,) int64) -> (B, K)`` on batches of ``batch_size`` clips.

    A clip that cannot be read is skipped (a line ``skipped WHERE: REASON`` on stderr,
    listed in :attr:`Encoded.skipped`, with the scan's own, printed first: a pickle that
    is not one, a video not extracted) unless ``strict``, which
    raises its error; so is the only clip of the inputs. When no clip is read, one line
    names the first reason. ``width``: ``K`` of an empty result. Progress: a bar over
    the clips on stderr (``progress``)."""
    from tqdm import tqdm

    check_batch_size(batch_size)
    if strict and inputs.skipped:
        where, why = inputs.skipped[0]
        raise SkelconError(f"{where}: {why}")
    strict = strict or (len(inputs.clips) == 1 and not inputs.skipped)  # its own error
    skipped = list(inputs.skipped)
    read: list[RawClip] = []
    frames: list[int] = []
    outs: list[torch.Tensor] = []
    xs: list[np.ndarray] = []
    nfs: list[int] = []

    def flush() -> None:
        if not xs:
            return
        x = torch.from_numpy(np.stack(xs))
        nf = torch.as_tensor(nfs, dtype=torch.int64)
        outs.append(fn(x, nf).detach().float().cpu())
        frames.extend(nfs)
        xs.clear()
        nfs.clear()

    bar = tqdm(
        total=len(inputs.clips),
        desc=desc,
        unit="clip",
        disable=not progress,
        mininterval=0.5,
        file=sys.stderr,
    )
    try:
        for where, why in inputs.skipped if inputs.clips else ():  # found bad when scanning
            bar.write(f"skipped {where}: {why.removeprefix(f'{where}: ')}", file=sys.stderr)
        for clip in inputs.clips:
            try:
                sample = inputs.load(clip)
            except SkelconError as e:
                if strict:
                    raise
                skipped.append((clip.where, _reason(e, clip.where)))
                bar.write(f"skipped {e}", file=sys.stderr)
            else:
                read.append(clip)
                xs.append(sample.x)
                nfs.append(int(sample.num_frames))
                if len(xs) == batch_size:
                    flush()
            bar.update(1)
        flush()
    finally:
        bar.close()
    if not read:
        where, why = skipped[0]
        named = why.startswith(str(Path(where).parent))  # the reason names its file already
        raise SkelconError(
            f"no clip could be read: all {len(skipped)} inputs were skipped (first: "
            + (why if named else f"{where}: {why}")
            + ")"
        )
    out = torch.cat(outs) if outs else torch.zeros((0, width))
    return Encoded(read, np.asarray(frames, dtype=np.int64), out, skipped)


def _reason(e: SkelconError, where: str) -> str:
    """The message of ``e`` without the ``where: `` it starts with."""
    text = str(e)
    return text[len(where) + 2 :] if text.startswith(f"{where}: ") else text


@dataclass
class Predictions:
    """Predictions of a :class:`~skelcon.eval.classifier.SavedClassifier` on raw clips:
    ``names`` and ``paths`` of the clips read (input order), ``num_frames`` ``(N,)``,
    ``logits`` ``(N, K)`` float32, ``classes`` (``K`` names), ``skipped`` and ``unused``
    (``(path, reason)``), ``info`` (the model's). :attr:`probabilities` is the softmax
    of the logits; :meth:`top` the ``k`` best classes of each clip."""

    names: list[str]
    paths: list[str]
    num_frames: np.ndarray
    logits: np.ndarray
    classes: list[str]
    skipped: list[tuple[str, str]]
    unused: list[tuple[str, str]]
    info: dict[str, Any]

    @property
    def probabilities(self) -> np.ndarray:
        """``(N, K)`` float32: softmax of the logits over the classes."""
        return torch.softmax(torch.from_numpy(self.logits), dim=1).numpy()

    def top(self, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
        """``(indices (N, k'), probabilities (N, k'))``, best first, ``k' = min(k, K)``."""
        if int(k) < 1:
            raise SkelconError(f"top_k must be at least 1, got {k}", param="top_k")
        p = torch.softmax(torch.from_numpy(self.logits), dim=1)
        values, idx = torch.topk(p, min(int(k), p.shape[1]), dim=1)
        return idx.numpy(), values.numpy()

    def rows(self, k: int = 5) -> list[dict[str, Any]]:
        """One dict per clip: ``name``, ``path``, ``num_frames``, ``top`` (``class``,
        ``index``, ``probability`` of the ``k`` best) and ``logits``."""
        idx, prob = self.top(k)
        return [
            {
                "name": name,
                "path": path,
                "num_frames": int(nf),
                "top": [
                    {"class": self.classes[int(c)], "index": int(c), "probability": float(p)}
                    for c, p in zip(idx[i], prob[i], strict=True)
                ],
                "logits": [float(v) for v in self.logits[i]],
            }
            for i, (name, path, nf) in enumerate(
                zip(self.names, self.paths, self.num_frames, strict=True)
            )
        ]


def predict_inputs(
    model: SavedClassifier,
    paths: Sequence[str | os.PathLike[str]],
    *,
    batch_size: int = 64,
    channels: Sequence[str] | None = None,
    strict: bool = False,
    progress: bool = True,
    videos: VideoStep | None = None,
) -> Predictions:
    """Classify the clips of ``paths`` (:func:`~skelcon.data.rawinputs.read_inputs`)
    with ``model``; ``videos``: what turns videos into clips (without it a video is
    refused); see the module doc for what is skipped."""
    check_batch_size(batch_size)
    inputs = read_inputs(paths, model.contract, channels=channels, who="the model", videos=videos)
    enc = encode_inputs(
        model,
        inputs,
        batch_size=batch_size,
        strict=strict,
        progress=progress,
        desc="predict",
        width=len(model.classes),
    )
    return Predictions(
        names=[c.name for c in enc.clips],
        paths=[c.where for c in enc.clips],
        num_frames=enc.num_frames,
        logits=np.ascontiguousarray(enc.outputs.numpy().astype(np.float32, copy=False)),
        classes=list(model.classes),
        skipped=enc.skipped,
        unused=list(inputs.unused),
        info=dict(model.info),
    )
