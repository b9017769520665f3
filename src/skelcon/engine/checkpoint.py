"""Checkpoints: atomic saves, ``weights_only`` loads, RNG state capture."""

from __future__ import annotations

import os
import random
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import SkelconError
from ..utils.io import atomic_path


def save_checkpoint(path: str | os.PathLike[str], state: dict[str, Any]) -> None:
    """``torch.save`` to a temporary file, ``fsync``, then rename onto ``path``.

    A crash at any point leaves ``path`` as it was; a full disk raises a one-line
    :class:`SkelconError` saying the previous checkpoint is intact.
    """
    path = Path(path)
    kept = f" (the previous {path.name} is intact)" if path.exists() else " (nothing was written)"
    with atomic_path(path, kept=kept) as tmp, open(tmp, "wb") as f:
        # through a Python file object, so a full disk surfaces as OSError(ENOSPC)
        torch.save(state, f)


def resolve_checkpoint(path: str | os.PathLike[str]) -> Path:
    """A run directory means its ``last.pt``; a file is taken as is."""
    p = Path(path)
    if p.is_dir():
        p = p / "last.pt"
    if not p.is_file():
        if Path(path).is_dir() and (Path(path) / "metrics.json").is_file():
            raise SkelconError(
                f"{str(path)!r} is an evaluation's directory, not a pre-training run (give "
                "the run directory its --checkpoint named: metrics.json's 'checkpoint')"
            )
        raise SkelconError(
            f"checkpoint {str(path)!r} not found (give a run directory or a .pt file)"
        )
    return p


# what every command that rebuilds an encoder reads, and what a resumed run reads too
ENCODER_ENTRIES = ("config", "model", "data", "representations")
RESUME_ENTRIES = (*ENCODER_ENTRIES, "epoch", "optimizer", "rng")
# the data spec (engine.build.data_spec) fields an encoder is built from
DATA_SPEC_KEYS = ("layout", "in_channels", "num_joints", "num_persons", "num_frames")


def load_checkpoint(
    path: str | os.PathLike[str],
    map_location: Any = "cpu",
    require: tuple[str, ...] = ENCODER_ENTRIES,
) -> dict[str, Any]:
    """Load a skelcon checkpoint safely (``weights_only=True``) and check that it holds
    the entries ``require`` (default: what rebuilding an encoder needs;
    :data:`RESUME_ENTRIES` for ``pretrain --resume``) with the right types.

    Raises a one-line :class:`SkelconError` for a missing, unreadable or non-skelcon
    file, and for a missing or malformed entry (naming it and the skelcon version that
    wrote the file, see :func:`check_checkpoint`).
    """
    p = resolve_checkpoint(path)
    try:
        state = torch.load(p, map_location=map_location, weights_only=True)
    except Exception as e:  # noqa: BLE001 - any failure here is a bad user file
        text = str(e).strip()
        if not zipfile.is_zipfile(p):  # torch.save writes a zip archive
            why = "truncated, corrupt or not a checkpoint file"
        elif "weights_only" in text or "Weights only load failed" in text:
            why = "it holds objects other than tensors and plain values (refused, not run)"
        elif isinstance(e, (OSError, EOFError)) or "zip" in text or "archive" in text:
            why = "truncated, corrupt or not a torch file"
        else:
            why = (
                f"not a readable checkpoint ({text.splitlines()[0] if text else type(e).__name__})"
            )
        raise SkelconError(f"cannot load checkpoint {str(p)!r}: {why}") from None
    return check_checkpoint(state, p, require)


def _writer_version(state: Any) -> str | None:
    v = state.get("skelcon_version") if isinstance(state, dict) else None
    return v if isinstance(v, str) and v else None


def written_by(state: Any) -> str:
    """Which skelcon wrote checkpoint ``state``, as words for a message."""
    from ..version import package_version

    v = _writer_version(state)
    imported = state.get("imported") if isinstance(state, dict) else None
    if isinstance(imported, dict) and v is not None:
        return f"imported from {imported.get('from')} weights by skelcon {v}"
    if v is None:
        return (
            "written by a skelcon that did not record its version (0.1.0 or older) or another tool"
        )
    return f"written by skelcon {v}" + (", this version" if v == package_version() else "")


def incomplete_advice(state: Any) -> str:
    """How to get a complete checkpoint instead of ``state``: pre-train with this skelcon
    when another version (or tool) wrote it; when this version did, the file was edited
    or cut since, so an intact copy serves as well."""
    from ..version import package_version

    if isinstance(state, dict) and isinstance(state.get("imported"), dict):
        return (
            "an imported run holds the query encoders and heads only (no optimizer, key "
            "encoders or queues): pre-train with skelcon for a run that can be resumed"
        )
    if _writer_version(state) == package_version():
        return (
            "this version writes every entry, so the file was edited since: use an intact "
            "copy (last.pt or an epoch_NNNN.pt of the run) or pre-train again"
        )
    return f"pre-train again with this skelcon ({package_version()}) to get a complete checkpoint"


def check_checkpoint(
    state: Any, path: str | os.PathLike[str], require: tuple[str, ...] = ENCODER_ENTRIES
) -> dict[str, Any]:
    """``state`` when it is a skelcon checkpoint holding ``require``, else one line.

    Checked: a dict with ``config`` and ``model`` (else "not a skelcon checkpoint",
    listing what it holds), every entry of ``require`` present, ``config``/``model``/
    ``data`` dicts, ``model`` of tensors, ``representations`` a list of names, ``epoch``
    a non-negative int, and the data spec's :data:`DATA_SPEC_KEYS`.
    """
    p = str(path)
    if not isinstance(state, dict) or "config" not in state or "model" not in state:
        holds = (
            ", ".join(map(str, list(state)[:6]))
            if isinstance(state, dict)
            else type(state).__name__
        )
        raise SkelconError(
            f"{p!r} is not a skelcon checkpoint (no config/model entries; it holds: "
            f"{holds or 'nothing'}); give the run directory or last.pt of `skelcon pretrain`"
        )
    missing = [k for k in require if k not in state]
    if missing:
        s = "entry" if len(missing) == 1 else "entries"
        raise SkelconError(
            f"checkpoint {p!r} has no {', '.join(map(repr, missing))} {s} ({written_by(state)}); "
            f"{incomplete_advice(state)}"
        )

    def bad(what: str) -> SkelconError:
        return SkelconError(f"checkpoint {p!r}: {what} ({written_by(state)})")

    _check_entries(state, bad)
    if "data" in state:
        _check_spec_fields(state["data"], bad)
        _check_spec(state["data"], bad)
    for name, t in state["model"].items():
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise bad(f"non-finite values in model tensor {name}")
    return state


def _check_entries(state: dict[str, Any], bad: Callable[[str], SkelconError]) -> None:
    """The entries of checkpoint ``state`` have their types (``bad(what)``: the error)."""
    for key in ("config", "model", "data"):
        if key in state and not isinstance(state[key], dict):
            raise bad(f"the {key!r} entry is a {type(state[key]).__name__}, not a dict")
    if "preset" not in state["config"]:
        raise bad("its config has no 'preset' (the encoder sizes)")
    if not isinstance(state["config"]["preset"], str):
        raise bad(f"its config's preset {state['config']['preset']!r} is not a preset name"[:300])
    if not all(torch.is_tensor(v) for v in state["model"].values()):
        raise bad("the 'model' entry holds values other than tensors")
    reps = state.get("representations")
    if "representations" in state and not (
        isinstance(reps, list) and reps and all(isinstance(r, str) for r in reps)
    ):
        raise bad(f"'representations' is {reps!r}, not a list of names like ['seq', 'stg']")
    epoch = state.get("epoch")
    if "epoch" in state and (isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0):
        raise bad(f"'epoch' is {epoch!r}, not a count of finished epochs")


def _check_spec_fields(spec: Mapping[str, Any], bad: Callable[[str], SkelconError]) -> None:
    """The data spec has its :data:`DATA_SPEC_KEYS`, the sizes positive integers."""
    gone = [k for k in DATA_SPEC_KEYS if k not in spec]
    if gone:
        raise bad(f"its data spec has no {', '.join(gone)}")
    wrong = [
        k
        for k in DATA_SPEC_KEYS[1:]
        if isinstance(spec[k], bool) or not isinstance(spec[k], int) or spec[k] < 1
    ]
    if wrong:
        raise bad(f"data spec {wrong[0]} is {spec[wrong[0]]!r}, not a positive integer")


# beyond any skeleton data: a spec asking for more is damaged, not a model to build
MAX_PERSONS, MAX_FRAMES = 64, 100_000


def _check_spec(spec: Mapping[str, Any], bad: Callable[[str], SkelconError]) -> None:
    """The data spec agrees with itself: channel names fit ``in_channels``, the layout
    is known (or stored) and has ``num_joints`` joints, persons and frames within
    :data:`MAX_PERSONS` / :data:`MAX_FRAMES`. ``bad(what)`` makes the error."""
    from ..data.channels import check_channels, default_channels
    from ..data.layouts import layout_from_meta

    try:
        if "channels" in spec:
            check_channels(spec["channels"], spec["in_channels"], "channels")
        else:
            default_channels(spec["in_channels"])
        joints = layout_from_meta(dict(spec)).num_joints
    except (SkelconError, KeyError, TypeError, ValueError) as e:
        raise bad(f"its data spec is inconsistent: {e}") from None
    if joints != spec["num_joints"]:
        raise bad(
            f"its data spec says num_joints={spec['num_joints']} but layout "
            f"{spec['layout']!r} has {joints} joints"
        )
    for key, top in (("num_persons", MAX_PERSONS), ("num_frames", MAX_FRAMES)):
        if spec[key] > top:
            raise bad(f"data spec {key}={spec[key]} is beyond any skeleton data (at most {top})")


def load_weights(
    module: torch.nn.Module,
    state: Mapping[str, Any],
    *,
    checkpoint: str | os.PathLike[str],
    what: str,
) -> None:
    """``module.load_state_dict(state)`` (strict), or one line naming the keys that do
    not fit: missing, unexpected and differently sized ones, the first few of each with
    both sizes, and how many. Keys saved through DDP (``module.`` prefix on every key)
    are read as the same weights."""
    state = strip_ddp_prefix(state)
    msg = state_dict_mismatch(module.state_dict(), state)
    if msg:
        raise SkelconError(f"checkpoint {str(checkpoint)!r} does not fit the {what}: {msg}")
    module.load_state_dict(state)


def strip_ddp_prefix(state: Mapping[str, Any]) -> dict[str, Any]:
    """``state`` without the ``module.`` that a DDP-wrapped model's ``state_dict`` puts
    before every key (unchanged when not every key has it)."""
    if state and all(str(k).startswith("module.") for k in state):
        return {k[len("module.") :]: v for k, v in state.items()}
    return dict(state)


def state_dict_mismatch(want: Mapping[str, Any], have: Mapping[str, Any], show: int = 3) -> str:
    """``""`` when ``have`` has exactly the keys and tensor sizes of ``want`` (and
    floating tensors where ``want`` has them: float64 for float32 is fine, an integer
    weight is not), else one line: ``2 keys differ in size (gru.weight: checkpoint (768, 102) vs model (1536, 102),
    ...); 1 missing (head.bias); 3 unexpected (x, y, z, ...)``."""

    def size(t: Any) -> str:
        return str(tuple(t.shape)) if hasattr(t, "shape") else type(t).__name__

    def first(keys: list[str], fmt: Any = str) -> str:
        more = ", ..." if len(keys) > show else ""
        return ", ".join(fmt(k) for k in keys[:show]) + more

    def kind(t: Any) -> str:
        return (
            "float"
            if getattr(t, "is_floating_point", lambda: False)()
            else str(getattr(t, "dtype", type(t).__name__))
        )

    sized = [k for k in want if k in have and size(want[k]) != size(have[k])]
    typed = [k for k in want if k in have and k not in sized and kind(want[k]) != kind(have[k])]
    missing = [k for k in want if k not in have]
    extra = [k for k in have if k not in want]
    parts = []
    if sized:
        parts.append(
            f"{len(sized)} key{'s' if len(sized) > 1 else ''} differ in size ("
            + first(sized, lambda k: f"{k}: checkpoint {size(have[k])} vs model {size(want[k])}")
            + ")"
        )
    if typed:
        parts.append(
            f"{len(typed)} of another dtype ("
            + first(typed, lambda k: f"{k}: checkpoint {kind(have[k])} vs model {kind(want[k])}")
            + ")"
        )
    if missing:
        parts.append(f"{len(missing)} missing ({first(missing)})")
    if extra:
        parts.append(f"{len(extra)} unexpected ({first(extra)})")
    return "; ".join(parts)


def rng_state() -> dict[str, Any]:
    """Python, NumPy and torch (CPU and CUDA) RNG states, in weights_only-safe types."""
    np_state: tuple[Any, ...] = np.random.get_state(legacy=True)  # type: ignore[assignment]
    state = {
        "python": list(random.getstate()[1]),
        "python_version": random.getstate()[0],
        "numpy": torch.from_numpy(np_state[1].astype(np.int64)),
        "numpy_pos": int(np_state[2]),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate((state["python_version"], tuple(state["python"]), None))
    np.random.set_state(
        ("MT19937", state["numpy"].numpy().astype(np.uint32), state["numpy_pos"], 0, 0.0)
    )
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
