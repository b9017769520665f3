"""The exported graph: raw clips and their lengths in, features out.

:class:`FeatureGraph` is what ``skelcon export`` traces: the evaluation input
transform of :class:`~skelcon.eval.encoder.LoadedEncoder` (centre crop of 95 % of
the valid frames, linearly resized to the encoder's frame count) followed by the
frozen query encoder, so the exported file computes exactly what ``skelcon embed``
and ``model(x, num_frames)`` compute. Inputs: ``x (N, C, T, V, M)`` float32 (any
``N`` and ``T``: the batch and frame axes are dynamic) and ``num_frames (N,)`` int64
(valid frames, ``1..T``); output ``features (N, D)`` float32.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import warnings
from collections.abc import Iterator

import torch
from torch import nn

from ..eval.encoder import LoadedEncoder

INPUT_NAMES = ("x", "num_frames")
OUTPUT_NAME = "features"


class FeatureGraph(nn.Module):
    """``(x (N, C, T, V, M) float32, num_frames (N,) int64) -> (N, D) float32``: the
    evaluation transform and the encoder of ``loaded`` as one module."""

    def __init__(self, loaded: LoadedEncoder):
        super().__init__()
        self.loaded = loaded

    def forward(self, x: torch.Tensor, num_frames: torch.Tensor) -> torch.Tensor:
        return self.loaded.encoder(self.loaded.transform(x, num_frames)).float()


def example_inputs(
    spec: dict, batch: int, frames: int, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """A random batch ``x (batch, C, frames, V, M)`` with valid lengths from ``frames``
    down to 1 (so padded clips and one-frame clips are part of every check)."""
    g = torch.Generator().manual_seed(seed)
    shape = (batch, spec["in_channels"], frames, spec["num_joints"], spec["num_persons"])
    x = torch.randn(shape, generator=g)
    nf = torch.linspace(frames, 1, batch).round().long().clamp(1, frames)
    pad = torch.arange(frames)[None, :] >= nf[:, None]  # (batch, frames)
    x = x * (~pad)[:, None, :, None, None]  # zero padding after each clip
    return x, nf


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the exporters' progress lines, deprecation and tracer warnings (the
    graph is checked against PyTorch after it is written instead)."""
    loggers = [logging.getLogger(n) for n in ("torch.onnx", "torch.export", "torch._export")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(io.StringIO()),
        ):
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def write_torchscript(graph: FeatureGraph, example: tuple, path: str | os.PathLike) -> None:
    """Trace ``graph`` on ``example`` and save it to ``path`` (``torch.jit.load`` reads
    it; the crop is traced with its shape arithmetic, so any ``N`` and ``T`` work)."""
    with _quiet(), torch.no_grad():
        traced = torch.jit.trace(graph, example, check_trace=False)
        with open(path, "wb") as f:
            torch.jit.save(traced, f)


def write_onnx(
    graph: FeatureGraph, example: tuple, path: str | os.PathLike, opset: int | None = None
) -> None:
    """Export ``graph`` to ONNX at ``path`` (one self-contained file) with the
    ``torch.export``-based exporter, at ``opset`` (default: the exporter's); the batch
    axis of every tensor and the frame axis of ``x`` are dynamic."""
    batch, frames = torch.export.Dim("batch"), torch.export.Dim("frames")
    with _quiet(), torch.no_grad():
        program = torch.onnx.export(
            graph,
            example,
            input_names=list(INPUT_NAMES),
            output_names=[OUTPUT_NAME],
            dynamic_shapes={"x": {0: batch, 2: frames}, "num_frames": {0: batch}},
            dynamo=True,
            external_data=False,
            **({"opset_version": int(opset)} if opset is not None else {}),
            verbose=False,
        )
        program.save(str(path), external_data=False)
