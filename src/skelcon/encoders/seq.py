"""SEQ encoder: a bidirectional multi-layer GRU over the ``T x (C*V*M)`` sequence.

Parameter counts (C=3, V=25, M=2, i.e. 150 inputs; independent of T):

=======  ======  ======  ===========  ============
preset   layers  hidden  feature_dim  parameters
=======  ======  ======  ===========  ============
paper    3       1024    2048         44,998,656
small    2       128     256          511,488
=======  ======  ======  ===========  ============

With KINECT20 and one person (60 inputs): paper 44,445,696, small 442,368.

The paper's Table 10 says "10.0M" for this encoder, but a 3-layer bidirectional
GRU with 1024 units per direction and 150 inputs has ~45 M parameters (the
authors' ``nn.GRU(150, 1024, 3, bidirectional=True)`` has exactly the same count).
"""

from __future__ import annotations

import torch
from torch import nn

from ..config import SEQ_INITS, SEQ_RECURRENCES
from ..data.layouts import JointLayout
from ..errors import SkelconError, choices_message
from ._checks import check_input, check_sizes
from .gru import bigru_forward, stepwise_forward, stepwise_fused
from .streams import InputStream, as_input_stream

READOUTS = ("last", "ends")
INITS = SEQ_INITS
RECURRENCES = SEQ_RECURRENCES


def to_sequence(x: torch.Tensor) -> torch.Tensor:
    """``x: (N, C, T, V, M)`` -> ``(N, T, V*C*M)``, joint-major.

    Feature index ``v*(C*M) + c*M + m``, the order of the authors' data pipeline.
    """
    n, c, t, v, m = x.shape
    return x.permute(0, 2, 3, 1, 4).reshape(n, t, v * c * m)


def _exporting() -> bool:
    """Whether a graph is being traced or exported (TorchScript, ``torch.export``/ONNX):
    those take ``nn.GRU`` itself, which every exporter knows."""
    is_exporting = getattr(torch.compiler, "is_exporting", lambda: False)
    return bool(torch.jit.is_tracing() or torch.jit.is_scripting() or is_exporting())


class SeqEncoder(nn.Module):
    """Bidirectional GRU over the joint-major sequence; one fused ``nn.GRU`` call.

    ``readout="last"`` (default, the paper's "top-layer output at the last step"):
    the feature is ``out[:, T-1]`` of the top layer, i.e. the forward direction's
    state after reading all frames concatenated with the backward direction's
    output at ``t = T-1``. In the top layer that backward output is one step from a
    zero state, so it has read only position T-1 of the layer below (which, with two
    or more layers, depends on every frame), and the top layer's reverse recurrent
    weights ``weight_hh_l{L-1}_reverse`` never affect the feature (they get no
    gradient: 3*H*H parameters, 3.1 M in the paper preset).

    ``readout="ends"``: forward state at ``t = T-1`` and backward state at ``t = 0``
    (``h_n`` of the top layer), so both halves summarise the whole sequence.

    ``recurrence="bidirectional"`` (default) is that real bidirectional GRU.
    ``recurrence="stepwise"`` is the authors' model: their code feeds the GRU one frame
    per call and carries the hidden state, so their "backward" direction also reads
    the sequence forwards; here both directions of every layer read frames
    ``0..T-1`` (:func:`~skelcon.encoders.gru.stepwise_forward`, same parameters), and
    the feature is the top layer's output at ``t = T-1`` (``readout="last"``, the only
    readout it takes). Weights imported from the authors' checkpoints
    (``skelcon import-weights``) compute what they computed only with it.

    On the CPU the GRU runs through :func:`~skelcon.encoders.gru.bigru_forward` (the same
    function on the same parameters, with a batched backward through time; with
    ``readout="last"`` the top reverse direction is evaluated at ``T-1`` only); on other
    devices, and when exporting, through ``nn.GRU`` itself (cuDNN), and for
    ``"stepwise"`` through one fused one-layer GRU call per layer and direction
    (:func:`~skelcon.encoders.gru.stepwise_fused`).

    ``init="xavier"`` re-initialises every 2-D GRU weight (``weight_ih_l*``,
    ``weight_hh_l*``) with ``xavier_uniform_``, as the authors' code does (biases keep
    PyTorch's default); ``"default"`` keeps PyTorch's ``U(-1/sqrt(H), 1/sqrt(H))``.

    forward: ``x: (N, C, T, V, M)`` -> ``(N, 2*hidden_size)``; any T >= 1.

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
        hidden_size: int = 1024,
        num_layers: int = 3,
        readout: str = "last",
        init: str = "default",
        recurrence: str = "bidirectional",
    ):
        super().__init__()
        self.input_stream = as_input_stream(stream, layout)  # joint | bone | motion
        check_sizes(
            "seq",
            in_channels=in_channels,
            num_frames=num_frames,
            num_joints=num_joints,
            num_persons=num_persons,
            hidden_size=hidden_size,
            num_layers=num_layers,
        )
        if readout not in READOUTS:
            raise SkelconError(choices_message("seq encoder readout", readout, READOUTS))
        if init not in INITS:
            raise SkelconError(choices_message("seq encoder init", init, INITS))
        if recurrence not in RECURRENCES:
            raise SkelconError(choices_message("seq encoder recurrence", recurrence, RECURRENCES))
        if recurrence == "stepwise" and readout != "last":
            raise SkelconError(
                f"seq encoder readout {readout!r} needs the bidirectional recurrence (with "
                "'stepwise' both directions end at the last frame; use readout 'last')"
            )
        self.in_channels = in_channels
        self.num_joints = num_joints
        self.num_persons = num_persons
        self.input_size = in_channels * num_joints * num_persons
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.readout = readout
        self.recurrence = recurrence
        self.gru = nn.GRU(
            self.input_size,
            hidden_size,
            num_layers=num_layers,
            bidirectional=True,
            batch_first=True,
        )
        self.feature_dim = 2 * hidden_size
        self.init = init
        if init == "xavier":
            for p in self.gru.parameters():
                if p.dim() == 2:
                    nn.init.xavier_uniform_(p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x: (N, C, T, V, M)`` -> ``(N, 2*hidden_size)``."""
        check_input(x, self.in_channels, self.num_joints, self.num_persons, "seq")
        x = self.input_stream(x)
        seq = to_sequence(x)
        h = self.hidden_size
        if self.recurrence == "stepwise":
            if x.device.type == "cpu" and not _exporting():
                return stepwise_forward(seq, self.gru)[:, -1]
            return stepwise_fused(seq, self.gru)[:, -1]
        if x.device.type == "cpu" and not _exporting():
            if self.readout == "last":
                return bigru_forward(seq, self.gru, top="last")
            out = bigru_forward(seq, self.gru, top="all")  # (N, T, 2H)
            return torch.cat([out[:, -1, :h], out[:, 0, h:]], dim=1)
        out, h_n = self.gru(seq)  # (N, T, 2H), (2L, N, H)
        if self.readout == "ends":
            return torch.cat([h_n[-2], h_n[-1]], dim=1)
        return out[:, -1]
