"""Checkpoints in the key layout of the paper authors' code, made here from sizes (import
it by name: ``from authors_ckpt import authors_moco``).

The layout (``module.encoder_q.*`` of their ``nn.DataParallel``-wrapped MoCo; BIGRU, HCN,
2s-AGCN key names; ``fc.0``/``fc.2`` MLP heads) is described in
:mod:`skelcon.engine.skeleton_contrast`. The tensors are random; the sizes follow
skelcon's presets, ``small`` by default (what ``import-weights`` maps onto).
"""

from __future__ import annotations

import argparse
from collections import OrderedDict

import torch
from torch import nn

SMALL = {
    "seq": {"hidden": 128, "layers": 2},
    "img": {"c": 16, "c2": 32},
    "stg": {"channels": [32, 64, 128], "strides": [4, 2, 1]},
}
V, M, C, T = 25, 2, 3, 64


def _bn(prefix: str, n: int, g: torch.Generator) -> dict[str, torch.Tensor]:
    return {
        f"{prefix}.weight": 1 + 0.1 * torch.randn(n, generator=g),
        f"{prefix}.bias": 0.1 * torch.randn(n, generator=g),
        f"{prefix}.running_mean": 0.1 * torch.randn(n, generator=g),
        f"{prefix}.running_var": 1 + 0.2 * torch.rand(n, generator=g),
        f"{prefix}.num_batches_tracked": torch.tensor(7),
    }


def _conv(prefix: str, shape: tuple[int, ...], g: torch.Generator) -> dict[str, torch.Tensor]:
    fan_in = max(1, int(torch.tensor(shape[1:]).prod()))
    return {
        f"{prefix}.weight": torch.randn(shape, generator=g) / fan_in**0.5,
        f"{prefix}.bias": 0.1 * torch.randn(shape[0], generator=g),
    }


def _mlp(d: int, dim: int, g: torch.Generator) -> dict[str, torch.Tensor]:
    return {**_conv("fc.0", (d, d), g), **_conv("fc.2", (dim, d), g)}


def their_bigru(hidden: int, layers: int, g: torch.Generator, dim: int = 128) -> dict:
    """Their BIGRU's keys: ``encoder.gru.*`` of ``nn.GRU(150, hidden, layers,
    bidirectional=True)`` and the MLP head on ``2 * hidden``."""
    gru = nn.GRU(C * V * M, hidden, layers, bidirectional=True, batch_first=True)
    out = {
        f"encoder.gru.{k}": torch.randn(v.shape, generator=g) / hidden**0.5
        for k, v in gru.state_dict().items()
    }
    return {**out, **_mlp(2 * hidden, dim, g)}


def their_hcn(c: int, c2: int, g: torch.Generator, dim: int = 128) -> dict:
    """Their HCN's keys (``out_channel`` c, ``window_size`` c2 = conv2's outputs)."""
    out: dict[str, torch.Tensor] = {}
    for m in ("", "m"):
        out.update(_conv(f"conv1{m}.0", (c, C, 1, 1), g))
        out.update(_conv(f"conv2{m}", (c2, c, 3, 1), g))
        out.update(_conv(f"conv3{m}.0", (c // 2, V, 3, 3), g))
        out.update(_conv(f"conv4{m}.0", (c, c // 2, 3, 3), g))
    out.update(_conv("conv5.0", (2 * c, 2 * c, 3, 3), g))
    out.update(_conv("conv6.0", (4 * c, 2 * c, 3, 3), g))
    d = 4 * c * (T // 16) * (c2 // 16)
    return {**out, **_mlp(d, dim, g)}


def their_agcn(channels: list[int], strides: list[int], g: torch.Generator, dim: int = 128) -> dict:
    """Their 2s-AGCN ``Model``'s keys for blocks ``l1..lN`` of these widths and strides."""
    out = _bn("data_bn", M * V * C, g)
    widths = [C, *channels]
    for i, (cin, cout) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        p = f"l{i + 1}."
        out[f"{p}gcn1.PA"] = 0.05 * torch.randn(3, V, V, generator=g)
        for k in range(3):
            out.update(_conv(f"{p}gcn1.conv_a.{k}", (cout // 4, cin, 1, 1), g))
            out.update(_conv(f"{p}gcn1.conv_b.{k}", (cout // 4, cin, 1, 1), g))
            out.update(_conv(f"{p}gcn1.conv_d.{k}", (cout, cin, 1, 1), g))
        out.update(_bn(f"{p}gcn1.bn", cout, g))
        if cin != cout:
            out.update(_conv(f"{p}gcn1.down.0", (cout, cin, 1, 1), g))
            out.update(_bn(f"{p}gcn1.down.1", cout, g))
        out.update(_conv(f"{p}tcn1.conv", (cout, cout, 9, 1), g))
        out.update(_bn(f"{p}tcn1.bn", cout, g))
        if i > 0 and (cin != cout or strides[i] != 1):
            out.update(_conv(f"{p}residual.conv", (cout, cin, 1, 1), g))
            out.update(_bn(f"{p}residual.bn", cout, g))
    return {**out, **_mlp(channels[-1], dim, g)}


def their_encoder(rep: str, g: torch.Generator, sizes: dict | None = None) -> dict:
    s = (sizes or SMALL)[rep]
    if rep == "seq":
        return their_bigru(s["hidden"], s["layers"], g)
    if rep == "img":
        return their_hcn(s["c"], s["c2"], g)
    return their_agcn(s["channels"], s["strides"], g)


def authors_moco(reps: list[str], seed: int = 0, queue: int = 32, sizes: dict | None = None):
    """``(checkpoint dict, their query state per representation)``: the dict their
    ``save_checkpoint`` writes for an inter-skeleton model of ``reps`` (``encoder_q`` the
    first, ``encoder_r`` the second; one representation: the intra-skeleton model), with
    key encoders, queues, an SGD optimizer state and, as some forks save it, their
    ``argparse.Namespace``."""
    g = torch.Generator().manual_seed(seed)
    sd: OrderedDict[str, torch.Tensor] = OrderedDict()
    query = {}
    names = [("encoder_q", "encoder_k"), ("encoder_r", "encoder_l")]
    for rep, (q, k) in zip(reps, names, strict=False):
        theirs = their_encoder(rep, g, sizes)
        query[rep] = theirs
        for key, v in theirs.items():
            sd[f"module.{q}.{key}"] = v
            sd[f"module.{k}.{key}"] = v.clone()
    if len(reps) == 1:
        sd["module.queue"] = torch.randn(128, queue, generator=g)
        sd["module.queue_ptr"] = torch.zeros(1, dtype=torch.long)
    else:
        for s in ("S1", "S2"):
            sd[f"module.Queue_{s}"] = torch.randn(128, queue, generator=g)
            sd[f"module.queue_ptr_{s}"] = torch.zeros(1, dtype=torch.long)
    group = {"lr": 0.01, "momentum": 0.9, "dampening": 0, "weight_decay": 1e-4, "nesterov": False}
    optimizer = {  # what SGD's state_dict() holds after some steps
        "state": {0: {"momentum_buffer": torch.zeros(3)}},
        "param_groups": [{**group, "params": [0, 1]}],
    }
    state = {
        "epoch": 451,
        "state_dict": sd,
        "optimizer": optimizer,
        "args": argparse.Namespace(lr=0.01, mlp=True, moco_k=queue),
    }
    return state, query


def main() -> None:
    """``python tests/authors_ckpt.py --out FILE``: write such a checkpoint (random
    weights, skelcon's ``small`` sizes) to try ``skelcon import-weights`` without the
    authors' files (README "The authors' weights")."""
    p = argparse.ArgumentParser(description=main.__doc__)
    p.add_argument("--out", required=True, help="the .pth.tar to write")
    p.add_argument("--representations", default="seq,stg", help="comma-separated (default seq,stg)")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    state, _ = authors_moco(a.representations.split(","), seed=a.seed)
    torch.save(state, a.out)
    print(f"wrote {a.out}: the authors' key layout, {a.representations}, random weights")


if __name__ == "__main__":
    main()
