"""MoCo over one or several skeleton representations (intra- and inter-skeleton)."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Mapping
from itertools import permutations
from typing import Any, cast

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from ..errors import SkelconError, choices_message
from .gather import concat_all_gather
from .loss import info_nce
from .momentum import init_key_from_query, momentum_update
from .queue import FeatureQueue
from .shuffle_bn import distributed_shuffled_forward, shuffled_split_forward
from .stats import collapse_std, pair_stats, uniformity


def contrast_pairs(reps: list[str]) -> list[tuple[str, str]]:
    """Ordered (query representation, key representation) pairs that are contrasted.

    One representation -> ``[(r, r)]`` (intra-skeleton); two or more -> every ordered
    pair ``(a, b)`` with ``a != b`` (inter-skeleton), e.g. ``[seq, img]`` ->
    ``[(seq, img), (img, seq)]``.
    """
    reps = list(reps)
    if not reps:
        raise SkelconError("at least one representation is needed for contrastive learning")
    if len(set(reps)) != len(reps):
        raise SkelconError(f"representations must be distinct, got {', '.join(reps)}")
    if len(reps) == 1:
        return [(reps[0], reps[0])]
    return list(permutations(reps, 2))


class SkeletonMoCo(nn.Module):
    """Momentum-contrast pre-training of one encoder per representation.

    For each representation r: query encoder ``query_encoders[r]`` (as given, must
    have ``.feature_dim``) with projection head ``query_heads[r]``
    (``ProjectionHead(feature_dim, dim)``), their momentum copies ``key_encoders[r]``
    / ``key_heads[r]`` (no gradients) and a queue ``queues[r]`` of ``queue_size`` keys.
    With one representation the loss is intra-skeleton; with several, the query of A
    is contrasted with B's key (positive) and B's queue (negatives) for every ordered
    pair (``pairs``), and the losses are summed. Each key encoder enqueues its own keys
    (passed through ``gather`` first, which concatenates them across processes in rank
    order: the queue's contents do not depend on the number of processes). Given the
    clip index of every sample (``forward``'s ``ids``), the queue keeps each key's clip
    and a query's own older keys (its clip seen in an earlier step) are left out of its
    negatives.

    Key encoders run in the same mode as the whole module (train mode during
    pre-training, as in MoCo: BatchNorm uses batch statistics and keeps its own
    running statistics). ``shuffle_bn = G > 1`` encodes the keys of a permuted batch
    in G groups (:func:`~skelcon.contrast.shuffle_bn.shuffled_split_forward`), so a
    query and its key never share BatchNorm statistics; under DDP (a process group of
    more than one process) the key batch is always shuffled across processes first
    (:func:`~skelcon.contrast.shuffle_bn.distributed_shuffled_forward`). ``autocast``
    (a context-manager factory, :mod:`skelcon.engine.precision`) wraps every encoder
    and head; their outputs are cast to fp32, so losses and queues stay fp32. ``symmetric`` adds the
    swapped terms (queries of view 2 against keys of view 1, MoCo v3) and enqueues
    both views' keys. ``stats`` adds embedding-health statistics to the returned
    stats (:mod:`skelcon.contrast.stats`).
    """

    def __init__(
        self,
        encoders: Mapping[str, nn.Module],
        dim: int = 128,
        queue_size: int = 16384,
        momentum: float = 0.999,
        temperature: float = 0.07,
        gather: Callable[[torch.Tensor], torch.Tensor] = concat_all_gather,
        head_bn: bool = False,
        intra_weight: float = 0.0,
        symmetric: bool = False,
        shuffle_bn: int = 0,
        stats: bool = True,
    ):
        super().__init__()
        from ..encoders.heads import ProjectionHead  # lazy: encoders import nothing from here

        if not encoders:
            raise SkelconError("at least one representation is needed for contrastive learning")
        if int(dim) < 1:
            raise SkelconError(f"moco dim must be >= 1, got {dim}")
        if not 0.0 <= float(momentum) <= 1.0:
            raise SkelconError(f"moco momentum must be in [0, 1], got {momentum}")
        if float(temperature) <= 0.0:
            raise SkelconError(f"moco temperature must be > 0, got {temperature}")
        self.representations: list[str] = list(encoders)
        self.pairs: list[tuple[str, str]] = contrast_pairs(self.representations)
        # Optional intra-skeleton terms beside the inter-skeleton ones (not in the paper):
        # each representation also contrasts with its own key, weighted by intra_weight.
        self.intra_weight = float(intra_weight)
        if self.intra_weight < 0:
            raise SkelconError(f"moco intra_weight must be >= 0, got {intra_weight}")
        self.weights: dict[tuple[str, str], float] = {pair: 1.0 for pair in self.pairs}
        if self.intra_weight > 0 and len(self.representations) > 1:
            self.weights.update({(r, r): self.intra_weight for r in self.representations})
        self.dim = int(dim)
        self.momentum = float(momentum)
        self.temperature = float(temperature)
        self.gather = gather
        self.symmetric = bool(symmetric)
        self.shuffle_bn = int(shuffle_bn)
        self.track_stats = bool(stats)
        # the mixed-precision context of the encoders and heads (engine/precision.py sets it)
        self.autocast: Callable[[], contextlib.AbstractContextManager[Any]] = contextlib.nullcontext

        self.query_encoders = nn.ModuleDict(dict(encoders))
        self.query_heads = nn.ModuleDict(
            {
                r: ProjectionHead(cast(int, enc.feature_dim), self.dim, head_bn)
                for r, enc in encoders.items()
            }
        )
        self.key_encoders = copy.deepcopy(self.query_encoders)
        self.key_heads = copy.deepcopy(self.query_heads)
        init_key_from_query(self.query_encoders, self.key_encoders)
        init_key_from_query(self.query_heads, self.key_heads)
        self.queues = nn.ModuleDict({r: FeatureQueue(queue_size, self.dim) for r in encoders})

    def _queue(self, rep: str) -> FeatureQueue:
        return cast(FeatureQueue, self.queues[rep])

    def encoder(self, rep: str) -> nn.Module:
        """The query encoder of ``rep`` (what downstream protocols use)."""
        if rep not in self.query_encoders:
            raise SkelconError(choices_message("representation", rep, self.representations))
        return self.query_encoders[rep]

    @torch.no_grad()
    def momentum_update(self) -> None:
        """EMA step of every key encoder and key head towards its query counterpart."""
        momentum_update(self.query_encoders, self.key_encoders, self.momentum)
        momentum_update(self.query_heads, self.key_heads, self.momentum)

    def _queries(self, view: torch.Tensor) -> dict[str, torch.Tensor]:
        out = {}
        for r in self.representations:
            with self.autocast():
                z = self.query_heads[r](self.query_encoders[r](view))
            out[r] = F.normalize(z.float(), dim=1)  # the loss and the queue stay fp32
        return out

    @torch.no_grad()
    def _keys(
        self, view: torch.Tensor, generator: torch.Generator | None
    ) -> dict[str, torch.Tensor]:
        def encode(r: str) -> Callable[[torch.Tensor], torch.Tensor]:
            def run(x: torch.Tensor) -> torch.Tensor:
                with self.autocast():
                    out: torch.Tensor = self.key_heads[r](self.key_encoders[r](x)).float()
                    return out

            return run

        many = dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1
        shuffled = distributed_shuffled_forward if many else shuffled_split_forward
        return {
            r: F.normalize(shuffled(encode(r), view, self.shuffle_bn, generator), dim=1)
            for r in self.representations
        }

    def forward(
        self,
        view_q: torch.Tensor,
        view_k: torch.Tensor,
        generator: torch.Generator | None = None,
        ids: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """One pre-training step's loss; also updates key encoders and queues.

        view_q, view_k: (N, C, T, V, M), two augmented views of the same N samples;
        ``generator`` draws the shuffle of shuffled BN; ``ids``: (N,) int64, the clip
        (index in the training split) of each sample, or ``None`` (unknown: nothing is
        excluded). Queued keys of a query's own clip are not its negatives (their logits
        are ``-inf``; ``neg_cos`` leaves them out). Returns ``(loss, stats)``: the
        summed InfoNCE loss (scalar, with grad) and, for every pair (a, b),
        ``stats["loss/a->b"]`` and ``stats["acc/a->b"]`` (top-1 % of the positive among
        the 1 + K logits), with ``stats`` also ``align/a->b``, ``pos_cos/a->b``,
        ``neg_cos/a->b`` per pair and ``std/r``, ``uniformity/r``, ``queue_age/r`` per
        representation; all detached 0-dim tensors, so no host sync happens here.
        """
        if view_q.shape[0] != view_k.shape[0]:
            raise ValueError(
                f"views must have the same batch size, got {view_q.shape[0]} and {view_k.shape[0]}"
            )
        if ids is not None and tuple(ids.shape) != (view_q.shape[0],):
            raise ValueError(f"ids must be ({view_q.shape[0]},), got {tuple(ids.shape)}")
        # (queries, keys) per direction: view 1 -> view 2, and the swap when symmetric
        directions = [(view_q, view_k), (view_k, view_q)] if self.symmetric else [(view_q, view_k)]
        with torch.no_grad():
            self.momentum_update()
        terms = [(self._queries(a), self._keys(b, generator)) for a, b in directions]

        total: torch.Tensor | None = None
        acc: dict[str, list[torch.Tensor]] = {}
        # (N, K) per queue: its keys of each query's own clip, left out of the negatives
        own = {r: None if ids is None else self._queue(r).same_clip(ids) for r in self.queues}
        for q, k in terms:
            for (a, b), weight in self.weights.items():
                negatives = self._queue(b).keys.clone().detach()
                loss, logits = info_nce(
                    q[a], k[b], negatives, self.temperature, return_logits=True, exclude=own[b]
                )
                term = loss if weight == 1.0 else weight * loss
                total = term if total is None else total + term
                pair = f"{a}->{b}"
                acc.setdefault(f"loss/{pair}", []).append(loss.detach())
                hit = (logits.detach().argmax(dim=1) == 0).float().mean() * 100.0
                acc.setdefault(f"acc/{pair}", []).append(hit)
                if self.track_stats:
                    for name, v in pair_stats(
                        q[a].detach(), k[b], logits.detach(), self.temperature
                    ).items():
                        acc.setdefault(f"{name}/{pair}", []).append(v)
        stats = {key: torch.stack(v).mean() for key, v in acc.items()}
        if self.track_stats:
            for r in self.representations:
                z = terms[0][0][r].detach()
                stats[f"std/{r}"] = collapse_std(z)
                stats[f"uniformity/{r}"] = uniformity(z)
                stats[f"queue_age/{r}"] = self._queue(r).mean_age()

        with torch.no_grad():
            # one gather of (N, directions, representations, D); every queue then takes
            # cat[gather(keys of direction 1), gather(keys of direction 2)], the order of
            # one process with the whole global batch, whatever the number of processes
            mine = torch.stack(
                [torch.stack([k[r] for r in self.representations], 1) for _, k in terms], 1
            )
            every = self.gather(mine)
            every_ids = None if ids is None else self.gather(ids).repeat(len(terms))
            for j, r in enumerate(self.representations):
                keys = every[:, :, j].transpose(0, 1).reshape(-1, self.dim)
                self._queue(r).enqueue(keys, every_ids)
        assert total is not None
        return total, stats
