"""Everything about going on with a pre-training run: the checkpoint a resumed run
continues from (:func:`load_resume`), the checks that it is the same run
(:func:`check_resume`), and the lines that say what a stopped run kept and how to go on
(:class:`RunReport`, :func:`resume_command`)."""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from ..config import PretrainConfig, from_dict, to_dict
from ..data.prepared import PreparedSplit
from ..errors import SkelconError
from .build import DataSpec
from .checkpoint import RESUME_ENTRIES, load_checkpoint, load_weights, set_rng_state
from .launch import launch_info
from .precision import Precision

# what a resumed run must share with its checkpoint (everything that shapes the weights;
# epochs may grow under a step schedule, not under cosine ones, which depend on it)
RESUME_MUST_MATCH = (
    "preset",
    "seq_init",
    "seq",
    "representations",
    "stream",
    "moco",
    "augment",
    "batch_size",
    "seed",
    "optim",
)


def resume_mismatch(
    saved: Mapping[str, Any], now: Mapping[str, Any], prefix: str = ""
) -> str | None:
    """The first config key (dotted) whose value differs, as ``key: old -> new``."""
    for key in sorted(set(saved) | set(now)):
        a, b = saved.get(key), now.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            found = resume_mismatch(a, b, f"{prefix}{key}.")
            if found:
                return found
        elif a != b:
            return f"{prefix}{key}: {a!r} -> {b!r}"
    return None


def torchrun_prefix() -> list[str]:
    """``["torchrun", "--nproc_per_node=N", "-m"]`` when this process was started by
    torchrun with several processes (``--nnodes`` too across nodes), else ``[]``."""
    info = launch_info(check=False)
    if not info.enabled:
        return []
    nodes = info.nodes
    return [
        "torchrun",
        *([f"--nnodes={nodes}", "<rendezvous flags>"] if nodes > 1 else []),
        f"--nproc_per_node={info.local_world_size}",
        "-m",
    ]


def resume_command(
    data: str | os.PathLike[str],
    benchmark: str,
    out: str | os.PathLike[str],
    resume_from: str | os.PathLike[str] | None = None,
) -> str:
    """The ``skelcon pretrain ... --resume`` (or ``--resume-from FILE``) line for a run;
    under torchrun, the ``torchrun ... -m skelcon pretrain ...`` line."""
    cmd = [
        *torchrun_prefix(),
        "skelcon",
        "pretrain",
        "--data",
        str(data),
        "--benchmark",
        benchmark,
        "--out",
        str(out),
    ]
    cmd += ["--resume-from", str(resume_from)] if resume_from is not None else ["--resume"]
    return shlex.join(cmd)


def check_finite(ckpt: dict[str, Any], path: str | os.PathLike[str]) -> dict[str, Any]:
    """``ckpt``, after checking that every floating-point weight and buffer of its model
    is finite (a flipped bit in a file that still loads); raises :class:`SkelconError`
    naming the first bad tensor."""
    for name, t in ckpt["model"].items():
        if torch.is_tensor(t) and t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise SkelconError(f"{path}: non-finite values in model tensor {name}")
    return ckpt


def _epoch_number(p: Path) -> int:
    tail = p.stem.removeprefix("epoch_")
    return int(tail) if tail.isdigit() else -1


def newest_intact(out: str | os.PathLike[str]) -> tuple[Path, int] | None:
    """The newest ``epoch_NNNN.pt`` of run ``out`` that loads, and its epoch."""
    for p in sorted(Path(out).glob("epoch_*.pt"), key=_epoch_number, reverse=True):
        try:
            return p, int(check_finite(load_checkpoint(p, require=RESUME_ENTRIES), p)["epoch"])
        except (SkelconError, KeyError, TypeError, ValueError):
            continue
    return None


def _intact_hint(
    out: str | os.PathLike[str], data: str | os.PathLike[str], benchmark: str, fresh: str
) -> str:
    """What to do when ``last.pt`` cannot be used: resume from the newest intact
    ``epoch_NNNN.pt`` (its line), else ``fresh``."""
    good = newest_intact(out)
    if good is None:
        return f"no intact epoch_NNNN.pt beside it either; {fresh}"
    return (
        f"the newest intact checkpoint is {good[0]} (epoch {good[1]}); resume from "
        f"it with: {resume_command(data, benchmark, out, good[0])}"
    )


def _is_imported(path: Path) -> bool:
    """Whether checkpoint ``path`` is a run made by ``skelcon import-weights`` (intact, but
    never resumable)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception:  # noqa: BLE001 - unreadable: not an imported run
        return False
    return isinstance(state, dict) and isinstance(state.get("imported"), dict)


def load_resume(
    out: str | os.PathLike[str],
    data: str | os.PathLike[str],
    benchmark: str,
    resume_from: str | os.PathLike[str] | None = None,
    map_location: Any = "cpu",
) -> dict[str, Any]:
    """The checkpoint a resumed run continues from: ``resume_from``, else ``out/last.pt``.

    A missing ``last.pt`` is a one-line error; an unreadable (truncated, corrupt) one
    names the newest intact ``epoch_NNNN.pt`` and the ``--resume-from`` line to use.
    """
    if resume_from is not None:
        return check_finite(
            load_checkpoint(resume_from, map_location=map_location, require=RESUME_ENTRIES),
            resume_from,
        )
    last = Path(out) / "last.pt"
    if not last.exists():  # nothing to continue: a run without --resume starts it here
        raise SkelconError(
            f"{out} has no last.pt to resume; "
            + _intact_hint(out, data, benchmark, "run without --resume to start it")
        )
    try:
        return check_finite(
            load_checkpoint(last, map_location=map_location, require=RESUME_ENTRIES), last
        )
    except SkelconError as e:
        if _is_imported(last):
            raise SkelconError(f"cannot resume {out}: {e}") from None
        start = f"delete {last} and run without --resume to start again, or pick another --out"
        hint = _intact_hint(out, data, benchmark, start)
        raise SkelconError(f"{last} is truncated or corrupt ({e}); {hint}") from None


def _data_difference(
    ckpt: Mapping[str, Any], benchmark: str, spec: DataSpec, split: PreparedSplit
) -> str | None:
    """How the training data of ``ckpt`` differ from ``split`` (``None``: they do not)."""
    if ckpt.get("benchmark") != benchmark:
        return f"benchmark: {ckpt.get('benchmark')!r} -> {benchmark!r}"
    # the stream is the config's (compared with it, under its own name), not the data's
    data_was = {k: v for k, v in dict(ckpt.get("data") or {}).items() if k != "stream"}
    data_now = {k: v for k, v in spec.to_dict().items() if k != "stream"}
    diff = resume_mismatch(data_was, data_now) if data_was != data_now else None
    if diff is not None:
        return diff
    if ckpt.get("num_clips", len(split)) != len(split):
        return f"training clips: {ckpt.get('num_clips')} -> {len(split)}"
    was, now_fp = ckpt.get("data_fingerprint"), split.fingerprint()
    if was is None or was == now_fp:
        return None
    diff = resume_mismatch(was, now_fp)
    if diff and diff.startswith("names_sha256"):
        return f"other sample names ({len(split)} training clips)"
    return diff


def check_resume(
    ckpt: Mapping[str, Any],
    cfg: PretrainConfig,
    benchmark: str,
    spec: DataSpec,
    split: PreparedSplit,
    out: Path,
) -> None:
    """Refuse to resume ``ckpt`` with another config or other data, naming what changed.

    Compared: the config keys that shape the weights (:data:`RESUME_MUST_MATCH`, and the
    epochs under a cosine schedule), the benchmark, the data's shape, the number of
    training clips and the split's fingerprint (dataset, split, sample names).
    """
    data = _data_difference(ckpt, benchmark, spec, split)
    if data is not None:
        raise SkelconError(f"cannot resume {out}: the training data differ ({data})")
    # data first: the queue cap follows the data. The saved config with today's defaults
    # filled in, so that a key added since (e.g. augment.noise, off) is not a difference
    saved, now = _with_defaults(ckpt["config"]), to_dict(cfg)
    scheduled = cfg.optim.schedule == "cosine" or cfg.moco.momentum_schedule == "cosine"
    keys = RESUME_MUST_MATCH + (("epochs",) if scheduled else ())
    diff = resume_mismatch({k: saved.get(k) for k in keys}, {k: now[k] for k in keys})
    if diff is not None:
        why = " (a cosine schedule depends on the epochs)" if diff.startswith("epochs") else ""
        if diff.startswith("stream"):
            why = (
                f"; the run was pre-trained on the {saved.get('stream')} stream: give stream "
                f"{saved.get('stream')}, or resume without a config to continue with the run's own"
            )
        raise SkelconError(f"cannot resume {out}: the config differs ({diff}){why}")


def _with_defaults(saved: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint's config with the keys it lacks at their defaults (as it ran)."""
    try:
        return to_dict(from_dict(PretrainConfig, saved))
    except (SkelconError, TypeError, ValueError):  # a key unknown here: compare as saved
        return saved


def restore(
    ckpt: Mapping[str, Any],
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    amp: Precision,
    checkpoint: str | os.PathLike[str],
) -> int:
    """Load a resumed run's weights, optimizer, loss-scaler and RNG states from ``ckpt``
    (read from ``checkpoint``); returns the epochs it had finished."""
    load_weights(model, ckpt["model"], checkpoint=checkpoint, what="model of this run")
    optimizer.load_state_dict(ckpt["optimizer"])
    amp.load_state_dict(ckpt.get("scaler"))
    set_rng_state(ckpt["rng"])
    return int(ckpt["epoch"])


class RunReport:
    """What a run keeps and how to go on, for the lines that end it early.

    ``done`` counts the finished epochs that ``last.pt`` (or, until one finishes in this
    call, ``resume_from``) holds; the loop raises it as checkpoints are written.
    :meth:`stopped` is the line of a run stopped by a signal, :meth:`advice` the end of
    the NaN/Inf lines.
    """

    def __init__(
        self,
        cfg: PretrainConfig,
        data: str | os.PathLike[str],
        benchmark: str,
        out: Path,
        start_epoch: int,
        resume_from: str | os.PathLike[str] | None = None,
    ):
        self.epochs = cfg.epochs
        self.data, self.benchmark, self.out = data, benchmark, out
        self.start_epoch = start_epoch
        self.resume_from = resume_from
        self.done = start_epoch

    @property
    def last(self) -> Path:
        return self.out / "last.pt"

    def held(self) -> Path | None:
        """The checkpoint to continue from now (``None``: nothing saved yet)."""
        if not self.done:
            return None
        if self.done > self.start_epoch or self.resume_from is None:
            return self.last
        return Path(self.resume_from)

    def kept(self) -> str:
        """What the run keeps: ``<file> holds epoch N`` or that nothing was saved."""
        held = self.held()
        return f"{held} holds epoch {self.done}" if held else "no epoch has finished, nothing saved"

    def advice(self) -> str:
        """The end of a NaN/Inf line: what is kept, and the first thing to try."""
        return f"{self.kept()}; lower optim.lr"

    def stopped(self, sig: str) -> str:
        """The one line of a run that ``sig`` (``SIGINT``, ``SIGTERM``) stopped."""
        held = self.held()
        if held is None:
            then = "run the same command again to start"
        else:
            line = resume_command(
                self.data, self.benchmark, self.out, None if held == self.last else held
            )
            then = f"resume with: {line}"
        when = (
            f"during epoch {self.done + 1} of {self.epochs}"
            if self.done < self.epochs
            else f"after its last epoch ({self.epochs}), while finishing"
        )
        return f"pretrain stopped by {sig} {when}; {self.kept()}; {then}"
