"""Rebuild a pre-trained query encoder (or a random one) for downstream use."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..config import parse_representations
from ..engine.build import build_encoders
from ..engine.checkpoint import load_checkpoint
from ..errors import SkelconError


class ConcatEncoder(nn.Module):
    """Concatenates the features of several encoders: ``(N, sum(feature_dim))``."""

    def __init__(self, encoders: dict[str, nn.Module]):
        super().__init__()
        self.encoders = nn.ModuleDict(encoders)
        self.feature_dim = sum(e.feature_dim for e in encoders.values())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([e(x) for e in self.encoders.values()], dim=1)


@dataclass
class LoadedEncoder:
    """An encoder plus what its inputs must look like (``spec``: layout, sizes, frames)."""

    encoder: nn.Module
    spec: dict[str, Any]
    representations: list[str]
    preset: str
    checkpoint: str | None

    @property
    def num_frames(self) -> int:
        return int(self.spec["num_frames"])

    def transform(self, x: torch.Tensor, num_frames: torch.Tensor) -> torch.Tensor:
        """The evaluation input transform: centre crop of 95 % resized to ``num_frames``."""
        from ..augment import center_crop_resize

        return center_crop_resize(x, num_frames, out_len=self.num_frames)


def load_encoder(
    checkpoint: str | os.PathLike,
    representation: str | list[str],
    *,
    random_init: bool = False,
    seed: int = 0,
) -> LoadedEncoder:
    """The query encoder(s) of ``checkpoint`` for ``representation`` (``seq``, ``seq+stg``...).

    ``random_init`` builds the same architecture with fresh weights (seeded), the
    baseline for every report. Heads are not included.
    """
    ckpt = load_checkpoint(checkpoint)
    reps = parse_representations(representation)
    have = list(ckpt.get("representations", []))
    missing = [r for r in reps if r not in have]
    if missing:
        raise SkelconError(
            f"representation {'+'.join(missing)!r} is not in checkpoint {str(checkpoint)!r} "
            f"(it holds: {', '.join(have)})"
        )
    preset = ckpt["config"]["preset"]
    spec = dict(ckpt["data"])
    torch.manual_seed(seed)
    encoders = build_encoders(reps, preset, spec)
    if not random_init:
        state = ckpt["model"]
        for r, enc in encoders.items():
            prefix = f"query_encoders.{r}."
            sub = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
            try:
                enc.load_state_dict(sub)
            except RuntimeError as e:
                raise SkelconError(
                    f"checkpoint {str(checkpoint)!r} does not fit the {r} encoder: "
                    f"{str(e).splitlines()[0]}"
                ) from None
    enc = encoders[reps[0]] if len(reps) == 1 else ConcatEncoder(encoders)
    return LoadedEncoder(enc, spec, reps, preset, None if random_init else str(checkpoint))


def check_compatible(loaded: LoadedEncoder, meta: dict) -> None:
    """The evaluation data must have the shape the encoder was built for."""
    _, c, _, v, m = meta["shape"]
    spec = loaded.spec
    problems = []
    if c != spec["in_channels"]:
        problems.append(f"{c} channels, encoder expects {spec['in_channels']}")
    if v != spec["num_joints"]:
        problems.append(f"{v} joints, encoder expects {spec['num_joints']}")
    if m != spec["num_persons"]:
        problems.append(f"{m} persons, encoder expects {spec['num_persons']}")
    if meta["layout"] != spec["layout"] and "stg" in loaded.representations:
        problems.append(
            f"layout {meta['layout']}, the graph encoder was built for {spec['layout']}"
        )
    if problems:
        raise SkelconError(
            f"data of shape {meta['shape']} does not fit the encoder: " + "; ".join(problems)
        )
