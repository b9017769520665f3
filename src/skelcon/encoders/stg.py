"""STG encoder: the joint stream of 2s-AGCN (Shi et al. 2019) on a layout's bone graph.

Data BatchNorm over the ``M*V*C`` input channels, a stack of adaptive graph
convolution blocks, then global average pooling over time, joints and persons.

Each block: adaptive graph conv -> temporal conv (kernel 9, stride s) + residual,
ReLU. The graph conv mixes joints with, per subset k (identity, inward, outward):
``A_k + B_k + C_k(x)`` where ``A`` is the layout's normalised adjacency (a buffer),
``B`` a learnable ``(3, V, V)`` offset initialised to 1e-6, and ``C_k(x)`` the
embedded-gaussian attention ``softmax_over_source(theta(x)^T phi(x) / (c' T))``
(``c' = out/4``); the three subsets' 1x1 convolutions are one fused convolution
over ``3*C_in`` channels (identical function; one bias instead of three summed ones,
so 2*out parameters fewer per block than the reference code).

Parameter counts (independent of T):

=======  =========================================  ===========  =========  ===========
preset   channels (stride 2 at *, x4: stride 4)     feature_dim  NTU25,M=2  KINECT20,M=1
=======  =========================================  ===========  =========  ===========
paper    64 64 64 64 128* 128 128 256* 256 256      256          3,451,274  3,444,344
small    32(x4) 64* 128                             128          269,477    267,272
=======  =========================================  ===========  =========  ===========

(The reference 2s-AGCN joint stream with its 60-class fc has 3,469,510: this
count + 2,816 subset biases + 15,420 fc.)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from ..data.layouts import JointLayout
from ..errors import SkelconError
from ._checks import check_input, check_positive, check_sizes
from .streams import InputStream, as_input_stream


def pointwise(x: torch.Tensor, conv: nn.Conv2d, stride: int = 1) -> torch.Tensor:
    """A 1x1 ``conv`` (stride ``(stride, 1)``) as one batched GEMM: ``(P, C_in, T, V)`` ->
    ``(P, C_out, T', V)``.

    Same function as ``conv(x)``; on the CPU mkldnn runs a 1x1 convolution on this NCHW
    layout at a third of the GEMM's speed (docs/performance.md).
    """
    if stride != 1:
        x = x[:, :, ::stride]
    p, c, t, v = x.shape
    w = conv.weight.view(conv.weight.shape[0], c)
    bias = conv.bias.view(1, -1, 1).expand(p, -1, t * v)
    y = torch.baddbmm(bias, w.expand(p, -1, -1), x.reshape(p, c, t * v))
    return y.view(p, -1, t, v)


class _TemporalConv(nn.Module):
    """``(P, C_in, T, V)`` -> ``(P, C_out, T', V)``: conv (k x 1, stride s) + BN."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int):
        super().__init__()
        self.conv = nn.Conv2d(
            in_channels,
            out_channels,
            kernel_size=(kernel_size, 1),
            padding=((kernel_size - 1) // 2, 0),
            stride=(stride, 1),
        )
        self.bn = nn.BatchNorm2d(out_channels)
        nn.init.kaiming_normal_(self.conv.weight, mode="fan_out")
        nn.init.zeros_(self.conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.conv.kernel_size == (1, 1):
            return self.bn(pointwise(x, self.conv, self.conv.stride[0]))
        return self.bn(self.conv(x))


class AdaptiveGraphConv(nn.Module):
    """2s-AGCN graph conv: ``(P, C_in, T, V)`` -> ``(P, C_out, T, V)``.

    ``adjacency: (S, V, V)`` is passed to ``forward`` (the encoder owns it as a buffer).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        num_joints: int,
        num_subsets: int = 3,
        embed_ratio: int = 4,
    ):
        super().__init__()
        self.num_subsets = num_subsets
        self.inter_channels = max(1, out_channels // embed_ratio)
        # B: learnable offsets to the fixed adjacency, one per subset.
        self.offset = nn.Parameter(torch.full((num_subsets, num_joints, num_joints), 1e-6))
        # theta and phi of the embedded-gaussian attention, all subsets in one conv.
        self.embed = nn.Conv2d(in_channels, 2 * num_subsets * self.inter_channels, 1)
        # W_k of the three subsets, fused: input is the S neighbourhood aggregates stacked.
        self.mix = nn.Conv2d(num_subsets * in_channels, out_channels, 1)
        self.bn = nn.BatchNorm2d(out_channels)
        if in_channels != out_channels:
            self.down: nn.Module = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1), nn.BatchNorm2d(out_channels)
            )
        else:
            self.down = nn.Identity()
        for mod in self.modules():
            if isinstance(mod, nn.Conv2d):
                nn.init.kaiming_normal_(mod.weight, mode="fan_out")
                nn.init.zeros_(mod.bias)
        std = math.sqrt(2.0 / (out_channels * in_channels * num_subsets))
        nn.init.normal_(self.mix.weight, 0.0, std)
        nn.init.constant_(self.bn.weight, 1e-6)

    def graphs(self, x: torch.Tensor, adjacency: torch.Tensor) -> torch.Tensor:
        """Per-sample mixing matrices ``A + B + C(x)``: ``(P, S, V, V)``, used as ``x @ G``."""
        p, _, t, v = x.shape
        s, ci = self.num_subsets, self.inter_channels
        emb = pointwise(x, self.embed).view(p, 2, s, ci * t, v)
        theta, phi = emb.unbind(1)  # (P, S, ci*T, V) each; unbind: one stacked gradient
        scores = theta.transpose(-1, -2) @ phi / (ci * t)  # (P, S, V, V)
        attention = torch.softmax(scores, dim=-2)  # normalised over the source joint
        return attention + (adjacency + self.offset)

    def forward(self, x: torch.Tensor, adjacency: torch.Tensor) -> torch.Tensor:
        p, c, t, v = x.shape
        g = self.graphs(x, adjacency)
        flat = x.reshape(p, c * t, v)
        # x G_k per subset (P, C*T, V), stacked on channels: the fused W_k input (P, S*C, T*V)
        agg = torch.cat([torch.bmm(flat, gk) for gk in g.unbind(1)], dim=1)
        y = pointwise(agg.view(p, self.num_subsets * c, t, v), self.mix)
        y = self.bn(y)
        y += x if isinstance(self.down, nn.Identity) else self.down[1](pointwise(x, self.down[0]))
        return y.relu_()


class _Block(nn.Module):
    """Graph conv + temporal conv + residual, ReLU: ``(P, C_in, T, V)`` -> ``(P, C_out, T', V)``."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        num_joints: int,
        num_subsets: int,
        stride: int,
        kernel_size: int,
        residual: bool,
    ):
        super().__init__()
        self.gcn = AdaptiveGraphConv(in_channels, out_channels, num_joints, num_subsets)
        self.tcn = _TemporalConv(out_channels, out_channels, kernel_size, stride)
        if not residual:
            self.residual: nn.Module | None = None
        elif in_channels == out_channels and stride == 1:
            self.residual = nn.Identity()
        else:
            self.residual = _TemporalConv(in_channels, out_channels, 1, stride)

    def forward(self, x: torch.Tensor, adjacency: torch.Tensor) -> torch.Tensor:
        y = self.tcn(self.gcn(x, adjacency))
        if self.residual is not None:
            y += self.residual(x)  # in place on the BN output (BN's backward does not read it)
        return y.relu_()


class StgEncoder(nn.Module):
    """2s-AGCN joint stream; feature = mean over time, joints and persons of the last block.

    forward: ``x: (N, C, T, V, M)`` -> ``(N, channels[-1])``; any T.
    ``layout`` is required; its ``adjacency()`` becomes the ``adjacency`` buffer.
    The first block has no residual. Person order matters only through the data
    BatchNorm (one statistic per person slot, as in 2s-AGCN).

    ``stream`` (``joint``, ``bone``, ``motion`` or an
    :class:`~skelcon.encoders.streams.InputStream`) is applied to ``x`` first, as
    ``input_stream`` (no weights; :mod:`skelcon.encoders.streams`).
    """

    def __init__(
        self,
        in_channels: int = 3,
        num_frames: int = 64,
        num_joints: int = 25,
        num_persons: int = 2,
        layout: JointLayout | None = None,
        stream: str | InputStream = "joint",
        *,
        channels: Sequence[int] = (64, 64, 64, 64, 128, 128, 128, 256, 256, 256),
        strides: Sequence[int] = (1, 1, 1, 1, 2, 1, 1, 2, 1, 1),
        kernel_size: int = 9,
    ):
        super().__init__()
        self.input_stream = as_input_stream(stream, layout)  # joint | bone | motion
        check_sizes(
            "stg",
            in_channels=in_channels,
            num_frames=num_frames,
            num_joints=num_joints,
            num_persons=num_persons,
            kernel_size=kernel_size,
        )
        if layout is None:
            raise SkelconError("the stg encoder needs a joint layout (its bone graph), got None")
        if layout.num_joints != num_joints:
            raise SkelconError(
                f"stg encoder: layout {layout.name!r} has {layout.num_joints} joints, "
                f"but num_joints={num_joints}"
            )
        channels, strides = list(channels), list(strides)
        if not channels or len(strides) != len(channels):
            raise SkelconError(
                f"stg encoder needs one stride per block, got channels={channels}, "
                f"strides={strides}"
            )
        for w in channels:
            check_positive("stg encoder channel width", w)
        for s in strides:
            check_positive("stg encoder stride", s)
        if kernel_size % 2 == 0:
            raise SkelconError(f"stg encoder kernel_size must be odd, got {kernel_size}")
        self.in_channels = in_channels
        self.num_joints = num_joints
        self.num_persons = num_persons
        self.layout_name = layout.name
        adjacency = torch.from_numpy(layout.adjacency())
        self.register_buffer("adjacency", adjacency)
        self.data_bn = nn.BatchNorm1d(num_persons * num_joints * in_channels)
        widths = [in_channels, *channels]
        self.blocks = nn.ModuleList(
            _Block(
                widths[i],
                widths[i + 1],
                num_joints,
                adjacency.shape[0],
                strides[i],
                kernel_size,
                residual=i > 0,
            )
            for i in range(len(channels))
        )
        self.feature_dim = channels[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x: (N, C, T, V, M)`` -> ``(N, feature_dim)``."""
        check_input(x, self.in_channels, self.num_joints, self.num_persons, "stg")
        x = self.input_stream(x)
        n, c, t, v, m = x.shape
        x = self.data_bn(x.permute(0, 4, 3, 1, 2).reshape(n, m * v * c, t))
        x = x.view(n, m, v, c, t).permute(0, 1, 3, 4, 2).reshape(n * m, c, t, v)
        for block in self.blocks:
            x = block(x, self.adjacency)
        return x.reshape(n, m, self.feature_dim, -1).mean(dim=(1, 3))
