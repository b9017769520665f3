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

from ..config import EXPORT_FORMATS as FORMATS
from ..errors import SkelconError, choices_message
from ..eval.encoder import LoadedEncoder, check_num_frames, load_encoder
from ..utils.io import atomic_path, write_json
from .contract import input_contract
from .graph import INPUT_NAMES, FeatureGraph, example_inputs, write_onnx, write_torchscript

TOLERANCE = {"torchscript": 1e-5, "onnx": 1e-4}
ONNX_PACKAGES = ("onnx", "onnxscript", "onnxruntime")
INSTALL_HINT = "pip install 'skelcon[export]' (or: pip install onnx onnxscript onnxruntime)"

# (oldest onnxruntime, the newest ai.onnx opset and IR version it loads), from the
# version matrix of onnxruntime's compatibility page (each release implements the
# opset and IR version of the ONNX release it ships with)
ONNXRUNTIME_SUPPORT = (
    ("1.10", 15, 8),
    ("1.12", 16, 8),
    ("1.13", 17, 8),
    ("1.14", 18, 8),
    ("1.15", 19, 9),
    ("1.17", 20, 9),
    ("1.18", 21, 10),
    ("1.21", 22, 10),
    ("1.22", 22, 11),
    ("1.23", 23, 11),
)
# torch's ONNX exporter (torch.export based) writes opset 18 natively; older opsets
# only through a version conversion that fails for the GRU and graph-conv encoders
MIN_OPSET = 18


def max_opset() -> int:
    """The newest opset torch's exporter and the installed ``onnx`` both support."""
    import onnx.defs

    torch_max = getattr(getattr(torch.onnx, "_constants", None), "ONNX_MAX_OPSET", 23)
    return min(int(torch_max), int(onnx.defs.onnx_opset_version()))


def check_opset(opset: int | None, fmt: str) -> None:
    """Refuse an ``--opset`` for TorchScript, or outside ``MIN_OPSET..max_opset()``."""
    if opset is None:
        return
    if fmt != "onnx":
        raise SkelconError(f"--opset is for --format onnx, not {fmt}")
    require_onnx()
    top = max_opset()
    if not MIN_OPSET <= int(opset) <= top:
        raise SkelconError(
            f"--opset {opset} is not one torch's ONNX exporter writes for skelcon's encoders "
            f"(valid: {MIN_OPSET}..{top}; opset {MIN_OPSET} loads in onnxruntime >= "
            f"{min_onnxruntime(MIN_OPSET, 8)})"
        )


def min_onnxruntime(opset: int, ir_version: int) -> str | None:
    """The oldest onnxruntime release that loads a model of ``opset`` and
    ``ir_version`` (:data:`ONNXRUNTIME_SUPPORT`); ``None`` when newer than the table."""
    for version, max_op, max_ir in ONNXRUNTIME_SUPPORT:
        if opset <= max_op and ir_version <= max_ir:
            return version
    return None


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

        return _empty_batch_safe(run_ts)
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    def run_onnx(x: torch.Tensor, nf: torch.Tensor) -> np.ndarray:
        return session.run(None, {INPUT_NAMES[0]: x.numpy(), INPUT_NAMES[1]: nf.numpy()})[0]

    return _empty_batch_safe(run_onnx)


def _empty_batch_safe(run: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
    """``run`` that answers a batch of 0 clips with ``(0, D)`` features (the feature
    width from one zero clip) instead of passing it on: onnxruntime aborts the whole
    process on an empty batch (``terminate called``), and a traced graph cannot
    reshape it. Inputs: ``x (N, C, T, V, M)`` and ``num_frames (N,)``, tensors or
    arrays; ``num_frames`` below 1 are refused as ``LoadedEncoder`` refuses them (the
    graph itself would return features of a clamped crop)."""

    def safe(x: Any, nf: Any) -> np.ndarray:
        x = torch.as_tensor(np.asarray(x) if not torch.is_tensor(x) else x, dtype=torch.float32)
        nf = torch.as_tensor(np.asarray(nf) if not torch.is_tensor(nf) else nf)
        if x.ndim != 5:
            raise SkelconError(
                f"expected a skeleton batch (N, C, T, V, M), got shape {tuple(x.shape)}"
            )
        nf = check_num_frames(nf, int(x.shape[0])).to(torch.int64)
        if x.shape[0] == 0:
            one = torch.zeros((1, x.shape[1], max(int(x.shape[2]), 1), *x.shape[3:]))
            return run(one, torch.ones(1, dtype=torch.int64))[:0]
        return run(x, nf)

    return safe


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
    try:
        got = run_exported(fmt, path, x, nf)
    except Exception as e:  # noqa: BLE001 - the runtime's own failure, in one line
        first = str(e).strip().splitlines()[0][:300] if str(e).strip() else type(e).__name__
        raise SkelconError(
            f"{_runtime(fmt)} cannot run the exported {fmt} graph ({first}); nothing was written"
        ) from e
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
    opset: int | None = None,
    stream: str | None = None,
) -> dict[str, Any]:
    """Write the query encoder(s) ``representation`` of ``checkpoint`` as ``fmt``
    (``torchscript`` or ``onnx``) to ``out`` and the input contract beside it
    (:func:`contract_path`); returns the contract. The graph is traced on the CPU.
    ``random_init``: the same architecture with fresh weights (seeded by ``seed``).
    ``opset``: the ONNX opset (``MIN_OPSET..max_opset()``, default the exporter's);
    the file gets the lowest IR version that opset allows, and the contract records
    opset, IR version and the oldest onnxruntime that loads it (``onnx``). The graph takes
    joints and applies the run's input stream itself (the contract names it); ``stream``,
    when given, must be the run's.
    """
    if fmt not in FORMATS:
        raise SkelconError(choices_message("export format", fmt, FORMATS))
    check_opset(opset, fmt)
    if fmt == "onnx":
        require_onnx()
    out = Path(out)
    if out.is_dir():
        raise SkelconError(
            f"out {str(out)!r} is a directory; give a file, e.g. {out}/seq.{fmt}", param="out"
        )
    from ..version import package_version

    loaded = load_encoder(
        checkpoint, representation, device="cpu", random_init=random_init, seed=seed, stream=stream
    )
    graph = FeatureGraph(loaded).eval()
    example = example_inputs(loaded.spec, batch=2, frames=loaded.num_frames + 5)
    side = contract_path(out)
    with atomic_path(out) as tmp:
        try:
            if fmt == "torchscript":
                write_torchscript(graph, example, tmp)
            else:
                write_onnx(graph, example, tmp, opset=opset)
        except Exception as e:  # noqa: BLE001 - the exporter's own failure, in one line
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise SkelconError(
                f"the {fmt} exporter failed on the {'+'.join(loaded.representations)} "
                f"encoder ({type(e).__name__}: {first}); nothing was written"
            ) from e
        versions: dict[str, Any] = {}
        if fmt == "onnx":
            v = _onnx_versions(tmp, opset)
            versions = {
                "onnx_opset": v["opset"],
                "onnx_ir_version": v["ir_version"],
                "min_onnxruntime": v["min_onnxruntime"],
            }
        checked = verify(fmt, tmp, loaded)
        contract = input_contract(
            loaded,
            fmt=fmt,
            file=out.name,
            epoch=loaded.epoch,
            version=package_version(),
            extra={"random_init": bool(random_init), "verified": checked, **versions},
        )
        write_json(side, contract)  # before the graph is renamed into place
    return contract


def _onnx_versions(path: Path, opset: int | None) -> dict[str, Any]:
    """Lower the IR version of the ONNX file at ``path`` to the lowest its opsets allow
    (the exporter stamps its own newest, which older runtimes refuse), check that the
    file has the ``opset`` asked for, and return what the contract records under
    ``onnx``: ``opset``, ``ir_version``, ``min_onnxruntime``."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    have = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    if opset is not None and have != opset:
        raise SkelconError(
            f"torch's ONNX exporter wrote opset {have}, not the --opset {opset} asked for; "
            f"nothing was written (try --opset {have})"
        )
    lowest = onnx.helper.find_min_ir_version_for(list(model.opset_import), ignore_unknown=True)
    if lowest < model.ir_version:
        was = model.ir_version
        model.ir_version = lowest
        try:
            onnx.checker.check_model(model)
        except onnx.checker.ValidationError:
            model.ir_version = was  # it needs the newer IR: keep the exporter's
        else:
            onnx.save(model, str(path))
    ir = int(model.ir_version)
    return {"opset": have, "ir_version": ir, "min_onnxruntime": min_onnxruntime(have or 0, ir)}
