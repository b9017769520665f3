"""Reading results back: every ``metrics.json`` under the given directories as
:class:`~skelcon.report.records.Result` rows (an
:class:`~skelcon.eval.record.EvalRecord` each), with the run behind each checkpoint."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from ..errors import DataFormatError, SkelconError, choices_message
from ..eval.record import PROTOCOLS, EvalRecord, imported_words
from ..paper_numbers import DEFAULT_AUG, FULL_CLASSES, Augmentation
from .judge import judge
from .recipes import _full_config
from .records import PretrainInfo, Result, _int, _rep_list


def _ancestors(start: Path) -> list[Path]:
    return [start, *start.parents]


def _logged_epochs(path: Path) -> int | None:
    """The last completed epoch in a run's ``metrics.jsonl`` (records with ``epoch_loss``)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    done = None
    for line in lines:
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict) and "epoch_loss" in rec and _int(rec.get("epoch")) is not None:
            done = max(done or 0, rec["epoch"])
    return done


class _PretrainReader:
    """Finds and reads the run behind a checkpoint path (cached per path)."""

    def __init__(self) -> None:
        self._cache: dict[Path, PretrainInfo | None] = {}

    def find(self, checkpoint: str, metrics: Path) -> PretrainInfo | None:
        p = Path(checkpoint)
        candidates = [p] if p.is_absolute() else [Path.cwd() / p]
        if not p.is_absolute():
            candidates += [d / p for d in _ancestors(metrics.parent)]
        for c in candidates:
            if c.exists():
                c = c.resolve()
                if c not in self._cache:
                    self._cache[c] = self._read(c)
                return self._cache[c]
        return None

    @staticmethod
    def _read(path: Path) -> PretrainInfo | None:
        run = path if path.is_dir() else path.parent
        pt = path / "last.pt" if path.is_dir() else path
        cfg = None
        cfg_path = run / "config.yaml"
        if cfg_path.is_file():
            try:
                cfg = yaml.safe_load(cfg_path.read_text())
            except yaml.YAMLError as e:
                raise DataFormatError(
                    f"not valid YAML ({str(e).splitlines()[0]})", str(cfg_path)
                ) from None
            if not isinstance(cfg, dict):
                raise DataFormatError("a run config must be a mapping", str(cfg_path))
        state = _checkpoint_state(pt) if pt.is_file() else {}
        if cfg is None:
            cfg = state.get("config") if isinstance(state.get("config"), dict) else None
        if cfg is None:
            return None
        if isinstance(cfg.get("representations"), str):
            cfg = {**cfg, "representations": _rep_list(cfg["representations"])}
        flat = _full_config(cfg)
        epochs = _int(state.get("epoch"))
        if epochs is None and (m := re.fullmatch(r"epoch_(\d+)\.pt", pt.name)):
            epochs = int(m.group(1))
        if epochs is None and pt.name == "last.pt":
            epochs = _logged_epochs(run / "metrics.jsonl")
        data = state.get("data") if isinstance(state.get("data"), dict) else {}
        d = DEFAULT_AUG
        return PretrainInfo(
            representations=tuple(str(r) for r in flat.get("representations") or ["seq", "stg"]),
            augment=Augmentation(
                temporal=bool(flat.get("augment.temporal", d.temporal)),
                spatial=str(flat.get("augment.spatial", d.spatial)),
                l_min=float(flat.get("augment.l_min", d.l_min)),
                jitter_joints=int(flat.get("augment.jitter_joints", d.jitter_joints)),
            ),
            jitter_mode=str(flat.get("augment.jitter_mode", "paper")),
            min_len=int(flat.get("augment.min_len", 1)),
            dataset=data.get("dataset"),
            intra_weight=float(flat.get("moco.intra_weight") or 0.0),
            symmetric=bool(flat.get("moco.symmetric", False)),
            epochs=epochs,
            planned_epochs=_int(flat.get("epochs")),
            num_clips=_int(state.get("num_clips")),
            benchmark=state.get("benchmark") if isinstance(state.get("benchmark"), str) else None,
            stream=str(flat.get("stream") or "joint"),
            imported=imported_words(state.get("imported")),
            config=flat,
        )


def _checkpoint_state(pt: Path) -> dict[str, Any]:
    """The small entries of a checkpoint (config, epoch, data, benchmark, clips),
    memory-mapped; ``{}`` if it cannot be read."""
    try:
        import torch

        state = torch.load(pt, map_location="cpu", weights_only=True, mmap=True)
    except Exception:  # noqa: BLE001 - an unreadable checkpoint only means "setting unknown"
        return {}
    if not isinstance(state, dict):
        return {}
    keys = ("config", "epoch", "data", "benchmark", "num_clips", "imported")
    return {k: state.get(k) for k in keys}


def _percent(fraction: float) -> float:
    """Label fraction as percent: ``0.01`` -> 1.0 (values above 1 are taken as percent)."""
    return round(fraction * 100.0 if fraction <= 1.0 else fraction, 6)


def _display_source(path: Path, root: Path, several: bool, root_text: str) -> str:
    rel = path.parent.relative_to(root).as_posix() if path.parent != root else "."
    if several:
        rel = f"{root_text.rstrip('/')}/{rel}" if rel != "." else root_text.rstrip("/")
    return rel


def _metrics_files(paths: Sequence[str | os.PathLike]) -> list[tuple[Path, Path, str]]:
    """``(metrics.json, root, root as given)`` for every file under ``paths``, sorted per root."""
    out = []
    for given in paths:
        root = Path(given)
        if not root.exists():
            raise SkelconError(
                f"{str(given)!r} does not exist (give run or evaluation directories)"
            )
        if root.is_file():
            out.append((root.resolve(), root.resolve().parent, str(given)))
            continue
        root = root.resolve()
        found = sorted(root.rglob("metrics.json"), key=lambda p: p.relative_to(root).as_posix())
        out += [(f, root, str(given)) for f in found]
    if not out:
        raise SkelconError(f"no metrics.json found under {', '.join(map(str, paths))}")
    return out


def collect(paths: Sequence[str | os.PathLike], warnings: list[str] | None = None) -> list[Result]:
    """All results of the ``metrics.json`` files under ``paths``, each with the paper's
    number for its setting and the reasons (if any) why it is not comparable."""
    files = _metrics_files(paths)
    several = len(paths) > 1
    reader = _PretrainReader()
    results: list[Result] = []
    for path, root, given in files:
        try:
            raw = json.loads(path.read_text())
        except json.JSONDecodeError as e:
            raise DataFormatError(f"not valid JSON ({e.msg})", str(path), e.lineno) from None
        if not isinstance(raw, dict):
            raise DataFormatError("a metrics.json must hold an object", str(path))
        protocol = raw.get("protocol")
        if protocol not in PROTOCOLS:
            if warnings is not None:
                warnings.append(
                    f"{path}: {choices_message('protocol', protocol, PROTOCOLS)}; skipped"
                )
            continue
        rec = EvalRecord.from_dict(raw, str(path))
        results += _results(rec, path, root, given, several, reader)
    for r in results:
        judge(r)
    return results


def _results(
    rec: EvalRecord, path: Path, root: Path, given: str, several: bool, reader: _PretrainReader
) -> list[Result]:
    """The report rows of one evaluation: one, or one per label fraction."""
    protocol = rec.protocol
    pretrain = None
    if not rec.random_init and protocol != "supervised" and rec.checkpoint:
        pretrain = reader.find(rec.checkpoint, path)
    name, num_classes, sequences = _data_info(rec, path)
    eval_config = dict(rec.config) if rec.config is not None else None
    if eval_config is None and protocol == "knn" and rec.similarity is not None:
        eval_config = {"k": rec.k if rec.k is not None else 1, "similarity": rec.similarity}
    base = dict(
        source=_display_source(path, root, several, given),
        protocol=protocol,
        dataset=name,
        dataset_key=rec.dataset,
        benchmark=rec.benchmark,
        representation="+".join(_rep_list(rec.representation)),
        random_init=rec.random_init,
        preset=rec.preset,
        pretrain=pretrain,
        pretrain_known=pretrain is not None,
        num_classes=num_classes,
        num_train=rec.num_train,
        num_test=rec.num_test,
        sequences=sequences,
        eval_config=eval_config,
        stream=rec.extra.get("stream") if isinstance(rec.extra.get("stream"), str) else None,
        imported=imported_words(rec.extra.get("imported")),
    )
    src = rec.source_dataset
    if src is None and pretrain is not None:
        src = pretrain.dataset
    src = src if protocol in ("finetune", "transfer") else None
    if rec.results is not None:
        # fine-tuning protocols: one entry per label fraction (mean ± std over subsets)
        return [
            Result(
                **base,
                top1=e.mean,
                std=e.std,
                fraction=_percent(e.fraction),
                runs=len(e.runs) if e.runs is not None else None,
                source_dataset=src,
            )
            for e in rec.results
        ]
    k = (rec.k if rec.k is not None else 1) if protocol == "knn" else None
    members = None
    if protocol == "ensemble":
        listed = rec.extra.get("members")
        if not isinstance(listed, list) or not all(isinstance(m, dict) for m in listed):
            raise DataFormatError("an ensemble's 'members' must be a list of objects", str(path))
        members = [dict(m) for m in listed]
    return [Result(**base, top1=rec.top1, k=k, source_dataset=src, members=members)]


def _data_info(rec: EvalRecord, path: Path) -> tuple[str, int | None, int | None]:
    """``(display name, classes, source sequences)`` of a result's dataset.

    A class subset (``--min-instances``) gets its own display name, ``pku-mmd1 (8 of 51
    classes)``. Classes and sequences come from ``metrics.json`` or the prepared data's
    ``meta.json`` (its path as given, else relative to the metrics file)."""
    name = rec.dataset if rec.dataset is not None else "(unnamed dataset)"
    n = rec.num_classes
    meta: dict = {}
    if rec.data is not None:
        meta_path = Path(rec.data) / "meta.json"
        if not meta_path.is_absolute() and not meta_path.exists():
            meta_path = path.parent / meta_path
        try:
            loaded = json.loads(meta_path.read_text())
            meta = loaded if isinstance(loaded, dict) else {}
        except (OSError, ValueError):
            meta = {}
    if n is None:
        n = _int(meta.get("num_classes"))
    full = FULL_CLASSES.get(name)
    display = f"{name} ({n} of {full} classes)" if full and n is not None and n != full else name
    return display, n, _int(meta.get("sequences"))
