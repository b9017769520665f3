"""IMG encoder: HCN (Hierarchical Co-occurrence Network, Li et al. 2018) as the authors use it.

Each person's ``C x T x V`` pseudo-image goes through point-level convolutions
(conv1 1x1, conv2 3x1), a transpose that makes the joints the channels, and
co-occurrence convolutions (conv3, conv4); a motion stream does the same on frame
differences. The two streams are concatenated, conv5 and conv6 follow, the result
is max-pooled over persons and flattened: that flattened map is the feature (the
authors' HCN has no fc7).

With ``out_channels = c`` the widths are: conv1 c, conv2 ``conv2_channels``,
conv3 c/2, conv4 c, conv5 2c, conv6 4c. After the transpose the map is
``T x conv2_channels`` and four 2x2 max-pools shrink it by 16 per axis, so
``feature_dim = 4c * (T // 16) * (conv2_channels // 16)``.

Parameter counts (V=25; independent of T and M; V=20: paper 516,544, small 36,240):

=======  ============  ==============  =====================  ==========
preset   out_channels  conv2_channels  feature_dim (T=64)     parameters
=======  ============  ==============  =====================  ==========
paper    64            64              4096 = 256 x 4 x 4     519,424
small    16            32              512 = 64 x 4 x 2       36,960
=======  ============  ==============  =====================  ==========

The authors' conv2 has ``window_size`` (= 64) output channels, which is what makes
the paper's 4096-d feature; the original HCN paper used 32. The paper's Table 10
rounds this encoder to "1.0M" parameters; the convolutions have 0.52 M (plus
0.25 M for a 60-class linear classifier on the 4096-d feature).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..data.layouts import JointLayout
from ..errors import SkelconError
from ._checks import check_input, check_sizes
from .streams import InputStream, as_input_stream


def frame_motion(x: torch.Tensor) -> torch.Tensor:
    """Frame differences resampled back to T frames: ``(N, C, T, V, M)`` -> same shape.

    ``x[t+1] - x[t]`` gives T-1 differences; linear interpolation along time
    (``align_corners=False``, as the authors' bilinear resize) stretches them to T.
    """
    n, c, t, v, m = x.shape
    diff = x[:, :, 1:] - x[:, :, :-1]  # (N, C, T-1, V, M)
    seq = diff.permute(0, 1, 3, 4, 2).reshape(n, c * v * m, t - 1)
    seq = F.interpolate(seq, size=t, mode="linear", align_corners=False)
    return seq.reshape(n, c, v, m, t).permute(0, 1, 4, 2, 3)


class _Stream(nn.Module):
    """Point-level convs, transpose (joints -> channels), co-occurrence convs.

    ``(P, C, T, V)`` -> ``(P, c, T/4, conv2_channels/4)``.
    """

    def __init__(
        self, in_channels: int, num_joints: int, c: int, conv2_channels: int, dropout: float
    ):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, c, kernel_size=1)
        self.conv2 = nn.Conv2d(c, conv2_channels, kernel_size=(3, 1), padding=(1, 0))
        self.conv3 = nn.Conv2d(num_joints, c // 2, kernel_size=3, padding=1)
        self.conv4 = nn.Conv2d(c // 2, c, kernel_size=3, padding=1)
        self.drop = nn.Dropout2d(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv2(F.relu(self.conv1(x)))  # (P, C2, T, V)
        x = x.permute(0, 3, 2, 1)  # (P, V, T, C2): joints are channels
        x = F.max_pool2d(self.conv3(x), 2)
        return F.max_pool2d(self.drop(self.conv4(x)), 2)


class ImgEncoder(nn.Module):
    """HCN on the per-person ``C x T x V`` pseudo-image, max over persons.

    forward: ``x: (N, C, T, V, M)`` with ``T == num_frames`` -> ``(N, feature_dim)``.
    Shared weights across persons and a max over them: invariant to person order.

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
        out_channels: int = 64,
        conv2_channels: int = 64,
        dropout: float = 0.5,
    ):
        super().__init__()
        self.input_stream = as_input_stream(stream, layout)  # joint | bone | motion
        check_sizes(
            "img",
            in_channels=in_channels,
            num_frames=num_frames,
            num_joints=num_joints,
            num_persons=num_persons,
            out_channels=out_channels,
            conv2_channels=conv2_channels,
        )
        if num_frames < 16 or conv2_channels < 16 or out_channels < 2:
            raise SkelconError(
                "img encoder needs num_frames >= 16, conv2_channels >= 16 and out_channels >= 2 "
                f"(four 2x2 max-pools), got num_frames={num_frames}, "
                f"conv2_channels={conv2_channels}, out_channels={out_channels}"
            )
        if not 0.0 <= dropout < 1.0:
            raise SkelconError(f"img encoder dropout must be in [0, 1), got {dropout!r}")
        self.in_channels = in_channels
        self.num_frames = num_frames
        self.num_joints = num_joints
        self.num_persons = num_persons
        c = out_channels
        self.position = _Stream(in_channels, num_joints, c, conv2_channels, dropout)
        self.motion = _Stream(in_channels, num_joints, c, conv2_channels, dropout)
        self.conv5 = nn.Conv2d(2 * c, 2 * c, kernel_size=3, padding=1)
        self.conv6 = nn.Conv2d(2 * c, 4 * c, kernel_size=3, padding=1)
        self.drop = nn.Dropout2d(dropout)
        self.feature_dim = 4 * c * (num_frames // 16) * (conv2_channels // 16)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Xavier-uniform convolution weights, zero biases (the authors' HCN init)."""
        for mod in self.modules():
            if isinstance(mod, nn.Conv2d):
                nn.init.xavier_uniform_(mod.weight)
                nn.init.zeros_(mod.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x: (N, C, T, V, M)`` -> ``(N, feature_dim)``."""
        check_input(x, self.in_channels, self.num_joints, self.num_persons, "img", self.num_frames)
        x = self.input_stream(x)
        n, c, t, v, m = x.shape

        def per_person(a: torch.Tensor) -> torch.Tensor:  # (N, C, T, V, M) -> (N*M, C, T, V)
            return a.permute(0, 4, 1, 2, 3).reshape(n * m, c, t, v)

        out = torch.cat([self.position(per_person(x)), self.motion(per_person(frame_motion(x)))], 1)
        out = F.max_pool2d(self.drop(F.relu(self.conv5(out))), 2)
        out = F.max_pool2d(self.drop(F.relu(self.conv6(out))), 2)  # (N*M, 4c, T/16, C2/16)
        out = out.reshape(n, m, *out.shape[1:]).amax(dim=1)
        return out.flatten(1)
