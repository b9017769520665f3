"""Contrastive pre-training: the whole loop on one screen.

Each epoch draws its batch order, its augmentations and any dropout from seeds
derived from ``(cfg.seed, epoch)``, so a run resumed from ``last.pt`` continues
exactly as if it had never stopped.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import os
import shlex
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import torch
import yaml
from torch import nn
from tqdm import tqdm

from ..augment import ViewMaker
from ..config import PretrainConfig, from_dict, to_dict
from ..data.channels import channels_of, coord_count
from ..data.coverage import reachable, reachable_note
from ..data.prepared import PreparedSplit, load_prepared
from ..errors import SkelconError
from ..utils import threads
from ..utils.io import atomic_write, output_lock
from .build import build_moco, data_spec
from .checkpoint import (
    RESUME_ENTRIES,
    load_checkpoint,
    load_weights,
    rng_state,
    save_checkpoint,
    seed_everything,
    set_rng_state,
)
from .data import batch_loader, epoch_seed
from .distributed import SINGLE, Dist, distributed
from .guards import StopSignals, guard_loss, guard_weights
from .logging import MetricsLogger, NullLogger
from .monitor import KnnMonitor
from .precision import Precision, apply_precision, compile_encoders
from .progress import RunProgress, size_notes
from .schedules import lr_at, momentum_at
from .verdict import conclude, levers

# what a resumed run must share with its checkpoint (everything that shapes the weights;
# epochs may grow under a step schedule, not under cosine ones, which depend on it)
RESUME_MUST_MATCH = (
    "preset", "seq_init", "representations", "moco", "augment", "batch_size", "seed", "optim",
)  # fmt: skip


SAVE_LAST_STEPS = 20  # last.pt at least every this many steps, and after every epoch of more


def cap_queue(cfg: PretrainConfig, num_clips: int) -> str:
    """Cap ``cfg.moco.queue_size`` below the keys of the training set less one batch.

    Counted in keys: a step enqueues one key per clip, two when ``moco.symmetric`` (one
    per view), so the cap is ``keys_per_clip * (num_clips - batch_size) - 1`` (at least
    1). A larger queue keeps keys of every clip from earlier epochs' key encoders (and
    random initial keys past the first epoch). What the cap does not do is keep a query
    from meeting its own clip's older keys: batches are reshuffled every epoch, so at
    the cap a query still meets about 0.4 of them on average (``python
    bench/moco_mechanics.py --own-keys``); those are left out of its negatives by the
    queue's clip ids (:meth:`~skelcon.contrast.FeatureQueue.same_clip`) at any size.
    Returns a one-line note naming both sizes when it capped, else ``""``.
    """
    per_clip = 2 if cfg.moco.symmetric else 1
    batch = min(cfg.batch_size, num_clips)
    limit = max(per_clip * (num_clips - batch) - 1, 1)
    if cfg.moco.queue_size <= limit:
        return ""
    asked, cfg.moco.queue_size = cfg.moco.queue_size, limit
    each = "2 keys per clip (symmetric)" if per_clip == 2 else "1 key per clip"
    return (
        f"moco.queue_size {asked} is not below the {limit + 1} keys of the {num_clips} "
        f"training clips less one batch of {batch} ({each}), so the queue would keep keys "
        f"of every clip from earlier epochs; capped to {limit}"
    )


def stretch_epochs(cfg: PretrainConfig, epochs: int) -> None:
    """Set ``cfg.epochs`` to ``epochs`` and stretch what is counted in epochs alike
    (``optim.warmup_epochs``, ``optim.milestones``, ``monitor.every``, ``save_every``)."""
    f = epochs / cfg.epochs
    cfg.epochs = epochs
    cfg.optim.warmup_epochs = round(cfg.optim.warmup_epochs * f, 3)
    cfg.optim.milestones = [round(m * f) for m in cfg.optim.milestones]
    if cfg.monitor.every:
        cfg.monitor.every = max(round(cfg.monitor.every * f), 1)
    if cfg.save_every:
        cfg.save_every = max(round(cfg.save_every * f), 1)


def stretch_to_min_steps(cfg: PretrainConfig, num_clips: int) -> str:
    """Lengthen a run on a small training split to at least ``cfg.min_steps`` steps.

    A recipe counts epochs, so a split of ``num_clips`` clips makes ``epochs *
    (num_clips // batch_size)`` optimiser steps: 50 epochs are 1,150 steps on 1,510 clips
    but 50 steps on 100. When that is below ``min_steps`` (0: off), ``cfg.epochs``
    becomes ``ceil(min_steps / steps_per_epoch)`` and everything counted in epochs is
    stretched by the same factor (``optim.warmup_epochs``, ``optim.milestones``,
    ``monitor.every``, ``save_every``), so the run keeps its shape in steps. Deterministic
    in ``(cfg, num_clips)``, so a resume stretches alike; the stretched values are what
    ``config.yaml`` saves. Why: docs/pretraining.md, section 6 (steps, not epochs).
    Returns a one-line note when it stretched, else ``""``.
    """
    per_epoch = max(num_clips // cfg.batch_size, 1)
    if cfg.min_steps <= 0 or cfg.epochs * per_epoch >= cfg.min_steps:
        return ""
    asked = cfg.epochs
    stretch_epochs(cfg, math.ceil(cfg.min_steps / per_epoch))
    return (
        f"{asked} epochs of the {num_clips} training clips are {asked * per_epoch} steps of "
        f"batch {cfg.batch_size}, fewer than min_steps {cfg.min_steps}: running {cfg.epochs} "
        f"epochs ({cfg.epochs * per_epoch} steps; warm-up, monitor and schedule stretched alike)"
    )


def resume_mismatch(saved: dict, now: dict, prefix: str = "") -> str | None:
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


def resume_command(
    data: str | os.PathLike,
    benchmark: str,
    out: str | os.PathLike,
    resume_from: str | os.PathLike | None = None,
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


def torchrun_prefix() -> list[str]:
    """``["torchrun", "--nproc_per_node=N", "-m"]`` when this process was started by
    torchrun with several processes (``--nnodes`` too across nodes), else ``[]``."""
    world = os.environ.get("WORLD_SIZE", "1")
    if not world.isdigit() or int(world) <= 1:
        return []
    local = os.environ.get("LOCAL_WORLD_SIZE", world)
    nodes = int(world) // max(int(local), 1) if local.isdigit() else 1
    return ["torchrun", *([f"--nnodes={nodes}", "<rendezvous flags>"] if nodes > 1 else []),
            f"--nproc_per_node={local}", "-m"]  # fmt: skip


def newest_intact(out: str | os.PathLike) -> tuple[Path, int] | None:
    """The newest ``epoch_NNNN.pt`` of run ``out`` that loads, and its epoch."""

    def number(p: Path) -> int:
        tail = p.stem.removeprefix("epoch_")
        return int(tail) if tail.isdigit() else -1

    for p in sorted(Path(out).glob("epoch_*.pt"), key=number, reverse=True):
        try:
            return p, int(check_finite(load_checkpoint(p, require=RESUME_ENTRIES), p)["epoch"])
        except (SkelconError, KeyError, TypeError, ValueError):
            continue
    return None


def load_resume(
    out: str | os.PathLike,
    data: str | os.PathLike,
    benchmark: str,
    resume_from: str | os.PathLike | None = None,
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

    def hint(fresh: str) -> str:
        good = newest_intact(out)
        if good is None:
            return f"no intact epoch_NNNN.pt beside it either; {fresh}"
        return (f"the newest intact checkpoint is {good[0]} (epoch {good[1]}); resume from "
                f"it with: {resume_command(data, benchmark, out, good[0])}")  # fmt: skip

    if not last.exists():  # nothing to continue: a run without --resume starts it here
        raise SkelconError(f"{out} has no last.pt to resume; "
                           + hint("run without --resume to start it"))  # fmt: skip
    try:
        return check_finite(
            load_checkpoint(last, map_location=map_location, require=RESUME_ENTRIES), last
        )
    except SkelconError as e:
        start = f"delete {last} and run without --resume to start again, or pick another --out"
        raise SkelconError(f"{last} is truncated or corrupt ({e}); {hint(start)}") from None


def check_finite(ckpt: dict[str, Any], path: str | os.PathLike) -> dict[str, Any]:
    """``ckpt``, after checking that every floating-point weight and buffer of its model
    is finite (a flipped bit in a file that still loads); raises :class:`SkelconError`
    naming the first bad tensor."""
    for name, t in ckpt["model"].items():
        if torch.is_tensor(t) and t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise SkelconError(f"{path}: non-finite values in model tensor {name}")
    return ckpt


def check_resume(ckpt: dict, cfg: PretrainConfig, benchmark: str, spec: dict,
                 split: PreparedSplit, out: Path) -> None:  # fmt: skip
    """Refuse to resume ``ckpt`` with another config or other data, naming what changed.

    Compared: the config keys that shape the weights (:data:`RESUME_MUST_MATCH`, and the
    epochs under a cosine schedule), the benchmark, the data's shape, the number of
    training clips and the split's fingerprint (dataset, split, sample names).
    """
    data = None
    if ckpt.get("benchmark") != benchmark:
        data = f"benchmark: {ckpt.get('benchmark')!r} -> {benchmark!r}"
    if data is None and ckpt.get("data") != spec:
        data = resume_mismatch(dict(ckpt.get("data") or {}), spec)
    if data is None and ckpt.get("num_clips", len(split)) != len(split):
        data = f"training clips: {ckpt.get('num_clips')} -> {len(split)}"
    was, now_fp = ckpt.get("data_fingerprint"), split.fingerprint()
    if data is None and was is not None and was != now_fp:
        data = resume_mismatch(was, now_fp)
        if data and data.startswith("names_sha256"):
            data = f"other sample names ({len(split)} training clips)"
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
        raise SkelconError(f"cannot resume {out}: the config differs ({diff}){why}")


def _with_defaults(saved: dict) -> dict:
    """A checkpoint's config with the keys it lacks at their defaults (as it ran)."""
    try:
        return to_dict(from_dict(PretrainConfig, saved))
    except (SkelconError, TypeError, ValueError):  # a key unknown here: compare as saved
        return saved


def pretrain(
    cfg: PretrainConfig,
    data: str | os.PathLike,
    benchmark: str,
    out: str | os.PathLike,
    *,
    resume: bool = False,
    resume_from: str | os.PathLike | None = None,
    progress: bool = True,
    stop_after: int | None = None,
) -> Path:
    """Pre-train on the ``train`` split of ``benchmark``; write the run to ``out``.

    Logs to ``out/metrics.jsonl`` and TensorBoard: every ``log_every`` steps the loss,
    lr, key momentum and the per-pair / per-representation statistics of
    :class:`~skelcon.contrast.SkeletonMoCo` (under torchrun averaged over the ranks,
    :meth:`~skelcon.engine.distributed.Dist.mean_stats`, as ``loss`` is); every epoch the mean loss and samples/s;
    and the kNN monitor (:class:`~skelcon.engine.monitor.KnnMonitor`) when due.
    ``resume`` continues from ``out/last.pt``, ``resume_from`` from that checkpoint
    file (e.g. an ``epoch_NNNN.pt`` when ``last.pt`` is corrupt) into ``out``.
    ``stop_after`` ends the process after that many epochs of this call (used to
    simulate an interruption); the checkpoint then looks like any other.
    Raises :class:`SkelconError` on an empty split, a config that does not fit the
    data, a ``--resume`` that does not match the run, another run holding ``out``,
    a NaN/Inf loss or weights (nothing of that step is saved) or a full disk;
    :class:`~skelcon.errors.Interrupted` on SIGINT/SIGTERM (the epoch under way is
    abandoned; ``last.pt`` keeps the last finished one).
    """
    cfg.validate()
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise SkelconError(f"--out {out} is a file; give a directory for the run")
    with distributed(cfg.device) as (world, device):
        lock = output_lock(out, "pretrain") if world.is_main else contextlib.nullcontext()
        with lock:
            return _pretrain(cfg, data, benchmark, out, resume or resume_from is not None,
                             resume_from, progress, stop_after, world, device)  # fmt: skip


def _pretrain(cfg: PretrainConfig, data: str | os.PathLike, benchmark: str, out: Path,
              resume: bool, resume_from: str | os.PathLike | None, progress: bool,
              stop_after: int | None, world: Dist, device: torch.device) -> Path:  # fmt: skip
    progress = progress and world.is_main  # rank 0 alone logs, shows progress and writes
    split = load_prepared(data, benchmark, "train")
    if len(split) == 0:
        raise SkelconError(f"benchmark {benchmark!r} of {data} has an empty train split")
    spec = data_spec(split.meta, cfg.augment.out_len, cfg.seq_init)
    if (
        cfg.augment.spatial in ("random", "jitter")
        and cfg.augment.jitter_joints > spec["num_joints"]
    ):
        raise SkelconError(
            f"augment.jitter_joints {cfg.augment.jitter_joints} exceeds the "
            f"{spec['num_joints']} joints of {data}"
        )
    if min(cfg.batch_size, len(split)) < 2:
        raise SkelconError(
            f"pre-training needs batches of at least 2 clips (BatchNorm and contrast need "
            f"two samples); got batch_size {cfg.batch_size} with {len(split)} training clips"
        )
    check_world(cfg, world, device, len(split))
    notes = [stretch_to_min_steps(cfg, len(split)), cap_queue(cfg, len(split))]
    notes = [n for n in notes if n]  # said below, once a resume has been accepted

    seed_everything(cfg.seed)
    model = build_moco(cfg, spec).to(device)
    amp = Precision(cfg.precision, device, cfg.tf32)
    apply_precision(model, amp)
    if cfg.sync_bn and world.enabled:
        model.query_encoders = nn.SyncBatchNorm.convert_sync_batchnorm(model.query_encoders)
    compile_encoders(model, cfg.compile)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.SGD(
        params, lr=cfg.optim.lr, momentum=cfg.optim.momentum, weight_decay=cfg.optim.weight_decay
    )
    start_epoch = 0
    last = out / "last.pt"
    if resume:
        ckpt = load_resume(out, data, benchmark, resume_from, map_location=device)
        check_resume(ckpt, cfg, benchmark, spec, split, out)
        load_weights(model, ckpt["model"], checkpoint=resume_from or last, what="model of this run")
        opt.load_state_dict(ckpt["optimizer"])
        amp.load_state_dict(ckpt.get("scaler"))
        set_rng_state(ckpt["rng"])
        start_epoch = int(ckpt["epoch"])
        if start_epoch >= cfg.epochs:
            # also with --quiet: the one line that says nothing was done (rank 0 only)
            if world.is_main:
                print(f"skelcon: {out} is complete ({start_epoch} of {cfg.epochs} epochs); "
                      "nothing to resume", file=sys.stderr)  # fmt: skip
            return out
    elif last.exists():
        raise SkelconError(
            f"{out} already holds a run; pass --resume to continue it or pick another --out"
        )
    for note in notes if progress else []:
        print(f"skelcon: note: {note}", file=sys.stderr)
    trainer = wrap_ddp(model, world, device)  # the module a step runs through

    if world.is_main:
        out.mkdir(parents=True, exist_ok=True)
        text = yaml.safe_dump(to_dict(cfg), sort_keys=False)
        atomic_write(out / "config.yaml", lambda p: p.write_text(text))
        if start_epoch == 0:  # a fresh run: nothing of an earlier failed start in its logs
            (out / "metrics.jsonl").unlink(missing_ok=True)
            shutil.rmtree(out / "tb", ignore_errors=True)
    logger = MetricsLogger(out) if world.is_main else NullLogger()
    steps_per_epoch = max(len(split) // cfg.batch_size, 1)
    # last.pt after every epoch, or every few epochs of one step (min_steps on small data)
    save_last_every = max(SAVE_LAST_STEPS // steps_per_epoch, 1)
    logger.truncate_after(start_epoch * steps_per_epoch)
    shown = RunProgress(cfg, device, steps_per_epoch, start_epoch, enabled=progress)
    for text in [*size_notes(cfg, len(split)), *amp.notes()]:
        shown.note(text)
    views = ViewMaker.from_config(cfg.augment, coords=coord_count(channels_of(split.meta)))
    monitor, why_not = KnnMonitor.for_run(cfg.monitor, data, benchmark, split, cfg.augment.out_len)
    if monitor is None and progress and cfg.monitor.every:
        print(f"skelcon: note: no kNN monitor ({why_not})", file=sys.stderr)
    if monitor is not None:  # its passes still due count in the time left
        shown.plan_monitor(lambda e: monitor.due(e, cfg.epochs))
        cannot = reachable_note(*reachable(split.labels, monitor.test.labels))
        if cannot and world.is_main and progress:
            shown.note(f"kNN monitor: {cannot}")

    def check(epoch: int) -> None:  # the kNN monitor, when due (every rank: features shard)
        if monitor is not None and monitor.due(epoch, cfg.epochs):
            with shown.monitor_pass(epoch):  # its own bar; not in the training speed
                knn = monitor.measure(dict(model.query_encoders), device, progress=progress,
                                      speed=shown.monitor_speed)  # fmt: skip
            logger.log(epoch * steps_per_epoch, epoch=epoch, **knn)
            if progress:
                tqdm.write(f"epoch {epoch}  kNN top-1 " + "  ".join(
                    f"{k.split('/')[1]} {v:.1f}%" for k, v in knn.items()))  # fmt: skip

    done = start_epoch  # epochs that last.pt (or, until one finishes, resume_from) holds

    def held() -> Path | None:  # the checkpoint to continue from now
        fresh = done > start_epoch or resume_from is None
        return None if not done else last if fresh else Path(resume_from)

    nets = {f"{r} encoder": model.query_encoders[r] for r in cfg.representations}
    nets |= {f"{r} head": model.query_heads[r] for r in cfg.representations}

    def kept() -> str:  # what the run keeps, for the stop and NaN messages
        return f"{held()} holds epoch {done}" if done else "no epoch has finished, nothing saved"

    def stopped(sig: str) -> str:
        src = held()
        then = "run the same command again to start" if src is None else "resume with: " + (
            resume_command(data, benchmark, out, None if src == last else src))  # fmt: skip
        return (
            f"pretrain stopped by {sig} during epoch {done + 1} of {cfg.epochs}; {kept()}; {then}"
        )

    with StopSignals(stopped) as stop:
        if start_epoch == 0:
            check(0)  # this run's own random-init baseline
        epochs_run = 0
        for epoch in range(start_epoch, cfg.epochs):
            es = epoch_seed(cfg.seed, epoch, world.rank)
            torch.manual_seed(es)  # dropout and any other global draws
            aug_gen = torch.Generator(device=device).manual_seed(es)
            loader = batch_loader(  # global batches from (seed, epoch); this rank's part
                split, cfg.batch_size, shuffle=True, drop_last=True,
                seed=epoch_seed(cfg.seed, epoch), num_workers=cfg.num_workers,
                pin_memory=device.type == "cuda", rank=world.rank, world_size=world.world_size,
                with_index=True,  # each clip's index: its own older keys are not its negatives
            )  # fmt: skip
            model.train()
            t0, seen, total = time.time(), 0, 0.0
            shown.epoch(epoch)
            for i, (x, nf, _, ids) in enumerate(loader):
                t = epoch + i / len(loader)
                set_lr(opt, lr_at(cfg.optim, t, cfg.epochs))
                model.momentum = momentum_at(cfg.moco, t, cfg.epochs)
                x = x.to(device, non_blocking=True)
                nf = nf.to(device, non_blocking=True)
                view_q = views(x, nf, generator=aug_gen)
                view_k = views(x, nf, generator=aug_gen)
                ids = ids.to(device, non_blocking=True)
                loss, stats = trainer(view_q, view_k, generator=aug_gen, ids=ids)
                step = epoch * steps_per_epoch + i + 1
                batch_loss = world.mean(loss.detach())  # of the global batch, on every rank
                guard_loss(batch_loss, stats, modules=nets, advice=f"{kept()}; lower optim.lr",
                           where=f"step {step} (epoch {epoch + 1}, batch {i + 1} of {len(loader)})")  # fmt: skip
                amp.step(loss, opt)
                seen += x.shape[0] * world.world_size
                value = batch_loss.item()  # one host sync per step
                total += value
                final = epoch + 1 == cfg.epochs and i + 1 == len(loader)
                if cfg.log_every and (step % cfg.log_every == 0 or final):  # global steps
                    # every rank: the statistics of the global batch, one all_reduce
                    logger.log(step, loss=value, lr=opt.param_groups[0]["lr"],
                               epoch=epoch + 1, key_momentum=model.momentum,
                               **world.mean_stats(stats))  # fmt: skip
                shown.step(value)
            guard_weights(nets, where=f"the last step of epoch {epoch + 1}",
                          advice=f"{kept()}; lower optim.lr")  # fmt: skip
            world.average_batchnorm(model)  # every rank's weights identical again
            dt = time.time() - t0
            n_batches = max(len(loader), 1)
            logger.log(
                (epoch + 1) * steps_per_epoch,
                epoch=epoch + 1,
                epoch_loss=total / n_batches,
                samples_per_s=seen / max(dt, 1e-9),
                threads=threads.policy(),  # the CPU thread choice behind samples_per_s
            )
            shown.epoch_line(epoch + 1, total / n_batches, seen / max(dt, 1e-9))
            check(epoch + 1)
            epochs_run += 1
            kept_every = cfg.save_every and (epoch + 1) % cfg.save_every == 0
            last_due = (epoch + 1) % save_last_every == 0 or epoch + 1 == cfg.epochs or (
                stop_after is not None and epochs_run >= stop_after)  # fmt: skip
            # a signal now waits until the checkpoints are written (not in the training speed)
            with stop.deferred(), shown.aside():
                if world.is_main and (last_due or kept_every):
                    state = run_state(cfg, epoch + 1, model, opt, spec, benchmark, split, amp,
                                      world)  # fmt: skip
                    save_checkpoint(last, state)
                    if kept_every:
                        save_checkpoint(out / f"epoch_{epoch + 1:04d}.pt", state)
                done = epoch + 1 if last_due or kept_every else done
            if stop_after is not None and epochs_run >= stop_after:
                break
    shown.close()
    logger.close()
    if not math.isfinite(total):
        raise SkelconError("training diverged")
    if world.is_main and monitor is not None and done == cfg.epochs:
        steps = cfg.epochs * steps_per_epoch
        tips = levers(steps, views.coords == 2, views.temporal)
        conclude(
            out,
            len(monitor.test),
            steps,
            echo=progress,
            tips=tips,
            reachable=reachable(split.labels, monitor.test.labels)[0],
        )  # verdict.json
    return out


def run_state(cfg: PretrainConfig, epoch: int, model: torch.nn.Module,
              opt: torch.optim.Optimizer, spec: dict, benchmark: str,
              split: PreparedSplit, amp: Precision | None = None,
              world: Dist = SINGLE) -> dict:  # fmt: skip
    """What a checkpoint holds after ``epoch`` finished epochs: config, weights,
    optimizer, loss-scaler and RNG states, the number of processes, and what the data
    was (checked again on resume), and the skelcon version that wrote it."""
    from ..cli import package_version

    return {
        "config": to_dict(cfg),
        "epoch": epoch,
        "model": model.state_dict(),
        "optimizer": opt.state_dict(),
        "scaler": amp.state_dict() if amp is not None else {},
        "world_size": world.world_size,
        "rng": rng_state(),
        "data": spec,
        "benchmark": benchmark,
        "num_clips": len(split),
        "data_fingerprint": split.fingerprint(),
        "representations": list(cfg.representations),
        "skelcon_version": package_version(),
    }


def check_world(cfg: PretrainConfig, world: Dist, device: torch.device, num_clips: int) -> None:
    """Refuse a DDP run whose global batch cannot be split evenly, or SyncBN on CPU.

    ``batch_size`` is the global batch: every rank takes ``batch_size / world_size``
    clips (at least 2, for BatchNorm), and the training split must fill one global
    batch so that every rank runs the same steps.
    """
    if cfg.sync_bn and device.type == "cpu":
        raise SkelconError(
            "sync_bn=true needs CUDA devices (PyTorch's SyncBatchNorm has no CPU kernel); "
            "leave sync_bn false on CPU"
        )
    if not world.enabled:
        return
    w = world.world_size
    if cfg.batch_size % w or cfg.batch_size // w < 2:
        counts = [str(n) for n in range(1, cfg.batch_size // 2 + 1) if cfg.batch_size % n == 0][:8]
        raise SkelconError(
            f"batch_size {cfg.batch_size} (the global batch) must be a multiple of the "
            f"{w} processes with at least 2 clips each; with this global batch (a resume "
            f"keeps it) start one of {', '.join(counts)} processes, or set another batch_size "
            f"(e.g. {max(2, cfg.batch_size // w) * w})"
        )
    if num_clips < cfg.batch_size:
        raise SkelconError(
            f"the {num_clips} training clips do not fill one global batch of "
            f"{cfg.batch_size}; lower batch_size or use fewer processes"
        )


def wrap_ddp(model: torch.nn.Module, world: Dist, device: torch.device) -> torch.nn.Module:
    """``model`` in :class:`~torch.nn.parallel.DistributedDataParallel` under torchrun.

    DDP averages the query encoders' gradients over ranks (key encoders have none);
    buffers are not broadcast each step (queues are identical by construction, and
    BatchNorm statistics are averaged each epoch by :meth:`Dist.average_batchnorm`).
    """
    if not world.enabled:
        return model
    ids = [device.index] if device.type == "cuda" else None
    ddp = nn.parallel.DistributedDataParallel
    # PyTorch >= 2.13 names it forward_sync_buffers (buffers are still synced once, at init,
    # where every rank holds the same seeded values anyway); older ones broadcast_buffers
    new = "forward_sync_buffers" in inspect.signature(ddp.__init__).parameters
    sync = {"forward_sync_buffers" if new else "broadcast_buffers": False}
    return ddp(model, device_ids=ids, **sync)


def set_lr(opt: torch.optim.Optimizer, lr: float) -> None:
    """Set every parameter group's learning rate."""
    for group in opt.param_groups:
        group["lr"] = lr
