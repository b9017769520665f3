"""The paper authors' checkpoints: reading them safely and mapping their key names.

The authors' pre-training scripts (``main_moco_inter_skeleton.py`` and
``main_moco_intra_skeleton.py`` of github.com/fmthoker/skeleton-contrast) save
``checkpoint_NNNN.pth.tar``: a dict with ``epoch`` (finished epochs), ``optimizer`` (the SGD
state) and ``state_dict``, the MoCo module wrapped in ``nn.DataParallel`` (every key starts
with ``module.``). Its query encoders are ``encoder_q`` (and ``encoder_r`` in the
inter-skeleton model), their momentum copies ``encoder_k`` (``encoder_l``), the queues
``queue``/``queue_ptr`` (intra) or ``Queue_S1``/``Queue_S2`` and their pointers (inter).
Each encoder is one of:

* SEQ, their ``BIGRU``: ``encoder.gru.*`` (an ``nn.GRU(150, H, L, bidirectional=True)``,
  fed one frame per call: skelcon's ``seq.recurrence: stepwise``);
* IMG, their ``HCN``: ``conv1.0 conv2 conv3.0 conv4.0`` (position), ``conv1m.0 conv2m
  conv3m.0 conv4m.0`` (motion), ``conv5.0 conv6.0``;
* STG, their 2s-AGCN ``Model``: ``data_bn``, blocks ``l1 .. lN`` of ``gcn1`` (``PA``, three
  ``conv_a``/``conv_b``/``conv_d`` 1x1 convolutions per block, ``bn``, ``down``),
  ``tcn1`` and ``residual``. skelcon fuses the subsets' convolutions: ``embed`` stacks
  ``conv_a`` then ``conv_b`` of the three subsets on output channels, ``mix`` stacks the
  ``conv_d`` weights on input channels and sums their biases (the same function). Their
  graph ``A`` is not saved; skelcon's NTU adjacency is the same matrix.

and a projection head ``fc``: ``fc.0`` and ``fc.2`` (Linear-ReLU-Linear, their ``--mlp``,
which every published model used; skelcon's ``ProjectionHead`` without BatchNorm) or one
``fc`` Linear (without ``--mlp``: no skelcon head has that form, so it is not imported).

:func:`read_checkpoint` loads such a file with ``torch.load(weights_only=True)``
(``argparse.Namespace`` is the one class allowed besides tensors and plain values);
:func:`convert` maps the query encoders and heads onto skelcon's encoders of the preset
whose sizes they fit. Every refusal is one :class:`~skelcon.errors.SkelconError` line
naming the file. Nothing of the authors' code is used.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import torch
from torch import nn

from ..config import PRESETS
from ..errors import SkelconError
from .build import DataSpec, build_encoders
from .checkpoint import strip_ddp_prefix

SOURCE = "skeleton-contrast"
QUERY_MODULES = ("encoder_q", "encoder_r")  # the query encoders, in this order
KEY_MODULES = ("encoder_k", "encoder_l")  # their momentum copies: not imported
QUEUE_KEYS = ("queue", "queue_ptr", "Queue_S1", "queue_ptr_S1", "Queue_S2", "queue_ptr_S2")
# their class behind each representation, for messages
THEIR_CLASS = {"seq": "BIGRU", "img": "HCN", "stg": "AGCN"}
# a key each of their encoders has and the others lack
SIGNATURE = {"seq": "encoder.gru.weight_ih_l0", "img": "conv1m.0.weight", "stg": "l1.gcn1.PA"}
MLP_HEAD = ("fc.0.weight", "fc.0.bias", "fc.2.weight", "fc.2.bias")
LINEAR_HEAD = ("fc.weight", "fc.bias")
EXPECTED = (
    "a torch file saved by skeleton-contrast's main_moco_*_skeleton.py: a dict whose "
    "'state_dict' holds module.encoder_q.* (BIGRU, HCN or AGCN) weights"
)
SHOW = 4  # keys named in a message


@dataclass(frozen=True)
class AuthorsCheckpoint:
    """One of the authors' checkpoints, read.

    ``state``: their MoCo ``state_dict`` without the ``module.`` prefix; ``modules``:
    representation -> their query module name (``{"seq": "encoder_q", "stg":
    "encoder_r"}``), in their order; ``epoch``: finished epochs (None when the file does not
    say); ``queue_size``: the length of their queues (None without queues); ``sha256``: of
    the file's bytes."""

    path: Path
    sha256: str
    state: dict[str, torch.Tensor]
    modules: dict[str, str]
    epoch: int | None
    queue_size: int | None

    def module_state(self, module: str) -> dict[str, torch.Tensor]:
        """The keys under ``module.`` (``encoder_q``...), without that prefix."""
        prefix = f"{module}."
        return {k[len(prefix) :]: v for k, v in self.state.items() if k.startswith(prefix)}


@dataclass(frozen=True)
class Converted:
    """What :func:`convert` made: the preset the weights fit, the representations in the
    authors' order, the state of skelcon's ``SkeletonMoCo`` restricted to
    ``query_encoders.*`` and (when the file has MLP heads) ``query_heads.*``, and the
    heads' output size (None without heads)."""

    preset: str
    representations: list[str]
    model: dict[str, torch.Tensor]
    head_dim: int | None


def _first(keys: Sequence[str]) -> str:
    keys = sorted(keys)
    return ", ".join(keys[:SHOW]) + (", ..." if len(keys) > SHOW else "")


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of the file's bytes, hex."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _load(p: Path) -> Any:
    """``torch.load(weights_only=True)`` with ``argparse.Namespace`` allowed; one line when
    the file cannot be read or holds other objects."""
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            return torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any failure here is a bad user file
        text = str(e)
        found = re.search(r"GLOBAL ([\w.]+)", text)
        garbled = ("Unsupported operand", "invalid load key", "zip archive", "central directory")
        refused = "weights_only" in text or "Weights only" in text
        if found:
            why = f"it holds a {found.group(1)} object (refused, not run)"
        elif (
            refused
            and not isinstance(e, (EOFError, OSError))
            and not any(g in text for g in garbled)
        ):
            why = "it holds objects other than tensors and plain values (refused, not run)"
        else:
            why = "truncated, corrupt or not a torch file"
        raise SkelconError(f"cannot read {str(p)!r}: {why}; expected {EXPECTED}") from None


def _kind(module: str, sub: Mapping[str, Any], p: Path) -> str:
    """The representation of their encoder ``module`` from its keys."""
    kinds = [r for r, key in SIGNATURE.items() if key in sub]
    if len(kinds) != 1:
        raise SkelconError(
            f"{str(p)!r}: {module} is none of the authors' encoders (BIGRU: {SIGNATURE['seq']}, "
            f"HCN: {SIGNATURE['img']}, AGCN: {SIGNATURE['stg']}); its keys: {_first(list(sub))}"
        )
    return kinds[0]


def read_checkpoint(path: str | os.PathLike[str]) -> AuthorsCheckpoint:
    """Read one of the authors' ``.pth.tar`` checkpoints (module doc).

    Raises a one-line :class:`SkelconError` naming the file when it is missing,
    unreadable, holds objects other than tensors, plain values and ``argparse.Namespace``,
    is not such a checkpoint, or has keys no part of their MoCo model has (listed)."""
    p = Path(path)
    if not p.is_file():
        raise SkelconError(f"checkpoint {str(path)!r} not found; expected {EXPECTED}")
    raw = _load(p)
    sd = raw.get("state_dict") if isinstance(raw, dict) else None
    if not isinstance(sd, Mapping) or not all(torch.is_tensor(v) for v in sd.values()):
        holds = _first([str(k) for k in raw]) if isinstance(raw, dict) else type(raw).__name__
        raise SkelconError(
            f"{str(p)!r} is not one of the authors' checkpoints (it holds: {holds or 'nothing'}); "
            f"expected {EXPECTED}"
        )
    state = strip_ddp_prefix({str(k): v for k, v in sd.items()})
    allowed = (*QUERY_MODULES, *KEY_MODULES)
    unknown = [k for k in state if k.split(".")[0] not in allowed and k not in QUEUE_KEYS]
    if unknown:
        raise SkelconError(
            f"{str(p)!r}: {len(unknown)} key(s) that the authors' MoCo model does not have "
            f"({_first(unknown)}); expected {', '.join(allowed)}.* and the queues "
            f"({', '.join(QUEUE_KEYS)})"
        )
    ckpt = AuthorsCheckpoint(p, "", state, {}, None, None)
    modules: dict[str, str] = {}
    for module in QUERY_MODULES:
        sub = ckpt.module_state(module)
        if not sub:
            continue
        kind = _kind(module, sub, p)
        if kind in modules:
            raise SkelconError(
                f"{str(p)!r}: {modules[kind]} and {module} are both {THEIR_CLASS[kind]} "
                "encoders (one query encoder per representation)"
            )
        modules[kind] = module
    if not modules:
        raise SkelconError(f"{str(p)!r} has no encoder_q weights; expected {EXPECTED}")
    epoch = raw.get("epoch")
    queue = state.get("queue", state.get("Queue_S1"))
    return AuthorsCheckpoint(
        path=p,
        sha256=file_sha256(p),
        state=state,
        modules=modules,
        epoch=epoch
        if isinstance(epoch, int) and not isinstance(epoch, bool) and epoch >= 0
        else None,
        queue_size=int(queue.shape[-1]) if queue is not None and queue.dim() == 2 else None,
    )


# ------------------------------------------------------------------ key mapping

# A rule: their keys, and how their tensors make skelcon's one.
Rule = tuple[tuple[str, ...], Callable[[list[torch.Tensor]], torch.Tensor]]


def _one(ts: list[torch.Tensor]) -> torch.Tensor:
    return ts[0]


def _seq_rule(key: str, enc: nn.Module) -> Rule | None:
    """``gru.X`` <- ``encoder.gru.X``."""
    return (f"encoder.{key}",), _one


_IMG_NAMES = {
    "position.conv1": "conv1.0",
    "position.conv2": "conv2",
    "position.conv3": "conv3.0",
    "position.conv4": "conv4.0",
    "motion.conv1": "conv1m.0",
    "motion.conv2": "conv2m",
    "motion.conv3": "conv3m.0",
    "motion.conv4": "conv4m.0",
    "conv5": "conv5.0",
    "conv6": "conv6.0",
}


def _img_rule(key: str, enc: nn.Module) -> Rule | None:
    """``position.conv1.weight`` <- ``conv1.0.weight`` and so on (:data:`_IMG_NAMES`)."""
    module, _, leaf = key.rpartition(".")
    return (f"{_IMG_NAMES[module]}.{leaf}",), _one


def _stg_rule(key: str, enc: nn.Module) -> Rule | None:
    """skelcon's ``blocks.i`` <- their ``l{i+1}``; the fused 1x1 convolutions from their
    per-subset ones (module doc); ``adjacency`` is skelcon's own (None)."""
    if key == "adjacency":
        return None
    if key.startswith("data_bn."):
        return (key,), _one
    m = re.fullmatch(r"blocks\.(\d+)\.(gcn|tcn|residual)\.(.+)", key)
    if m is None:
        raise RuntimeError(f"no rule for stg key {key}")
    pre, part, rest = f"l{int(m.group(1)) + 1}.", m.group(2), m.group(3)
    if part == "tcn":
        return (f"{pre}tcn1.{rest}",), _one
    if part == "residual":
        return (f"{pre}residual.{rest}",), _one
    adjacency = enc.get_buffer("adjacency")  # (S, V, V): S subsets
    subsets = range(int(adjacency.shape[0]))
    if rest == "offset":
        return (f"{pre}gcn1.PA",), _one
    if rest.startswith("embed."):
        leaf = rest.split(".", 1)[1]
        keys = [f"{pre}gcn1.conv_{ab}.{k}.{leaf}" for ab in "ab" for k in subsets]
        return tuple(keys), lambda ts: torch.cat(ts, 0)
    if rest == "mix.weight":
        return tuple(f"{pre}gcn1.conv_d.{k}.weight" for k in subsets), lambda ts: torch.cat(ts, 1)
    if rest == "mix.bias":
        return tuple(f"{pre}gcn1.conv_d.{k}.bias" for k in subsets), lambda ts: sum(ts[1:], ts[0])
    return (f"{pre}gcn1.{rest}",), _one  # bn.*, down.*


RULES: dict[str, Callable[[str, nn.Module], Rule | None]] = {
    "seq": _seq_rule,
    "img": _img_rule,
    "stg": _stg_rule,
}


def _map_encoder(
    rep: str, enc: nn.Module, theirs: Mapping[str, torch.Tensor]
) -> tuple[dict[str, torch.Tensor], set[str], list[str], list[str]]:
    """skelcon's state of ``enc`` from their module's keys ``theirs``: ``(state, their keys
    used, their keys missing, size problems)``; skelcon's own buffers (no rule) are kept."""
    ours = enc.state_dict()
    state: dict[str, torch.Tensor] = {}
    used: set[str] = set()
    missing: list[str] = []
    sizes: list[str] = []
    for key, want in ours.items():
        rule = RULES[rep](key, enc)
        if rule is None:
            state[key] = want
            continue
        names, make = rule
        used.update(names)
        absent = [n for n in names if n not in theirs]
        if absent:
            missing += absent
            continue
        try:
            t = make([theirs[n] for n in names])
        except RuntimeError:  # pieces that do not stack
            t = None
        if t is None or tuple(t.shape) != tuple(want.shape):
            got = tuple(theirs[names[0]].shape)
            sizes.append(f"{names[0]} {got} vs {tuple(want.shape)}")
            continue
        state[key] = t.to(want.dtype)
    return state, used, missing, sizes


def _problems(missing: list[str], unexpected: list[str], sizes: list[str]) -> str:
    parts = []
    if sizes:
        parts.append(f"{len(sizes)} of other sizes ({'; '.join(sizes[:SHOW])})")
    if missing:
        parts.append(f"{len(missing)} missing ({_first(missing)})")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected ({_first(unexpected)})")
    return "; ".join(parts)


def _head(
    rep: str, theirs: Mapping[str, torch.Tensor], dim: int
) -> tuple[dict[str, torch.Tensor], set[str], str]:
    """Their MLP head as skelcon's ``query_heads.<rep>.*``: ``(state, keys used, problem)``.
    A one-Linear head is recognised (its keys used) and not imported."""
    if all(k in theirs for k in MLP_HEAD):
        w0, b0, w2, b2 = (theirs[k] for k in MLP_HEAD)
        ok = tuple(w0.shape) == (dim, dim) and tuple(b0.shape) == (dim,)
        ok = ok and w2.dim() == 2 and w2.shape[1] == dim and tuple(b2.shape) == (w2.shape[0],)
        if not ok:
            return {}, set(MLP_HEAD), f"fc.0.weight {tuple(w0.shape)} vs ({dim}, {dim})"
        names = ("0.weight", "0.bias", "2.weight", "2.bias")
        head = {f"query_heads.{rep}.{n}": t for n, t in zip(names, (w0, b0, w2, b2), strict=True)}
        return head, set(MLP_HEAD), ""
    if all(k in theirs for k in LINEAR_HEAD):
        return {}, set(LINEAR_HEAD), ""
    return {}, set(), ""


def _plausible(ckpt: AuthorsCheckpoint, preset: str) -> bool:
    """Whether ``preset``'s main sizes (GRU width, HCN width, AGCN depth) are those of
    ``ckpt``'s encoders: such a preset is tried first (building encoders takes time)."""
    from ..encoders.registry import encoder_kwargs

    for rep, module in ckpt.modules.items():
        theirs = ckpt.module_state(module)
        size = encoder_kwargs(rep, preset)
        if rep == "seq":
            have, want = theirs[SIGNATURE["seq"]].shape[0], 3 * size["hidden_size"]
        elif rep == "img":
            have, want = theirs[SIGNATURE["img"]].shape[0], size["out_channels"]
        else:
            have = len({k.split(".")[0] for k in theirs if re.match(r"l\d+\.", k)})
            want = len(size["channels"])
        if have != want:
            return False
    return True


def convert(ckpt: AuthorsCheckpoint, spec: DataSpec | Mapping[str, Any]) -> Converted:
    """skelcon's query encoders (and heads) holding ``ckpt``'s query encoders' weights.

    Tries each preset (paper first) and takes the first whose sizes every encoder fits;
    ``spec``: the input the encoders are built for (its ``seq_recurrence`` does not change
    any key). Raises one :class:`SkelconError` line naming the file and, per encoder, the
    keys missing, unexpected or of other sizes against the preset that fits best.
    """
    reps = list(ckpt.modules)
    best: tuple[int, str] | None = None
    for preset in sorted(PRESETS, key=lambda p: not _plausible(ckpt, p)):
        encoders = build_encoders(reps, preset, spec)
        model: dict[str, torch.Tensor] = {}
        faults, lines, dims = 0, [], set()
        for rep, enc in encoders.items():
            module = ckpt.modules[rep]
            theirs = ckpt.module_state(module)
            state, used, missing, sizes = _map_encoder(rep, enc, theirs)
            dim = int(cast(int, enc.feature_dim))
            head, head_used, head_bad = _head(rep, theirs, dim)
            if head_bad:
                sizes.append(head_bad)
            unexpected = [k for k in theirs if k not in used | head_used]
            if missing or unexpected or sizes:
                faults += len(missing) + len(unexpected) + len(sizes)
                what = f"{module} ({rep.upper()}, their {THEIR_CLASS[rep]})"
                lines.append(f"{what}: {_problems(missing, unexpected, sizes)}")
                continue
            model.update({f"query_encoders.{rep}.{k}": v for k, v in state.items()})
            model.update(head)
            if head:
                dims.add(int(head[f"query_heads.{rep}.2.weight"].shape[0]))
        if not lines and len(dims) > 1:
            lines.append(f"heads of different output sizes {sorted(dims)}")
            faults += 1
        if not lines:
            return Converted(preset, reps, model, dims.pop() if dims else None)
        if best is None or faults < best[0]:
            best = (faults, f"does not fit skelcon's {preset} preset: {'; '.join(lines)}")
    assert best is not None
    raise SkelconError(f"{str(ckpt.path)!r} {best[1]}")
