"""``skelcon export``: write a checkpoint's query encoder as TorchScript or ONNX.

``export_encoder(checkpoint, "seq", "onnx", "seq.onnx")`` writes

* ``seq.onnx``: the graph of :class:`~skelcon.export.graph.FeatureGraph`, taking the
  clips as a prepared dataset stores them, ``x (N, C, T, V, M)`` float32, with
  ``num_frames (N,)`` int64, and returning ``features (N, D)`` float32 (the centre
  crop is inside the graph; ``N`` and ``T`` are dynamic);
* ``seq.onnx.json``: its input contract (:mod:`skelcon.export.contract`).

Before anything is renamed into place the written file is loaded back (TorchScript by
``torch.jit.load``, ONNX by onnxruntime) and run on a batch with another ``N`` and
``T`` than the traced one; it must match PyTorch's features within 1e-5 (TorchScript)
or 1e-4 (ONNX) of the features' scale, else nothing is written. Both files are
written atomically; a failure leaves any earlier export intact.
"""

from __future__ import annotations

import importlib
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import SkelconError, choices_message
from ..eval.encoder import LoadedEncoder, load_encoder
from ..utils.io import atomic_path, write_json
from .contract import input_contract
from .graph import INPUT_NAMES, FeatureGraph, example_inputs, write_onnx, write_torchscript

FORMATS = ("torchscript", "onnx")
TOLERANCE = {"torchscript": 1e-5, "onnx": 1e-4}
ONNX_PACKAGES = ("onnx", "onnxscript", "onnxruntime")
INSTALL_HINT = "pip install 'skelcon[export]' (or: pip install onnx onnxscript onnxruntime)"


def contract_path(out: str | os.PathLike) -> Path:
    """``seq.onnx`` -> ``seq.onnx.json`` (so a TorchScript and an ONNX export of one
    encoder can sit side by side)."""
    out = Path(out)
    return out.with_name(out.name + ".json")


def require_onnx() -> None:
    """One line saying how to install what ``--format onnx`` needs, when it is missing."""
    missing = []
    for name in ONNX_PACKAGES:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise SkelconError(
            f"--format onnx needs the {', '.join(missing)} package(s), which are not "
            f"installed: {INSTALL_HINT}"
        )


def load_exported(fmt: str, path: str | os.PathLike) -> Callable[..., np.ndarray]:
    """The exported file at ``path`` as a function ``(x (N, C, T, V, M) float32,
    num_frames (N,) int64) -> (N, D)`` numpy features: TorchScript through
    ``torch.jit.load``, ONNX through an onnxruntime session (CPU)."""
    if fmt == "torchscript":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit, in torch >= 2.9
            module = torch.jit.load(str(path), map_location="cpu")

        def run_ts(x: torch.Tensor, nf: torch.Tensor) -> np.ndarray:
            with torch.no_grad():
                return module(x, nf).numpy()

        return run_ts
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    def run_onnx(x: torch.Tensor, nf: torch.Tensor) -> np.ndarray:
        return session.run(None, {INPUT_NAMES[0]: x.numpy(), INPUT_NAMES[1]: nf.numpy()})[0]

    return run_onnx


def run_exported(
    fmt: str, path: str | os.PathLike, x: torch.Tensor, nf: torch.Tensor
) -> np.ndarray:
    """Features ``(N, D)`` of the exported file at ``path`` on ``x (N, C, T, V, M)``,
    ``nf (N,)`` (see :func:`load_exported`)."""
    return load_exported(fmt, path)(x, nf)


def verify(fmt: str, path: str | os.PathLike, loaded: LoadedEncoder) -> dict[str, Any]:
    """Run the file at ``path`` on a check batch (3 clips of ``2 * T_enc + 3`` frames,
    lengths from all to 1) and compare with ``loaded``; returns what was measured,
    raises :class:`SkelconError` when the largest difference exceeds the format's
    tolerance times ``max(1, max |feature|)``."""
    x, nf = example_inputs(loaded.spec, batch=3, frames=2 * loaded.num_frames + 3, seed=1)
    want = loaded(x, nf).cpu().numpy()
    got = run_exported(fmt, path, x, nf)
    if got.shape != want.shape:
        raise SkelconError(
            f"the exported {fmt} graph returned features of shape {got.shape}, "
            f"PyTorch {want.shape}; nothing was written"
        )
    diff = float(np.abs(got - want).max())
    tol = TOLERANCE[fmt] * max(1.0, float(np.abs(want).max()))
    if not diff <= tol:
        raise SkelconError(
            f"the exported {fmt} graph differs from PyTorch by {diff:.3g} (tolerance "
            f"{tol:.3g}) on a check batch; nothing was written"
        )
    return {
        "max_abs_diff": diff,
        "tolerance": tol,
        "check_batch": list(x.shape),
        "runtime": _runtime(fmt),
    }


def _runtime(fmt: str) -> str:
    if fmt == "torchscript":
        return f"torch {torch.__version__} (torch.jit.load)"
    import onnxruntime

    return f"onnxruntime {onnxruntime.__version__} (CPUExecutionProvider)"


def export_encoder(
    checkpoint: str | os.PathLike,
    representation: str,
    fmt: str,
    out: str | os.PathLike,
    *,
    random_init: bool = False,
    seed: int = 0,
) -> dict[str, Any]:
    """Write the query encoder(s) ``representation`` of ``checkpoint`` as ``fmt``
    (``torchscript`` or ``onnx``) to ``out`` and the input contract beside it
    (:func:`contract_path`); returns the contract. The graph is traced on the CPU.
    ``random_init``: the same architecture with fresh weights (seeded by ``seed``).
    """
    if fmt not in FORMATS:
        raise SkelconError(choices_message("export format", fmt, FORMATS))
    if fmt == "onnx":
        require_onnx()
    out = Path(out)
    if out.is_dir():
        raise SkelconError(f"--out {str(out)!r} is a directory; give a file, e.g. {out}/seq.{fmt}")
    from ..cli import package_version

    loaded = load_encoder(
        checkpoint, representation, device="cpu", random_init=random_init, seed=seed
    )
    graph = FeatureGraph(loaded).eval()
    example = example_inputs(loaded.spec, batch=2, frames=loaded.num_frames + 5)
    write = write_torchscript if fmt == "torchscript" else write_onnx
    side = contract_path(out)
    with atomic_path(out) as tmp:
        try:
            write(graph, example, tmp)
        except Exception as e:  # noqa: BLE001 - the exporter's own failure, in one line
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise SkelconError(
                f"the {fmt} exporter failed on the {'+'.join(loaded.representations)} "
                f"encoder ({type(e).__name__}: {first}); nothing was written"
            ) from e
        checked = verify(fmt, tmp, loaded)
        contract = input_contract(
            loaded,
            fmt=fmt,
            file=out.name,
            epoch=loaded.epoch,
            version=package_version(),
            extra={"random_init": bool(random_init), "verified": checked, **_opset(fmt, tmp)},
        )
        write_json(side, contract)  # before the graph is renamed into place
    return contract


def _opset(fmt: str, path: Path) -> dict[str, Any]:
    """The ONNX opset of the file at ``path`` (``{}`` for TorchScript)."""
    if fmt != "onnx":
        return {}
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return {
        "onnx_opset": next(
            (o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None
        )
    }
