"""A skelcon run made from imported weights (``skelcon import-weights``).

The run directory holds ``last.pt`` and ``config.yaml`` as a pre-training run does, so
``eval``, ``embed``, ``export`` and ``read_clip(like=RUN)`` take it; its checkpoint holds
the query encoders (and projection heads, when the file has them), the data spec they
were trained for, the config the architecture needs (``preset``, ``representations``,
``seq.recurrence: stepwise``, ``moco.dim``) and an ``imported`` entry saying where the
weights came from (:func:`imported_record`), which ``skelcon report`` and the evaluation
result lines show instead of presenting the run as a skelcon pre-training. It holds no
optimizer or key encoders: it cannot be resumed.

The data spec says what the authors trained on: NTU RGB+D 60 or 120 (``dataset``, and
the ``benchmark`` when given), prepared as skelcon's ``prepare ntu60|ntu120`` prepares it
(the standard preparation, whose output equals the authors' golden file: 300 frames,
centred and rotated, 3D joints of 2 persons), clips resized to 64 frames (their
``input_size``).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from ..config import PretrainConfig, to_dict
from ..errors import SkelconError, choices_message
from ..utils.io import atomic_write

if TYPE_CHECKING:
    from .build import DataSpec

# (this module imports no torch until it is called: the command line reads its choices)

SOURCES = ("skeleton-contrast",)
# what the authors pre-trained on: dataset -> its benchmarks (their --protocol)
AUTHORS_DATA = {"ntu60": ("xsub", "xview"), "ntu120": ("xsub", "xsetup")}
AUTHORS_FRAMES = 64  # their feeders' input_size: every view is resized to 64 frames
CONFIG_NOTE = (
    "preset, representations, seq.recurrence, moco.dim, moco.queue_size and epochs describe "
    "the imported weights; every other value is skelcon's default, not the authors' setting"
)


@dataclass(frozen=True)
class ImportResult:
    """What :func:`import_weights` wrote: the run, its representations (their query
    module each), preset, epochs, whether heads came along, and the file's SHA-256."""

    out: Path
    representations: list[str]
    modules: dict[str, str]
    preset: str
    epoch: int | None
    heads: bool
    sha256: str


def authors_spec(dataset: str) -> DataSpec:
    """The data spec of the authors' pre-training on ``dataset`` (module doc)."""
    from ..data.layouts import NTU25
    from .build import DataSpec

    if dataset not in AUTHORS_DATA:
        raise SkelconError(choices_message("dataset", dataset, AUTHORS_DATA), param="dataset")
    return DataSpec(
        dataset=dataset,
        layout=NTU25.name,
        in_channels=3,
        num_joints=NTU25.num_joints,
        num_persons=2,
        num_frames=AUTHORS_FRAMES,
        seq_recurrence="stepwise",
    )


def imported_record(
    source: str, path: Path, sha256: str, modules: dict[str, str], epoch: int | None, heads: bool
) -> dict[str, Any]:
    """The checkpoint's ``imported`` entry: plain values only."""
    return {
        "from": source,
        "file": path.name,
        "sha256": sha256,
        "modules": dict(modules),
        "epoch": epoch,
        "heads": heads,
        "config_note": CONFIG_NOTE,
    }


def _config(
    reps: list[str], preset: str, epoch: int | None, head_dim: int | None, queue: int | None
) -> PretrainConfig:
    """The run's config: the imported architecture, skelcon's defaults elsewhere."""
    cfg = PretrainConfig()
    cfg.preset = preset
    cfg.representations = list(reps)
    cfg.seq.recurrence = "stepwise"
    if head_dim is not None:
        cfg.moco.dim = head_dim
    if queue is not None:
        cfg.moco.queue_size = queue
    if epoch:
        cfg.epochs = epoch
    cfg.validate()
    return cfg


def import_weights(
    source: str,
    path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    dataset: str,
    benchmark: str | None = None,
) -> ImportResult:
    """Make run ``out`` from the checkpoint ``path`` of ``source`` (``skeleton-contrast``).

    ``dataset``/``benchmark``: what the weights were pre-trained on (``ntu60`` with
    ``xsub``/``xview``, ``ntu120`` with ``xsub``/``xsetup``; the benchmark may be left
    out). Refuses in one line: an unknown source, dataset or benchmark, an ``out`` that
    already holds a run, and any file :mod:`~skelcon.engine.skeleton_contrast` refuses.
    A failed import leaves nothing behind.
    """
    from ..version import package_version
    from .checkpoint import save_checkpoint
    from .skeleton_contrast import convert, read_checkpoint

    if source not in SOURCES:
        raise SkelconError(choices_message("source", source, SOURCES), param="source")
    spec = authors_spec(dataset)
    if benchmark is not None and benchmark not in AUTHORS_DATA[dataset]:
        raise SkelconError(
            choices_message(f"{dataset} benchmark", benchmark, AUTHORS_DATA[dataset]),
            param="benchmark",
        )
    out = Path(out)
    if (out / "last.pt").exists() or (out.exists() and not out.is_dir()):
        raise SkelconError(
            f"{out} already exists and holds a run or a file; pick another --out or delete it"
        )
    ckpt = read_checkpoint(path)
    conv = convert(ckpt, spec)
    cfg = _config(conv.representations, conv.preset, ckpt.epoch, conv.head_dim, ckpt.queue_size)
    heads = conv.head_dim is not None
    state: dict[str, Any] = {
        "config": to_dict(cfg),
        "model": conv.model,
        "data": spec.to_dict(),
        "representations": list(conv.representations),
        "skelcon_version": package_version(),
        "imported": imported_record(
            source, ckpt.path, ckpt.sha256, ckpt.modules, ckpt.epoch, heads
        ),
    }
    if ckpt.epoch is not None:
        state["epoch"] = ckpt.epoch
    if benchmark is not None:
        state["benchmark"] = benchmark
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
        save_checkpoint(out / "last.pt", state)
        text = yaml.safe_dump(to_dict(cfg), sort_keys=False)
        atomic_write(out / "config.yaml", lambda p: p.write_text(text))
    except BaseException:
        if created:
            shutil.rmtree(out, ignore_errors=True)
        else:
            (out / "last.pt").unlink(missing_ok=True)
        raise
    return ImportResult(
        out, conv.representations, ckpt.modules, conv.preset, ckpt.epoch, heads, ckpt.sha256
    )
