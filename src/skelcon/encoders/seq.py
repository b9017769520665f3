"""SEQ encoder: a bidirectional multi-layer GRU over the ``T x (C*V*M)`` sequence.

Parameter counts (C=3, V=25, M=2, i.e. 150 inputs; independent of T):

=======  ======  ======  ===========  ============
preset   layers  hidden  feature_dim  parameters
=======  ======  ======  ===========  ============
paper    3       1024    2048         44,998,656
small    2       128     256          509,952
=======  ======  ======  ===========  ============

The paper's Table 10 says "10.0M" for this encoder, but a 3-layer bidirectional
GRU with 1024 units per direction and 150 inputs has ~45 M parameters (the
authors' ``nn.GRU(150, 1024, 3, bidirectional=True)`` has exactly the same count).
"""

from __future__ import annotations

import torch
from torch import nn

from ..data.layouts import JointLayout
from ._checks import check_input, check_positive


def to_sequence(x: torch.Tensor) -> torch.Tensor:
    """``x: (N, C, T, V, M)`` -> ``(N, T, V*C*M)``, joint-major.

    Feature index ``v*(C*M) + c*M + m``, the order of the authors' data pipeline.
    """
    n, c, t, v, m = x.shape
    return x.permute(0, 2, 3, 1, 4).reshape(n, t, v * c * m)


class SeqEncoder(nn.Module):
    """Bidirectional GRU; feature = top-layer output at the last time step.

    One fused ``nn.GRU`` call over the whole sequence (``batch_first``). The
    feature is ``out[:, T-1]`` of the top layer: the forward direction's state
    after reading all frames, concatenated with the backward direction's output at
    ``t = T-1``. In the top layer that backward output has read only frame T-1, but
    its input there is the lower layers' bidirectional output, so with two or more
    layers both halves depend on every frame.

    (The authors feed the GRU one frame per call and carry the hidden state, so
    their "backward" direction also reads the sequence forwards; this is a real
    bidirectional GRU.)

    forward: ``x: (N, C, T, V, M)`` -> ``(N, 2*hidden_size)``; any T >= 1.
    """

    def __init__(
        self,
        in_channels: int = 3,
        num_frames: int = 64,
        num_joints: int = 25,
        num_persons: int = 2,
        layout: JointLayout | None = None,
        *,
        hidden_size: int = 1024,
        num_layers: int = 3,
    ):
        super().__init__()
        for name, value in (
            ("in_channels", in_channels),
            ("num_frames", num_frames),
            ("num_joints", num_joints),
            ("num_persons", num_persons),
            ("hidden_size", hidden_size),
            ("num_layers", num_layers),
        ):
            check_positive(f"seq encoder {name}", value)
        self.in_channels = in_channels
        self.num_joints = num_joints
        self.num_persons = num_persons
        self.input_size = in_channels * num_joints * num_persons
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.gru = nn.GRU(
            self.input_size,
            hidden_size,
            num_layers=num_layers,
            bidirectional=True,
            batch_first=True,
        )
        self.feature_dim = 2 * hidden_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x: (N, C, T, V, M)`` -> ``(N, 2*hidden_size)``."""
        check_input(x, self.in_channels, self.num_joints, self.num_persons, "seq")
        out, _ = self.gru(to_sequence(x))  # (N, T, 2H)
        return out[:, -1]
